import * as path from 'node:path'
import * as core from '@actions/core'
import { runBuild, runCacheExport, type BuildOutcome } from './build.js'
import { bootBuilder, builderName, checkToolchain } from './builder.js'
import { installBuildx } from './buildx-install.js'
import { fillMissingResults } from './cache-merge.js'
import { chooseExportMode } from './cache-meta.js'
import { classifyHit, contentKey } from './cache-keys.js'
import { prepareCache, restoreCache, type CacheSetup, type RestoreResult } from './cache-restore.js'
import { parseInputs, type ActionInputs } from './inputs.js'
import { checkLocalCache, directorySize, linkBlobs, pruneUnreferenced } from './local-cache.js'
import { injectMounts, mountDigests, planCacheMounts, saveMounts, type MountContext } from './mount-transfer.js'
import { mountsUsedBySteps, type CacheMountPlan } from './cache-mounts.js'
import { setOutputs } from './outputs.js'
import { emptyReport, warner, type MountReport, type Warn } from './report.js'
import { allFromCache } from './progress.js'
import { phase, reportPhase, runnerInfo } from './runner.js'
import { saveRunState, type RunState } from './state.js'

async function main(): Promise<void> {
  const runner = runnerInfo()
  const inputs = readInputs(runner.workspace)
  if (!inputs) return
  for (const secret of inputs.secrets) core.setSecret(secret.value)
  const state: RunState = { keepBuilder: inputs.keepBuilder, buildSucceeded: false, cacheSave: inputs.cacheSave, cacheMaxSize: inputs.cacheMaxSize, report: emptyReport(inputs.cacheMode) }
  const { report } = state
  const warn = warner(report, core.warning)
  saveRunState(state)

  report.versions = await phase(report.phases, 'Check docker and buildx', async () => {
    if (inputs.buildxVersion) core.info(`Installed buildx ${await installBuildx(inputs.buildxVersion)}`)
    const versions = await checkToolchain()
    core.info(`docker ${versions.docker}; ${versions.buildx}`)
    return versions
  })

  const mountPlans = await planCacheMounts(inputs, warn)
  const setup = await prepareCache(inputs, runner, warn)
  state.builder = builderName(process.env.GITHUB_RUN_ID ?? 'local', process.env.GITHUB_RUN_ATTEMPT ?? '1')
  saveRunState(state)
  // The builder boots while the cache downloads: neither needs the other until the build.
  const booting = bootBuilder(inputs, state.builder, runner.temp)
  const restored = setup ? await phase(report.phases, 'Restore cache', () => restoreCache(setup, warn)) : {}
  recordRestore(state, setup, restored)
  saveRunState(state)
  const boot = await booting
  await reportPhase(report.phases, `Create ${inputs.driver} builder`, boot.ms, boot.log, setup !== undefined)
  if (boot.error) {
    core.setFailed(`could not create the ${inputs.driver} builder: ${boot.error}`)
    return
  }

  const mountContext: MountContext = { inputs, builder: state.builder, temp: runner.temp }
  if (setup && mountPlans.length > 0) {
    report.mounts = await phase(report.phases, 'Restore cache mounts', () => injectMounts(mountPlans, restored.key ? setup.dir : undefined, mountContext, warn))
  }

  const build = await buildWithCache(inputs, state, setup, restored, warn)
  state.buildSucceeded = build.succeeded
  if (setup && build.succeeded && report.mounts) await phase(report.phases, 'Save cache mounts', () => carryMounts(state, setup, mountPlans, build, mountContext, warn))
  await describeNewCache(state, setup, build, mountPlans, warn)
  saveRunState(state)
  setOutputs(build, { hit: report.restore?.hit ?? 'miss', restoredKey: state.restoredKey, newBytes: report.newCache?.bytes, mounts: report.mounts })
  if (!build.succeeded) core.setFailed(`docker buildx build failed:\n${build.error}`)
}

function readInputs(workspace: string): ActionInputs | undefined {
  try {
    return parseInputs(name => core.getInput(name), workspace)
  } catch (error) {
    core.setFailed((error as Error).message)
    return undefined
  }
}

function recordRestore(state: RunState, setup: CacheSetup | undefined, restored: RestoreResult): void {
  if (!setup) return
  state.cacheDir = setup.dir
  state.exportDir = setup.exportDir
  state.keyPrefix = setup.prefix
  state.restoredKey = restored.key
  state.report.restore = { hit: restored.key ? 'partial' : 'miss', key: restored.key, archiveBytes: restored.archiveBytes, note: restored.note }
}

async function buildWithCache(inputs: ActionInputs, state: RunState, setup: CacheSetup | undefined, restored: RestoreResult, warn: Warn): Promise<BuildOutcome> {
  const { report } = state
  const mode = inputs.cacheMode === 'off' ? undefined : chooseExportMode(inputs.cacheMode, inputs.cacheMaxSize, restored.meta)
  report.exportMode = mode?.mode
  report.modeFallback = mode?.fallback
  // With a restored cache, the export waits until the build shows that something ran: a build that
  // took every step from the restored cache would only write that same cache out again, which is
  // most of a warm build's time. When something did run, a second pass exports from the builder.
  const deferExport = setup !== undefined && restored.key !== undefined && !inputs.noCache
  const plan = {
    builder: state.builder!,
    cacheFrom: restored.key ? setup?.dir : undefined,
    cacheTo: deferExport ? undefined : setup?.exportDir,
    exportMode: mode?.mode ?? 'max'
  }
  if (setup && restored.key && !deferExport) await linkBlobs(setup.dir, setup.exportDir)
  const build = await phase(report.phases, 'Build', () =>
    runBuild(inputs, {
      ...plan,
      metadataFile: path.join(process.env.RUNNER_TEMP ?? '.', `${state.builder}-metadata.json`),
      iidFile: path.join(process.env.RUNNER_TEMP ?? '.', `${state.builder}-iid`)
    })
  )
  const { progress } = build
  report.build = { succeeded: build.succeeded, cachedSteps: progress.cachedSteps, totalSteps: progress.totalSteps, stepsRun: progress.stepsRun, error: build.error, cacheImportMs: progress.cacheImportMs, cacheExportMs: progress.cacheExportMs }
  if (deferExport && build.succeeded) {
    if (allFromCache(progress)) state.cacheReused = true
    else await phase(report.phases, 'Export cache', () => exportCache(inputs, state, setup, { ...plan, cacheTo: setup.exportDir }, warn))
  }
  return build
}

async function exportCache(inputs: ActionInputs, state: RunState, setup: CacheSetup, plan: Parameters<typeof runCacheExport>[1], warn: Warn): Promise<void> {
  const linked = await linkBlobs(setup.dir, setup.exportDir)
  core.info(`${linked} blobs of the restored cache linked into the export directory: BuildKit writes only the new ones`)
  const exported = await runCacheExport(inputs, plan)
  state.report.build!.cacheExportMs = exported.progress.cacheExportMs
  if (!exported.succeeded) {
    warn(`exporting the cache failed (${exported.error}); the previous cache is kept`)
    return
  }
  const filled = await fillMissingResults(setup.dir, setup.exportDir)
  if (filled > 0) core.info(`${filled} steps the build did not need to load got their results from the restored cache`)
}

/** Puts the mounts' contents next to the new layer export, so one save carries both. */
async function carryMounts(state: RunState, setup: CacheSetup, plans: CacheMountPlan[], build: BuildOutcome, context: MountContext, warn: Warn): Promise<void> {
  if (state.cacheReused) {
    for (const mount of state.report.mounts!) keepRestoredMount(mount)
    return
  }
  const layerBytes = await directorySize(setup.exportDir)
  const budget = state.cacheMaxSize === undefined ? undefined : state.cacheMaxSize - layerBytes
  const used = mountsUsedBySteps(build.progress.stepsRun)
  await saveMounts(plans, state.report.mounts!, { used, cacheDir: setup.dir, exportDir: setup.exportDir, budget }, context, warn)
}

function keepRestoredMount(mount: MountReport): void {
  mount.outcome = mount.restoredBytes !== undefined ? 'kept' : 'none'
  mount.savedBytes = mount.restoredBytes
  if (mount.restoredBytes === undefined) mount.note = 'no step using it ran'
}

/** Names the new export by its content now, so outputs can say whether anything changed. */
async function describeNewCache(state: RunState, setup: CacheSetup | undefined, build: BuildOutcome, plans: CacheMountPlan[], warn: Warn): Promise<void> {
  if (!setup || !build.succeeded) return
  if (state.cacheReused) {
    state.newKey = state.restoredKey
    state.report.newCache = { key: state.newKey!, bytes: await directorySize(setup.dir) }
    state.report.restore!.hit = 'exact'
    return
  }
  const check = await checkLocalCache(setup.exportDir)
  if (!check.ok) {
    warn(`the new cache export is incomplete (${check.reason}); it will not replace the previous cache`)
    return
  }
  const pruned = await pruneUnreferenced(setup.exportDir, check.digests)
  if (pruned.count > 0) core.info(`${pruned.count} linked blobs this build no longer uses were left out of the new cache (${pruned.bytes} bytes)`)
  const bytes = await directorySize(setup.exportDir)
  state.newKey = contentKey(setup.prefix, check.index, await mountDigests(setup.exportDir, plans))
  const overLimit = state.cacheMaxSize !== undefined && bytes > state.cacheMaxSize ? state.cacheMaxSize : undefined
  state.report.newCache = { key: state.newKey, bytes, overLimit }
  if (state.report.restore) state.report.restore.hit = classifyHit(state.restoredKey, state.newKey)
  if (overLimit !== undefined) warn(`the new cache (${bytes} bytes) is over cache-max-size (${overLimit} bytes); the next run exports with mode=min`)
}

main().catch(error => core.setFailed(`buildx-cache-action failed: ${(error as Error).message}`))
