import * as cache from '@actions/cache'
import * as core from '@actions/core'
import { watchCacheLog } from './cache-log.js'

/** The Actions cache service, where every failure is an outcome to report, never an exception. */
export interface RestoreOutcome {
  key?: string
  archiveBytes?: number
  warnings: string[]
}

export type SaveOutcome =
  | { status: 'saved'; archiveBytes?: number }
  | { status: 'not-saved'; reason: string; warnings: string[] }
  | { status: 'failed'; warning: string }

export function serviceAvailable(): boolean {
  return cache.isFeatureAvailable()
}

export async function restoreDir(dir: string, primaryKey: string, restoreKeys: string[]): Promise<RestoreOutcome> {
  try {
    const { result, archiveBytes, warnings } = await watchCacheLog(() => cache.restoreCache([dir], primaryKey, restoreKeys))
    return { key: result, archiveBytes, warnings }
  } catch (error) {
    return { warnings: [`cache restore failed: ${(error as Error).message}`] }
  }
}

export async function saveDir(dir: string, key: string): Promise<SaveOutcome> {
  try {
    const { result, archiveBytes, warnings } = await watchCacheLog(() => cache.saveCache([dir], key))
    // -1: the library has already logged why. It says "another job may be creating this cache" (info) both
    // for a real race and for a service it could not reach; other failures come as warnings.
    if (result === -1) {
      const reason = warnings.length > 0 ? warnings.join('; ') : 'the service did not reserve the key: another job holds it, or the service could not be reached (see the log)'
      return { status: 'not-saved', reason, warnings }
    }
    return { status: 'saved', archiveBytes }
  } catch (error) {
    core.debug(String((error as Error).stack))
    return { status: 'failed', warning: `cache save failed: ${(error as Error).message}` }
  }
}
