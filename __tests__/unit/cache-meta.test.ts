import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { chooseExportMode, nextCacheMeta, readCacheMeta, writeCacheMeta, type CacheMeta, type ModeDecision } from '../../src/cache-meta.js'
import { CACHE_META_FILE } from '../../src/constants.js'
import { useTempDirs } from './fixtures.js'

const GB = 1024 ** 3
const NOW = new Date('2024-05-01T12:00:00.000Z')

function meta(overrides: Partial<CacheMeta> = {}): CacheMeta {
  return { key: 'k-1', mode: 'max', bytes: 3 * GB, savedAt: '2024-04-30T12:00:00.000Z', ...overrides }
}

describe('chooseExportMode', () => {
  const lowered = { mode: 'min', fallback: `the last mode=max export was ${5 * GB} bytes, over cache-max-size (${4 * GB} bytes)` }

  // Each row: requested mode, cache-max-size, what the previous cache says -> the decision.
  test.each<[CacheMeta['mode'], number | undefined, CacheMeta | undefined, ModeDecision]>([
    ['max', undefined, undefined, { mode: 'max' }],
    ['max', undefined, meta({ maxModeBytes: 50 * GB }), { mode: 'max' }],
    ['max', 4 * GB, undefined, { mode: 'max' }],
    ['max', 4 * GB, meta({ mode: 'min', maxModeBytes: undefined }), { mode: 'max' }],
    ['max', 4 * GB, meta({ maxModeBytes: 3 * GB }), { mode: 'max' }],
    ['max', 4 * GB, meta({ maxModeBytes: 4 * GB }), { mode: 'max' }],
    ['max', 4 * GB, meta({ maxModeBytes: 4 * GB + 1 }), { mode: 'min', fallback: expect.stringContaining(`${4 * GB + 1} bytes`) }],
    ['max', 4 * GB, meta({ maxModeBytes: 5 * GB }), lowered as ModeDecision],
    ['max', 4 * GB, meta({ mode: 'min', bytes: GB, maxModeBytes: 5 * GB }), lowered as ModeDecision],
    ['min', 4 * GB, meta({ maxModeBytes: 5 * GB }), { mode: 'min' }],
    ['min', undefined, undefined, { mode: 'min' }]
  ])('[%#] %p with cache-max-size %p after %j: %j', (requested, maxSize, previous, expected) => {
    expect(chooseExportMode(requested, maxSize, previous)).toEqual(expected)
  })
})

describe('nextCacheMeta', () => {
  // Each row: the new export's mode and size, the previous meta -> the maxModeBytes to store.
  test.each<[CacheMeta['mode'], number, CacheMeta | undefined, number | undefined]>([
    ['max', 2 * GB, undefined, 2 * GB],
    ['min', GB, undefined, undefined],
    ['min', GB, meta({ maxModeBytes: 5 * GB }), 5 * GB],
    ['min', GB, meta({ mode: 'min', bytes: GB, maxModeBytes: 5 * GB }), 5 * GB],
    ['max', 2 * GB, meta({ maxModeBytes: 5 * GB }), 2 * GB],
    ['max', 6 * GB, meta({ maxModeBytes: 5 * GB }), 6 * GB]
  ])('[%#] a mode=%s export of %d bytes after %j stores maxModeBytes %p', (mode, bytes, previous, maxModeBytes) => {
    expect(nextCacheMeta('k-2', mode, bytes, previous, NOW)).toEqual({ key: 'k-2', mode, bytes, maxModeBytes, savedAt: '2024-05-01T12:00:00.000Z' })
  })

  test('a min export lowered by a too-big max one keeps min until the limit allows max again', () => {
    const tooBig = nextCacheMeta('k-1', 'max', 5 * GB, undefined, NOW)
    const small = nextCacheMeta('k-2', chooseExportMode('max', 4 * GB, tooBig).mode, GB, tooBig, NOW)
    expect(small).toMatchObject({ mode: 'min', maxModeBytes: 5 * GB })
    expect(chooseExportMode('max', 4 * GB, small).mode).toBe('min')
    expect(chooseExportMode('max', 8 * GB, small).mode).toBe('max')
  })
})

describe('readCacheMeta / writeCacheMeta', () => {
  const tempDir = useTempDirs()

  test.each<[CacheMeta]>([[meta({ maxModeBytes: 3 * GB })], [meta({ mode: 'min', bytes: 123 })]])('[%#] %j survives a round trip', async written => {
    const dir = await tempDir()
    await writeCacheMeta(dir, written)
    expect(await readCacheMeta(dir)).toEqual(written)
    expect(JSON.parse(await fs.readFile(path.join(dir, CACHE_META_FILE), 'utf8'))).toEqual(written)
  })

  test.each<[string, (dir: string) => Promise<unknown>]>([
    ['no meta file', async () => undefined],
    ['a meta file that is not JSON', dir => fs.writeFile(path.join(dir, CACHE_META_FILE), '{"key": "k-1", ')],
    ['no directory at all', dir => fs.rm(dir, { recursive: true })]
  ])('[%#] %s reads as undefined', async (_name, prepare) => {
    const dir = await tempDir()
    await prepare(dir)
    expect(await readCacheMeta(dir)).toBeUndefined()
  })
})
