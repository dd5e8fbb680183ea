import * as core from '@actions/core'
import type { BuildOutcome } from './build.js'
import type { CacheHit } from './cache-keys.js'
import { Output } from './constants.js'
import type { MountReport } from './report.js'

export interface CacheFacts {
  hit: CacheHit
  restoredKey?: string
  newBytes?: number
  mounts?: MountReport[]
}

export function setOutputs(build: BuildOutcome | undefined, cache: CacheFacts): void {
  core.setOutput(Output.ImageId, build?.imageId ?? '')
  core.setOutput(Output.Digest, build?.digest ?? '')
  core.setOutput(Output.Metadata, build?.metadata ? JSON.stringify(build.metadata) : '')
  core.setOutput(Output.CacheHit, cache.hit)
  core.setOutput(Output.CacheKey, cache.restoredKey ?? '')
  core.setOutput(Output.CacheSize, cache.newBytes !== undefined ? String(cache.newBytes) : '')
  core.setOutput(Output.CachedSteps, String(build?.progress.cachedSteps ?? 0))
  core.setOutput(Output.TotalSteps, String(build?.progress.totalSteps ?? 0))
  core.setOutput(Output.CacheMounts, JSON.stringify((cache.mounts ?? []).map(mountOutput)))
}

/** Per mount: whether it came back from the cache, and what it holds now. */
export function mountOutput(mount: MountReport): Record<string, string | number | boolean> {
  return {
    id: mount.id,
    restored: mount.restoredBytes !== undefined,
    'restored-bytes': mount.restoredBytes ?? 0,
    unpacked: mount.unpacked ?? 'no',
    saved: mount.savedBytes !== undefined,
    bytes: mount.savedBytes ?? 0,
    outcome: mount.outcome
  }
}
