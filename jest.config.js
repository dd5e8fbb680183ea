const tsJest = ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }]
const shared = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': tsJest },
  testEnvironment: 'node'
}

export default {
  // Integration tests run whole jobs (builder boot, build, cache upload); unit tests never come close.
  testTimeout: 240000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/__tests__/unit/**/*.test.ts'] },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/__tests__/integration/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/__tests__/integration/cleanup.ts'],
      slowTestThreshold: 120
    }
  ]
}
