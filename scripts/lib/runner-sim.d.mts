export interface EntryResult {
  exitCode: number
  log: string
  ms: number
}

export interface JobResult {
  main: EntryResult
  post: EntryResult
  outputs: Record<string, string>
  state: Record<string, string>
  summary: string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  report: any
}

export function parseFileCommands(text: string): Record<string, string>

export class SimulatedRunner {
  constructor(options: { root: string; workspace: string; env?: Record<string, string> })
  readonly root: string
  readonly workspace: string
  readonly temp: string
  env: Record<string, string>
  reset(): void
  runJob(
    inputs: Record<string, string | boolean>,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    options?: { env?: Record<string, string>; beforePost?: (runState: any) => Promise<void> }
  ): Promise<JobResult>
}
