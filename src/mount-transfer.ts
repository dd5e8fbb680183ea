import { randomUUID } from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import * as core from '@actions/core'
import {
  cacheNamespaceArg,
  contextsForImage,
  extractBuildArgs,
  extractDockerfile,
  findCacheMounts,
  injectBuildArgs,
  injectDockerfile,
  matchCacheMounts,
  MOUNTS_DIR,
  plansWithoutDockerfile,
  type CacheMountPlan,
  type MountBuildPlan
} from './cache-mounts.js'
import { lastLines, run, type CommandResult } from './exec.js'
import type { CacheRegistry } from './cache-registry.js'
import { fileSha256, type SeparateFile } from './file-entries.js'
import { remoteOnly } from './local-cache.js'
import type { ActionInputs } from './inputs.js'
import type { MountReport, Warn } from './report.js'
import { formatBytes } from './units.js'

/** Which of the requested mounts this Dockerfile uses; the rest are named in a warning. */
export async function planCacheMounts(inputs: ActionInputs, warn: Warn): Promise<CacheMountPlan[]> {
  if (inputs.cacheMounts.length === 0) return []
  if (!inputs.file) {
    warn('cache-mounts: the Dockerfile of a remote context cannot be read, so the mounts are taken as written and not checked')
    return plansWithoutDockerfile(inputs.cacheMounts)
  }
  const match = matchCacheMounts(inputs.cacheMounts, findCacheMounts(await fs.readFile(inputs.file, 'utf8')))
  if (match.unused.length > 0) {
    const names = match.unused.map(request => `'${request.text}'`).join(', ')
    warn(`cache-mounts: ${names} ${match.unused.length === 1 ? 'is' : 'are'} not used by any RUN --mount=type=cache in ${path.basename(inputs.file)}; ignored`)
  }
  for (const { request, reason } of match.unsupported) warn(`cache-mounts: '${request.text}' is skipped: ${reason}`)
  return match.plans
}

export interface MountContext {
  inputs: ActionInputs
  builder: string
  /** Where the generated Dockerfiles are written. */
  temp: string
  /** The action's loopback server, when it runs: archives travel over HTTP instead of the build session. */
  server?: Pick<CacheRegistry, 'fileUrl' | 'layerImageRef' | 'pushedLayers' | 'fetching'>
}

/** One report per mount, with the size of the archive the restored cache holds for it (on disk, or left in the cache service). */
export async function mountReports(plans: CacheMountPlan[], cacheDir: string | undefined): Promise<MountReport[]> {
  const remote = cacheDir ? await remoteArchives(cacheDir) : new Map<string, SeparateFile>()
  const reports: MountReport[] = []
  for (const plan of plans) {
    const restoredBytes = cacheDir ? ((await fileSize(path.join(cacheDir, MOUNTS_DIR, plan.file))) ?? remote.get(plan.file)?.bytes) : undefined
    reports.push({ id: plan.id, outcome: 'none', restoredBytes })
  }
  return reports
}

/** Mount archives the restore left in the cache service, by file name. */
async function remoteArchives(cacheDir: string): Promise<Map<string, SeparateFile>> {
  const archives = (await remoteOnly(cacheDir)).filter(file => file.path.startsWith(`${MOUNTS_DIR}/`))
  return new Map(archives.map(file => [file.path.slice(MOUNTS_DIR.length + 1), file]))
}

/** Unpacks every archive the restored cache holds into the builder's cache mounts. */
export async function injectMounts(plans: CacheMountPlan[], reports: MountReport[], cacheDir: string, when: 'before-build' | 'on-demand', context: MountContext, warn: Warn): Promise<void> {
  const savedDir = path.join(cacheDir, MOUNTS_DIR)
  const restorable = plans.filter((_, i) => reports[i].restoredBytes !== undefined)
  if (restorable.length === 0) return
  const server = context.server
  const urlOf = server && restorable.every(plan => server.fileUrl(plan.file)) ? (file: string) => server.fileUrl(file)! : undefined
  const build = await mountBuild(context, 'inject', injectDockerfile(context.inputs.cacheMountsImage, restorable, urlOf))
  core.info(`${restorable.length} saved mount archives go to the builder ${urlOf ? 'over loopback HTTP (BuildKit downloads them)' : 'through the build session'}`)
  const result = await run('docker', injectBuildArgs(build, urlOf ? undefined : savedDir), { silent: true })
  await fs.rm(build.contextDir, { recursive: true, force: true })
  if (result.exitCode !== 0) {
    warn(`cache-mounts: could not restore the mounts into the builder (${lastLines(result.stderr)}); the build runs with empty cache mounts`)
    for (const report of reports) report.restoredBytes = undefined
    return
  }
  for (const report of reports) if (report.restoredBytes !== undefined) report.unpacked = when
}

export interface SaveMountsOptions {
  /** Mounts the steps that ran used (undefined: unknown, any may have changed). A restored mount no step used is kept as it is. */
  used: Set<string> | undefined
  cacheDir: string
  exportDir: string
  /** Bytes the layer cache already takes of cache-max-size; undefined when there is no limit. */
  budget?: number
}

/** Copies each mount's contents next to the new layer cache, within cache-max-size. */
export async function saveMounts(plans: CacheMountPlan[], reports: MountReport[], options: SaveMountsOptions, context: MountContext, warn: Warn): Promise<void> {
  const target = path.join(options.exportDir, MOUNTS_DIR)
  await fs.mkdir(target, { recursive: true })
  await Promise.all(plans.map((plan, i) => saveMount(plan, reports[i], options, context, warn)))
  let budget = options.budget
  for (const [i, plan] of plans.entries()) {
    const bytes = (await fileSize(path.join(target, plan.file))) ?? (reports[i].outcome === 'kept' ? reports[i].restoredBytes : undefined)
    reports[i].savedBytes = bytes
    if (bytes === undefined || budget === undefined) continue
    if (bytes <= budget) {
      budget -= bytes
      continue
    }
    await fs.rm(path.join(target, plan.file), { force: true })
    reports[i] = { ...reports[i], outcome: 'skipped', savedBytes: undefined, note: `${formatBytes(bytes)} does not fit in cache-max-size` }
    warn(`cache-mounts: '${plan.id}' holds ${formatBytes(bytes)}, more than cache-max-size leaves after the layer cache (${formatBytes(Math.max(budget, 0))}); it is not saved`)
  }
}

async function saveMount(plan: CacheMountPlan, report: MountReport, options: SaveMountsOptions, context: MountContext, warn: Warn): Promise<void> {
  const saved = path.join(options.cacheDir, MOUNTS_DIR, plan.file)
  const archive = path.join(options.exportDir, MOUNTS_DIR, plan.file)
  const untouched = options.used !== undefined && !options.used.has(plan.id)
  if (untouched && report.restoredBytes === undefined) {
    report.note = 'no step using it ran'
    return
  }
  // A step that used the mount finished before the build could be stopped: what the mount holds
  // now lacks the saved contents, so the saved contents stay.
  const ranWithoutIt = !untouched && report.restoredBytes !== undefined && report.unpacked === undefined
  if (untouched || ranWithoutIt) {
    // Same filesystem as the export: a hard link moves no bytes. An archive never fetched stays
    // in the cache service, listed with the export's other remote files.
    if ((await fileSize(saved)) !== undefined) await fs.link(saved, archive).catch(() => fs.copyFile(saved, archive))
    report.outcome = 'kept'
    if (ranWithoutIt) report.note = 'a step using it finished before the mount could be restored; the saved contents are kept'
    return
  }
  const result = await extractMount(plan, archive, context)
  if (result.exitCode === 0) {
    report.outcome = 'extracted'
    return
  }
  await fs.rm(archive, { force: true })
  const keep = report.restoredBytes !== undefined
  if (keep) await fs.copyFile(saved, archive)
  report.outcome = keep ? 'kept' : 'failed'
  report.note = 'could not be read back from the builder'
  warn(`cache-mounts: could not read '${plan.id}' back from the builder (${lastLines(result.stderr)}); ${keep ? 'the restored contents are kept' : 'it is not saved'}`)
}

/** Through the loopback registry when it runs (the layer it receives is the archive), else through the build session. */
async function extractMount(plan: CacheMountPlan, archive: string, context: MountContext): Promise<CommandResult> {
  const build = await mountBuild(context, `extract-${plan.file}`, extractDockerfile(context.inputs.cacheMountsImage, plan))
  try {
    const server = context.server
    if (server) {
      const tag = `mount-${plan.file.replace(/[^A-Za-z0-9_.-]/g, '_')}`
      const pushed = await run('docker', extractBuildArgs(build, { imageRef: server.layerImageRef(tag) }), { silent: true })
      const layers = pushed.exitCode === 0 ? await server.pushedLayers(tag) : undefined
      if (layers?.length === 1) {
        await fs.link(layers[0], archive)
        core.info(`cache mount '${plan.id}' read back through the loopback registry`)
        return pushed
      }
      const why = pushed.exitCode !== 0 ? lastLines(pushed.stderr) : `the pushed image has ${layers?.length ?? 'no'} layers, not one`
      core.info(`cache mount '${plan.id}': reading it back through the loopback registry did not work (${why}); reading it through the build session`)
    }
    return await run('docker', extractBuildArgs(build, { archive }), { silent: true })
  } finally {
    await fs.rm(build.contextDir, { recursive: true, force: true })
  }
}

/** Hashes of the mount archives, for the content key: a changed mount is a changed cache. */
export async function mountDigests(exportDir: string, plans: CacheMountPlan[]): Promise<Record<string, string>> {
  const remote = await remoteArchives(exportDir)
  const parts: Record<string, string> = {}
  for (const plan of plans) {
    const archive = path.join(exportDir, MOUNTS_DIR, plan.file)
    const sha256 = (await fileSize(archive)) !== undefined ? await fileSha256(archive) : remote.get(plan.file)?.sha256
    if (sha256) parts[`mount:${plan.id}`] = sha256
  }
  return parts
}

/** Paths, in the cache directory, of the archives of mounts kept as they were restored. */
export function keptArchives(plans: CacheMountPlan[], reports: MountReport[]): string[] {
  return plans.filter((_, i) => reports[i].outcome === 'kept').map(plan => `${MOUNTS_DIR}/${plan.file}`)
}

async function mountBuild(context: MountContext, name: string, dockerfile: string): Promise<MountBuildPlan> {
  const contextDir = await fs.mkdtemp(path.join(context.temp, `buildx-cache-action-${name}-`))
  await fs.writeFile(path.join(contextDir, 'Dockerfile'), dockerfile)
  return {
    builder: context.builder,
    contextDir,
    nonce: randomUUID(),
    imageContexts: contextsForImage(context.inputs.buildContexts, context.inputs.cacheMountsImage),
    namespaceArg: cacheNamespaceArg(context.inputs.buildArgs)
  }
}

async function fileSize(file: string): Promise<number | undefined> {
  const stat = await fs.stat(file).catch(() => undefined)
  return stat?.isFile() ? stat.size : undefined
}
