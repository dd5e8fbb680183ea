// The testbed cache service against the real, unmodified @actions/cache (v2 twirp API): the
// matching semantics it promises and how the library reacts to each injected fault.
import { createHash, randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { restoreCache, saveCache } from '@actions/cache'
import { TestCacheService, captureActionsLog, muteActionsDebug } from '../fixtures/cache-service/cache-service.js'

const MB = 1024 * 1024
const MAIN = 'refs/heads/main'
const FEATURE = 'refs/heads/feature'

let service: TestCacheService
let work: string
let dir: string
let keyCounter = 0
let unmute: () => void

/** Unique per run: the state directory is fresh, but keys also document the case they serve. */
function key(name: string): string {
  return `${name}-${process.pid}-${++keyCounter}`
}

function writeFiles(count: number, bytesEach: number): void {
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  for (let i = 0; i < count; i++) fs.writeFileSync(path.join(dir, `blob-${i}.bin`), randomBytes(bytesEach))
}

function digestDir(): string {
  const hash = createHash('sha256')
  for (const name of fs.readdirSync(dir).sort()) hash.update(name).update(fs.readFileSync(path.join(dir, name)))
  return hash.digest('hex')
}

function wipeDir(): void {
  fs.rmSync(dir, { recursive: true, force: true })
}

async function timed<T>(fn: () => Promise<T>): Promise<{ result: T; seconds: number }> {
  const start = process.hrtime.bigint()
  const result = await fn()
  return { result, seconds: Number(process.hrtime.bigint() - start) / 1e9 }
}

beforeAll(async () => {
  unmute = muteActionsDebug()
  service = await TestCacheService.create()
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cache-service-test-'))
  dir = path.join(work, 'payload')
  fs.mkdirSync(path.join(work, 'runner-temp'))
  service.applyEnv(path.join(work, 'runner-temp'))
}, 60_000)

afterAll(() => {
  unmute?.()
  service?.destroy()
  fs.rmSync(work, { recursive: true, force: true })
})

beforeEach(async () => {
  service.useToken({ writeScope: MAIN })
  await service.resetFaults()
  writeFiles(2, 64 * 1024)
})

test('round-trips 100 MB of random data and reports throughput', async () => {
  writeFiles(10, 10 * MB)
  const digest = digestDir()
  const k = key('big')

  const save = await timed(() => captureActionsLog(() => saveCache([dir], k)))
  expect(save.result.result).toBeGreaterThan(0)
  wipeDir()
  const restore = await timed(() => captureActionsLog(() => restoreCache([dir], k)))

  expect(restore.result.result).toBe(k)
  expect(digestDir()).toBe(digest)
  const [entry] = (await service.entries()).filter(e => e.key === k)
  expect(entry.size).toBeGreaterThan(100 * MB)
  console.log(`100 MB: save ${(100 / save.seconds).toFixed(0)} MB/s (${save.seconds.toFixed(2)} s), restore ${(100 / restore.seconds).toFixed(0)} MB/s (${restore.seconds.toFixed(2)} s)`)
}, 120_000)

test('exact key hit, then restore keys as prefixes, newest first', async () => {
  const older = key('deps-a')
  const newer = key('deps-b')
  expect(await saveCache([dir], older)).toBeGreaterThan(0)
  expect(await saveCache([dir], newer)).toBeGreaterThan(0)

  const exact = await captureActionsLog(() => restoreCache([dir], older, ['deps-']))
  expect(exact.result).toBe(older)
  expect(exact.log).toContain(`Cache hit for: ${older}`)

  const fallback = await captureActionsLog(() => restoreCache([dir], 'deps-missing', ['nothing-', 'deps-']))
  expect(fallback.result).toBe(newer)
  expect(fallback.log).toContain(`Cache hit for restore-key: ${newer}`)
}, 30_000)

test('a different version (here: a different path list) misses', async () => {
  const k = key('versioned')
  expect(await saveCache([dir], k)).toBeGreaterThan(0)
  expect(await restoreCache([`${dir}/`], k, [k])).toBeUndefined()
}, 30_000)

test('a feature branch reads main’s entries, main never reads the feature branch’s', async () => {
  const fromMain = key('scoped-main')
  expect(await saveCache([dir], fromMain)).toBeGreaterThan(0)

  service.useToken({ writeScope: FEATURE, readScopes: [MAIN] })
  expect(await restoreCache([dir], fromMain)).toBe(fromMain)
  const fromFeature = key('scoped-feature')
  expect(await saveCache([dir], fromFeature)).toBeGreaterThan(0)
  // Same key in another scope is a separate entry, not a conflict.
  expect(await saveCache([dir], fromMain)).toBeGreaterThan(0)

  service.useToken({ writeScope: MAIN })
  expect(await restoreCache([dir], fromFeature)).toBeUndefined()
  const scopes = (await service.entries()).filter(e => e.key === fromMain).map(e => e.scope)
  expect(scopes.sort()).toEqual([FEATURE, MAIN])
}, 30_000)

test('saving a key that exists or is being saved returns -1 without throwing', async () => {
  const k = key('raced')
  const { result, log } = await captureActionsLog(() => Promise.all([saveCache([dir], k), saveCache([dir], k)]))
  expect(result.sort((a, b) => a - b)).toEqual([-1, expect.any(Number)])
  expect(result[1]).toBeGreaterThan(0)
  expect(log).toContain(`Failed to save: Unable to reserve cache with key ${k}, another job may be creating this cache.`)
  expect(log).not.toContain('::warning::')

  const again = await captureActionsLog(() => saveCache([dir], k))
  expect(again.result).toBe(-1)
}, 30_000)

test('a read-only token cannot save: -1 and a warning', async () => {
  service.useToken({ writeScope: '', readScopes: [MAIN] })
  const { result, log } = await captureActionsLog(() => saveCache([dir], key('read-only')))
  expect(result).toBe(-1)
  expect(log).toMatch(/::warning::Failed to save: Unable to reserve cache with key .*cache write denied/)
}, 30_000)

test('a corrupt archive: restore warns and returns undefined', async () => {
  const k = key('corrupt')
  expect(await saveCache([dir], k)).toBeGreaterThan(0)
  await service.corrupt(k)
  wipeDir()

  const { result, log } = await captureActionsLog(() => restoreCache([dir], k))
  expect(result).toBeUndefined()
  expect(log).toContain(`Cache hit for: ${k}`)
  expect(log).toMatch(/::warning::Failed to restore: .*tar.* failed/)
  expect(fs.existsSync(dir)).toBe(false)
}, 30_000)

test('an archive corrupt past its middle leaves a partly restored directory behind', async () => {
  writeFiles(8, 2 * MB)
  const k = key('corrupt-tail')
  expect(await saveCache([dir], k)).toBeGreaterThan(0)
  await service.corrupt(k, 'tail')
  wipeDir()

  const { result, log } = await captureActionsLog(() => restoreCache([dir], k))
  expect(result).toBeUndefined()
  expect(log).toContain('::warning::Failed to restore')
  expect(fs.readdirSync(dir).length).toBeGreaterThan(0)
}, 30_000)

test('a transient HTTP 500 is retried and the restore succeeds', async () => {
  const k = key('transient')
  expect(await saveCache([dir], k)).toBeGreaterThan(0)
  await service.setFaults({ fail: 1, method: 'GetCacheEntryDownloadURL' })
  const { result, log } = await captureActionsLog(() => restoreCache([dir], k))
  expect(result).toBe(k)
  expect(log).toContain('Attempt 1 of 5 failed with error: Failed request: (500)')
}, 30_000)

test('persistent HTTP 500 on lookup: restore gives up after 5 attempts, no throw', async () => {
  await service.setFaults({ fail: 'all', method: 'GetCacheEntryDownloadURL' })
  const { result, log } = await captureActionsLog(() => restoreCache([dir], key('down')))
  expect(result).toBeUndefined()
  expect(log).toContain('::warning::Failed to restore: Failed to GetCacheEntryDownloadURL: Failed to make request after 5 attempts')
}, 90_000)

test('persistent HTTP 500 on finalize: save returns -1 and the key stays reserved', async () => {
  const k = key('unfinalized')
  await service.setFaults({ fail: 'all', method: 'FinalizeCacheEntryUpload' })
  const { result, log } = await captureActionsLog(() => saveCache([dir], k))
  expect(result).toBe(-1)
  expect(log).toContain('::warning::Failed to save: Failed to FinalizeCacheEntryUpload: Failed to make request after 5 attempts')

  await service.resetFaults()
  expect(await restoreCache([dir], k)).toBeUndefined()
  expect(await saveCache([dir], k)).toBe(-1)
}, 90_000)

test('service stopped: restore and save fail softly; entries survive a restart', async () => {
  const k = key('outage')
  expect(await saveCache([dir], k)).toBeGreaterThan(0)
  service.stop()
  try {
    const restore = await captureActionsLog(() => restoreCache([dir], k))
    expect(restore.result).toBeUndefined()
    expect(restore.log).toContain('::warning::Failed to restore: Failed to GetCacheEntryDownloadURL: Unable to make request: ECONNREFUSED')
    const save = await captureActionsLog(() => saveCache([dir], key('outage-save')))
    expect(save.result).toBe(-1)
    expect(save.log).toContain('another job may be creating this cache')
  } finally {
    service.start()
  }
  expect(await restoreCache([dir], k)).toBe(k)
}, 60_000)
