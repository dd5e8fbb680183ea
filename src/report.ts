import type { CacheHit } from './cache-keys.js'
import type { CacheMode } from './inputs.js'

/** Everything the job summary shows; main fills the first half, post the rest. */
export interface RunReport {
  cacheMode: CacheMode
  exportMode?: Exclude<CacheMode, 'off'>
  /** Why max was lowered to min for this run, when it was. */
  modeFallback?: string
  versions?: { docker: string; buildx: string }
  phases: PhaseTiming[]
  restore?: {
    hit: CacheHit
    key?: string
    archiveBytes?: number
    /** Layers left in the cache service at restore, and those of them BuildKit asked for (registry transport). */
    remoteFiles?: number
    remoteBytes?: number
    fetchedFiles?: number
    fetchedBytes?: number
    note?: string
  }
  build?: BuildReport
  newCache?: { key: string; bytes: number; overLimit?: number }
  rotation?: { replaced: boolean; note: string; bytesBefore?: number; bytesAfter?: number }
  save?: {
    status: 'saved' | 'unchanged' | 'disabled' | 'not-saved' | 'failed'
    key?: string
    archiveBytes?: number
    /** Large files the cache service already held, so they were not uploaded again. */
    storedFiles?: number
    storedBytes?: number
    note?: string
  }
  /** One entry per carried cache mount, in the order of the cache-mounts input. */
  mounts?: MountReport[]
  warnings: string[]
}

export interface MountReport {
  id: string
  /** Size of the saved archive the restored cache holds; absent when there was none. */
  restoredBytes?: number
  /** When the archive went into the builder; absent when it did not (no step using the mount ran, or there was none). */
  unpacked?: 'before-build' | 'on-demand'
  /** Size of the archive stored with the new cache; absent when none was. */
  savedBytes?: number
  /** extracted: read back after the build; kept: the restored archive stays (no step using the mount ran, or one ran before it could be restored); none: no build to read it from. */
  outcome: 'extracted' | 'kept' | 'skipped' | 'failed' | 'none'
  note?: string
}

export interface PhaseTiming {
  name: string
  ms: number
  /** Ran alongside this many phases just before it; only the part that outlasted them adds to the total. */
  alongside?: number
}

export function totalMs(phases: PhaseTiming[]): number {
  let total = 0
  phases.forEach((phase, i) => {
    const overlapped = phases.slice(Math.max(0, i - (phase.alongside ?? 0)), i).reduce((sum, other) => sum + other.ms, 0)
    total += Math.max(0, phase.ms - overlapped)
  })
  return total
}

export interface BuildReport {
  succeeded: boolean
  cachedSteps: number
  totalSteps: number
  stepsRun: string[]
  error?: string
  /** Seconds BuildKit itself reported for its cache import and export vertices. */
  cacheImportMs?: number
  cacheExportMs?: number
}

/** Records a warning for the summary; it is written to the log too unless the cache library already did. */
export type Warn = (message: string, alreadyLogged?: boolean) => void

export function warner(report: RunReport, log: (message: string) => void): Warn {
  return (message, alreadyLogged = false) => {
    report.warnings.push(message)
    if (!alreadyLogged) log(message)
  }
}

export function emptyReport(cacheMode: CacheMode): RunReport {
  return { cacheMode, phases: [], warnings: [] }
}
