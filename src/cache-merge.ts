import { createHash } from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { readRemoteList } from './file-entries.js'
import { blobPath, exists } from './local-cache.js'

/**
 * BuildKit's cache config (application/vnd.buildkit.cacheconfig.v0): layer chains, and records
 * keyed by cache-key digest whose `layers` name the result.
 */
interface CacheConfig {
  layers: { blob: string; parent?: number; [other: string]: unknown }[]
  records: CacheRecord[]
}

interface CacheRecord {
  digest: string
  layers?: { layer: number; [other: string]: unknown }[]
  chains?: unknown[]
  /** Per input of the step, the records it was computed from (`link` indexes `records`). */
  inputs?: { selector?: string; link: number }[][]
  [other: string]: unknown
}

interface Descriptor {
  mediaType: string
  digest: string
  size: number
  [other: string]: unknown
}

interface LoadedCache {
  dir: string
  index: { manifests: Descriptor[]; [other: string]: unknown }
  manifest: { manifests: Descriptor[]; [other: string]: unknown }
  configDescriptor: Descriptor
  config: CacheConfig
}

const CACHE_CONFIG_TYPE = 'application/vnd.buildkit.cacheconfig.v0'

/**
 * An export names every step's cache key, but leaves out the result of a step the build never had
 * to load (a later step was already cached). Exported as is, the next run would rerun that step.
 * Such keys get the result the restored cache had for the same key: same digest, same computation.
 * Only keys this build's results were computed from are filled: the graph can also name keys of an
 * earlier version of a changed stage (the previous chain of the final stage), whose results no
 * step of this build used; filling those would keep a superseded chain in the cache.
 */
export async function fillMissingResults(restoredDir: string, exportDir: string): Promise<FillOutcome> {
  const outcome = { filled: 0, unused: 0 }
  const [old, fresh] = await Promise.all([loadCache(restoredDir), loadCache(exportDir)])
  if (!old || !fresh) return outcome
  const oldRecords = new Map(old.config.records.map(record => [record.digest, record]))
  const remote = new Set((await readRemoteList(exportDir)).map(file => `sha256:${file.sha256}`))
  const copier = new LayerCopier(old, fresh, remote)
  const used = feedingResults(fresh.config.records)
  for (const [i, record] of fresh.config.records.entries()) {
    if (hasResult(record)) continue
    const previous = oldRecords.get(record.digest)
    if (!previous?.layers || previous.layers.length === 0) continue
    if (!used.has(i)) {
      outcome.unused++
      continue
    }
    record.layers = previous.layers.map(result => ({ ...result, layer: copier.copy(result.layer) }))
    outcome.filled++
  }
  if (outcome.filled === 0) return outcome
  await copier.copyBlobs()
  await writeCache(fresh)
  return outcome
}

export interface FillOutcome {
  /** Records that got the restored cache's result for their key. */
  filled: number
  /** Records the restored cache had a result for, left empty: no result of this build came from them. */
  unused: number
}

function hasResult(record: CacheRecord): boolean {
  return (record.layers?.length ?? 0) > 0 || (record.chains?.length ?? 0) > 0
}

/** The records a record with a result was computed from, directly or through other records. */
export function feedingResults(records: CacheRecord[]): Set<number> {
  const found = new Set<number>()
  const pending = records.flatMap((record, i) => (hasResult(record) ? [i] : []))
  while (pending.length > 0) {
    const record = records[pending.pop()!]
    for (const input of record.inputs ?? []) {
      for (const { link } of input) {
        if (found.has(link) || !records[link]) continue
        found.add(link)
        pending.push(link)
      }
    }
  }
  return found
}

/** Copies layer chains from one cache config into another, each chain entry once. */
class LayerCopier {
  private readonly known = new Map<string, number>()
  private readonly blobs = new Set<string>()

  constructor(
    private readonly from: LoadedCache,
    private readonly to: LoadedCache,
    /** Layers the export lists as still in the cache service. */
    private readonly remote: Set<string>
  ) {
    to.config.layers.forEach((layer, i) => this.known.set(chainKey(layer.blob, layer.parent), i))
  }

  copy(oldIndex: number): number {
    const layer = this.from.config.layers[oldIndex]
    if (!layer) throw new Error(`the restored cache config names layer ${oldIndex}, which it does not have`)
    const parent = layer.parent !== undefined && layer.parent >= 0 ? this.copy(layer.parent) : undefined
    const key = chainKey(layer.blob, parent)
    const existing = this.known.get(key)
    if (existing !== undefined) return existing
    const copied: CacheConfig['layers'][number] = { ...layer }
    delete copied.parent
    if (parent !== undefined) copied.parent = parent
    this.to.config.layers.push(copied)
    this.known.set(key, this.to.config.layers.length - 1)
    this.blobs.add(layer.blob)
    return this.to.config.layers.length - 1
  }

  /** Each copied blob: its descriptor into the new manifest, its file into the new directory (linked if not already there). */
  async copyBlobs(): Promise<void> {
    for (const digest of this.blobs) {
      if (!this.to.manifest.manifests.some(d => d.digest === digest)) {
        const descriptor = this.from.manifest.manifests.find(d => d.digest === digest)
        if (!descriptor) throw new Error(`the restored cache has no descriptor for ${digest}`)
        this.to.manifest.manifests.push(descriptor)
      }
      const target = blobPath(this.to.dir, digest)
      const source = blobPath(this.from.dir, digest)
      if (await exists(target)) continue
      // A layer still in the cache service stays there: the export already lists it (carryRemoteList).
      if (!(await exists(source)) && this.remote.has(digest)) continue
      await fs.mkdir(path.dirname(target), { recursive: true })
      await fs.link(source, target).catch(() => fs.copyFile(source, target))
    }
  }
}

function chainKey(blob: string, parent: number | undefined): string {
  return `${blob}|${parent ?? -1}`
}

async function loadCache(dir: string): Promise<LoadedCache | undefined> {
  try {
    const index = JSON.parse(await fs.readFile(path.join(dir, 'index.json'), 'utf8')) as LoadedCache['index']
    if (index.manifests.length !== 1) return undefined
    const manifest = JSON.parse(await fs.readFile(blobPath(dir, index.manifests[0].digest), 'utf8')) as LoadedCache['manifest']
    const configDescriptor = manifest.manifests?.find(d => d.mediaType === CACHE_CONFIG_TYPE)
    if (!configDescriptor) return undefined
    const config = JSON.parse(await fs.readFile(blobPath(dir, configDescriptor.digest), 'utf8')) as CacheConfig
    if (!Array.isArray(config.layers) || !Array.isArray(config.records)) return undefined
    return { dir, index, manifest, configDescriptor, config }
  } catch {
    return undefined
  }
}

/** Writes the changed config, then the manifest naming it, then index.json naming that. */
async function writeCache(cache: LoadedCache): Promise<void> {
  const config = await writeBlob(cache.dir, JSON.stringify(cache.config))
  cache.manifest.manifests = cache.manifest.manifests.map(d => (d.digest === cache.configDescriptor.digest ? { ...d, ...config } : d))
  const manifest = await writeBlob(cache.dir, JSON.stringify(cache.manifest))
  cache.index.manifests = [{ ...cache.index.manifests[0], ...manifest }]
  await fs.writeFile(path.join(cache.dir, 'index.json'), JSON.stringify(cache.index))
}

async function writeBlob(dir: string, text: string): Promise<{ digest: string; size: number }> {
  const data = Buffer.from(text)
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`
  const file = blobPath(dir, digest)
  await fs.mkdir(path.dirname(file), { recursive: true })
  await fs.writeFile(file, data)
  return { digest, size: data.length }
}
