import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { readCacheMeta, type CacheMeta } from './cache-meta.js'
import { defaultCachePath, keyPrefix, restoreKeys, type RunnerInfo } from './cache-keys.js'
import { restoreDir, serviceAvailable, type RestoreOptions } from './cache-store.js'
import type { ActionInputs } from './inputs.js'
import { readRemoteList } from './file-entries.js'
import { checkLocalCache } from './local-cache.js'
import type { Warn } from './report.js'

export interface CacheSetup {
  prefix: string
  /** The cache BuildKit imports from: restored here, replaced by the new export in post. */
  dir: string
  /** Where BuildKit writes the new export; becomes `dir` only if complete. */
  exportDir: string
}

export interface RestoreResult {
  key?: string
  archiveBytes?: number
  /** Layers left in the cache service, fetched only if BuildKit asks for them. */
  remoteFiles?: number
  remoteBytes?: number
  meta?: CacheMeta
  note?: string
}

/** Picks the cache directories and makes sure they can be written; undefined means "build without cache". */
export async function prepareCache(inputs: ActionInputs, runner: RunnerInfo, warn: Warn): Promise<CacheSetup | undefined> {
  if (inputs.cacheMode === 'off') return undefined
  const prefix = keyPrefix(inputs, runner)
  const dir = inputs.cachePath ? path.resolve(runner.workspace, inputs.cachePath) : defaultCachePath(runner, prefix)
  const exportDir = `${dir}-new`
  try {
    await fs.rm(exportDir, { recursive: true, force: true })
    await fs.mkdir(path.dirname(dir), { recursive: true })
    const probe = path.join(path.dirname(dir), `.write-test-${process.pid}`)
    await fs.writeFile(probe, '')
    await fs.rm(probe)
  } catch (error) {
    warn(`cache path ${dir} cannot be used (${(error as Error).message}); building without cache`)
    return undefined
  }
  return { prefix, dir, exportDir }
}

/**
 * Fills setup.dir with the newest cache under the prefix. A directory that is already complete
 * (a self-hosted runner that kept it) is used as it is. Anything restored is checked blob by
 * blob; a damaged or partial restore is deleted, so BuildKit never sees it.
 */
export async function restoreCache(setup: CacheSetup, options: RestoreOptions, warn: Warn): Promise<RestoreResult> {
  try {
    return await restoreInto(setup, options, warn)
  } catch (error) {
    warn(`cache restore failed (${(error as Error).message}); building without a restored cache`)
    await fs.rm(setup.dir, { recursive: true, force: true }).catch(() => undefined)
    return { note: 'restore failed' }
  }
}

async function restoreInto(setup: CacheSetup, options: RestoreOptions, warn: Warn): Promise<RestoreResult> {
  const local = await checkLocalCache(setup.dir)
  const localMeta = local.ok ? await readCacheMeta(setup.dir) : undefined
  // Layers a previous job left in the service can only be fetched through the registry.
  const usable = options.lazyLayers || (await readRemoteList(setup.dir)).length === 0
  if (local.ok && localMeta && usable) return { key: localMeta.key, meta: localMeta, note: 'complete cache already on this runner; download skipped' }
  await fs.rm(setup.dir, { recursive: true, force: true })
  if (!serviceAvailable()) {
    warn('the Actions cache service is not available to this job (no ACTIONS_RESULTS_URL or ACTIONS_CACHE_URL); building without a restored cache')
    return { note: 'cache service not available' }
  }
  const keys = restoreKeys(setup.prefix)
  const restored = await restoreDir(setup.dir, keys.primary, keys.fallbacks, options)
  for (const message of restored.warnings) warn(message, true)
  if (!restored.key) {
    await fs.rm(setup.dir, { recursive: true, force: true })
    return { note: restored.warnings.length > 0 ? 'restore failed' : 'no entry for this key yet' }
  }
  const check = await checkLocalCache(setup.dir)
  if (!check.ok) {
    warn(`the restored cache ${restored.key} is damaged (${check.reason}); building without it`)
    await fs.rm(setup.dir, { recursive: true, force: true })
    return { archiveBytes: restored.archiveBytes, note: 'restored cache was damaged and discarded' }
  }
  return { key: restored.key, archiveBytes: restored.archiveBytes, remoteFiles: restored.remoteFiles, remoteBytes: restored.remoteBytes, meta: await readCacheMeta(setup.dir) }
}
