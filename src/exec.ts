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
