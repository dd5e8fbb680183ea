import * as cache from '@actions/cache'
import * as core from '@actions/core'
import * as fs from 'node:fs/promises'
import { watchCacheLog } from './cache-log.js'
import * as path from 'node:path'
import { fileEntryKey, listSeparateFiles, mapLimit, readFileList, stagedPath, stageFiles, stagingDir, unstageFiles, writeRemoteList, type SeparateFile } from './file-entries.js'
import { layerDigests, remoteOnly } from './local-cache.js'
import { MOUNTS_DIR } from './cache-mounts.js'
import { formatBytes } from './units.js'

/** The Actions cache service, where every failure is an outcome to report, never an exception. */
export interface RestoreOutcome {
  key?: string
  /** Every archive downloaded: the main entry and the large files. */
  archiveBytes?: number
  warnings: string[]
  /** Layers left in the service for the registry to fetch on demand. */
  remoteFiles?: number
  remoteBytes?: number
}

export type SaveOutcome =
  | { status: 'saved'; archiveBytes?: number; files: FileTally }
  | { status: 'not-saved'; reason: string; warnings: string[] }
  | { status: 'failed'; warning: string }

/** The large files of a save: how many went up, and how many the service already held. */
export interface FileTally {
  uploaded: number
  stored: number
  storedBytes: number
}

/** Parallel transfers of large files; the service and the runner's disk both gain from a few at once. */
const FILE_CONCURRENCY = 4
/** Lookups move no data; more of them at once only costs the service a few requests. */
const LOOKUP_CONCURRENCY = 8

export function serviceAvailable(): boolean {
  return cache.isFeatureAvailable()
}

export interface RestoreOptions {
  /** Leave layer blobs in the service (REMOTE_LIST) for the registry to fetch when BuildKit asks. */
  lazyLayers: boolean
  /** Leave cache-mount archives there too, until a step that uses the mount runs. */
  lazyMounts?: boolean
}

export async function restoreDir(dir: string, primaryKey: string, restoreKeys: string[], options: RestoreOptions): Promise<RestoreOutcome> {
  try {
    const main = await watchCacheLog(() => cache.restoreCache([dir], primaryKey, restoreKeys))
    if (!main.result) return { archiveBytes: main.archiveBytes, warnings: main.warnings }
    const files = await readFileList(dir)
    await writeRemoteList(dir, [])
    if (files.length === 0) return { key: main.result, archiveBytes: main.archiveBytes, warnings: main.warnings }
    const layers = options.lazyLayers ? await layerDigests(dir) : new Set<string>()
    const isLayer = (file: SeparateFile): boolean => layers.has(`sha256:${file.sha256}`) && file.path === `blobs/sha256/${file.sha256}`
    const lazy = files.filter(file => isLayer(file) || (options.lazyMounts === true && file.path.startsWith(`${MOUNTS_DIR}/`)))
    const eager = files.filter(file => !lazy.includes(file))
    await fs.rm(stagingDir(dir), { recursive: true, force: true })
    const fetched = await watchCacheLog(() => mapLimit(eager, FILE_CONCURRENCY, file => cache.restoreCache([stagedPath(dir, file)], fileEntryKey(file))))
    // Only asked whether the service holds them: a restore must not promise BuildKit a layer that is gone.
    const found = await mapLimit(lazy, LOOKUP_CONCURRENCY, file => inService(dir, file))
    await unstageFiles(dir, eager)
    const remote = lazy.filter((_, i) => found[i])
    await writeRemoteList(dir, remote)
    const warnings = [...main.warnings, ...fetched.warnings]
    const missing = [...eager.filter((_, i) => fetched.result[i] === undefined), ...lazy.filter((_, i) => !found[i])]
    if (missing.length > 0) warnings.push(`${missing.length} of ${files.length} large files of the cache are not in the cache service (evicted?): ${missing.map(f => f.path).join(', ')}`)
    return { key: main.result, archiveBytes: (main.archiveBytes ?? 0) + (fetched.archiveBytes ?? 0), warnings, remoteFiles: remote.length, remoteBytes: remote.reduce((sum, file) => sum + file.bytes, 0) }
  } catch (error) {
    return { warnings: [`cache restore failed: ${(error as Error).message}`] }
  }
}

/** Downloads one layer left in the service into its place in the cache directory; the archive's size, or undefined when it is not there. */
export async function fetchRemoteFile(dir: string, file: SeparateFile): Promise<number | undefined> {
  const fetched = await watchCacheLog(() => cache.restoreCache([stagedPath(dir, file)], fileEntryKey(file)))
  for (const message of fetched.warnings) core.warning(message)
  if (!fetched.result) return undefined
  const target = path.join(dir, file.path)
  await fs.mkdir(path.dirname(target), { recursive: true })
  await fs.rename(stagedPath(dir, file), target)
  return fetched.archiveBytes ?? file.bytes
}

/**
 * Uploads the large files the service does not hold yet, then the main entry. The main entry is
 * only saved once every file it lists is in the service: a cache that names missing files is no cache.
 */
export async function saveDir(dir: string, key: string): Promise<SaveOutcome> {
  const local = await listSeparateFiles(dir)
  const remote = await stillRemote(dir, local)
  const files = [...local, ...remote]
  try {
    await stageFiles(dir, local, files)
    const uploads = await watchCacheLog(() => mapLimit(files, FILE_CONCURRENCY, file => (remote.includes(file) ? lookupFile(dir, file) : saveFile(dir, file))))
    const failed = files.filter((_, i) => uploads.result[i] === 'failed')
    if (failed.length > 0) {
      const reason = `${failed.length} large files could not be uploaded (${failed.map(f => f.path).join(', ')})`
      return { status: 'not-saved', reason, warnings: [...uploads.warnings, `${reason}; the cache was not saved`] }
    }
    const main = await watchCacheLog(() => cache.saveCache([dir], key))
    // -1: the library has already logged why. It says "another job may be creating this cache" (info) both
    // for a real race and for a service it could not reach; other failures come as warnings.
    if (main.result === -1) {
      const reason = main.warnings.length > 0 ? main.warnings.join('; ') : 'the service did not reserve the key: another job holds it, or the service could not be reached (see the log)'
      return { status: 'not-saved', reason, warnings: main.warnings }
    }
    const stored = files.filter((_, i) => uploads.result[i] === 'stored')
    const tally = { uploaded: files.length - stored.length, stored: stored.length, storedBytes: stored.reduce((sum, f) => sum + f.bytes, 0) }
    if (files.length > 0) core.info(`Large files: ${tally.uploaded} uploaded, ${tally.stored} already in the cache service (${formatBytes(tally.storedBytes)} not uploaded again)`)
    return { status: 'saved', archiveBytes: (main.archiveBytes ?? 0) + (uploads.archiveBytes ?? 0), files: tally }
  } catch (error) {
    core.debug(String((error as Error).stack))
    return { status: 'failed', warning: `cache save failed: ${(error as Error).message}` }
  } finally {
    await unstageFiles(dir, local)
  }
}

/** Layers this cache names that never left the service: the main entry lists them, nobody uploads them. */
async function stillRemote(dir: string, local: SeparateFile[]): Promise<SeparateFile[]> {
  return (await remoteOnly(dir)).filter(file => !local.some(other => other.sha256 === file.sha256))
}

async function lookupFile(dir: string, file: SeparateFile): Promise<'stored' | 'failed'> {
  return (await inService(dir, file)) ? 'stored' : 'failed'
}

/** Asks the service whether it holds a file entry, without downloading it. */
async function inService(dir: string, file: SeparateFile): Promise<boolean> {
  return (await cache.restoreCache([stagedPath(dir, file)], fileEntryKey(file), [], { lookupOnly: true })) !== undefined
}

/** stored: the service already has it; uploaded: sent now (or by a job racing this one); failed: not there. */
async function saveFile(dir: string, file: SeparateFile): Promise<'stored' | 'uploaded' | 'failed'> {
  const paths = [stagedPath(dir, file)]
  const key = fileEntryKey(file)
  if (await inService(dir, file)) return 'stored'
  if ((await cache.saveCache(paths, key)) !== -1) return 'uploaded'
  return (await inService(dir, file)) ? 'uploaded' : 'failed'
}
