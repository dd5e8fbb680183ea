// Measuring: wall time, BuildKit's plain progress, directory sizes, raw tar|zstd throughput, and
// the statistics the report shows (medians and ranges over repetitions).
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'

/** Runs `body` and returns its result with the wall time it took. */
export async function timed(body) {
  const started = Date.now()
  const result = await body()
  return { ms: Date.now() - started, result }
}

/**
 * Reads `docker buildx build --progress=plain` output: vertices are `#N name`, then `#N CACHED`,
 * `#N DONE 1.2s` or `#N ERROR ...`. Steps are Dockerfile instructions (`[stage i/n] RUN ...`), FROM
 * excluded. Import and export are BuildKit's own "importing cache" / "exporting cache" vertices.
 */
export function parseProgress(text) {
  const vertices = new Map()
  for (const raw of text.split(/\r?\n/)) {
    const match = /^#(\d+) (.*)$/.exec(raw.trimEnd())
    if (!match) continue
    const id = Number(match[1])
    const rest = match[2]
    const vertex = vertices.get(id)
    if (!vertex) {
      vertices.set(id, { name: rest, cached: false })
      continue
    }
    if (rest === 'CACHED') vertex.cached = true
    const done = /^DONE (\d+(?:\.\d+)?)s$/.exec(rest)
    if (done) vertex.ms = Math.round(parseFloat(done[1]) * 1000)
    if (rest.startsWith('ERROR')) vertex.error = rest
  }
  const all = [...vertices.values()]
  const steps = all.filter(v => !v.name.startsWith('[internal]') && /^\[[^\]]*\d+\/\d+\]\s+(?!FROM\b)\S+/i.test(v.name))
  const sum = list => list.reduce((total, v) => total + (v.ms ?? 0), 0)
  return {
    totalSteps: steps.length,
    cachedSteps: steps.filter(s => s.cached).length,
    stepsRun: steps.filter(s => !s.cached).map(s => s.name.slice(0, 80)),
    importMs: sum(all.filter(v => v.name.startsWith('importing cache'))),
    exportMs: sum(all.filter(v => v.name.startsWith('exporting cache'))),
    errors: all.filter(v => v.error).map(v => `${v.name}: ${v.error}`)
  }
}

/** Sum of the sizes of the regular files under `dir` (0 when it does not exist). */
export function dirBytes(dir) {
  let total = 0
  let entries
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true, recursive: true })
  } catch {
    return 0
  }
  for (const entry of entries) {
    if (entry.isFile()) total += fs.statSync(path.join(entry.parentPath ?? entry.path, entry.name)).size
  }
  return total
}

/**
 * The machine's raw speed on the same directory: `tar | zstd` (as @actions/cache archives, without
 * the upload) and `zstd -d | tar -x` (without the download). Each runs `runs` times.
 */
export function rawTarZstd(dir, workDir, runs = 3) {
  const bytes = dirBytes(dir)
  const archive = path.join(workDir, 'raw.tzst')
  const out = path.join(workDir, 'raw-out')
  const compressMs = []
  const decompressMs = []
  let archiveBytes = 0
  try {
    for (let i = 0; i < runs; i++) {
      fs.rmSync(archive, { force: true })
      compressMs.push(timeShell(`tar -cf - -C ${quote(dir)} . | zstd -T0 --long=30 -q -o ${quote(archive)}`))
      archiveBytes = fs.statSync(archive).size
      fs.rmSync(out, { recursive: true, force: true })
      fs.mkdirSync(out, { recursive: true })
      decompressMs.push(timeShell(`zstd -d --long=30 -q -c ${quote(archive)} | tar -xf - -C ${quote(out)}`))
    }
  } finally {
    fs.rmSync(archive, { force: true })
    fs.rmSync(out, { recursive: true, force: true })
  }
  return { bytes, archiveBytes, compressMs, decompressMs }
}

function timeShell(script) {
  const started = Date.now()
  execFileSync('bash', ['-o', 'pipefail', '-c', script], { stdio: ['ignore', 'ignore', 'pipe'] })
  return Date.now() - started
}

function quote(text) {
  return `'${String(text).replace(/'/g, `'\\''`)}'`
}

/** MB/s (10^6 bytes) of `bytes` moved in `ms`; undefined when either is missing. */
export function mbps(bytes, ms) {
  if (!bytes || !ms) return undefined
  return bytes / 1e6 / (ms / 1000)
}

export function median(values) {
  const sorted = values.filter(v => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return undefined
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** { median, min, max, n } of the numbers in `values` (others ignored). */
export function stats(values) {
  const numbers = values.filter(v => typeof v === 'number' && Number.isFinite(v))
  if (numbers.length === 0) return { median: undefined, min: undefined, max: undefined, n: 0 }
  return { median: median(numbers), min: Math.min(...numbers), max: Math.max(...numbers), n: numbers.length }
}

/** The record whose `key` is the median (the lower middle for an even count): a run that really happened. */
export function medianRecord(records, key) {
  const sorted = records.filter(r => typeof key(r) === 'number').sort((a, b) => key(a) - key(b))
  return sorted.length === 0 ? undefined : sorted[Math.floor((sorted.length - 1) / 2)]
}
