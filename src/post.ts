import * as core from '@actions/core'
import { removeBuilder, type BuilderStep } from './builder.js'
import { nextCacheMeta, readCacheMeta, writeCacheMeta } from './cache-meta.js'
import { saveDir, serviceAvailable } from './cache-store.js'
import { cacheSize, checkLocalCache, staleBlobs } from './local-cache.js'
import { formatBytes } from './units.js'
import { warner, type RunReport, type Warn } from './report.js'
import { discardExport, planRotation, replaceCache } from './rotation.js'
import { phase, reportPhase } from './runner.js'
import { loadRunState, type RunState } from './state.js'
import { renderSummary } from './summary.js'

/** Always runs: rotate and save a good new cache, keep the old one otherwise, clean up, report. */
async function post(): Promise<void> {
  const state = loadRunState()
  if (!state) {
    core.info('main recorded nothing (it stopped before reading its inputs); nothing to clean up')
    return
  }
  const { report } = state
  const warn = warner(report, core.warning)
  // The save does not need the builder: removing it alongside takes it off the job's time.
  const removal = state.builder && !state.keepBuilder ? removeBuilder(state.builder) : undefined
  const phasesBefore = report.phases.length
  try {
    if (state.cacheDir && state.exportDir) {
      const current = await phase(report.phases, 'Rotate cache', () => rotate(state))
      await phase(report.phases, 'Save cache', () => save(state, current, warn))
    }
  } catch (error) {
    warn(`cache rotation or save failed: ${(error as Error).message}; the cache was left as it was`)
  } finally {
    if (removal) await reportRemoval(report, await removal, report.phases.length - phasesBefore, warn)
    await writeSummary(report)
  }
}

async function rotate(state: RunState): Promise<boolean> {
  const { cacheDir, exportDir, report } = state as Required<RunState>
  if (state.cacheReused) {
    await discardExport(exportDir)
    report.rotation = { replaced: false, note: 'every step came from the restored cache, which is kept as it is (nothing exported)' }
    return true
  }
  const fresh = state.buildSucceeded ? await checkLocalCache(exportDir) : undefined
  const plan = planRotation(state.buildSucceeded, fresh)
  if (!plan.replace) {
    await discardExport(exportDir)
    report.rotation = { replaced: false, note: plan.reason }
    core.info(plan.reason)
    return false
  }
  const previous = await readCacheMeta(cacheDir)
  const bytesBefore = await cacheSize(cacheDir)
  const stale = await staleBlobs(cacheDir, exportDir)
  await replaceCache(cacheDir, exportDir)
  const bytesAfter = await cacheSize(cacheDir)
  await writeCacheMeta(cacheDir, nextCacheMeta(state.newKey!, report.exportMode ?? 'max', bytesAfter, previous, new Date()))
  const note = bytesBefore === 0 ? 'first cache on this runner' : `${stale.count} stale blobs dropped (${formatBytes(stale.bytes)})`
  report.rotation = { replaced: true, note, bytesBefore: bytesBefore || undefined, bytesAfter }
  core.info(`Cache directory ${cacheDir}: ${bytesBefore} -> ${bytesAfter} bytes`)
  return true
}

/** `current`: the cache directory now holds this build's cache (a new export swapped in, or the restored one reused). */
async function save(state: RunState, current: boolean, warn: Warn): Promise<void> {
  const { report } = state
  const key = state.newKey
  if (!current || !key) {
    report.save = { status: 'not-saved', note: 'no new complete cache to save; the previous entry stays the newest' }
  } else if (!state.cacheSave) {
    report.save = { status: 'disabled', key, note: 'cache-save is false (restore only)' }
  } else if (key === state.restoredKey) {
    report.save = { status: 'unchanged', key }
  } else if (!serviceAvailable()) {
    report.save = { status: 'not-saved', key, note: 'the Actions cache service is not available to this job' }
    warn('the Actions cache service is not available to this job; the new cache was not saved')
  } else {
    const outcome = await saveDir(state.cacheDir!, key)
    if (outcome.status === 'saved') report.save = { status: 'saved', key, archiveBytes: outcome.archiveBytes, storedFiles: outcome.files.stored, storedBytes: outcome.files.storedBytes }
    else if (outcome.status === 'not-saved') {
      report.save = { status: 'not-saved', key, note: outcome.reason }
      for (const message of outcome.warnings) warn(message, true)
    }
    else {
      report.save = { status: 'failed', key, note: outcome.warning }
      warn(outcome.warning)
    }
  }
  core.info(`Save: ${report.save.status}${report.save.note ? ` (${report.save.note})` : ''}`)
}

async function reportRemoval(report: RunReport, removal: BuilderStep, alongside: number, warn: Warn): Promise<void> {
  await reportPhase(report.phases, 'Remove builder', removal.ms, removal.log, alongside)
  if (removal.error) warn(removal.error)
}

async function writeSummary(report: RunReport): Promise<void> {
  // Also kept as the job's last state entry: a machine-readable copy of the summary for debugging and tests.
  core.saveState('report', JSON.stringify(report))
  if (!process.env.GITHUB_STEP_SUMMARY) return
  await core.summary.addRaw(renderSummary(report)).write()
}

/** A post step must not fail the job for a cache problem: anything unexpected becomes a warning. */
post().catch(error => core.warning(`buildx-cache-action post step: ${(error as Error).message}`))
