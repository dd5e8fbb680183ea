/**
 * Reads BuildKit's plain progress (`--progress=plain`), the same text the user sees in the log,
 * and keeps per-vertex facts: which Dockerfile steps came from cache, and how long the cache
 * import and export took inside BuildKit.
 */
interface Vertex {
  name: string
  cached: boolean
  /** Its result's layers were fetched from the imported cache (see isFromCache). */
  fetched: boolean
  /** The command printed something: it ran. */
  output: boolean
  ms?: number
  error?: string
}

export interface ProgressSummary {
  cachedSteps: number
  totalSteps: number
  /** Names of the steps that ran, e.g. "[build 2/4] RUN make": the answer to "why was this a miss?". */
  stepsRun: string[]
  /** Steps that started and never finished (the build was stopped while they ran). */
  unfinished?: string[]
  cacheImportMs?: number
  cacheExportMs?: number
  errors: string[]
}

/** `#<vertex> <text>`: every line of plain progress that belongs to a vertex. */
export const VERTEX_LINE = /^#(\d+) (.*)$/
const STEP_NAME = /^\[[^\]]*\d+\/\d+\]\s+(\S+)/
/** A layer's download or unpacking, shown under the vertex whose result it is. */
export const LAYER_TRANSFER = /^(extracting )?sha256:[0-9a-f]{64}( |$)/
const COMMAND_OUTPUT = /^\d+\.\d+ /

export class ProgressTally {
  private readonly vertices = new Map<number, Vertex>()
  private buffered = ''

  /** Accepts output in arbitrary chunks. */
  write(chunk: string): void {
    const lines = (this.buffered + chunk).split(/\r?\n/)
    this.buffered = lines.pop() ?? ''
    for (const line of lines) this.line(line)
  }

  line(text: string): void {
    const match = VERTEX_LINE.exec(text.trimEnd())
    if (!match) return
    const id = Number(match[1])
    const rest = match[2]
    const vertex = this.vertices.get(id)
    if (!vertex) {
      this.vertices.set(id, { name: rest, cached: false, fetched: false, output: false })
      return
    }
    if (rest === 'CACHED') vertex.cached = true
    if (LAYER_TRANSFER.test(rest)) vertex.fetched = true
    if (COMMAND_OUTPUT.test(rest)) vertex.output = true
    const done = /^DONE (\d+(?:\.\d+)?)s$/.exec(rest)
    if (done) vertex.ms = Math.round(parseFloat(done[1]) * 1000)
    if (rest.startsWith('ERROR')) vertex.error = rest.replace(/^ERROR:?\s*/, '')
  }

  summary(): ProgressSummary {
    this.write('\n')
    const vertices = [...this.vertices.values()]
    const steps = vertices.filter(isCacheableStep)
    return {
      cachedSteps: steps.filter(isFromCache).length,
      totalSteps: steps.length,
      stepsRun: steps.filter(step => !isFromCache(step)).map(step => step.name),
      unfinished: steps.filter(step => !step.cached && step.ms === undefined && step.error === undefined).map(step => step.name),
      cacheImportMs: sumMs(vertices.filter(v => v.name.startsWith('importing cache'))),
      cacheExportMs: sumMs(vertices.filter(v => v.name.startsWith('exporting cache'))),
      errors: vertices.filter(v => v.error).map(v => `${v.name}: ${v.error}`)
    }
  }
}

/**
 * A result BuildKit took from a registry cache without its layers says CACHED; when a later step
 * needs those layers, BuildKit fetches them under the vertex that made them, and the plain
 * printer then shows that vertex's downloads and DONE instead of CACHED. A step that runs never
 * downloads its own result, so downloads without command output mean "from the cache".
 */
function isFromCache(vertex: Vertex): boolean {
  return vertex.cached || (vertex.fetched && !vertex.output && vertex.error === undefined)
}

/** Dockerfile steps that BuildKit can take from cache; FROM only resolves a base. */
function isCacheableStep(vertex: Vertex): boolean {
  if (vertex.name.startsWith('[internal]')) return false
  const step = STEP_NAME.exec(vertex.name)
  return step !== null && step[1].toUpperCase() !== 'FROM'
}

function sumMs(vertices: Vertex[]): number | undefined {
  const timed = vertices.filter(v => v.ms !== undefined)
  return timed.length === 0 ? undefined : timed.reduce((total, v) => total + (v.ms ?? 0), 0)
}

/** Every Dockerfile step came from cache. Unknown progress (no steps recognised) never counts as that. */
export function allFromCache(progress: ProgressSummary): boolean {
  return progress.totalSteps > 0 && progress.cachedSteps === progress.totalSteps && progress.stepsRun.length === 0
}

/**
 * One build told in two runs: the first was stopped, the second took what the first finished
 * from the builder (CACHED there). A step either run finished counts as run.
 */
export function mergeStoppedRun(stopped: ProgressSummary, rerun: ProgressSummary): ProgressSummary {
  const finished = stopped.stepsRun.filter(step => !stopped.unfinished?.includes(step))
  const stepsRun = [...new Set([...finished, ...rerun.stepsRun])]
  return {
    ...rerun,
    stepsRun,
    cachedSteps: Math.max(0, rerun.totalSteps - stepsRun.length),
    cacheImportMs: addMs(stopped.cacheImportMs, rerun.cacheImportMs)
  }
}

function addMs(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : a + (b ?? 0)
}
