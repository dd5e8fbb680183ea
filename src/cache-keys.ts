import { createHash } from 'node:crypto'
import * as path from 'node:path'
import type { ActionInputs } from './inputs.js'

export interface RunnerInfo {
  os: string
  arch: string
  workspace: string
  temp: string
}

export type CacheHit = 'exact' | 'partial' | 'miss'

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

/**
 * Entries of one build share this prefix. Target and platforms are part of it because two
 * matrix jobs building different targets of one Dockerfile would otherwise overwrite each other.
 */
export function keyPrefix(inputs: ActionInputs, runner: RunnerInfo): string {
  if (inputs.cacheKey) return inputs.cacheKey
  // A local Dockerfile is named relative to the workspace, so the prefix does not depend on where the
  // runner checks out; the context as written, so two contexts sharing one Dockerfile stay apart.
  const dockerfile = path.isAbsolute(inputs.file) ? path.relative(runner.workspace, inputs.file) : inputs.file
  const identity = [inputs.context, dockerfile, inputs.target, inputs.platforms.join(',')].join('\n')
  return `buildx-${runner.os}-${runner.arch}-${sha256(identity).slice(0, 12)}`.toLowerCase()
}

/** The newest entry under the prefix wins, on this branch first, then the default branch. */
export function restoreKeys(prefix: string): { primary: string; fallbacks: string[] } {
  return { primary: `${prefix}-`, fallbacks: [`${prefix}-`] }
}

/**
 * Named after what the cache holds, so a build that changed nothing produces the key it restored
 * and the upload can be skipped. The index names every blob by digest, so it changes whenever
 * any blob does; the parts (e.g. cache-mount archives) are hashed alongside it.
 */
export function contentKey(prefix: string, index: Buffer, parts: Record<string, string> = {}): string {
  const partLines = Object.keys(parts)
    .sort()
    .map(name => `${name}=${parts[name]}`)
  return `${prefix}-${sha256(Buffer.concat([index, Buffer.from(partLines.join('\n'))])).slice(0, 20)}`
}

export function defaultCachePath(runner: RunnerInfo, prefix: string): string {
  return path.join(runner.temp, 'buildx-cache-action', sha256(prefix).slice(0, 12))
}

export function classifyHit(restoredKey: string | undefined, newKey: string | undefined): CacheHit {
  if (!restoredKey) return 'miss'
  return restoredKey === newKey ? 'exact' : 'partial'
}
