import * as fs from 'node:fs'
import * as path from 'node:path'
import { exampleInputs, expectStep, newRunner, uniqueKey } from './jobs.js'
import { copyExample, requireTestbed, scratchDir, startCacheService } from './testbed.js'

const SYSTEM_PLUGIN = '/usr/libexec/docker/cli-plugins/docker-buildx'
const ARCH = process.arch

// GitHub's release downloads are out of reach here, so the tool cache is filled first, as an
// earlier job on the same runner would have left it: this checks the lookup and the plugin install.
describe('buildx-version', () => {
  test('a pinned buildx from the tool cache becomes the job\'s docker CLI plugin', async () => {
    requireTestbed()
    const runner = newRunner(copyExample('parallel-stages'), startCacheService())
    const toolDir = path.join(runner.root, 'toolcache', 'buildx', '0.13.1', ARCH)
    fs.mkdirSync(toolDir, { recursive: true })
    fs.copyFileSync(SYSTEM_PLUGIN, path.join(toolDir, 'docker-buildx'))
    fs.writeFileSync(`${toolDir}.complete`, '')
    const dockerConfig = scratchDir('docker-config')

    const job = await runner.runJob(exampleInputs(uniqueKey('buildx-version'), { 'buildx-version': 'v0.13.1' }), { env: { DOCKER_CONFIG: dockerConfig } })
    expectStep(job, 'main', 0)
    expect(job.main.log).toContain('Installed buildx 0.13.1')
    const plugin = path.join(dockerConfig, 'cli-plugins', 'docker-buildx')
    expect(fs.statSync(plugin).mode & 0o111).not.toBe(0)
    expect(fs.readFileSync(plugin).equals(fs.readFileSync(SYSTEM_PLUGIN))).toBe(true)
  })
})
