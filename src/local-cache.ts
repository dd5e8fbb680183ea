import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { readRemoteList, writeRemoteList, type SeparateFile } from './file-entries.js'

/** A BuildKit local cache directory (an OCI layout) checked blob by blob. */
export type CacheCheck = { ok: true; index: Buffer; bytes: number; digests: Set<string> } | { ok: false; reason: string }

interface Descriptor {
  mediaType?: string
  digest: string
  size: number
}

interface Manifest {
  manifests?: Descriptor[]
  layers?: Descriptor[]
  config?: Descriptor
}

export function blobPath(dir: string, digest: string): string {
  const [algorithm, hex] = digest.split(':')
  return path.join(dir, 'blobs', algorithm, hex)
}

/**
 * Follows index.json through every manifest to every blob and checks each is present with the
 * size its descriptor claims: an export cut short or a damaged restore fails here, not in BuildKit.
 * A layer left in the cache service (REMOTE_LIST) counts as present when its listed size matches.
 */
export async function checkLocalCache(dir: string): Promise<CacheCheck> {
  let index: Buffer
  try {
    index = await fs.readFile(path.join(dir, 'index.json'))
  } catch {
    return { ok: false, reason: `no index.json in ${dir}` }
  }
  try {
    const seen = new Set<string>()
    const remote = remoteSizes(await readRemoteList(dir))
    const root = JSON.parse(index.toString()) as Manifest
    if (!root.manifests || root.manifests.length === 0) return { ok: false, reason: 'index.json lists no manifests' }
    let bytes = index.length
    for (const descriptor of root.manifests) bytes += await checkDescriptor(dir, descriptor, seen, remote)
    return { ok: true, index, bytes, digests: seen }
  } catch (error) {
    return { ok: false, reason: (error as Error).message }
  }
}

function remoteSizes(files: SeparateFile[]): Map<string, number> {
  return new Map(files.map(file => [`sha256:${file.sha256}`, file.bytes]))
}

async function checkDescriptor(dir: string, descriptor: Descriptor, seen: Set<string>, remote: Map<string, number>): Promise<number> {
  if (seen.has(descriptor.digest)) return 0
  seen.add(descriptor.digest)
  const file = blobPath(dir, descriptor.digest)
  const stat = await fs.stat(file).catch(() => undefined)
  if (!stat && remote.get(descriptor.digest) === descriptor.size && !isManifest(descriptor.mediaType)) return descriptor.size
  if (!stat) throw new Error(`blob ${descriptor.digest} is missing`)
  if (stat.size !== descriptor.size) {
    throw new Error(`blob ${descriptor.digest} has ${stat.size} bytes, expected ${descriptor.size}`)
  }
  let bytes = stat.size
  if (isManifest(descriptor.mediaType)) {
    const manifest = JSON.parse(await fs.readFile(file, 'utf8')) as Manifest
    const children = [...(manifest.manifests ?? []), ...(manifest.layers ?? []), ...(manifest.config ? [manifest.config] : [])]
    for (const child of children) bytes += await checkDescriptor(dir, child, seen, remote)
  }
  return bytes
}

function isManifest(mediaType: string | undefined): boolean {
  return mediaType !== undefined && /(manifest|image\.index).*json|manifest\.list/.test(mediaType)
}

/** Bytes of every file under dir; 0 when it does not exist. */
export async function directorySize(dir: string): Promise<number> {
  const entries = await fs.readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])
  let total = 0
  for (const entry of entries) {
    if (entry.isFile()) total += (await fs.stat(path.join(entry.parentPath, entry.name))).size
  }
  return total
}

/** The layers of REMOTE_LIST that are not on disk (a layer fetched since then is on disk, no longer remote). */
export async function remoteOnly(dir: string): Promise<SeparateFile[]> {
  const files: SeparateFile[] = []
  for (const file of await readRemoteList(dir)) if (!(await exists(path.join(dir, file.path)))) files.push(file)
  return files
}

/** Bytes of the cache: its files, and its layers left in the cache service. */
export async function cacheSize(dir: string): Promise<number> {
  const remote = await remoteOnly(dir)
  return (await directorySize(dir)) + remote.reduce((sum, file) => sum + file.bytes, 0)
}

/**
 * Digests of the layer blobs the cache's manifests name: the files that can stay in the cache
 * service until BuildKit needs one. Manifests and cache configs are always read, so never listed.
 */
export async function layerDigests(dir: string): Promise<Set<string>> {
  const layers = new Set<string>()
  const index = await readJson<Manifest>(path.join(dir, 'index.json'))
  for (const descriptor of index?.manifests ?? []) {
    const manifest = await readJson<Manifest>(blobPath(dir, descriptor.digest))
    for (const child of [...(manifest?.manifests ?? []), ...(manifest?.layers ?? [])]) {
      if (/layer/.test(child.mediaType ?? '')) layers.add(child.digest)
    }
  }
  return layers
}

async function readJson<T>(file: string): Promise<T | undefined> {
  const text = await fs.readFile(file, 'utf8').catch(() => undefined)
  return text === undefined ? undefined : (JSON.parse(text) as T)
}

/** The export starts out knowing the restored layers still in the cache service, as BuildKit is told they exist. */
export async function carryRemoteList(fromDir: string, toDir: string): Promise<void> {
  await fs.mkdir(toDir, { recursive: true })
  await writeRemoteList(toDir, await readRemoteList(fromDir))
}

/**
 * Keeps, of the files the export was told exist, those not on disk that its index names (layers)
 * or that are in `keptPaths` (archives of mounts kept as they were restored).
 */
export async function pruneRemoteList(dir: string, referenced: Set<string>, keptPaths: string[] = []): Promise<void> {
  await writeRemoteList(dir, (await remoteOnly(dir)).filter(file => referenced.has(`sha256:${file.sha256}`) || keptPaths.includes(file.path)))
}

/** Every blob file of a cache directory, named by its digest (`sha256:<hex>`, from its path). */
async function blobFiles(dir: string): Promise<{ file: string; digest: string }[]> {
  const entries = await fs.readdir(path.join(dir, 'blobs'), { withFileTypes: true, recursive: true }).catch(() => [])
  return entries.filter(entry => entry.isFile()).map(entry => ({ file: path.join(entry.parentPath, entry.name), digest: `${path.basename(entry.parentPath)}:${entry.name}` }))
}

/** Blobs of `oldDir` that `newDir` no longer has: what rotation drops. */
export async function staleBlobs(oldDir: string, newDir: string): Promise<{ count: number; bytes: number }> {
  const [before, after] = await Promise.all([blobFiles(oldDir), blobFiles(newDir)])
  const kept = new Set(after.map(blob => blob.digest))
  return sizeOf(before.filter(blob => !kept.has(blob.digest)))
}

async function sizeOf(blobs: { file: string }[]): Promise<{ count: number; bytes: number }> {
  let bytes = 0
  for (const blob of blobs) bytes += (await fs.stat(blob.file)).size
  return { count: blobs.length, bytes }
}

/**
 * Hard-links the blobs of a restored cache into the directory BuildKit is about to export to.
 * BuildKit skips writing a blob its destination already has, and writing an unchanged large layer
 * again (read back through the build session, then written out) is most of a partial build's export.
 * Returns how many blobs were linked; 0 when linking is not possible (nothing is lost but time).
 */
export async function linkBlobs(fromDir: string, toDir: string): Promise<number> {
  let linked = 0
  for (const { file } of await blobFiles(fromDir)) {
    const target = path.join(toDir, path.relative(fromDir, file))
    await fs.mkdir(path.dirname(target), { recursive: true })
    const ok = await fs.link(file, target).then(
      () => true,
      (error: NodeJS.ErrnoException) => error.code === 'EEXIST'
    )
    if (!ok) return linked
    linked++
  }
  return linked
}

/** Deletes the blobs the export's index does not reach: the ones linked in that this build no longer uses. */
export async function pruneUnreferenced(dir: string, referenced: Set<string>): Promise<{ count: number; bytes: number }> {
  const unreferenced = (await blobFiles(dir)).filter(blob => !referenced.has(blob.digest))
  const pruned = await sizeOf(unreferenced)
  for (const blob of unreferenced) await fs.rm(blob.file)
  return pruned
}

export async function exists(target: string): Promise<boolean> {
  return fs.access(target).then(
    () => true,
    () => false
  )
}
