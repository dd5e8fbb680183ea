import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { readRemoteList, writeRemoteList, type SeparateFile } from '../../src/file-entries.js'
import { blobPath, cacheSize, carryRemoteList, checkLocalCache, directorySize, layerDigests, linkBlobs, pruneRemoteList, pruneUnreferenced, staleBlobs, type CacheCheck } from '../../src/local-cache.js'
import { discardExport, planRotation, replaceCache, type RotationPlan } from '../../src/rotation.js'
import { exists, useTempDirs } from './fixtures.js'
import { blobFile, MediaType, writeBlob, writeIndex, writeJsonBlob, writeLayout, type Layout } from './oci-layout.js'

const tempDir = useTempDirs()

describe('checkLocalCache', () => {
  test.each([
    ['index -> manifest -> config + layers', { nested: false }],
    ['index -> image index -> manifest -> config + layers', { nested: true }],
    ['a manifest with no layers', { layerCount: 0 }]
  ])('[%#] a complete layout (%s) is ok and counts every byte', async (_name, options) => {
    const layout = await writeLayout(await tempDir(), options)
    expect(await checkLocalCache(layout.dir)).toMatchObject({ ok: true, index: layout.index, bytes: layout.bytes })
    expect(await directorySize(layout.dir)).toBe(layout.bytes)
  })

  test('a blob two manifests share is counted once', async () => {
    const dir = await tempDir()
    const shared = await writeBlob(dir, 'shared layer', MediaType.Layer)
    const manifests = []
    for (const name of ['amd64', 'arm64']) {
      const config = await writeJsonBlob(dir, { name }, MediaType.Config)
      manifests.push(await writeJsonBlob(dir, { schemaVersion: 2, config, layers: [shared] }, MediaType.Manifest))
    }
    await writeIndex(dir, manifests)
    const check = await checkLocalCache(dir)
    expect(check).toMatchObject({ ok: true })
    expect((check as Extract<CacheCheck, { ok: true }>).bytes).toBe(await directorySize(dir))
  })

  // Each row damages a complete (nested) layout and names what the reason must say.
  test.each<[string, (layout: Layout) => Promise<unknown>, (layout: Layout) => string]>([
    ['a layer is missing', layout => fs.rm(blobFile(layout.dir, layout.layers[1])), layout => `blob ${layout.layers[1].digest} is missing`],
    ['the config is missing', layout => fs.rm(blobFile(layout.dir, layout.config)), layout => `blob ${layout.config.digest} is missing`],
    ['the manifest is missing', layout => fs.rm(blobFile(layout.dir, layout.manifest)), layout => `blob ${layout.manifest.digest} is missing`],
    ['the image index is missing', layout => fs.rm(blobFile(layout.dir, layout.imageIndex!)), layout => `blob ${layout.imageIndex!.digest} is missing`],
    [
      'a layer was cut short',
      layout => fs.truncate(blobFile(layout.dir, layout.layers[0]), 7),
      layout => `blob ${layout.layers[0].digest} has 7 bytes, expected ${layout.layers[0].size}`
    ],
    [
      'a layer has extra bytes',
      layout => fs.appendFile(blobFile(layout.dir, layout.layers[0]), 'xx'),
      layout => `blob ${layout.layers[0].digest} has ${layout.layers[0].size + 2} bytes, expected ${layout.layers[0].size}`
    ],
    ['no index.json', layout => fs.rm(path.join(layout.dir, 'index.json')), layout => `no index.json in ${layout.dir}`],
    ['index.json lists nothing', layout => writeIndex(layout.dir, []), () => 'index.json lists no manifests'],
    ['index.json is not a manifest', layout => fs.writeFile(path.join(layout.dir, 'index.json'), '{}'), () => 'index.json lists no manifests'],
    ['index.json is cut short', layout => fs.writeFile(path.join(layout.dir, 'index.json'), layout.index.subarray(0, 40)), () => 'JSON'],
    ['the manifest blob is not JSON', layout => overwriteKeepingSize(blobFile(layout.dir, layout.manifest)), () => 'JSON']
  ])('[%#] %s: not ok', async (_name, damage, reason) => {
    const layout = await writeLayout(await tempDir(), { nested: true })
    await damage(layout)
    const check = await checkLocalCache(layout.dir)
    expect(check.ok).toBe(false)
    expect((check as Extract<CacheCheck, { ok: false }>).reason).toContain(reason(layout))
  })

  test('a directory that does not exist is not ok', async () => {
    const dir = path.join(await tempDir(), 'nothing-here')
    expect(await checkLocalCache(dir)).toEqual({ ok: false, reason: `no index.json in ${dir}` })
  })
})

/** Same length, not JSON: only parsing can tell. */
async function overwriteKeepingSize(file: string): Promise<void> {
  const { size } = await fs.stat(file)
  await fs.writeFile(file, 'x'.repeat(size))
}

describe('blobPath', () => {
  test('puts a digest under blobs/<algorithm>/<hex>', () => {
    expect(blobPath('/c', 'sha256:abc')).toBe(path.join('/c', 'blobs', 'sha256', 'abc'))
  })
})

describe('directorySize', () => {
  test('adds up every file, however deep', async () => {
    const dir = await tempDir()
    await fs.mkdir(path.join(dir, 'a', 'b'), { recursive: true })
    await fs.writeFile(path.join(dir, 'one'), 'x'.repeat(10))
    await fs.writeFile(path.join(dir, 'a', 'b', 'two'), 'x'.repeat(32))
    expect(await directorySize(dir)).toBe(42)
  })

  test('is 0 for a directory that does not exist', async () => {
    expect(await directorySize(path.join(await tempDir(), 'missing'))).toBe(0)
  })
})

describe('staleBlobs', () => {
  test('counts the blobs of the old cache the new one does not have', async () => {
    const root = await tempDir()
    const old = await writeLayout(path.join(root, 'cache'), { name: 'v1' })
    const fresh = await writeLayout(path.join(root, 'cache-new'), { name: 'v2' })
    // Both hold this layer: it is not stale.
    for (const dir of [old.dir, fresh.dir]) await writeBlob(dir, 'a layer both builds share', MediaType.Layer)
    expect(await staleBlobs(old.dir, fresh.dir)).toEqual({ count: old.blobs.length, bytes: old.blobs.reduce((sum, blob) => sum + blob.size, 0) })
  })

  test.each([
    ['the same cache', (root: string) => [path.join(root, 'a'), path.join(root, 'a')]],
    ['no old cache', (root: string) => [path.join(root, 'missing'), path.join(root, 'a')]]
  ])('[%#] %s has nothing stale', async (_name, dirs) => {
    const root = await tempDir()
    await writeLayout(path.join(root, 'a'))
    const [oldDir, newDir] = dirs(root)
    expect(await staleBlobs(oldDir, newDir)).toEqual({ count: 0, bytes: 0 })
  })

  test('with no new cache, every old blob is stale', async () => {
    const root = await tempDir()
    const old = await writeLayout(path.join(root, 'a'))
    expect(await staleBlobs(old.dir, path.join(root, 'missing'))).toEqual({ count: old.blobs.length, bytes: old.bytes - old.index.length })
  })
})

describe('planRotation', () => {
  const complete: CacheCheck = { ok: true, index: Buffer.from('{}'), bytes: 2, digests: new Set() }
  const incomplete: CacheCheck = { ok: false, reason: 'blob sha256:aa is missing' }

  test.each<[boolean, CacheCheck | undefined, RotationPlan]>([
    [false, complete, { replace: false, reason: 'the build did not succeed; the previous cache is kept' }],
    [false, undefined, { replace: false, reason: 'the build did not succeed; the previous cache is kept' }],
    [true, undefined, { replace: false, reason: 'no new cache was exported; the previous cache is kept' }],
    [true, incomplete, { replace: false, reason: 'the new export is incomplete (blob sha256:aa is missing); the previous cache is kept' }],
    [true, complete, { replace: true }]
  ])('[%#] build succeeded %p, export %j: %j', (succeeded, fresh, expected) => {
    expect(planRotation(succeeded, fresh)).toEqual(expected)
  })
})

describe('replaceCache', () => {
  /** A cache dir holding layout v1 plus a blob no index names any more, and its export dir holding v2. */
  async function cacheAndExport(): Promise<{ dir: string; exportDir: string; old: Layout; fresh: Layout; stale: string }> {
    const root = await tempDir()
    const dir = path.join(root, 'cache')
    const old = await writeLayout(dir, { name: 'v1' })
    const stale = blobFile(dir, await writeBlob(dir, 'a layer from three builds ago', MediaType.Layer))
    const fresh = await writeLayout(`${dir}-new`, { name: 'v2' })
    return { dir, exportDir: `${dir}-new`, old, fresh, stale }
  }

  test('swaps the export in: new content in place, stale and old blobs gone', async () => {
    const { dir, exportDir, old, fresh, stale } = await cacheAndExport()
    await replaceCache(dir, exportDir)
    expect(await checkLocalCache(dir)).toMatchObject({ ok: true, index: fresh.index, bytes: fresh.bytes })
    expect(await directorySize(dir)).toBe(fresh.bytes)
    expect(await exists(stale)).toBe(false)
    expect(await exists(blobFile(dir, old.layers[0]))).toBe(false)
    expect(await exists(exportDir)).toBe(false)
    expect(await exists(`${dir}-old`)).toBe(false)
  })

  test('with no old cache, the export becomes the cache', async () => {
    const { dir, exportDir, fresh } = await cacheAndExport()
    await fs.rm(dir, { recursive: true })
    await replaceCache(dir, exportDir)
    expect(await checkLocalCache(dir)).toMatchObject({ ok: true, index: fresh.index, bytes: fresh.bytes })
    expect(await exists(exportDir)).toBe(false)
  })

  test('a leftover from a swap that died midway is cleared first', async () => {
    const { dir, exportDir, fresh } = await cacheAndExport()
    await writeLayout(`${dir}-old`, { name: 'v0' })
    await replaceCache(dir, exportDir)
    expect(await checkLocalCache(dir)).toMatchObject({ ok: true, index: fresh.index, bytes: fresh.bytes })
    expect(await exists(`${dir}-old`)).toBe(false)
  })

  test('when the export is missing it throws and the old cache stays whole', async () => {
    const { dir, exportDir, old } = await cacheAndExport()
    await fs.rm(exportDir, { recursive: true })
    await expect(replaceCache(dir, exportDir)).rejects.toThrow(/ENOENT/)
    expect(await checkLocalCache(dir)).toMatchObject({ ok: true, index: old.index, bytes: old.bytes })
    expect(await exists(`${dir}-old`)).toBe(false)
  })
})

describe('discardExport', () => {
  test('removes the export and everything in it', async () => {
    const layout = await writeLayout(path.join(await tempDir(), 'cache-new'))
    await discardExport(layout.dir)
    expect(await exists(layout.dir)).toBe(false)
  })

  test('is fine when there is nothing to remove', async () => {
    const dir = path.join(await tempDir(), 'never-exported')
    await expect(discardExport(dir)).resolves.toBeUndefined()
  })
})

describe('linking the restored blobs into the export, then pruning what the export does not use', () => {
  test('every restored blob is hard-linked (same inode, no bytes copied); existing ones are left alone', async () => {
    const restored = await writeLayout(await tempDir(), { nested: true })
    const exportDir = await tempDir()
    await fs.mkdir(path.join(exportDir, 'blobs', 'sha256'), { recursive: true })
    await fs.copyFile(blobFile(restored.dir, restored.config), blobFile(exportDir, restored.config))
    expect(await linkBlobs(restored.dir, exportDir)).toBe(restored.blobs.length)
    for (const blob of restored.blobs) {
      const [a, b] = await Promise.all([fs.stat(blobFile(restored.dir, blob)), fs.stat(blobFile(exportDir, blob))])
      if (blob.digest !== restored.config.digest) expect(b.ino).toBe(a.ino)
      expect(b.size).toBe(blob.size)
    }
  })

  test('nothing restored, nothing linked', async () => {
    expect(await linkBlobs(path.join(await tempDir(), 'none'), await tempDir())).toBe(0)
  })

  test('after the export, blobs its index does not reach are deleted and counted; the rest stay', async () => {
    const old = await writeLayout(await tempDir(), { nested: false })
    const fresh = await writeLayout(await tempDir(), { nested: true, layerCount: 1 })
    await linkBlobs(old.dir, fresh.dir)
    const check = await checkLocalCache(fresh.dir)
    if (!check.ok) throw new Error(check.reason)
    const onlyOld = old.blobs.filter(blob => !fresh.blobs.some(b => b.digest === blob.digest))
    const pruned = await pruneUnreferenced(fresh.dir, check.digests)
    expect(pruned).toEqual({ count: onlyOld.length, bytes: onlyOld.reduce((sum, b) => sum + b.size, 0) })
    expect(await directorySize(fresh.dir)).toBe(fresh.bytes)
    expect(await checkLocalCache(fresh.dir)).toMatchObject({ ok: true })
  })
})

describe('layers left in the cache service (registry transport)', () => {
  const remoteEntry = (layer: { digest: string; size: number }): SeparateFile => {
    const hex = layer.digest.slice('sha256:'.length)
    return { path: `blobs/sha256/${hex}`, sha256: hex, bytes: layer.size }
  }

  test('a listed layer that is not on disk counts as present, with its size', async () => {
    const layout = await writeLayout(await tempDir())
    await fs.rm(blobFile(layout.dir, layout.layers[0]))
    expect((await checkLocalCache(layout.dir)).ok).toBe(false)
    await writeRemoteList(layout.dir, [remoteEntry(layout.layers[0])])
    expect(await checkLocalCache(layout.dir)).toMatchObject({ ok: true, bytes: layout.bytes })
    expect(await cacheSize(layout.dir)).toBe((await directorySize(layout.dir)) + layout.layers[0].size)
  })

  test('a listed layer of another size, or a listed manifest, does not', async () => {
    const layout = await writeLayout(await tempDir())
    await fs.rm(blobFile(layout.dir, layout.layers[0]))
    await writeRemoteList(layout.dir, [{ ...remoteEntry(layout.layers[0]), bytes: layout.layers[0].size + 1 }])
    expect((await checkLocalCache(layout.dir)).ok).toBe(false)
    const other = await writeLayout(await tempDir())
    await fs.rm(blobFile(other.dir, other.manifest))
    await writeRemoteList(other.dir, [remoteEntry(other.manifest)])
    expect((await checkLocalCache(other.dir)).ok).toBe(false)
  })

  test('layerDigests names the layers, never the manifest or config', async () => {
    const layout = await writeLayout(await tempDir(), { nested: true })
    const manifestDir = await tempDir()
    const layer = await writeBlob(manifestDir, 'cache layer', MediaType.Layer)
    const config = await writeBlob(manifestDir, '{}', MediaType.CacheConfig)
    const cacheIndex = await writeJsonBlob(manifestDir, { schemaVersion: 2, mediaType: MediaType.Index, manifests: [layer, config] }, MediaType.Index)
    await writeIndex(manifestDir, [cacheIndex])
    expect(await layerDigests(manifestDir)).toEqual(new Set([layer.digest]))
    expect([...(await layerDigests(layout.dir))]).not.toContain(layout.config.digest)
    expect(await layerDigests(path.join(manifestDir, 'none'))).toEqual(new Set())
  })

  test('the export carries the list, then keeps only what its index names and it does not hold', async () => {
    const restored = await writeLayout(await tempDir())
    const entries = restored.layers.map(remoteEntry)
    await writeRemoteList(restored.dir, entries)
    const exportDir = path.join(await tempDir(), 'new')
    await carryRemoteList(restored.dir, exportDir)
    expect(await readRemoteList(exportDir)).toEqual(entries)
    await writeBlob(exportDir, await fs.readFile(blobFile(restored.dir, restored.layers[1])), MediaType.Layer)
    await pruneRemoteList(exportDir, new Set([restored.layers[0].digest, restored.layers[1].digest]))
    expect(await readRemoteList(exportDir)).toEqual([entries[0]])
    await pruneRemoteList(exportDir, new Set())
    expect(await exists(path.join(exportDir, 'buildx-cache-action-remote.json'))).toBe(false)
  })

  test('an archive of a kept mount, never fetched, stays listed; one of a mount not kept does not', async () => {
    const exportDir = await tempDir()
    const kept = { path: 'mounts/npm-1a2b3c4d.tar', sha256: 'a'.repeat(64), bytes: 5_000_000 }
    const dropped = { path: 'mounts/pip-5e6f7a8b.tar', sha256: 'b'.repeat(64), bytes: 7_000_000 }
    await writeRemoteList(exportDir, [kept, dropped])
    await pruneRemoteList(exportDir, new Set(), [kept.path])
    expect(await readRemoteList(exportDir)).toEqual([kept])
    expect(await cacheSize(exportDir)).toBe((await directorySize(exportDir)) + kept.bytes)
  })
})
