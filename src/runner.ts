import * as os from 'node:os'
import * as core from '@actions/core'
import type { RunnerInfo } from './cache-keys.js'
import type { PhaseTiming } from './report.js'

export function runnerInfo(): RunnerInfo {
  return {
    os: process.env.RUNNER_OS || os.platform(),
    arch: process.env.RUNNER_ARCH || os.arch(),
    workspace: process.env.GITHUB_WORKSPACE || process.cwd(),
    temp: process.env.RUNNER_TEMP || os.tmpdir()
  }
}

/** A log group that records how long it took, for the summary's phase table. */
export async function phase<T>(phases: PhaseTiming[], name: string, body: () => Promise<T>): Promise<T> {
  const started = Date.now()
  try {
    return await core.group(name, body)
  } finally {
    const ms = Date.now() - started
    phases.push({ name, ms })
    core.info(`${name}: ${(ms / 1000).toFixed(1)} s`)
  }
}

/** For work that ran in the background: prints its log as a group and records its own duration. */
export async function reportPhase(phases: PhaseTiming[], name: string, ms: number, log: string, alongside: number): Promise<void> {
  await core.group(name, async () => core.info(log))
  phases.push({ name, ms, alongside: alongside || undefined })
  core.info(`${name}: ${(ms / 1000).toFixed(1)} s`)
}
