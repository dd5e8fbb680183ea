// From the raw records of results.json to the figures the report and the charts show: medians and
// ranges per cell, ratios against the persistent builder, throughput, rounds, and the targets.
import { PHASES } from './configs.mjs'
import { mbps, median, medianRecord, stats } from './measure.mjs'
import { SCENARIOS } from './workloads.mjs'

export const ALL_SCENARIOS = ['seed', ...SCENARIOS]

/** One cell: a workload, a configuration and a scenario over all repetitions. */
export function cell(results, workload, config, scenario) {
  const all = results.records.filter(r => r.workload === workload && r.config === config && r.scenario === scenario)
  const ok = all.filter(r => r.ok)
  const of = key => stats(ok.map(key))
  return {
    n: ok.length,
    failed: all.length - ok.length,
    errors: all.filter(r => !r.ok).map(r => r.error),
    total: of(r => r.totalMs),
    phases: Object.fromEntries(PHASES.map(p => [p, of(r => r.phases[p])])),
    bootRaw: of(r => r.bootRawMs),
    bytesDown: of(r => r.bytesDown),
    bytesUp: of(r => r.bytesUp),
    cacheBytes: of(r => r.cacheBytes),
    steps: ok.length > 0 ? `${median(ok.map(r => r.cachedSteps))}/${median(ok.map(r => r.totalSteps))}` : undefined,
    /** The run with the median total: what the stacked bars draw, so their phases add up to a real total. */
    typical: medianRecord(ok, r => r.totalMs)
  }
}

export function ratioToPersistent(results, workload, config, scenario) {
  const mine = cell(results, workload, config, scenario).total.median
  const base = cell(results, workload, 'persistent', scenario).total.median
  return mine !== undefined && base ? mine / base : undefined
}

/**
 * Save and restore speed, in MB/s of cache-directory bytes: the action's and the hand-wired
 * setup's save (the seed job, which uploads the whole cache) and restore (the no-change job,
 * which downloads what the seed saved), next to raw tar|zstd and zstd -d|tar of the action's cache.
 */
export function throughput(results, workload) {
  const raw = results.throughput.filter(t => t.workload === workload)
  const rawCompress = median(raw.flatMap(t => t.compressMs.map(ms => mbps(t.bytes, ms))))
  const rawDecompress = median(raw.flatMap(t => t.decompressMs.map(ms => mbps(t.bytes, ms))))
  const perConfig = config => {
    const reps = [...new Set(results.records.filter(r => r.workload === workload && r.config === config).map(r => r.rep))]
    const saves = []
    const restores = []
    const lazy = []
    for (const rep of reps) {
      const seed = results.records.find(r => r.workload === workload && r.config === config && r.rep === rep && r.scenario === 'seed' && r.ok)
      const warm = results.records.find(r => r.workload === workload && r.config === config && r.rep === rep && r.scenario === 'no-change' && r.ok)
      if (seed?.cacheBytes && seed.bytesUp > 0) saves.push(mbps(seed.cacheBytes, seed.phases.save))
      // A restore that leaves layers in the cache service moves only the rest; its speed is counted over what it moved,
      // and when that is under half of the cache, it is reported as what it did rather than as a throughput.
      const restoredBytes = seed?.cacheBytes ? seed.cacheBytes - (warm?.remoteBytes ?? 0) : 0
      if (seed?.cacheBytes && warm?.bytesDown > 0 && restoredBytes >= seed.cacheBytes / 2) restores.push(mbps(restoredBytes, warm.phases.restore))
      else if (seed?.cacheBytes && warm?.remoteBytes > 0) lazy.push({ restoredBytes, remoteBytes: warm.remoteBytes, ms: warm.phases.restore })
    }
    const lazyMedian = lazy.length === 0 ? undefined : { restoredBytes: median(lazy.map(l => l.restoredBytes)), remoteBytes: median(lazy.map(l => l.remoteBytes)), ms: median(lazy.map(l => l.ms)) }
    return { save: median(saves), restore: median(restores), lazy: lazyMedian }
  }
  const action = perConfig('action')
  const handwired = perConfig('handwired')
  return {
    bytes: median(raw.map(t => t.bytes)),
    archiveBytes: median(raw.map(t => t.archiveBytes)),
    rawCompress,
    rawDecompress,
    action,
    handwired,
    actionSaveShare: action.save && rawCompress ? action.save / rawCompress : undefined,
    actionRestoreShare: action.restore && rawDecompress ? action.restore / rawDecompress : undefined
  }
}

/** The size series of the rounds: growth after the last round and at most, against round 1. */
export function roundsSummary(series) {
  if (!series || series.length < 2) return undefined
  const first = series.find(s => s.round === 1)?.cacheBytes
  const last = series.at(-1).cacheBytes
  const max = Math.max(...series.filter(s => s.round >= 1 && s.cacheBytes !== undefined).map(s => s.cacheBytes))
  return {
    rounds: series.at(-1).round,
    seed: series[0].cacheBytes,
    first,
    last,
    max,
    lastRatio: first ? last / first : undefined,
    maxRatio: first ? max / first : undefined,
    failed: series.filter(s => !s.ok).length
  }
}

/**
 * Rounds where the action took fewer steps from its cache than the hand-wired setup did after the
 * same change: the hand-wired cache keeps everything, so fewer means the action's cache lacked records.
 */
export function roundsCompleteness(results) {
  const action = results.rounds?.action ?? []
  const handwired = results.rounds?.handwired ?? []
  const pairs = action
    .filter(a => a.round > 0 && a.ok)
    .map(a => ({ round: a.round, action: a.cachedSteps, handwired: handwired.find(h => h.round === a.round && h.ok)?.cachedSteps }))
    .filter(p => typeof p.action === 'number' && typeof p.handwired === 'number')
  return { compared: pairs.length, lacking: pairs.filter(p => p.action < p.handwired) }
}

/**
 * Jobs of the action after a one-stage change whose new cache is under 80% of the one it restored:
 * nothing that small was removed, so the rotation replaced the cache with an incomplete export.
 */
export function cacheLosses(results, workload) {
  return results.records
    .filter(r => r.ok && r.config === 'action' && r.workload === workload && r.scenario === 'one-stage')
    .map(r => ({ rep: r.rep, after: r.cacheBytes, before: results.records.find(p => p.ok && p.config === 'action' && p.workload === workload && p.rep === r.rep && p.scenario === 'no-change')?.cacheBytes }))
    .filter(l => l.before && l.after !== undefined && l.after < 0.8 * l.before)
}

/** at most `limit` (lower is better) / at least `limit` (higher is better), with how far off. */
function verdict(value, limit, direction, format) {
  if (value === undefined || Number.isNaN(value)) return { met: undefined, text: 'not measured' }
  const met = direction === 'max' ? value <= limit : value >= limit
  const off = direction === 'max' ? (value - limit) / limit : (limit - value) / limit
  const margin = `${Math.abs(off * 100).toFixed(0)}% ${direction === 'max' ? (met ? 'under' : 'over') : met ? 'over' : 'under'} the target`
  return { met, text: `${format(value)} (${margin})` }
}

const x = v => `${v.toFixed(2)}x`
const pct = v => `${(v * 100).toFixed(0)}%`

/** Every target of the issue, per workload where it applies: [{ target, scope, measured, met, text }]. */
export function targets(results) {
  const rows = []
  const workloads = Object.keys(results.workloads)
  const has = config => results.records.some(r => r.config === config)
  for (const w of workloads) {
    if (has('action') && has('persistent')) {
      const ratio = ratioToPersistent(results, w, 'action', 'no-change')
      const row = verdict(ratio, 1.3, 'max', x)
      // What no fresh runner can avoid: booting a builder (the none configuration's boot: nothing runs beside it).
      const boot = cell(results, w, 'none', 'no-change').phases.boot.median
      const persistent = cell(results, w, 'persistent', 'no-change').total.median
      if (boot && persistent && row.met === false) row.text += `; a new builder's boot alone takes ${(boot / 1000).toFixed(1)} s = ${x(boot / persistent)} of the persistent builder's job`
      rows.push({ target: 'warm no-change total <= 1.3x the persistent builder', scope: w, ...row })
    }
  }
  for (const w of workloads) {
    if (!has('action')) break
    const up = cell(results, w, 'action', 'no-change').bytesUp
    const verdictUp = up.n === 0 ? { met: undefined, text: 'not measured' } : { met: up.max === 0, text: up.max === 0 ? `0 bytes in ${up.n} of ${up.n} runs` : `up to ${(up.max / 1e6).toFixed(1)} MB uploaded (median ${(up.median / 1e6).toFixed(1)} MB)` }
    rows.push({ target: '0 bytes uploaded when nothing changed', scope: w, ...verdictUp })
  }
  for (const w of workloads) {
    if (!has('action')) break
    const t = throughput(results, w)
    rows.push({ target: 'save >= 80% of raw tar|zstd throughput', scope: w, ...verdict(t.actionSaveShare, 0.8, 'min', pct) })
    const lazy = t.action.lazy
    const lazyText = lazy && `not a throughput: the no-change restore moved ${(lazy.restoredBytes / 1e6).toFixed(1)} MB in ${(lazy.ms / 1000).toFixed(1)} s and left ${(lazy.remoteBytes / 1e6).toFixed(1)} MB of large files (layers, cache-mount archives) in the cache service, fetched only if a step needs them`
    rows.push({ target: 'restore >= 80% of raw zstd -d|tar throughput', scope: w, ...(t.actionRestoreShare === undefined && lazy ? { met: undefined, text: lazyText } : verdict(t.actionRestoreShare, 0.8, 'min', pct)) })
  }
  for (const w of workloads) {
    if (!has('action')) break
    const runs = results.records.filter(r => r.ok && r.config === 'action' && r.workload === w && r.scenario === 'one-stage').length
    if (runs === 0) continue
    const losses = cacheLosses(results, w)
    rows.push({
      target: '(check, not in the issue) a one-stage change keeps the cache (new cache >= 80% of the restored one)',
      scope: w,
      met: losses.length === 0,
      text: losses.length === 0 ? `kept in ${runs} of ${runs} runs` : `lost in ${losses.length} of ${runs} runs: ${losses.map(l => `rep ${l.rep + 1} ${(l.before / 1e6).toFixed(1)} -> ${(l.after / 1e6).toFixed(1)} MB`).join(', ')}`
    })
  }
  const rounds = roundsSummary(results.rounds?.action)
  if (rounds) {
    rows.push({ target: `cache size after ${rounds.rounds} changing rounds <= 1.1x the size after one`, scope: 'parallel-stages', ...verdict(rounds.lastRatio, 1.1, 'max', x) })
    const complete = roundsCompleteness(results)
    if (complete.compared > 0) {
      const missing = complete.lacking.reduce((sum, p) => sum + (p.handwired - p.action), 0)
      rows.push({
        target: '(check, not in the issue) the rotated cache stays complete: each round takes as many steps from it as the hand-wired cache',
        scope: 'parallel-stages',
        met: complete.lacking.length === 0,
        text: complete.lacking.length === 0 ? `equal in all ${complete.compared} rounds` : `fewer in ${complete.lacking.length} of ${complete.compared} rounds (${missing} steps rerun that the hand-wired cache had: rounds ${complete.lacking.map(p => `${p.round} ${p.action} vs ${p.handwired}`).join(', ')})`
      })
    }
  }
  for (const w of workloads) {
    if (!has('action')) break
    for (const scenario of ['no-change', 'one-stage']) {
      const mine = cell(results, w, 'action', scenario).total.median
      for (const other of ['none', 'handwired']) {
        if (!has(other)) continue
        const theirs = cell(results, w, other, scenario).total.median
        const ratio = mine !== undefined && theirs ? mine / theirs : undefined
        rows.push({ target: `ahead of ${other === 'none' ? '3 (no cache)' : '4 (hand-wired)'} on total, ${scenario}`, scope: w, ...verdict(ratio, 1, 'max', v => `${x(v)} of its time`) })
      }
      if (results.gha) {
        rows.push({ target: `ahead of 5 (type=gha) on total, ${scenario}`, scope: w, met: undefined, text: results.gha.runs ? 'not measured' : 'cannot be compared: type=gha cannot run here (see above)' })
      }
    }
  }
  return rows
}
