import { buildxAssetName, buildxDownloadUrl } from '../../src/buildx-install.js'

describe('buildxAssetName / buildxDownloadUrl', () => {
  // Node's process.platform and process.arch -> the asset docker/buildx publishes.
  test.each<[string, string, string, string]>([
    ['0.13.1', 'linux', 'x64', 'buildx-v0.13.1.linux-amd64'],
    ['0.13.1', 'linux', 'arm64', 'buildx-v0.13.1.linux-arm64'],
    ['0.13.1', 'linux', 'arm', 'buildx-v0.13.1.linux-arm-v7'],
    ['0.13.1', 'linux', 'ppc64', 'buildx-v0.13.1.linux-ppc64le'],
    ['0.13.1', 'linux', 's390x', 'buildx-v0.13.1.linux-s390x'],
    ['0.13.1', 'linux', 'riscv64', 'buildx-v0.13.1.linux-riscv64'],
    ['0.16.2', 'darwin', 'arm64', 'buildx-v0.16.2.darwin-arm64'],
    ['0.16.2', 'darwin', 'x64', 'buildx-v0.16.2.darwin-amd64'],
    ['0.16.2', 'win32', 'x64', 'buildx-v0.16.2.windows-amd64.exe'],
    ['0.16.2', 'win32', 'arm64', 'buildx-v0.16.2.windows-arm64.exe'],
    ['0.14.0-rc1', 'linux', 'x64', 'buildx-v0.14.0-rc1.linux-amd64']
  ])('[%#] buildx %s on %s/%s is %s', (version, platform, arch, asset) => {
    expect(buildxAssetName(version, platform, arch)).toBe(asset)
    expect(buildxDownloadUrl(version, platform, arch)).toBe(`https://github.com/docker/buildx/releases/download/v${version}/${asset}`)
  })
})
