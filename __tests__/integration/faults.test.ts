import * as fs from 'node:fs'
import * as path from 'node:path'
import * as cache from '@actions/cache'
import type { SimulatedRunner } from '../../scripts/lib/runner-sim.mjs'
import { cacheDirOf, exampleInputs, expectStep, newRunner, uniqueKey } from './jobs.js'
import { actionBuilders, admin, copyExample, entriesUnder, requireTestbed, startCacheService, stopCacheService, type CacheEntry } from './testbed.js'

// Scenario 5: cache trouble never fails the job and never leaves a broken cache behind; a failing
// build fails the job with BuildKit's error and keeps the previous cache.
describe('faults', () => {
  let serviceEnv: Record<string, string>
  let runner: SimulatedRunner
  let workspace: string

  const entriesFor = (key: string): Promise<CacheEntry[]> => entriesUnder(serviceEnv, key)

  beforeAll(() => {
    requireTestbed()
    serviceEnv = startCacheService()
    workspace = copyExample('parallel-stages')
    runner = newRunner(workspace, serviceEnv)
  })

  beforeEach(() => runner.reset())
  afterEach(() => expect(actionBuilders()).toEqual([]))

  test('cache service stopped: warning, cold build, job succeeds, nothing saved', async () => {
    stopCacheService()
    try {
      const job = await runner.runJob(exampleInputs(uniqueKey('stopped')))
      expectStep(job, 'main', 0)
      expectStep(job, 'post', 0)
      expect(job.outputs['cache-hit']).toBe('miss')
      expect(job.main.log).toContain('::warning::')
      expect(job.main.log + job.post.log).not.toContain('::error')
      expect(job.report.save.status).not.toBe('saved')
    } finally {
      serviceEnv = startCacheService()
      runner.env = serviceEnv
    }
  })

  test('corrupt archive: warning, cold build, and the new good cache is what gets saved', async () => {
    const key = uniqueKey('corrupt')
    const first = await runner.runJob(exampleInputs(key))
    expectStep(first, 'post', 0)
    await admin(serviceEnv, 'POST', 'corrupt', { key: first.report.save.key })
    runner.reset()
    const job = await runner.runJob(exampleInputs(key))
    expectStep(job, 'main', 0)
    expect(job.outputs['cache-hit']).toBe('miss')
    expect(job.report.warnings.length).toBeGreaterThan(0)
    expect(job.main.log + job.post.log).not.toContain('::error')
    expect(job.report.save.status).toBe('saved')
    runner.reset()
    const after = await runner.runJob(exampleInputs(key))
    expect(after.outputs['cache-hit']).toBe('exact')
  })

  test('a save racing another job on the same key is an info line, not an error', async () => {
    const key = uniqueKey('race')
    let rivalKey = ''
    const job = await runner.runJob(exampleInputs(key), {
      // Another job, with the same cache path, saves the same content first.
      beforePost: async run => {
        rivalKey = run.newKey
        fs.cpSync(run.exportDir, run.cacheDir, { recursive: true })
        const saved = await withEnv(serviceEnv, () => cache.saveCache([run.cacheDir], rivalKey))
        expect(saved).not.toBe(-1)
        fs.rmSync(run.cacheDir, { recursive: true })
      }
    })
    expectStep(job, 'main', 0)
    expectStep(job, 'post', 0)
    expect(job.post.log).toContain('another job may be creating this cache')
    expect(job.post.log).not.toMatch(/::(error|warning)/)
    expect(job.report.save).toMatchObject({ status: 'not-saved', key: rivalKey })
    expect((await entriesFor(key)).map(entry => entry.key)).toEqual([rivalKey])
  })

  test('a failing build fails the job with BuildKit\'s error and keeps the previous cache', async () => {
    const key = uniqueKey('failing')
    const good = await runner.runJob(exampleInputs(key))
    expectStep(good, 'post', 0)
    const dir = cacheDirOf(good)
    const indexBefore = fs.readFileSync(path.join(dir, 'index.json'))
    const dockerfile = path.join(workspace, 'Dockerfile')
    const original = fs.readFileSync(dockerfile, 'utf8')
    fs.writeFileSync(dockerfile, original.replace(/^(FROM .* AS docs.*)$/m, '$1\nRUN echo about to fail && exit 3'))
    try {
      const job = await runner.runJob(exampleInputs(key))
      expectStep(job, 'main', 1)
      expectStep(job, 'post', 0)
      expect(job.main.log).toMatch(/::error::docker buildx build failed:[\s\S]*exit code: 3/)
      expect(fs.readFileSync(path.join(dir, 'index.json'))).toEqual(indexBefore)
      expect(fs.existsSync(`${dir}-new`)).toBe(false)
      expect(job.report.save.status).toBe('not-saved')
      expect(await entriesFor(key)).toHaveLength(1)
    } finally {
      fs.writeFileSync(dockerfile, original)
    }
  })

  test('a layer the cache service cannot give when BuildKit asks for it: the build runs again without the restored cache and succeeds', async () => {
    const key = uniqueKey('lazy-fault')
    const seed = await runner.runJob(exampleInputs(key))
    expectStep(seed, 'post', 0)
    // The stages' 6 MB layers are random, so their file entries belong to this test alone; corrupt them all.
    const blobs = path.join(cacheDirOf(seed), 'blobs', 'sha256')
    const stageLayers = fs.readdirSync(blobs).filter(name => fs.statSync(path.join(blobs, name)).size > 5 * 1024 * 1024)
    expect(stageLayers.length).toBeGreaterThanOrEqual(4)
    for (const sha of stageLayers) await admin(serviceEnv, 'POST', 'corrupt', { key: `buildx-cache-file-${sha}` })
    // The docs stage reruns, so the final image's COPY steps need the other stages' layers: fetched, and broken.
    fs.appendFileSync(path.join(workspace, 'src', 'docs', 'README.txt'), `changed ${Date.now()}\n`)
    runner.reset()
    const job = await runner.runJob(exampleInputs(key))
    expectStep(job, 'main', 0)
    expectStep(job, 'post', 0)
    expect(job.report.warnings.join('\n')).toMatch(/could not give blobs\/sha256\/[0-9a-f]{64}.*building again without the restored cache/)
    expect(job.report.phases.map((p: { name: string }) => p.name)).toContain('Build without cache')
    expect(job.main.log + job.post.log).not.toContain('::error')
    expect(job.report.build.succeeded).toBe(true)
    expect(job.report.save.status).toBe('saved')
    // The layers it wrote replace the broken ones in the new cache: the next runner takes every step from it.
    runner.reset()
    const after = await runner.runJob(exampleInputs(key))
    expectStep(after, 'main', 0)
    expect(after.report.warnings).toEqual([])
    expect(after.outputs['cached-steps']).toBe(after.outputs['total-steps'])
  })

  test('an unwritable cache path: warning, build without cache, job succeeds', async () => {
    const blocker = path.join(runner.root, 'a-file')
    fs.writeFileSync(blocker, '')
    const job = await runner.runJob(exampleInputs(uniqueKey('unwritable'), { 'cache-path': path.join(blocker, 'cache') }))
    expectStep(job, 'main', 0)
    expectStep(job, 'post', 0)
    expect(job.main.log).toMatch(/::warning::cache path .* cannot be used/)
    expect(job.outputs['cache-hit']).toBe('miss')
    expect(job.report.save).toBeUndefined()
  })
})

async function withEnv<T>(env: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const saved = { ...process.env }
  Object.assign(process.env, env)
  try {
    return await body()
  } finally {
    for (const name of Object.keys(env)) {
      if (saved[name] === undefined) delete process.env[name]
      else process.env[name] = saved[name]
    }
  }
}
