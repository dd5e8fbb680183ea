import * as cache from '@actions/cache'
import * as core from '@actions/core'
import * as fs from 'node:fs/promises'
import { watchCacheLog } from './cache-log.js'
import { fileEntryKey, listSeparateFiles, mapLimit, readFileList, stagedPath, stageFiles, stagingDir, unstageFiles, type SeparateFile } from './file-entries.js'
import { formatBytes } from './units.js'

/** The Actions cache service, where every failure is an outcome to report, never an exception. */
export interface RestoreOutcome {
  key?: string
  /** Every archive downloaded: the main entry and the large files. */
  archiveBytes?: number
  warnings: string[]
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

export function serviceAvailable(): boolean {
  return cache.isFeatureAvailable()
}

export async function restoreDir(dir: string, primaryKey: string, restoreKeys: string[]): Promise<RestoreOutcome> {
  try {
    const main = await watchCacheLog(() => cache.restoreCache([dir], primaryKey, restoreKeys))
    if (!main.result) return { archiveBytes: main.archiveBytes, warnings: main.warnings }
    const files = await readFileList(dir)
    if (files.length === 0) return { key: main.result, archiveBytes: main.archiveBytes, warnings: main.warnings }
    await fs.rm(stagingDir(dir), { recursive: true, force: true })
    const fetched = await watchCacheLog(() => mapLimit(files, FILE_CONCURRENCY, file => cache.restoreCache([stagedPath(dir, file)], fileEntryKey(file))))
    await unstageFiles(dir, files)
    const warnings = [...main.warnings, ...fetched.warnings]
    const missing = files.filter((_, i) => fetched.result[i] === undefined)
    if (missing.length > 0) warnings.push(`${missing.length} of ${files.length} large files of the cache are not in the cache service (evicted?): ${missing.map(f => f.path).join(', ')}`)
    return { key: main.result, archiveBytes: (main.archiveBytes ?? 0) + (fetched.archiveBytes ?? 0), warnings }
  } catch (error) {
    return { warnings: [`cache restore failed: ${(error as Error).message}`] }
  }
}

/**
 * Uploads the large files the service does not hold yet, then the main entry. The main entry is
 * only saved once every file it lists is in the service: a cache that names missing files is no cache.
 */
export async function saveDir(dir: string, key: string): Promise<SaveOutcome> {
  const files = await listSeparateFiles(dir)
  try {
    await stageFiles(dir, files)
    const uploads = await watchCacheLog(() => mapLimit(files, FILE_CONCURRENCY, file => saveFile(dir, file)))
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
    await unstageFiles(dir, files)
  }
}

/** stored: the service already has it; uploaded: sent now (or by a job racing this one); failed: not there. */
async function saveFile(dir: string, file: SeparateFile): Promise<'stored' | 'uploaded' | 'failed'> {
  const paths = [stagedPath(dir, file)]
  const key = fileEntryKey(file)
  if (await cache.restoreCache(paths, key, [], { lookupOnly: true })) return 'stored'
  if ((await cache.saveCache(paths, key)) !== -1) return 'uploaded'
  return (await cache.restoreCache(paths, key, [], { lookupOnly: true })) ? 'uploaded' : 'failed'
}
