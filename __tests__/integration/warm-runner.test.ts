import * as fs from 'node:fs'
import * as path from 'node:path'
import type { SimulatedRunner } from '../../scripts/lib/runner-sim.mjs'
import { cacheDirOf, exampleInputs, expectStep, newRunner, uniqueKey } from './jobs.js'
import { actionBuilders, copyExample, entriesUnder, requireTestbed, startCacheService, type CacheEntry } from './testbed.js'

// Scenarios 1-3 of the testbed issue, in order: each starts on a fresh runner (RUNNER_TEMP wiped,
// builder and its state volume gone), so only the Actions cache service carries anything over.
describe('the bundled action on fresh runners', () => {
  const key = uniqueKey('warm')
  let serviceEnv: Record<string, string>
  let runner: SimulatedRunner
  let workspace: string

  const entries = (): Promise<CacheEntry[]> => entriesUnder(serviceEnv, key)

  beforeAll(() => {
    requireTestbed()
    serviceEnv = startCacheService()
    workspace = copyExample('parallel-stages')
    runner = newRunner(workspace, serviceEnv)
  })

  beforeEach(() => runner.reset())

  test('1. cold: a miss, every step runs, post saves the cache', async () => {
    const job = await runner.runJob(exampleInputs(key))
    expectStep(job, 'main', 0)
    expectStep(job, 'post', 0)
    expect(job.outputs['cache-hit']).toBe('miss')
    expect(Number(job.outputs['total-steps'])).toBeGreaterThan(4)
    expect(job.outputs['cached-steps']).toBe('0')
    expect(job.report.save).toMatchObject({ status: 'saved' })
    expect(job.report.save.archiveBytes).toBeGreaterThan(0)
    expect(await entries()).toHaveLength(1)
    expect(job.summary).toContain('cache miss')
  })

  test('2. warm on a new runner: exact hit, every step from cache, nothing uploaded', async () => {
    expect(actionBuilders()).toEqual([])
    const job = await runner.runJob(exampleInputs(key))
    expectStep(job, 'main', 0)
    expectStep(job, 'post', 0)
    expect(job.outputs['cache-hit']).toBe('exact')
    expect(job.outputs['cached-steps']).toBe(job.outputs['total-steps'])
    expect(job.main.log.match(/^#\d+ CACHED$/gm)?.length ?? 0).toBeGreaterThanOrEqual(Number(job.outputs['total-steps']))
    expect(job.report.build.stepsRun).toEqual([])
    expect(job.report.save.status).toBe('unchanged')
    // The layers stay in the cache service: no step needed one (registry transport).
    expect(job.report.restore.remoteFiles).toBeGreaterThan(0)
    expect(job.report.restore.fetchedFiles).toBe(0)
    expect(job.post.log).not.toContain('Cache saved')
    expect(await entries()).toHaveLength(1)
    expect(job.summary).toContain('0 B uploaded')
  })

  test('3. one stage changed: only that stage reruns, a new entry is saved', async () => {
    fs.appendFileSync(path.join(workspace, 'src', 'docs', 'README.txt'), `changed ${Date.now()}\n`)
    const job = await runner.runJob(exampleInputs(key))
    expectStep(job, 'main', 0)
    expect(job.outputs['cache-hit']).toBe('partial')
    // Only the layers of the steps the rerun builds on were downloaded; the changed stage's old layer was not.
    expect(job.report.restore.fetchedFiles).toBeGreaterThan(0)
    expect(job.report.restore.fetchedFiles).toBeLessThan(job.report.restore.remoteFiles)
    const ran: string[] = job.report.build.stepsRun
    expect(ran.length).toBeGreaterThan(0)
    for (const step of ran) expect(step).toMatch(/^\[(docs|final) /)
    expect(Number(job.outputs['cached-steps'])).toBeGreaterThan(0)
    expect(job.report.save.status).toBe('saved')
    expect(await entries()).toHaveLength(2)
    expect(fs.existsSync(`${cacheDirOf(job)}-new`)).toBe(false)
  })

  test('4. the same cache read through the build session (cache-transport local): every layer downloaded, every step from cache', async () => {
    const job = await runner.runJob(exampleInputs(key, { 'cache-transport': 'local' }))
    expectStep(job, 'main', 0)
    expectStep(job, 'post', 0)
    expect(job.main.log).toContain(`type=local,src=${cacheDirOf(job)}`)
    expect(job.main.log).not.toContain('type=registry')
    expect(job.report.restore.remoteFiles).toBe(0)
    expect(job.outputs['cache-hit']).toBe('exact')
    expect(job.outputs['cached-steps']).toBe(job.outputs['total-steps'])
    expect(job.report.warnings).toEqual([])
  })

  afterAll(() => expect(actionBuilders()).toEqual([]))
})
