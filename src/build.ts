import * as fs from 'node:fs/promises'
import { buildArgs, cacheExportArgs, secretEnv, type BuildPlan } from './buildx-args.js'
import { run, runCancellable } from './exec.js'
import type { ActionInputs } from './inputs.js'
import { ProgressTally, type ProgressSummary } from './progress.js'

export interface BuildOutcome {
  succeeded: boolean
  progress: ProgressSummary
  metadata?: Record<string, unknown>
  imageId?: string
  digest?: string
  /** BuildKit's own last words when the build failed. */
  error?: string
  /** Stopped on purpose (BuildWatch.signal): not a result, the build is to run again. */
  stopped?: boolean
}

/** Reads the progress as it streams, and may stop the build. */
export interface BuildWatch {
  write(chunk: string): void
  signal: AbortSignal
}

/** Runs the build with its progress streaming to the log, and reads back what BuildKit reported. */
export async function runBuild(inputs: ActionInputs, plan: BuildPlan, watch?: BuildWatch): Promise<BuildOutcome> {
  await Promise.all([fs.rm(plan.metadataFile, { force: true }), fs.rm(plan.iidFile, { force: true })])
  const tally = new ProgressTally()
  const onStderr = (chunk: string): void => {
    tally.write(chunk)
    watch?.write(chunk)
  }
  const options = { env: secretEnv(inputs), onStderr }
  const result = watch ? await runCancellable('docker', buildArgs(inputs, plan), { ...options, signal: watch.signal }) : await run('docker', buildArgs(inputs, plan), options)
  if ('cancelled' in result && result.cancelled && result.exitCode !== 0) return { succeeded: false, stopped: true, progress: tally.summary() }
  const metadata = await readJson(plan.metadataFile)
  const imageId = (await fs.readFile(plan.iidFile, 'utf8').catch(() => '')).trim() || undefined
  const outcome: BuildOutcome = {
    succeeded: result.exitCode === 0,
    progress: tally.summary(),
    metadata,
    imageId,
    digest: typeof metadata?.['containerimage.digest'] === 'string' ? metadata['containerimage.digest'] : undefined
  }
  if (!outcome.succeeded) outcome.error = buildError(result.stderr, outcome.progress)
  return outcome
}

export interface ExportOutcome {
  succeeded: boolean
  progress: ProgressSummary
  error?: string
}

/** Runs the finished build once more, only to export its cache (see cacheExportArgs). */
export async function runCacheExport(inputs: ActionInputs, plan: Omit<BuildPlan, 'metadataFile' | 'iidFile'>): Promise<ExportOutcome> {
  const tally = new ProgressTally()
  const result = await run('docker', cacheExportArgs(inputs, plan), { env: secretEnv(inputs), onStderr: chunk => tally.write(chunk) })
  const progress = tally.summary()
  return { succeeded: result.exitCode === 0, progress, error: result.exitCode === 0 ? undefined : buildError(result.stderr, progress) }
}

/** buildx ends a failed build with "ERROR: failed to solve: ..."; that line says it best. */
export function buildError(stderr: string, progress: ProgressSummary): string {
  const lines = stderr.trim().split(/\r?\n/)
  const solve = lines.filter(line => /^ERROR:/.test(line))
  if (solve.length > 0) return solve.join('\n')
  if (progress.errors.length > 0) return progress.errors.join('\n')
  return lines.slice(-5).join('\n') || 'docker buildx build failed with no output'
}

async function readJson(file: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>
  } catch {
    return undefined
  }
}
