import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { CACHE_META_FILE } from './constants.js'
import type { CacheMode } from './inputs.js'

/** Carried inside the cache directory, so the next run knows what this cache is. */
export interface CacheMeta {
  key: string
  mode: Exclude<CacheMode, 'off'>
  bytes: number
  /** Size of the last export made with mode=max: decides whether the next run can afford max. */
  maxModeBytes?: number
  savedAt: string
}

export async function readCacheMeta(dir: string): Promise<CacheMeta | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, CACHE_META_FILE), 'utf8')) as CacheMeta
  } catch {
    return undefined
  }
}

export async function writeCacheMeta(dir: string, meta: CacheMeta): Promise<void> {
  await fs.writeFile(path.join(dir, CACHE_META_FILE), JSON.stringify(meta, null, 2))
}

export interface ModeDecision {
  mode: Exclude<CacheMode, 'off'>
  fallback?: string
}

/** mode=max falls back to min while the last max export is known to exceed cache-max-size. */
export function chooseExportMode(requested: Exclude<CacheMode, 'off'>, maxSize: number | undefined, previous: CacheMeta | undefined): ModeDecision {
  const lastMaxBytes = previous?.maxModeBytes
  if (requested === 'max' && maxSize !== undefined && lastMaxBytes !== undefined && lastMaxBytes > maxSize) {
    return { mode: 'min', fallback: `the last mode=max export was ${lastMaxBytes} bytes, over cache-max-size (${maxSize} bytes)` }
  }
  return { mode: requested }
}

/** The meta to store with a new export: carries the last known max-mode size forward. */
export function nextCacheMeta(key: string, mode: Exclude<CacheMode, 'off'>, bytes: number, previous: CacheMeta | undefined, now: Date): CacheMeta {
  return {
    key,
    mode,
    bytes,
    maxModeBytes: mode === 'max' ? bytes : previous?.maxModeBytes,
    savedAt: now.toISOString()
  }
}
