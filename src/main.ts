import * as path from 'node:path'
import * as core from '@actions/core'
import { runBuild, runCacheExport, type BuildOutcome, type BuildWatch } from './build.js'
import { bootBuilder, builderName, checkToolchain } from './builder.js'
import { installBuildx } from './buildx-install.js'
import { fillMissingResults } from './cache-merge.js'
import { chooseExportMode } from './cache-meta.js'
import { classifyHit, contentKey } from './cache-keys.js'
import { prepareCache, restoreCache, type CacheSetup, type RestoreResult } from './cache-restore.js'
import { parseInputs, type ActionInputs } from './inputs.js'
import { startCacheRegistry, type CacheRegistry, type RegistryTraffic } from './cache-registry.js'
import { fetchRemoteFile, type RestoreOptions } from './cache-store.js'
import { readRemoteList, writeRemoteList, type SeparateFile } from './file-entries.js'
import { cacheSize, carryRemoteList, checkLocalCache, linkBlobs, pruneRemoteList, pruneUnreferenced } from './local-cache.js'
import { buildWithMountsOnDemand, type MountsOnDemand } from './mount-demand.js'
import { injectMounts, keptArchives, mountDigests, mountReports, planCacheMounts, saveMounts, type MountContext } from './mount-transfer.js'
import { MOUNTS_DIR, mountsUsedBySteps, type CacheMountPlan } from './cache-mounts.js'
import { setOutputs } from './outputs.js'
import { emptyReport, warner, type MountReport, type Warn } from './report.js'
import { allFromCache } from './progress.js'
import { phase, reportPhase, runnerInfo } from './runner.js'
import { saveRunState, type RunState } from './state.js'
import { discardExport } from './rotation.js'
import { formatBytes } from './units.js'

async function main(): Promise<void> {
  const runner = runnerInfo()
  const inputs = readInputs(runner.workspace)
  if (!inputs) return
  for (const secret of inputs.secrets) core.setSecret(secret.value)
  const state: RunState = { keepBuilder: inputs.keepBuilder, buildSucceeded: false, cacheSave: inputs.cacheSave, cacheMaxSize: inputs.cacheMaxSize, report: emptyReport(inputs.cacheMode) }
  const { report } = state
  const warn = warner(report, core.warning)
  state.builder = builderName(process.env.GITHUB_RUN_ID ?? 'local', process.env.GITHUB_RUN_ATTEMPT ?? '1')
  saveRunState(state)
  // The builder boots while the tools are checked and the cache downloads: none needs another until
  // the build. Without docker or buildx the boot fails too, and the check says why. A buildx to
  // install comes first, since the boot runs it.
  const phasesAtStart = report.phases.length
  const bootEarly = inputs.buildxVersion ? undefined : bootBuilder(inputs, state.builder, runner.temp)

  report.versions = await phase(report.phases, 'Check docker and buildx', async () => {
    if (inputs.buildxVersion) core.info(`Installed buildx ${await installBuildx(inputs.buildxVersion)}`)
    const versions = await checkToolchain()
    core.info(`docker ${versions.docker}; ${versions.buildx}`)
    return versions
  })

  const mountPlans = await planCacheMounts(inputs, warn)
  const setup = await prepareCache(inputs, runner, warn)
  const bootedAfter = bootEarly ? phasesAtStart : report.phases.length
  const booting = bootEarly ?? bootBuilder(inputs, state.builder, runner.temp)
  const restored = setup ? await phase(report.phases, 'Restore cache', () => restoreCache(setup, restoreOptions(inputs, mountPlans), warn)) : {}
  recordRestore(state, setup, restored)
  saveRunState(state)
  const boot = await booting
  await reportPhase(report.phases, `Create ${inputs.driver} builder`, boot.ms, boot.log, report.phases.length - bootedAfter)
  if (boot.error) {
    core.setFailed(`could not create the ${inputs.driver} builder: ${boot.error}`)
    return
  }

  // From here to the end of the build, BuildKit reads the cache (and the mounts' archives) over loopback HTTP.
  const registry = setup && inputs.cacheTransport === 'registry' ? await openRegistry(setup, restored, warn) : undefined
  let build: BuildOutcome
  try {
    const mountContext: MountContext = { inputs, builder: state.builder, temp: runner.temp, server: registry }
    const mounts = setup && mountPlans.length > 0 ? await prepareMounts(state, setup, restored, mountPlans, mountContext, warn) : undefined
    build = await buildWithCache(inputs, state, setup, restored, registry, mounts, warn)
    state.buildSucceeded = build.succeeded
    if (setup && build.succeeded && report.mounts) await phase(report.phases, 'Save cache mounts', () => carryMounts(state, setup, mountPlans, build, mountContext, warn))
  } finally {
    await registry?.close()
    if (registry) reportRegistry(state, registry.traffic)
  }
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

/** Through the registry, layers stay in the cache service until BuildKit asks for one, and mount archives until a step needs them. */
function restoreOptions(inputs: ActionInputs, mountPlans: CacheMountPlan[]): RestoreOptions {
  const lazyLayers = inputs.cacheTransport === 'registry'
  return { lazyLayers, lazyMounts: lazyLayers && mountPlans.length > 0 && mountsOnDemand(inputs) }
}

function mountsOnDemand(inputs: ActionInputs): boolean {
  // Without the layer cache every step runs, and so does every step that uses a mount.
  return inputs.cacheMountsRestore === 'on-demand' && !inputs.noCache
}

function recordRestore(state: RunState, setup: CacheSetup | undefined, restored: RestoreResult): void {
  if (!setup) return
  state.cacheDir = setup.dir
  state.exportDir = setup.exportDir
  state.keyPrefix = setup.prefix
  state.restoredKey = restored.key
  state.report.restore = { hit: restored.key ? 'partial' : 'miss', key: restored.key, archiveBytes: restored.archiveBytes, remoteFiles: restored.remoteFiles, remoteBytes: restored.remoteBytes, note: restored.note }
}

/**
 * Reports every carried mount. The saved ones are unpacked into the builder now, or (on-demand)
 * handed back to be unpacked only when a step that uses one runs.
 */
async function prepareMounts(state: RunState, setup: CacheSetup, restored: RestoreResult, plans: CacheMountPlan[], context: MountContext, warn: Warn): Promise<MountsOnDemand | undefined> {
  const reports = (state.report.mounts = await mountReports(plans, restored.key ? setup.dir : undefined))
  const saved = plans.filter((_, i) => reports[i].restoredBytes !== undefined)
  if (saved.length === 0) return undefined
  const restore = (when: 'before-build' | 'on-demand'): Promise<void> => phase(state.report.phases, 'Restore cache mounts', () => injectMounts(plans, reports, setup.dir, when, context, warn))
  if (!mountsOnDemand(context.inputs)) {
    await restore('before-build')
    return undefined
  }
  core.info(`Saved cache mounts (${saved.map(plan => plan.id).join(', ')}) go into the builder only if a step that uses one runs`)
  const server = context.server
  return { ids: new Set(saved.map(plan => plan.id)), restored: false, restore: () => restore('on-demand'), busy: server && (() => server.fetching()) }
}

async function buildWithCache(inputs: ActionInputs, state: RunState, setup: CacheSetup | undefined, restored: RestoreResult, registry: CacheRegistry | undefined, mounts: MountsOnDemand | undefined, warn: Warn): Promise<BuildOutcome> {
  const { report } = state
  const mode = inputs.cacheMode === 'off' ? undefined : chooseExportMode(inputs.cacheMode, inputs.cacheMaxSize, restored.meta)
  report.exportMode = mode?.mode
  report.modeFallback = mode?.fallback
  // Through the session (type=local), the export waits until the build shows that something ran: a
  // build that took every step from the restored cache would only write that same cache out again,
  // which is most of a warm build's time; when something did run, a second pass exports. Through the
  // registry, unchanged blobs are answered present and never re-sent, so the build exports at once.
  const deferExport = setup !== undefined && restored.key !== undefined && !inputs.noCache && inputs.cacheTransport !== 'registry'
  if (setup && restored.key && !deferExport) await prepareExportDir(setup)
  const plan = {
    builder: state.builder!,
    cacheFrom: restored.key ? setup?.dir : undefined,
    cacheTo: deferExport ? undefined : setup?.exportDir,
    exportMode: mode?.mode ?? 'max',
    registry: registry && { importRef: registry.importRef, exportRef: registry.exportRef }
  }
  const files = {
    metadataFile: path.join(process.env.RUNNER_TEMP ?? '.', `${state.builder}-metadata.json`),
    iidFile: path.join(process.env.RUNNER_TEMP ?? '.', `${state.builder}-iid`)
  }
  let buildPlan: typeof plan = plan
  const attempt = (name: string, watch?: BuildWatch): Promise<BuildOutcome> => phase(report.phases, name, () => runBuild(inputs, { ...buildPlan, ...files }, watch))
  let build = await buildWithMountsOnDemand(attempt, 'Build', mounts)
  if (!build.succeeded && setup && registry && registry.traffic.failedFetches.length > 0) {
    await forgetUnavailableLayers(setup, registry.traffic.failedFetches, warn)
    if (!deferExport) await carryRemoteList(setup.dir, setup.exportDir)
    buildPlan = { ...plan, cacheFrom: undefined }
    build = await buildWithMountsOnDemand(attempt, 'Build without cache', mounts)
  }
  const { progress } = build
  report.build = { succeeded: build.succeeded, cachedSteps: progress.cachedSteps, totalSteps: progress.totalSteps, stepsRun: progress.stepsRun, error: build.error, cacheImportMs: progress.cacheImportMs, cacheExportMs: progress.cacheExportMs }
  if (setup && restored.key && !inputs.noCache && build.succeeded) {
    if (allFromCache(progress)) state.cacheReused = true
    else if (deferExport) await phase(report.phases, 'Export cache', () => exportCache(inputs, state, setup, { ...buildPlan, cacheTo: setup.exportDir }, warn))
    else await completeExport(setup, warn)
  }
  return build
}

/** A cache problem must not fail the build: the layers the service could not give are no longer promised to BuildKit. */
async function forgetUnavailableLayers(setup: CacheSetup, failed: string[], warn: Warn): Promise<void> {
  warn(`the build failed after the cache service could not give ${failed.join(', ')}; building again without the restored cache`)
  await writeRemoteList(setup.dir, (await readRemoteList(setup.dir)).filter(file => !failed.includes(file.path)))
}

function reportRegistry(state: RunState, traffic: RegistryTraffic): void {
  const fetched = traffic.fetchedFiles > 0 ? `; ${traffic.fetchedFiles} large files fetched from the cache service when BuildKit asked (${formatBytes(traffic.fetchedBytes)})` : ''
  core.info(`Cache registry: ${traffic.requests} requests, ${formatBytes(traffic.servedBytes)} served to BuildKit, ${formatBytes(traffic.receivedBytes)} received${fetched}`)
  if (state.report.restore) Object.assign(state.report.restore, { fetchedFiles: traffic.fetchedFiles, fetchedBytes: traffic.fetchedBytes })
}

/** The export starts from what the restored cache has: BuildKit then writes only new blobs. */
async function prepareExportDir(setup: CacheSetup): Promise<number> {
  const linked = await linkBlobs(setup.dir, setup.exportDir)
  await carryRemoteList(setup.dir, setup.exportDir)
  return linked
}

/** Starts the loopback registry; if it cannot start, the cache goes through the build session instead. */
async function openRegistry(setup: CacheSetup, restored: RestoreResult, warn: Warn): Promise<CacheRegistry | undefined> {
  try {
    const remoteFiles = restored.key ? await readRemoteList(setup.dir) : []
    const remote = remoteFiles.length > 0 ? { files: remoteFiles, fetch: (file: SeparateFile) => fetchRemoteFile(setup.dir, file) } : undefined
    return await startCacheRegistry({ importDir: restored.key ? setup.dir : undefined, exportDir: setup.exportDir, remote, files: path.join(setup.dir, MOUNTS_DIR) })
  } catch (error) {
    warn(`the cache registry could not start (${(error as Error).message}); BuildKit reads and writes the cache through the build session`)
    await fetchAllRemote(setup)
    return undefined
  }
}

/** type=local reads only what is on disk: the layers the restore left in the service are fetched now. */
async function fetchAllRemote(setup: CacheSetup): Promise<void> {
  const files = await readRemoteList(setup.dir)
  const missing = []
  for (const file of files) if ((await fetchRemoteFile(setup.dir, file)) === undefined) missing.push(file)
  await writeRemoteList(setup.dir, missing)
}

async function exportCache(inputs: ActionInputs, state: RunState, setup: CacheSetup, plan: Parameters<typeof runCacheExport>[1], warn: Warn): Promise<void> {
  const linked = await prepareExportDir(setup)
  core.info(`${linked} blobs of the restored cache linked into the export directory: BuildKit writes only the new ones`)
  const exported = await runCacheExport(inputs, plan)
  state.report.build!.cacheExportMs = exported.progress.cacheExportMs
  if (!exported.succeeded) {
    warn(`exporting the cache failed (${exported.error}); the previous cache is kept`)
    return
  }
  await completeExport(setup, warn)
}

async function completeExport(setup: CacheSetup, warn: Warn): Promise<void> {
  try {
    const { filled, unused } = await fillMissingResults(setup.dir, setup.exportDir)
    if (filled > 0) core.info(`${filled} steps the build did not need to load got their results from the restored cache`)
    if (unused > 0) core.info(`${unused} cache keys of earlier versions of changed steps were left without results: no result of this build came from them`)
  } catch (error) {
    warn(`completing the exported cache from the restored one failed (${(error as Error).message}); the previous cache is kept`)
    await discardExport(setup.exportDir)
  }
}

/** Puts the mounts' contents next to the new layer export, so one save carries both. */
async function carryMounts(state: RunState, setup: CacheSetup, plans: CacheMountPlan[], build: BuildOutcome, context: MountContext, warn: Warn): Promise<void> {
  if (state.cacheReused) {
    for (const mount of state.report.mounts!) keepRestoredMount(mount)
    return
  }
  const layerBytes = await cacheSize(setup.exportDir)
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
    state.report.newCache = { key: state.newKey!, bytes: await cacheSize(setup.dir) }
    state.report.restore!.hit = 'exact'
    return
  }
  const check = await checkLocalCache(setup.exportDir)
  if (!check.ok) {
    warn(`the new cache export is incomplete (${check.reason}); it will not replace the previous cache`)
    return
  }
  const pruned = await pruneUnreferenced(setup.exportDir, check.digests)
  await pruneRemoteList(setup.exportDir, check.digests, state.report.mounts ? keptArchives(plans, state.report.mounts) : [])
  if (pruned.count > 0) core.info(`${pruned.count} linked blobs this build no longer uses were left out of the new cache (${pruned.bytes} bytes)`)
  const bytes = await cacheSize(setup.exportDir)
  state.newKey = contentKey(setup.prefix, check.index, await mountDigests(setup.exportDir, plans))
  const overLimit = state.cacheMaxSize !== undefined && bytes > state.cacheMaxSize ? state.cacheMaxSize : undefined
  state.report.newCache = { key: state.newKey, bytes, overLimit }
  if (state.report.restore) state.report.restore.hit = classifyHit(state.restoredKey, state.newKey)
  if (overLimit !== undefined) warn(`the new cache (${bytes} bytes) is over cache-max-size (${overLimit} bytes); the next run exports with mode=min`)
}

main().catch(error => core.setFailed(`buildx-cache-action failed: ${(error as Error).message}`))
