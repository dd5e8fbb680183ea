// The configurations compared. Each opens a session on one workspace (one workload, one
// repetition) and runs jobs in it; every job but the persistent builder's starts like a new runner:
// a new builder and an empty RUNNER_TEMP. A job returns one record with the same fields for all.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { SimulatedRunner } from '../lib/runner-sim.mjs'
import { cacheStep } from './cache-service.mjs'
import { build, builderName, BUSYBOX_CONTEXT, createBuilder, removeBuilder } from './docker.mjs'
import { dirBytes } from './measure.mjs'
import { buildArgsOf } from './workloads.mjs'

export const CONFIG_LABELS = {
  action: '1. action',
  'action-no-mounts': '1b. action without cache-mounts',
  persistent: '2. persistent builder',
  none: '3. no cache',
  handwired: '4. hand-wired local',
  gha: '5. type=gha'
}
export const CONFIG_NAMES = Object.keys(CONFIG_LABELS)

/** The phases every record splits its total into; `other` is the rest (tool checks, rotation, builder removal, process start-up). */
export const PHASES = ['boot', 'restore', 'build', 'export', 'save', 'other']

function record(fields) {
  const phases = { boot: 0, restore: 0, build: 0, export: 0, save: 0, ...fields.phases }
  const known = phases.boot + phases.restore + phases.build + phases.export + phases.save
  phases.other = Math.max(0, fields.totalMs - known)
  return { ok: true, bytesDown: 0, bytesUp: 0, ...fields, phases }
}

/** The phases a background phase ran alongside (the `alongside` ones just before it). */
function alongsideMs(phases, phase) {
  const at = phases.indexOf(phase)
  if (at < 0 || !phase.alongside) return 0
  return phases.slice(Math.max(0, at - phase.alongside), at).reduce((sum, other) => sum + other.ms, 0)
}

function progressFields(progress) {
  return { cachedSteps: progress.cachedSteps, totalSteps: progress.totalSteps, stepsRun: progress.stepsRun }
}

function sumMs(phases) {
  return phases.reduce((total, p) => total + p.ms, 0)
}

/** 1. The action, run by the simulated runner exactly as GitHub runs it: main, then post. */
function actionSession(ctx, workload, workspace, tag, { withMounts = true } = {}) {
  const runner = new SimulatedRunner({ root: fs.mkdtempSync(path.join(ctx.tmp, 'runner-')), workspace, env: ctx.serviceEnv })
  const inputs = { context: '.', 'build-contexts': BUSYBOX_CONTEXT, 'cache-key': `bench-${withMounts ? '' : 'nomounts-'}${tag}`, ...workload.inputs }
  if (!withMounts) delete inputs['cache-mounts']
  const session = {
    cacheDir: undefined,
    async job() {
      runner.reset()
      const job = await runner.runJob(inputs)
      const report = job.report
      const totalMs = job.main.ms + job.post.ms
      session.cacheDir = job.state.run ? JSON.parse(job.state.run).cacheDir : undefined
      const failed = job.main.exitCode !== 0 || job.post.exitCode !== 0 || !report
      if (failed) return { ok: false, totalMs, phases: {}, error: `main exit ${job.main.exitCode}, post exit ${job.post.exitCode}: ${tail(job.main.log + job.post.log)}` }
      const find = prefix => report.phases.find(p => p.name.startsWith(prefix))
      const named = name => sumMs(report.phases.filter(p => p.name === name))
      // The cache library's calls only, so they compare with a raw tar|zstd; moving cache mounts into and out of the builder is "other".
      const restore = named('Restore cache')
      const boot = find('Create') ?? { ms: 0 }
      const exportPhase = find('Export cache')
      const inBuildExport = exportPhase ? 0 : (report.build?.cacheExportMs ?? 0)
      return record({
        totalMs,
        phases: {
          // The builder boots while the tools are checked and the cache downloads: only the part that outlasts them adds to the total.
          boot: Math.max(0, (boot.ms ?? 0) - alongsideMs(report.phases, boot)),
          restore,
          // With cache mounts restored on demand, a build stopped for them and its rerun are both build time.
          build: sumMs(report.phases.filter(p => p.name.startsWith('Build'))) - inBuildExport,
          export: exportPhase ? exportPhase.ms : inBuildExport,
          save: named('Save cache')
        },
        bootRawMs: boot.ms,
        bootOverlapsRestore: (boot.alongside ?? 0) > 0,
        bytesDown: (report.restore?.archiveBytes ?? 0) + (report.restore?.fetchedBytes ?? 0),
        bytesUp: report.save?.status === 'saved' ? (report.save.archiveBytes ?? 0) : 0,
        // Layers the restore left in the cache service (registry transport), fetched only when a step needs them.
        remoteBytes: report.restore?.remoteBytes ?? 0,
        fetchedBytes: report.restore?.fetchedBytes ?? 0,
        // With the registry transport, layers BuildKit did not need stay in the cache service: count them too.
        cacheBytes: report.newCache?.bytes ?? (session.cacheDir ? dirBytes(session.cacheDir) : undefined),
        cachedSteps: report.build?.cachedSteps,
        totalSteps: report.build?.totalSteps,
        stepsRun: report.build?.stepsRun,
        detail: {
          cacheHit: job.outputs['cache-hit'],
          save: report.save?.status,
          rotation: report.rotation?.note,
          cacheImportMs: report.build?.cacheImportMs,
          cacheExportMs: report.build?.cacheExportMs,
          phases: report.phases,
          warnings: report.warnings,
          mounts: report.mounts,
          // examples/cache-mounts prints how many "downloads" its RUN step fetched and found in its cache mount.
          downloads: /downloads: fetched (\d+), reused (\d+)/.exec(job.main.log)?.slice(1).map(Number)
        }
      })
    },
    async close() {
      fs.rmSync(runner.root, { recursive: true, force: true })
    }
  }
  return session
}

/** 2. The physical limit: one builder that keeps its state; no cache import or export at all. */
function persistentSession(ctx, workload, workspace) {
  const name = builderName('persistent')
  let booted = false
  return {
    builder: name,
    async job() {
      const bootMs = booted ? 0 : await createBuilder(name)
      booted = true
      const result = await build(name, workspace, { buildArgs: buildArgsOf(workload) })
      if (!result.ok) return { ok: false, totalMs: bootMs + result.ms, phases: {}, error: result.error }
      return record({ totalMs: bootMs + result.ms, phases: { boot: bootMs, build: result.ms }, ...progressFields(result.progress) })
    },
    async close() {
      if (booted) await removeBuilder(name)
    }
  }
}

/** 3. No cache: a new builder, a cold build, the builder removed. */
function noneSession(ctx, workload, workspace) {
  return {
    async job() {
      const name = builderName('none')
      let removed = false
      try {
        const bootMs = await createBuilder(name)
        const result = await build(name, workspace, { buildArgs: buildArgsOf(workload) })
        const removeMs = await removeBuilder(name)
        removed = true
        const totalMs = bootMs + result.ms + removeMs
        if (!result.ok) return { ok: false, totalMs, phases: {}, error: result.error }
        return record({ totalMs, phases: { boot: bootMs, build: result.ms }, ...progressFields(result.progress) })
      } finally {
        if (!removed) await removeBuilder(name).catch(() => undefined)
      }
    },
    async close() {}
  }
}

/**
 * 4. What many workflows wire by hand: setup-buildx, actions/cache restore (key prefix + run number,
 * restore-keys the prefix), --cache-from and --cache-to on the same directory, actions/cache save.
 * The directory is the same path in every job, as RUNNER_TEMP is on hosted runners.
 */
function handwiredSession(ctx, workload, workspace, tag) {
  const temp = path.join(ctx.tmp, 'handwired-runner', 'temp')
  const dir = path.join(temp, 'buildx-cache')
  const prefix = `bench-hw-${tag}-`
  let runNumber = 0
  const session = {
    cacheDir: dir,
    async job() {
      fs.rmSync(temp, { recursive: true, force: true })
      fs.mkdirSync(temp, { recursive: true })
      runNumber += 1
      const name = builderName('handwired')
      let removed = false
      try {
        const bootMs = await createBuilder(name)
        const restored = await cacheStep(ctx.serviceEnv, temp, 'restore', dir, `${prefix}${runNumber}`, [prefix])
        const cacheFrom = fs.existsSync(path.join(dir, 'index.json')) ? `type=local,src=${dir}` : undefined
        const result = await build(name, workspace, { cacheFrom, cacheTo: `type=local,dest=${dir},mode=max`, buildArgs: buildArgsOf(workload) })
        const cacheBytes = dirBytes(dir)
        const saved = result.ok ? await cacheStep(ctx.serviceEnv, temp, 'save', dir, `${prefix}${runNumber}`) : undefined
        const removeMs = await removeBuilder(name)
        removed = true
        const totalMs = bootMs + restored.wallMs + result.ms + (saved?.wallMs ?? 0) + removeMs
        if (!result.ok) return { ok: false, totalMs, phases: {}, error: result.error }
        return record({
          totalMs,
          phases: { boot: bootMs, restore: restored.ms, build: result.ms - result.progress.exportMs, export: result.progress.exportMs, save: saved.ms },
          bytesDown: restored.key ? restored.archiveBytes : 0,
          bytesUp: saved.key ? saved.archiveBytes : 0,
          cacheBytes,
          ...progressFields(result.progress),
          detail: { restoredKey: restored.key, savedKey: saved.key, cacheImportMs: result.progress.importMs, cacheExportMs: result.progress.exportMs }
        })
      } finally {
        if (!removed) await removeBuilder(name).catch(() => undefined)
      }
    },
    async close() {
      fs.rmSync(path.dirname(temp), { recursive: true, force: true })
    }
  }
  return session
}

const SESSIONS = {
  action: actionSession,
  'action-no-mounts': (ctx, workload, workspace, tag) => actionSession(ctx, workload, workspace, tag, { withMounts: false }), persistent: persistentSession, none: noneSession, handwired: handwiredSession }

/** Opens a session of `config` on `workspace`; `tag` makes its cache keys unique. */
export function openSession(config, ctx, workload, workspace, tag) {
  const open = SESSIONS[config]
  if (!open) throw new Error(`configuration ${config} cannot run jobs`)
  return open(ctx, workload, workspace, tag)
}

function tail(log) {
  return log.split('\n').filter(line => line && !line.startsWith('::debug::') && !line.startsWith('::add-mask::')).slice(-15).join('\n')
}
