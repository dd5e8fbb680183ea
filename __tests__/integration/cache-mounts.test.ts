import * as fs from 'node:fs'
import * as path from 'node:path'
import type { JobResult, SimulatedRunner } from '../../scripts/lib/runner-sim.mjs'
import { exampleInputs, expectStep, newRunner, uniqueKey } from './jobs.js'
import { actionBuilders, copyExample, entriesUnder, requireTestbed, startCacheService } from './testbed.js'

const MOUNT = 'downloads'
const PACKAGES = 8

interface MountOutput {
  id: string
  restored: boolean
  'restored-bytes': number
  unpacked: string
  saved: boolean
  bytes: number
  outcome: string
}

/** What the example's download step printed: how many packages it fetched and how many it found in its cache mount. */
function downloads(job: JobResult): { fetched: number; reused: number } {
  const match = /downloads: fetched (\d+), reused (\d+)/.exec(job.main.log)
  if (!match) throw new Error(`the download step did not run or did not report. Log:\n${job.main.log}`)
  return { fetched: Number(match[1]), reused: Number(match[2]) }
}

function mountOutputs(job: JobResult): MountOutput[] {
  return JSON.parse(job.outputs['cache-mounts']) as MountOutput[]
}

function bumpOnePackage(workspace: string, from = 'delta 4.1.0', to = 'delta 4.2.0'): void {
  const lock = path.join(workspace, 'deps.lock')
  fs.writeFileSync(lock, fs.readFileSync(lock, 'utf8').replace(from, to))
}

function seconds(job: JobResult, phase: string): number {
  return (job.report.phases.find((p: { name: string }) => p.name === phase)?.ms ?? 0) / 1000
}

function phaseNames(job: JobResult): string[] {
  return job.report.phases.map((p: { name: string }) => p.name)
}

const measured: Record<string, string | number>[] = []
function record(run: string, job: JobResult): void {
  const d = downloads(job)
  measured.push({
    run,
    fetched: d.fetched,
    reused: d.reused,
    'build s': seconds(job, 'Build') + seconds(job, 'Build, again with the cache mounts'),
    'mount restore s': seconds(job, 'Restore cache mounts'),
    'mount save s': seconds(job, 'Save cache mounts'),
    'job s': (job.main.ms + job.post.ms) / 1000,
    'downloaded MB': ((job.report.restore?.archiveBytes ?? 0) + (job.report.restore?.fetchedBytes ?? 0)) / 1e6,
    'uploaded MB': (job.report.save?.archiveBytes ?? 0) / 1e6
  })
}

// Issue 5: a RUN --mount=type=cache download cache survives new runners inside the same cache entry.
describe('cache-mounts on fresh runners', () => {
  let serviceEnv: Record<string, string>

  beforeAll(() => {
    requireTestbed()
    serviceEnv = startCacheService()
  })

  afterAll(() => {
    // Figures for the record (never asserted: the machine is shared and noisy).
    if (measured.length > 0) console.log(`cache-mounts, measured on this machine:\n${JSON.stringify(measured, null, 1)}`)
  })

  describe('with cache-mounts', () => {
    const key = uniqueKey('mounts')
    let runner: SimulatedRunner
    let workspace: string
    const inputs = (): Record<string, string> => exampleInputs(key, { 'cache-mounts': `${MOUNT}\n/not/used/by/the/dockerfile` })

    beforeAll(() => {
      workspace = copyExample('cache-mounts')
      runner = newRunner(workspace, serviceEnv)
    })
    beforeEach(() => runner.reset())

    test('cold: every package is fetched, and the mount is saved next to the layer cache', async () => {
      const job = await runner.runJob(inputs())
      expectStep(job, 'main', 0)
      expectStep(job, 'post', 0)
      record('cold, cache-mounts', job)
      expect(downloads(job)).toEqual({ fetched: PACKAGES, reused: 0 })
      const [mount] = mountOutputs(job)
      expect(mount).toMatchObject({ id: MOUNT, restored: false, unpacked: 'no', saved: true, outcome: 'extracted' })
      expect(mount.bytes).toBeGreaterThan(PACKAGES * 16 * 1024 ** 2)
      expect(job.report.save.status).toBe('saved')
      expect(job.report.save.archiveBytes).toBeGreaterThan(PACKAGES * 16 * 1024 ** 2)
      // The unused id is named in a warning, in the log and in the summary; the job still succeeds.
      expect(job.main.log).toMatch(/::warning::cache-mounts: '\/not\/used\/by\/the\/dockerfile' is not used/)
      expect(job.summary).toContain("'/not/used/by/the/dockerfile' is not used")
      expect(job.summary).toContain('| `downloads` | no (empty mount) |')
    })

    // On demand (the default): no step using the mount runs, so its archive is neither downloaded nor moved into the builder.
    test('no change: exact hit, the mount stays in the cache service and is kept as it was, nothing uploaded', async () => {
      const job = await runner.runJob(inputs())
      expectStep(job, 'main', 0)
      expect(job.outputs['cache-hit']).toBe('exact')
      expect(mountOutputs(job)[0]).toMatchObject({ restored: true, unpacked: 'no', saved: true, outcome: 'kept' })
      expect(phaseNames(job)).not.toContain('Restore cache mounts')
      expect(job.report.restore.archiveBytes + (job.report.restore.fetchedBytes ?? 0)).toBeLessThan(1024 * 1024)
      expect(job.report.save.status).toBe('unchanged')
    })

    test('a change that does not rerun the download step keeps the mount as it was, without moving it either way', async () => {
      fs.appendFileSync(path.join(workspace, 'src', 'app.txt'), 'changed\n')
      const job = await runner.runJob(inputs())
      expectStep(job, 'main', 0)
      expect(job.outputs['cache-hit']).toBe('partial')
      expect(job.main.log).not.toMatch(/downloads: fetched \d/)
      expect(mountOutputs(job)[0]).toMatchObject({ restored: true, unpacked: 'no', saved: true, outcome: 'kept' })
      expect(mountOutputs(job)[0].bytes).toBeGreaterThan(PACKAGES * 16 * 1024 ** 2)
      expect(phaseNames(job)).not.toContain('Restore cache mounts')
      expect(job.report.restore.archiveBytes + (job.report.restore.fetchedBytes ?? 0)).toBeLessThan(4 * 1024 * 1024)
      expect(job.report.save.status).toBe('saved')
      expect(job.report.save.archiveBytes).toBeLessThan(1024 * 1024)
    })

    test('lock file changed on a new runner: only the changed package is fetched', async () => {
      bumpOnePackage(workspace)
      const job = await runner.runJob(inputs())
      expectStep(job, 'main', 0)
      expectStep(job, 'post', 0)
      record('deps.lock changed, cache-mounts', job)
      expect(job.outputs['cache-hit']).toBe('partial')
      // The mount kept by the job before (never downloaded there) comes back whole.
      expect(downloads(job)).toEqual({ fetched: 1, reused: PACKAGES - 1 })
      const [mount] = mountOutputs(job)
      expect(mount).toMatchObject({ restored: true, unpacked: 'on-demand', saved: true, outcome: 'extracted' })
      expect(mount['restored-bytes']).toBeGreaterThan(PACKAGES * 16 * 1024 ** 2)
      expect(phaseNames(job)).toEqual(expect.arrayContaining(['Build', 'Restore cache mounts', 'Build, again with the cache mounts']))
      expect(job.main.log).toMatch(/uses a saved cache mount and is running: stopping the build to restore the mounts first/)
      expect(job.outputs['cached-steps']).not.toBe(job.outputs['total-steps'])
      expect(job.report.save.status).toBe('saved')
      expect(await entriesUnder(serviceEnv, key)).toHaveLength(3)
      expect(actionBuilders()).toEqual([])
    })

    test('cache-mounts-restore before-build: the mount goes into the builder before a single build', async () => {
      bumpOnePackage(workspace, 'golf 0.1.7', 'golf 0.1.8')
      const job = await runner.runJob({ ...inputs(), 'cache-mounts-restore': 'before-build' })
      expectStep(job, 'main', 0)
      expectStep(job, 'post', 0)
      record('deps.lock changed, cache-mounts before-build', job)
      expect(downloads(job)).toEqual({ fetched: 1, reused: PACKAGES - 1 })
      expect(mountOutputs(job)[0]).toMatchObject({ restored: true, unpacked: 'before-build', saved: true, outcome: 'extracted' })
      expect(phaseNames(job)).toContain('Restore cache mounts')
      expect(phaseNames(job)).not.toContain('Build, again with the cache mounts')
    })
  })

  test('the same lock change without cache-mounts fetches every package again', async () => {
    const key = uniqueKey('no-mounts')
    const workspace = copyExample('cache-mounts')
    const runner = newRunner(workspace, serviceEnv)
    expectStep(await runner.runJob(exampleInputs(key)), 'post', 0)
    bumpOnePackage(workspace)
    runner.reset()
    const job = await runner.runJob(exampleInputs(key))
    expectStep(job, 'main', 0)
    record('deps.lock changed, no cache-mounts', job)
    expect(job.outputs['cache-hit']).toBe('partial')
    expect(downloads(job)).toEqual({ fetched: PACKAGES, reused: 0 })
    expect(mountOutputs(job)).toEqual([])
  })

  test('a mount larger than cache-max-size allows is skipped with a warning; the layer cache is still saved', async () => {
    const key = uniqueKey('mounts-limit')
    const runner = newRunner(copyExample('cache-mounts'), serviceEnv)
    const job = await runner.runJob(exampleInputs(key, { 'cache-mounts': MOUNT, 'cache-max-size': '64MB' }))
    expectStep(job, 'main', 0)
    expectStep(job, 'post', 0)
    expect(mountOutputs(job)[0]).toMatchObject({ id: MOUNT, saved: false, outcome: 'skipped' })
    expect(job.main.log).toMatch(/::warning::cache-mounts: 'downloads' holds .* more than cache-max-size leaves/)
    expect(job.report.save.status).toBe('saved')
    expect(job.report.save.archiveBytes).toBeLessThan(16 * 1024 ** 2)
  })
})
