import * as core from '@actions/core'
import type { BuildOutcome } from './build.js'
import type { CacheHit } from './cache-keys.js'
import { Output } from './constants.js'

export interface CacheFacts {
  hit: CacheHit
  restoredKey?: string
  newBytes?: number
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
}
