import { execFileSync } from 'node:child_process'
import { exampleInputs, expectStep, newRunner, uniqueKey } from './jobs.js'
import { BUILDKIT_IMAGE, copyExample, requireTestbed, startCacheService } from './testbed.js'

const PORT = 12345 + (process.pid % 1000)
const CONTAINER = `bca-remote-buildkitd-${process.pid}`

/** A buildkitd of its own on TCP, as a team's shared remote builder; started anew = no state. */
function startBuildkitd(): void {
  execFileSync('docker', ['rm', '-f', CONTAINER], { stdio: 'ignore' })
  execFileSync('docker', ['run', '-d', '--name', CONTAINER, '--privileged', '-p', `127.0.0.1:${PORT}:1234`, BUILDKIT_IMAGE, '--addr', 'tcp://0.0.0.0:1234'], { stdio: 'ignore' })
}

describe('driver: remote', () => {
  let serviceEnv: Record<string, string>

  beforeAll(() => {
    requireTestbed()
    serviceEnv = startCacheService()
  })

  afterAll(() => execFileSync('docker', ['rm', '-f', CONTAINER], { stdio: 'ignore' }))

  test('a restarted remote buildkitd gets every step from the restored cache', async () => {
    const runner = newRunner(copyExample('parallel-stages'), serviceEnv)
    const inputs = exampleInputs(uniqueKey('remote'), { driver: 'remote', endpoint: `tcp://127.0.0.1:${PORT}` })
    startBuildkitd()
    const cold = await runner.runJob(inputs)
    expectStep(cold, 'main', 0)
    expect(cold.outputs['cache-hit']).toBe('miss')
    expect(cold.report.save.status).toBe('saved')

    startBuildkitd()
    runner.reset()
    const warm = await runner.runJob(inputs)
    expectStep(warm, 'main', 0)
    expect(warm.outputs['cache-hit']).toBe('exact')
    expect(warm.outputs['cached-steps']).toBe(warm.outputs['total-steps'])
  })
})
