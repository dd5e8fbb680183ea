export interface WatchedCall<T> {
  result: T
  /** Sum of every archive the calls moved (several calls may run inside one watch). */
  archiveBytes?: number
  /** What the library warned about, so the job summary can say why the cache was not used. */
  warnings: string[]
}

/**
 * @actions/cache reports what it moved only in its log, and reports a failing service (5xx) as an
 * error annotation. While one of its calls runs, this reads the archive size and the warnings from
 * its log and turns error annotations into warnings: a cache problem must not look like a failed build.
 */
export async function watchCacheLog<T>(call: () => Promise<T>): Promise<WatchedCall<T>> {
  const original = process.stdout.write
  let archiveBytes: number | undefined
  const warnings: string[] = []
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = downgradeErrors(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString())
    const size = parseArchiveSize(text)
    if (size !== undefined) archiveBytes = (archiveBytes ?? 0) + size
    warnings.push(...parseWarnings(text))
    return (original as (...args: unknown[]) => boolean).call(process.stdout, text, ...rest)
  }) as typeof process.stdout.write
  try {
    const result = await call()
    return { result, archiveBytes, warnings }
  } finally {
    process.stdout.write = original
  }
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
