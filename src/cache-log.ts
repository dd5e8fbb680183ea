import { AsyncLocalStorage } from 'node:async_hooks'

export interface WatchedCall<T> {
  result: T
  /** Sum of every archive the calls moved (several calls may run inside one watch). */
  archiveBytes?: number
  /** What the library warned about, so the job summary can say why the cache was not used. */
  warnings: string[]
}

interface LogWatch {
  archiveBytes?: number
  warnings: string[]
}

/** The watch whose call wrote a line: concurrent calls (layers fetched in parallel) each read only their own. */
const currentWatch = new AsyncLocalStorage<LogWatch>()
let tap: { original: typeof process.stdout.write; watches: number } | undefined

/**
 * @actions/cache reports what it moved only in its log, and reports a failing service (5xx) as an
 * error annotation. While one of its calls runs, this reads the archive size and the warnings from
 * its log and turns error annotations into warnings: a cache problem must not look like a failed build.
 */
export async function watchCacheLog<T>(call: () => Promise<T>): Promise<WatchedCall<T>> {
  const watch: LogWatch = { warnings: [] }
  openTap()
  try {
    const result = await currentWatch.run(watch, call)
    return { result, archiveBytes: watch.archiveBytes, warnings: watch.warnings }
  } finally {
    closeTap()
  }
}

function openTap(): void {
  if (tap) {
    tap.watches++
    return
  }
  const original = process.stdout.write
  tap = { original, watches: 1 }
  const write = (...args: unknown[]): boolean => (original as (...args: unknown[]) => boolean).call(process.stdout, ...args)
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const watch = currentWatch.getStore()
    if (!watch) return write(chunk, ...rest)
    const text = downgradeErrors(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString())
    const size = parseArchiveSize(text)
    if (size !== undefined) watch.archiveBytes = (watch.archiveBytes ?? 0) + size
    watch.warnings.push(...parseWarnings(text))
    return write(text, ...rest)
  }) as typeof process.stdout.write
}

function closeTap(): void {
  if (!tap || --tap.watches > 0) return
  process.stdout.write = tap.original
  tap = undefined
}

/** Restores log "Cache Size: ~N MB (B B)"; saves only log the archive size as a debug line. */
export function parseArchiveSize(text: string): number | undefined {
  const match = /Cache Size: ~\d+ MB \((\d+) B\)|^::debug::File Size: (\d+)$/m.exec(text)
  return match ? Number(match[1] ?? match[2]) : undefined
}

export function parseWarnings(text: string): string[] {
  return [...text.matchAll(/^::warning[^:]*::(.*)$/gm)].map(match => match[1].trim())
}

export function downgradeErrors(text: string): string {
  return text.replace(/^::error(?=[ :])/gm, '::warning')
}
