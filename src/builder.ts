import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { builderCreateArgs, builderRemoveArgs } from './buildx-args.js'
import { lastLines, run, runOrThrow } from './exec.js'
import type { ActionInputs } from './inputs.js'

export interface Toolchain {
  docker: string
  buildx: string
}

/** Fails with a message a person can act on when docker or buildx is missing. */
export async function checkToolchain(): Promise<Toolchain> {
  const docker = await run('docker', ['version', '--format', '{{.Server.Version}}'], { silent: true }).catch(() => undefined)
  if (!docker || docker.exitCode !== 0) {
    throw new Error(`docker is not available or its daemon does not answer: ${docker?.stderr.trim() || 'docker not found on PATH'}`)
  }
  const buildx = await run('docker', ['buildx', 'version'], { silent: true })
  if (buildx.exitCode !== 0) {
    throw new Error(`the docker buildx plugin is not available (${buildx.stderr.trim()}); set the buildx-version input to install one`)
  }
  return { docker: docker.stdout.trim(), buildx: buildx.stdout.trim() }
}

export function builderName(runId: string, runAttempt: string): string {
  return `buildx-cache-${runId}-${runAttempt}-${Math.random().toString(36).slice(2, 8)}`
}

/** A docker step run in the background: its duration, its log for a group printed later, and why it failed. */
export interface BuilderStep {
  ms: number
  log: string
  error?: string
}

/**
 * Creates and boots the builder quietly, keeping its output for later: it runs while the cache
 * restore writes to the log. Never rejects; a failure comes back as `error`.
 */
export async function bootBuilder(inputs: ActionInputs, name: string, tempDir: string): Promise<BuilderStep> {
  const started = Date.now()
  const log: string[] = []
  try {
    const configFile = inputs.buildkitdConfigInline ? await writeBuildkitdConfig(tempDir, name, inputs.buildkitdConfigInline) : undefined
    const args = builderCreateArgs(inputs, name, configFile)
    log.push(`[command]docker ${args.join(' ')}`)
    const result = await runOrThrow('docker', args, { silent: true })
    log.push(result.stdout.trim(), result.stderr.trim())
    return { ms: Date.now() - started, log: stepLog(log) }
  } catch (error) {
    return { ms: Date.now() - started, log: stepLog(log), error: (error as Error).message }
  }
}

async function writeBuildkitdConfig(tempDir: string, name: string, content: string): Promise<string> {
  const file = path.join(tempDir, `${name}-buildkitd.toml`)
  await fs.mkdir(tempDir, { recursive: true })
  await fs.writeFile(file, content)
  return file
}

/**
 * Removing the builder also removes its state volume: the next job must not inherit it. Quiet, and
 * never rejects: it runs alongside the cache save, whose log it must not interleave with.
 */
export async function removeBuilder(name: string): Promise<BuilderStep> {
  const started = Date.now()
  const args = builderRemoveArgs(name)
  const result = await run('docker', args, { silent: true }).catch((error: Error) => ({ exitCode: 1, stdout: '', stderr: error.message }))
  const log = stepLog([`[command]docker ${args.join(' ')}`, result.stdout.trim(), result.stderr.trim()])
  const error = result.exitCode === 0 ? undefined : `could not remove builder ${name}: ${lastLines(result.stderr || result.stdout)}`
  return { ms: Date.now() - started, log, error }
}

/** A background step's command and output, for the group printed when it is reported. */
function stepLog(lines: string[]): string {
  return lines.filter(Boolean).join('\n')
}
