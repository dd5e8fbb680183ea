import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { feedingResults, fillMissingResults } from '../../src/cache-merge.js'
import { checkLocalCache } from '../../src/local-cache.js'
import { MediaType, blobFile, writeBlob, writeIndex, writeJsonBlob, type Descriptor } from './oci-layout.js'

/** A step of a cache config: its key, the records it was computed from, and its layer chain if it has a result. */
interface Step {
  key: string
  from?: string[]
  /** Names of the layers of its result, base first; absent when the export left its result out. */
  chain?: string[]
}

/**
 * Writes a cache directory as BuildKit's cache export does: layer blobs, a cache config
 * (application/vnd.buildkit.cacheconfig.v0: `layers` chained by `parent`, `records` whose `layers`
 * name a chain's last entry and whose `inputs` link other records), the manifest, index.json.
 */
async function writeCache(dir: string, steps: Step[]): Promise<Map<string, Descriptor>> {
  const blobs = new Map<string, Descriptor>()
  const layers: { blob: string; parent?: number }[] = []
  const chainIndex = new Map<string, number>()
  for (const step of steps) {
    for (const [i, name] of (step.chain ?? []).entries()) {
      const chainKey = step.chain!.slice(0, i + 1).join('/')
      if (chainIndex.has(chainKey)) continue
      if (!blobs.has(name)) blobs.set(name, await writeBlob(dir, `layer ${name} `.repeat(40), MediaType.Layer))
      layers.push({ blob: blobs.get(name)!.digest, ...(i > 0 ? { parent: chainIndex.get(step.chain!.slice(0, i).join('/')) } : {}) })
      chainIndex.set(chainKey, layers.length - 1)
    }
  }
  const keys = steps.map(step => step.key)
  const records = steps.map(step => ({
    digest: `sha256:${Buffer.from(step.key).toString('hex').padEnd(64, '0').slice(0, 64)}`,
    ...(step.chain ? { layers: [{ layer: chainIndex.get(step.chain.join('/')), createdAt: '2026-11-23T00:00:00Z' }] } : {}),
    ...(step.from ? { inputs: step.from.map(from => [{ selector: '', link: keys.indexOf(from) }]) } : {})
  }))
  const config = await writeJsonBlob(dir, { layers, records }, MediaType.CacheConfig)
  const manifest = await writeJsonBlob(dir, { schemaVersion: 2, mediaType: MediaType.Index, manifests: [...blobs.values(), config] }, MediaType.Index)
  await writeIndex(dir, [manifest])
  return blobs
}

function readConfig(dir: string): { layers: { blob: string }[]; records: { digest: string; layers?: { layer: number }[] }[] } {
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'))
  const manifest = JSON.parse(fs.readFileSync(blobFile(dir, index.manifests[0]), 'utf8'))
  const config = manifest.manifests.find((d: Descriptor) => d.mediaType === MediaType.CacheConfig)
  return JSON.parse(fs.readFileSync(blobFile(dir, config), 'utf8'))
}

function recordDigest(key: string): string {
  return `sha256:${Buffer.from(key).toString('hex').padEnd(64, '0').slice(0, 64)}`
}

describe('fillMissingResults', () => {
  let root: string
  let restored: string
  let exported: string

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'cache-merge-'))
    restored = path.join(root, 'cache')
    exported = path.join(root, 'cache-new')
  })

  afterEach(() => fs.rmSync(root, { recursive: true, force: true }))

  /**
   * The restored cache of a two-stage build: `base`, a `build` stage on it, a `docs` stage on it,
   * and the final stage copying build, then docs.
   */
  async function restoredCache(): Promise<Map<string, Descriptor>> {
    return writeCache(restored, [
      { key: 'base', chain: ['base'] },
      { key: 'build', from: ['base'], chain: ['base', 'build'] },
      { key: 'docs-v1', from: ['base'], chain: ['base', 'docs-v1'] },
      { key: 'final-build', from: ['base', 'build'], chain: ['base', 'copy-build'] },
      { key: 'final-docs-v1', from: ['final-build', 'docs-v1'], chain: ['base', 'copy-build', 'copy-docs-v1'] }
    ])
  }

  /** The export after docs changed: docs and final's copy of it ran; base and build were cached and never loaded. */
  const DOCS_CHANGED: Step[] = [
    { key: 'base' },
    { key: 'build', from: ['base'] },
    { key: 'docs-v2', from: ['base'], chain: ['base', 'docs-v2'] },
    { key: 'final-build', from: ['base', 'build'], chain: ['base', 'copy-build'] },
    { key: 'final-docs-v2', from: ['final-build', 'docs-v2'], chain: ['base', 'copy-build', 'copy-docs-v2'] }
  ]

  test('a step the build never loaded gets the result the restored cache had for its key, blobs included', async () => {
    const old = await restoredCache()
    await writeCache(exported, DOCS_CHANGED)
    expect(await fillMissingResults(restored, exported)).toEqual({ filled: 2, unused: 0 })
    const config = readConfig(exported)
    const withResult = config.records.filter(record => record.layers).map(record => record.digest)
    expect(withResult).toEqual(expect.arrayContaining([recordDigest('base'), recordDigest('build')]))
    expect(fs.existsSync(blobFile(exported, old.get('build')!))).toBe(true)
    const check = await checkLocalCache(exported)
    expect(check.ok).toBe(true)
  })

  test('keys of a superseded version that no result of this build came from stay without a result', async () => {
    const old = await restoredCache()
    // The graph also names the previous docs and final-copy keys, but nothing this build kept came from them.
    await writeCache(exported, [...DOCS_CHANGED, { key: 'docs-v1', from: ['base'] }, { key: 'final-docs-v1', from: ['final-build', 'docs-v1'] }])
    expect(await fillMissingResults(restored, exported)).toEqual({ filled: 2, unused: 2 })
    const config = readConfig(exported)
    const resultless = config.records.filter(record => !record.layers).map(record => record.digest)
    expect(resultless.sort()).toEqual([recordDigest('docs-v1'), recordDigest('final-docs-v1')].sort())
    for (const name of ['docs-v1', 'copy-docs-v1']) {
      expect(fs.existsSync(blobFile(exported, old.get(name)!))).toBe(false)
      expect(config.layers.map(layer => layer.blob)).not.toContain(old.get(name)!.digest)
    }
    expect((await checkLocalCache(exported)).ok).toBe(true)
  })

  test('an export with every result present is left as it is', async () => {
    await restoredCache()
    await writeCache(exported, [
      { key: 'base', chain: ['base'] },
      { key: 'docs-v2', from: ['base'], chain: ['base', 'docs-v2'] }
    ])
    const before = fs.readFileSync(path.join(exported, 'index.json'), 'utf8')
    expect(await fillMissingResults(restored, exported)).toEqual({ filled: 0, unused: 0 })
    expect(fs.readFileSync(path.join(exported, 'index.json'), 'utf8')).toBe(before)
  })
})

describe('feedingResults', () => {
  const record = (links: number[][], result = false) => ({
    digest: 'sha256:x',
    ...(result ? { layers: [{ layer: 0 }] } : {}),
    inputs: links.map(input => input.map(link => ({ selector: '', link })))
  })

  test.each<[string, ReturnType<typeof record>[], number[]]>([
    ['nothing has a result', [record([]), record([[0]])], []],
    ['a result feeds on its inputs, transitively', [record([]), record([[0]]), record([[1]], true)], [0, 1]],
    ['a chain hanging off a used record is not used', [record([]), record([[0]], true), record([[0]]), record([[2]])], [0]],
    ['several inputs, each with alternatives', [record([]), record([]), record([]), record([[0, 1], [2]], true)], [0, 1, 2]],
    ['a link to a record that does not exist is ignored', [record([[7]], true)], []],
    ['a cycle does not loop', [record([[1]], true), record([[0]])], [0, 1]]
  ])('[%#] %s', (_name, records, expected) => {
    expect([...feedingResults(records)].sort()).toEqual(expected)
  })
})
