import { SimulatedRunner, type JobResult } from '../../scripts/lib/runner-sim.mjs'
import { BUSYBOX_CONTEXT, scratchDir } from './testbed.js'

/** Fails with the step's whole log, so a red test shows what BuildKit said. */
export function expectStep(job: JobResult, step: 'main' | 'post', exitCode: number): void {
  if (job[step].exitCode !== exitCode) {
    throw new Error(`${step} exited ${job[step].exitCode}, expected ${exitCode}. Log:\n${job[step].log}`)
  }
}

export function newRunner(workspace: string, serviceEnv: Record<string, string>): SimulatedRunner {
  const root = scratchDir('runner')
  return new SimulatedRunner({ root, workspace, env: serviceEnv })
}

/** Inputs for the example projects: the busybox base comes from the testbed's OCI layout. */
export function exampleInputs(cacheKey: string, extra: Record<string, string> = {}): Record<string, string> {
  return { context: '.', 'build-contexts': BUSYBOX_CONTEXT, 'cache-key': cacheKey, ...extra }
}

export function uniqueKey(name: string): string {
  return `itest-${name}-${Date.now().toString(36)}`
}

export function cacheDirOf(job: JobResult): string {
  return JSON.parse(job.state.run).cacheDir as string
}
