import { spawn } from 'node:child_process'
import * as exec from '@actions/exec'

export interface CommandResult {
  exitCode: number
  stdout: string
  stderr: string
}

export interface RunOptions {
  env?: Record<string, string>
  silent?: boolean
  onStderr?: (chunk: string) => void
}

/** Runs a command to completion; the exit code is the caller's to judge. */
export async function run(command: string, args: string[], options: RunOptions = {}): Promise<CommandResult> {
  const result = await exec.getExecOutput(command, args, {
    ignoreReturnCode: true,
    silent: options.silent ?? false,
    env: options.env ? { ...definedEnv(), ...options.env } : undefined,
    listeners: options.onStderr ? { stderr: (data: Buffer) => options.onStderr?.(data.toString()) } : undefined
  })
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr }
}

export interface CancellableResult extends CommandResult {
  /** The signal fired and the command was interrupted. */
  cancelled: boolean
}

/**
 * Like `run` (the command line and its output go to the log), and `signal` interrupts it as
 * Ctrl-C would: SIGINT to its whole process group, since `docker` runs buildx as a child process.
 */
export async function runCancellable(command: string, args: string[], options: RunOptions & { signal: AbortSignal }): Promise<CancellableResult> {
  const echo = !options.silent
  if (echo) process.stdout.write(`[command]${command} ${args.join(' ')}\n`)
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: options.env ? { ...definedEnv(), ...options.env } : process.env })
  const stdout: string[] = []
  const stderr: string[] = []
  child.stdout.on('data', (data: Buffer) => {
    stdout.push(data.toString())
    if (echo) process.stdout.write(data)
  })
  child.stderr.on('data', (data: Buffer) => {
    stderr.push(data.toString())
    if (echo) process.stderr.write(data)
    options.onStderr?.(data.toString())
  })
  let cancelled = false
  let forceKill: NodeJS.Timeout | undefined
  const interrupt = (): void => {
    cancelled = true
    signalGroup(child.pid, 'SIGINT')
    forceKill = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), INTERRUPT_GRACE_MS)
  }
  // Its own process group does not get the signals the runner sends this process (a cancelled job): pass them on.
  const forward = (signal: NodeJS.Signals): void => signalGroup(child.pid, signal)
  options.signal.addEventListener('abort', interrupt, { once: true })
  process.once('SIGINT', forward).once('SIGTERM', forward)
  const exitCode = await new Promise<number>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', code => resolve(code ?? 1))
  }).finally(() => {
    options.signal.removeEventListener('abort', interrupt)
    process.removeListener('SIGINT', forward).removeListener('SIGTERM', forward)
    clearTimeout(forceKill)
  })
  return { exitCode, stdout: stdout.join(''), stderr: stderr.join(''), cancelled }
}

/** buildx cancels a build within a second of SIGINT; one that has not exited after this is killed. */
const INTERRUPT_GRACE_MS = 15_000

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  try {
    if (pid !== undefined) process.kill(-pid, signal)
  } catch {
    // Already gone: it finished first.
  }
}

/** Runs a command that must succeed; the error carries the command's own last words. */
export async function runOrThrow(command: string, args: string[], options: RunOptions = {}): Promise<CommandResult> {
  const result = await run(command, args, options)
  if (result.exitCode !== 0) {
    throw new Error(`${command} ${args.slice(0, 2).join(' ')} failed (exit ${result.exitCode}): ${lastLines(result.stderr || result.stdout)}`)
  }
  return result
}

export function lastLines(text: string, count = 3): string {
  return text.trim().split(/\r?\n/).slice(-count).join('\n') || '(no output)'
}

function definedEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined))
}
