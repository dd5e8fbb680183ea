import * as core from '@actions/core'
import type { BuildOutcome, BuildWatch } from './build.js'
import { MountStepWatch } from './mount-watch.js'
import { mergeStoppedRun } from './progress.js'

/** Saved cache mounts that go into the builder only when a step that uses one runs. */
export interface MountsOnDemand {
  ids: Set<string>
  /** Unpacks the saved mounts into the builder; `step` is the one that needs them. */
  restore(step: string): Promise<void>
  restored: boolean
  /** Layers are being fetched for BuildKit (registry transport): a step's silence may be a download. */
  busy?: () => boolean
}

/** One run of the build, in its own log group; `watch` reads its progress and may stop it. */
export type BuildAttempt = (name: string, watch?: BuildWatch) => Promise<BuildOutcome>

/**
 * Runs the build without the saved mounts. If a step that uses one starts to run, the build is
 * stopped, the mounts are restored and the build runs again: steps that finished are taken from
 * the builder, and the stopped step starts over with its mount filled.
 */
export async function buildWithMountsOnDemand(attempt: BuildAttempt, name: string, mounts: MountsOnDemand | undefined): Promise<BuildOutcome> {
  if (!mounts || mounts.restored) return attempt(name)
  const stop = new AbortController()
  let neededBy = ''
  const stopFor = (step: string): void => {
    neededBy = step
    core.info(`\n${step} uses a saved cache mount and is running: stopping the build to restore the mounts first`)
    stop.abort()
  }
  const watch = new MountStepWatch(mounts.ids, stopFor, { busy: mounts.busy })
  const first = await attempt(name, { write: chunk => watch.write(chunk), signal: stop.signal }).finally(() => watch.close())
  if (!first.stopped) return first
  mounts.restored = true
  await mounts.restore(neededBy)
  const rerun = await attempt(`${name}, again with the cache mounts`)
  return { ...rerun, progress: mergeStoppedRun(first.progress, rerun.progress) }
}
