import * as fs from 'node:fs/promises'
import { exists, type CacheCheck } from './local-cache.js'

export type RotationPlan = { replace: true } | { replace: false; reason: string }

/** The old cache is only ever replaced by a complete export of a successful build. */
export function planRotation(buildSucceeded: boolean, fresh: CacheCheck | undefined): RotationPlan {
  if (!buildSucceeded) return { replace: false, reason: 'the build did not succeed; the previous cache is kept' }
  if (!fresh) return { replace: false, reason: 'no new cache was exported; the previous cache is kept' }
  if (!fresh.ok) return { replace: false, reason: `the new export is incomplete (${fresh.reason}); the previous cache is kept` }
  return { replace: true }
}

/**
 * Swaps the new export in: stale blobs leave with the old directory. The old one is moved aside
 * first and put back if the swap fails, so a failure here never leaves no cache at all.
 */
export async function replaceCache(dir: string, exportDir: string): Promise<void> {
  const aside = `${dir}-old`
  await fs.rm(aside, { recursive: true, force: true })
  const hadOld = await exists(dir)
  if (hadOld) await fs.rename(dir, aside)
  try {
    await fs.rename(exportDir, dir)
  } catch (error) {
    if (hadOld) await fs.rename(aside, dir)
    throw error
  }
  await fs.rm(aside, { recursive: true, force: true })
}

export async function discardExport(exportDir: string): Promise<void> {
  await fs.rm(exportDir, { recursive: true, force: true })
}
