// Charts as SVG strings, converted to PNG with rsvg-convert (librsvg2-bin): stacked phase bars per
// workload, cache size over the rounds, and save / restore throughput next to raw tar|zstd.
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { ALL_SCENARIOS, cell, roundsSummary, throughput } from './analyze.mjs'
import { CONFIG_LABELS, PHASES } from './configs.mjs'
import { SCENARIO_LABELS } from './workloads.mjs'

const FONT = 'DejaVu Sans, sans-serif'
const PHASE_COLORS = { boot: '#8c564b', restore: '#1f77b4', build: '#2ca02c', export: '#ff7f0e', save: '#9467bd', other: '#bbbbbb' }
const CONFIG_COLORS = { action: '#1f77b4', 'action-no-mounts': '#9467bd', handwired: '#d62728', persistent: '#2ca02c', none: '#7f7f7f' }
const SHORT = { action: 'action', 'action-no-mounts': 'no mounts', persistent: 'persist.', none: 'no cache', handwired: 'hand-wired' }

function esc(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function text(x, y, content, { size = 12, anchor = 'start', weight = 'normal', fill = '#222', rotate } = {}) {
  const transform = rotate ? ` transform="rotate(${rotate} ${x} ${y})"` : ''
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-family="${FONT}" font-size="${size}" font-weight="${weight}" fill="${fill}" text-anchor="${anchor}"${transform}>${esc(content)}</text>`
}

function rect(x, y, w, h, fill, extra = '') {
  return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(0, w).toFixed(1)}" height="${Math.max(0, h).toFixed(1)}" fill="${fill}"${extra}/>`
}

function line(x1, y1, x2, y2, stroke, extra = '') {
  return `<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" stroke="${stroke}"${extra}/>`
}

function svg(width, height, body) {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#e8dcd6"/><line x1="0" y1="0" x2="0" y2="6" stroke="${PHASE_COLORS.boot}" stroke-width="3"/></pattern></defs>` +
    `<rect width="100%" height="100%" fill="white"/>${body.join('')}</svg>`
}

/** A "nice" axis maximum and tick step for values up to `max`. */
function axis(max) {
  const raw = Math.max(max, 1e-9) / 5
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 2.5, 5, 10].map(m => m * magnitude).find(s => s >= raw)
  return { step, top: Math.ceil(max / step) * step || step }
}

function yAxis(out, { left, top, height, width, max, label, format = v => String(v) }) {
  const { step, top: yMax } = axis(max)
  for (let v = 0; v <= yMax + step / 2; v += step) {
    const y = top + height - (v / yMax) * height
    out.push(line(left, y, left + width, y, '#e5e5e5'))
    out.push(text(left - 6, y + 4, format(Number(v.toFixed(6))), { size: 11, anchor: 'end' }))
  }
  out.push(line(left, top, left, top + height, '#444'))
  out.push(line(left, top + height, left + width, top + height, '#444'))
  out.push(text(16, top + height / 2, label, { size: 12, anchor: 'middle', rotate: -90 }))
  return yMax
}

function legend(out, x, y, items) {
  let cx = x
  for (const [label, fill] of items) {
    out.push(rect(cx, y - 10, 12, 12, fill))
    out.push(text(cx + 16, y, label, { size: 11 }))
    cx += 22 + label.length * 6.5
  }
}

/** Total time per configuration and scenario, stacked by phase (the run with the median total). */
export function phaseChart(results, workload) {
  const configs = ['action', 'action-no-mounts', 'persistent', 'none', 'handwired'].filter(c => results.records.some(r => r.config === c && r.workload === workload))
  const groups = ALL_SCENARIOS.map(scenario => ({ scenario, bars: configs.map(config => ({ config, cell: cell(results, workload, config, scenario) })) }))
  const max = Math.max(1, ...groups.flatMap(g => g.bars.map(b => Math.max((b.cell.typical?.totalMs ?? 0), (b.cell.typical?.phases.restore ?? 0) + (b.cell.typical?.bootRawMs ?? 0)) / 1000)))
  const width = 980
  const height = 520
  const plot = { left: 64, top: 56, width: width - 90, height: 340 }
  const out = []
  out.push(text(width / 2, 24, `${workload}: job time by phase (run with the median total; ${results.meta.options.reps} rep(s))`, { size: 15, anchor: 'middle', weight: 'bold' }))
  const yMax = yAxis(out, { ...plot, max, label: 'seconds' })
  const groupWidth = plot.width / groups.length
  const barWidth = Math.min(38, (groupWidth - 30) / Math.max(1, configs.length) - 10)
  groups.forEach((group, gi) => {
    const gx = plot.left + gi * groupWidth + 15
    group.bars.forEach((bar, bi) => {
      const x = gx + bi * (barWidth + 14)
      const r = bar.cell.typical
      const scale = ms => (ms / 1000 / yMax) * plot.height
      let y = plot.top + plot.height
      if (r) {
        // Restore first: the action's builder boots alongside the check and the restore (the hatched strip), so only its overhang is a phase of its own.
        const order = ['restore', 'boot', 'build', 'export', 'save', 'other']
        for (const p of order) {
          const h = scale(r.phases[p] ?? 0)
          y -= h
          out.push(rect(x, y, barWidth, h, PHASE_COLORS[p]))
        }
        if (r.bootOverlapsRestore && r.bootRawMs) {
          const h = scale(r.bootRawMs)
          out.push(rect(x + barWidth + 1, plot.top + plot.height - h, 6, h, 'url(#hatch)', ` stroke="${PHASE_COLORS.boot}" stroke-width="0.5"`))
        }
        out.push(text(x + barWidth / 2, y - 4, (r.totalMs / 1000).toFixed(1), { size: 10, anchor: 'middle' }))
      } else {
        out.push(text(x + barWidth / 2, y - 4, 'n/a', { size: 10, anchor: 'middle', fill: '#a00' }))
      }
      out.push(text(x + barWidth / 2 + 3, plot.top + plot.height + 12, SHORT[bar.config], { size: 10, anchor: 'end', rotate: -35 }))
    })
    out.push(text(gx + (configs.length * (barWidth + 14)) / 2 - 7, plot.top + plot.height + 62, SCENARIO_LABELS[group.scenario], { size: 12, anchor: 'middle', weight: 'bold' }))
  })
  legend(out, plot.left, height - 28, [...PHASES.map(p => [p, PHASE_COLORS[p]]), ['action: builder boot alongside check and restore', 'url(#hatch)']])
  return svg(width, height, out)
}

/** Cache size after each round of one-stage changes, with the 1.1x line of round 1. */
export function roundsChart(results) {
  const series = Object.entries(results.rounds ?? {}).filter(([, s]) => s.length > 1)
  const width = 900
  const height = 460
  const plot = { left: 72, top: 56, width: width - 110, height: 320 }
  const out = []
  const rounds = Math.max(...series.map(([, s]) => s.at(-1).round))
  out.push(text(width / 2, 24, `parallel-stages: cache size after each round of one-stage changes (fresh runner each round)`, { size: 15, anchor: 'middle', weight: 'bold' }))
  const action = roundsSummary(results.rounds.action)
  const limit = action?.first ? action.first * 1.1 : undefined
  const max = Math.max(limit ?? 0, ...series.flatMap(([, s]) => s.map(p => p.cacheBytes ?? 0))) / 1e6
  const yMax = yAxis(out, { ...plot, max: max * 1.05, label: 'cache directory, MB' })
  const px = round => plot.left + (round / Math.max(1, rounds)) * plot.width
  const py = bytes => plot.top + plot.height - (bytes / 1e6 / yMax) * plot.height
  for (let r = 0; r <= rounds; r += rounds > 10 ? 2 : 1) out.push(text(px(r), plot.top + plot.height + 16, String(r), { size: 11, anchor: 'middle' }))
  out.push(text(plot.left + plot.width / 2, plot.top + plot.height + 36, 'round (0 = cold seed)', { size: 12, anchor: 'middle' }))
  if (limit) {
    out.push(line(plot.left, py(limit), plot.left + plot.width, py(limit), '#1f77b4', ' stroke-dasharray="6 4"'))
  }
  for (const [config, points] of series) {
    const valid = points.filter(p => p.cacheBytes !== undefined)
    const d = valid.map((p, i) => `${i === 0 ? 'M' : 'L'}${px(p.round).toFixed(1)},${py(p.cacheBytes).toFixed(1)}`).join(' ')
    out.push(`<path d="${d}" fill="none" stroke="${CONFIG_COLORS[config]}" stroke-width="2.5"/>`)
    for (const p of valid) out.push(`<circle cx="${px(p.round).toFixed(1)}" cy="${py(p.cacheBytes).toFixed(1)}" r="3" fill="${CONFIG_COLORS[config]}"/>`)
    const last = valid.at(-1)
    if (last) out.push(text(px(last.round) - 4, py(last.cacheBytes) - 8, `${(last.cacheBytes / 1e6).toFixed(1)} MB`, { size: 11, anchor: 'end', fill: CONFIG_COLORS[config] }))
  }
  legend(out, plot.left, height - 20, series.map(([config]) => [CONFIG_LABELS[config], CONFIG_COLORS[config]]))
  if (limit) {
    const x = plot.left + 330
    out.push(line(x, height - 24, x + 28, height - 24, '#1f77b4', ' stroke-dasharray="6 4" stroke-width="2"'))
    out.push(text(x + 34, height - 20, `1.1x the action's size after round 1 (${(limit / 1e6).toFixed(1)} MB)`, { size: 11 }))
  }
  return svg(width, height, out)
}

/** MB/s of cache-directory bytes: raw tar|zstd vs the saves, zstd -d|tar vs the restores. */
export function throughputChart(results) {
  const workloads = Object.keys(results.workloads).filter(w => results.throughput.some(t => t.workload === w))
  const bars = [
    ['raw tar | zstd', t => t.rawCompress, '#555555'],
    ['action save', t => t.action.save, '#1f77b4'],
    ['hand-wired save', t => t.handwired.save, '#d62728'],
    ['raw zstd -d | tar', t => t.rawDecompress, '#999999'],
    ['action restore', t => t.action.restore, '#6baed6'],
    ['hand-wired restore', t => t.handwired.restore, '#fc9272']
  ]
  const data = workloads.map(w => ({ workload: w, t: throughput(results, w) }))
  const max = Math.max(1, ...data.flatMap(d => bars.map(([, get]) => get(d.t) ?? 0)))
  const width = 900
  const height = 460
  const plot = { left: 72, top: 56, width: width - 100, height: 320 }
  const out = []
  out.push(text(width / 2, 24, 'Save and restore throughput (MB/s of cache-directory bytes; dashes: 80% of raw)', { size: 15, anchor: 'middle', weight: 'bold' }))
  const yMax = yAxis(out, { ...plot, max: max * 1.08, label: 'MB/s' })
  const groupWidth = plot.width / Math.max(1, data.length)
  const barWidth = Math.min(34, (groupWidth - 40) / bars.length)
  data.forEach((d, gi) => {
    const gx = plot.left + gi * groupWidth + 20
    bars.forEach(([, get, fill], bi) => {
      const value = get(d.t)
      const x = gx + bi * barWidth + (bi >= 3 ? 10 : 0)
      const h = value ? (value / yMax) * plot.height : 0
      const y = plot.top + plot.height - h
      out.push(rect(x, y, barWidth - 3, h, fill))
      out.push(text(x + (barWidth - 3) / 2, y - 4, value ? value.toFixed(0) : 'n/a', { size: 10, anchor: 'middle' }))
      if (bi === 0 || bi === 3) {
        const eighty = value ? plot.top + plot.height - (0.8 * value / yMax) * plot.height : undefined
        if (eighty) out.push(line(x, eighty, x + 3 * barWidth, eighty, '#000', ' stroke-dasharray="3 3"'))
      }
    })
    out.push(text(gx + 3 * barWidth + 5, plot.top + plot.height + 18, `${d.workload} (${((d.t.bytes ?? 0) / 1e6).toFixed(0)} MB)`, { size: 12, anchor: 'middle', weight: 'bold' }))
  })
  legend(out, plot.left, height - 40, bars.slice(0, 3).map(([label, , fill]) => [label, fill]))
  legend(out, plot.left, height - 20, bars.slice(3).map(([label, , fill]) => [label, fill]))
  return svg(width, height, out)
}

function toPng(outDir, name, svgText) {
  const svgFile = path.join(outDir, `${name}.svg`)
  fs.writeFileSync(svgFile, svgText)
  execFileSync('rsvg-convert', ['--format', 'png', '--output', path.join(outDir, `${name}.png`), svgFile])
  return `${name}.png`
}

/** Writes every chart the results allow; returns { key: file name }. */
export function writeCharts(outDir, results) {
  const files = {}
  for (const workload of Object.keys(results.workloads)) {
    if (results.records.some(r => r.workload === workload)) files[`phases-${workload}`] = toPng(outDir, `time-${workload}`, phaseChart(results, workload))
  }
  if (Object.values(results.rounds ?? {}).some(s => s.length > 1)) files.rounds = toPng(outDir, 'cache-size-rounds', roundsChart(results))
  if (results.throughput.length > 0) files.throughput = toPng(outDir, 'throughput', throughputChart(results))
  return files
}
