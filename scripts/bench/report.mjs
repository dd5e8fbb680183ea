// report.md: machine, method, one table per workload, rounds, throughput, the type=gha statement and
// the targets. Every figure is computed from results.json of the same run.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { ALL_SCENARIOS, cell, ratioToPersistent, roundsCompleteness, roundsSummary, targets, throughput } from './analyze.mjs'
import { CONFIG_LABELS } from './configs.mjs'
import { SCENARIO_LABELS } from './workloads.mjs'

const sec = ms => (ms === undefined ? '-' : (ms / 1000).toFixed(1))
/** MB with a precision that keeps small transfers visible (18 kB is 0.018, not 0.0). */
const mb = bytes => (bytes === undefined ? '-' : bytes === 0 ? '0' : bytes < 1e5 ? (bytes / 1e6).toFixed(3) : (bytes / 1e6).toFixed(1))
const rate = v => (v === undefined ? '-' : v.toFixed(0))

/** "median (min-max)" when there is a range to show. */
function spread(s, format) {
  if (s.n === 0) return '-'
  return s.n > 1 && s.min !== s.max ? `${format(s.median)} (${format(s.min)}-${format(s.max)})` : format(s.median)
}

/** A markdown table; a `|` inside a cell is escaped. */
function table(header, rows) {
  const row = cells => `| ${cells.map(c => String(c).replace(/(?<!\\)\|/g, '\\|')).join(' | ')} |`
  return [row(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(row)].join('\n')
}

function machineSection(meta) {
  const m = meta.machine
  const v = meta.versions ?? {}
  const load = meta.loadavg ?? {}
  return [
    '## Machine',
    '',
    table(['', ''], [
      ['CPU', `${m.cores} cores, ${m.cpu ?? '?'}`],
      ['memory', `${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB`],
      ['OS', `${m.os ?? '?'}, kernel ${m.kernel}`],
      ['Docker Engine', v.docker || '?'],
      ['buildx', v.buildx || '?'],
      ['BuildKit (moby/buildkit:buildx-stable-1)', v.buildkit || '?'],
      ['Node.js', m.node],
      ['action measured', actionLine(meta.action)],
      ['load average (1/5/15 min) at start / end', `${(load.start ?? []).map(n => n.toFixed(2)).join(' ')} / ${(load.end ?? []).map(n => n.toFixed(2)).join(' ')}`]
    ]),
    '',
    'The machine is shared and noisy (other test runs may overlap): read medians, and the ranges next to them.'
  ].join('\n')
}

function actionLine(action) {
  if (!action?.start) return '?'
  const { start, end, note } = action
  const line = `commit ${start.commit ?? '?'}${start.distChanged ? ' with uncommitted dist/' : ''}, dist bundles ${start.distSha256}`
  const changed = end && end.distSha256 !== start.distSha256 ? ` **changed during the run** (now ${end.distSha256}, commit ${end.commit ?? '?'}): jobs mix two versions` : ''
  return `${line}${changed}${note ? ` (${note})` : ''}`
}

function methodSection(results) {
  const { options } = results.meta
  const workloadRows = Object.entries(results.workloads).map(([name, w]) => [`\`${name}\``, w.description, w.changes['one-stage'] ?? '-', w.changes['dep-change'] ?? '-'])
  return [
    '## Method',
    '',
    `Each repetition (${options.reps} in this run) runs, for every workload and configuration, four jobs in order: a **cold seed** (build, then save),`,
    '**no change**, a **one-stage change** and a **dependency change**, each changing the workspace copy of the previous job. Every job',
    'starts like a new runner (a new docker-container builder, an empty RUNNER_TEMP), except the persistent builder\'s. The order of the',
    'configurations turns with each repetition. Tables show the median over repetitions, with min-max in brackets when they differ.',
    'The cache service is a private instance of the testbed\'s (`scripts/testbed/cache-service/start.sh` on free ports, its own state',
    'directory), so tests that stop or fault the shared instance meanwhile cannot disturb the run; it is removed afterwards.',
    '',
    table(['configuration', 'what a job does'], [
      [CONFIG_LABELS.action, 'the bundled action (`dist/`) run by the simulated runner (`scripts/lib/runner-sim.mjs`): main (tool check and restore while the builder boots, build with the cache export), post (rotate, save while the builder is removed); inputs `context: .`, the busybox named context, a cache key per workload and repetition'],
      [CONFIG_LABELS['action-no-mounts'], 'the same action without its `cache-mounts` input; only for workloads that set it'],
      [CONFIG_LABELS.persistent, 'one builder created at the seed and kept for the whole sequence; no cache flags. Its boot counts only in the seed: the physical limit of a runner that keeps its state'],
      [CONFIG_LABELS.none, 'a new builder, a cold build, the builder removed'],
      [CONFIG_LABELS.handwired, 'a new builder; `@actions/cache` restore (key `prefix-<run number>`, restore-keys the prefix) into the same path every job; `--cache-from type=local,src=DIR --cache-to type=local,dest=DIR,mode=max` (the same directory, no rotation, BuildKit\'s default compression); `@actions/cache` save under a new key every job; builder removed'],
      [CONFIG_LABELS.gha, 'BuildKit\'s `type=gha` backend against the testbed cache service: tried once, see below']
    ]),
    '',
    table(['workload', 'what it builds', 'one-stage change', 'dependency change'], workloadRows),
    '',
    'Phases. **boot**: `docker buildx create --bootstrap` (for the action: only the part that outlasted the tool check and restore it runs',
    'alongside; the full boot time is in the raw records and drawn as a hatched strip). **restore** / **save**: the cache library\'s call (tar,',
    'zstd and transfer). **build**: the build minus BuildKit\'s cache export. **export**: BuildKit\'s "exporting cache" vertex (for the action',
    'with `cache-transport: local`, its separate export pass when the build ran something). **other**: the rest of the job\'s wall time',
    '(docker/buildx checks, rotation, builder removal beyond the save it runs alongside, process start-up, and with `cache-mounts` moving the mounts into and out of the builder). **down / up**: archive bytes moved',
    'by the cache library (0 when nothing was restored or saved).',
    '**cache**: size of the cache directory after the job. **ratio**: median total / the persistent builder\'s median total in the same scenario.'
  ].join('\n')
}

function workloadSection(results, workload, charts) {
  const configs = ['action', 'action-no-mounts', 'persistent', 'none', 'handwired'].filter(c => results.records.some(r => r.config === c && r.workload === workload))
  const rows = []
  for (const scenario of ALL_SCENARIOS) {
    for (const config of configs) {
      const c = cell(results, workload, config, scenario)
      const ratio = ratioToPersistent(results, workload, config, scenario)
      const boot = config.startsWith('action') && c.bootRaw.n > 0 ? `${sec(c.phases.boot.median)} (${sec(c.bootRaw.median)} alongside check and restore)` : sec(c.phases.boot.median)
      rows.push([
        SCENARIO_LABELS[scenario],
        CONFIG_LABELS[config],
        c.steps ?? '-',
        c.n > 0 ? `**${spread(c.total, sec)}**` : `failed${c.errors[0] ? `: ${String(c.errors[0]).split('\n')[0].slice(0, 80)}` : ''}`,
        boot,
        sec(c.phases.restore.median),
        sec(c.phases.build.median),
        sec(c.phases.export.median),
        sec(c.phases.save.median),
        sec(c.phases.other.median),
        spread(c.bytesDown, mb),
        spread(c.bytesUp, mb),
        mb(c.cacheBytes.median),
        ratio === undefined ? '-' : `${ratio.toFixed(2)}x`
      ])
    }
  }
  return [
    `## Workload \`${workload}\``,
    '',
    results.workloads[workload].description,
    '',
    charts[`phases-${workload}`] ? `![${workload}: job time by phase](${charts[`phases-${workload}`]})\n` : '',
    table(['scenario', 'configuration', 'steps cached', 'total s', 'boot s', 'restore s', 'build s', 'export s', 'save s', 'other s', 'down MB', 'up MB', 'cache MB', 'vs persistent'], rows),
    downloadsNote(results, workload)
  ].join('\n')
}

/** examples/cache-mounts prints how many packages its RUN step fetched and found in its cache mount. */
function downloadsNote(results, workload) {
  const lines = results.records
    .filter(r => r.ok && r.workload === workload && r.detail?.downloads && r.scenario !== 'seed')
    .map(r => `- ${CONFIG_LABELS[r.config]}, ${SCENARIO_LABELS[r.scenario]} (rep ${r.rep + 1}): fetched ${r.detail.downloads[0]}, reused ${r.detail.downloads[1]} from the cache mount`)
  if (lines.length === 0) return ''
  return ['', 'The download step said (only when it ran; "cache mount" contents restored by `cache-mounts`):', '', ...lines].join('\n')
}

function roundsSection(results, charts) {
  const entries = Object.entries(results.rounds ?? {}).filter(([, s]) => s.length > 1)
  if (entries.length === 0) return ''
  const rounds = Math.max(...entries.map(([, s]) => s.at(-1).round))
  const rows = []
  for (let r = 0; r <= rounds; r++) {
    rows.push([r === 0 ? '0 (seed)' : String(r), ...entries.flatMap(([, s]) => {
      const point = s.find(p => p.round === r)
      return [point?.ok ? mb(point.cacheBytes) : 'failed', point?.ok ? `${point.cachedSteps ?? '?'}/${point.totalSteps ?? '?'}` : '-', point?.ok ? mb(point.bytesUp) : '-']
    })])
  }
  const summaries = entries.map(([config, s]) => {
    const sum = roundsSummary(s)
    return `- ${CONFIG_LABELS[config]}: after round 1 ${mb(sum.first)} MB, after round ${sum.rounds} ${mb(sum.last)} MB (**${sum.lastRatio?.toFixed(2)}x**; largest ${sum.maxRatio?.toFixed(2)}x)${sum.failed ? `; ${sum.failed} rounds failed` : ''}`
  })
  const complete = roundsCompleteness(results)
  const completeness = complete.compared === 0
    ? ''
    : complete.lacking.length === 0
      ? `- In all ${complete.compared} rounds the action took as many steps from its cache as the hand-wired setup.`
      : `- **In ${complete.lacking.length} of ${complete.compared} rounds the action took fewer steps from its cache than the hand-wired setup after the same change** ` +
        `(${complete.lacking.map(p => `round ${p.round}: ${p.action} vs ${p.handwired}`).join('; ')}): the action's rotated cache lacked records of stages that did not change, ` +
        'so they ran again. Its small size is partly an incomplete cache.'
  return [
    `## Cache size over ${rounds} rounds of changes (\`parallel-stages\`)`,
    '',
    'A cold seed, then each round changes one of the four stages in turn (`src/<stage>/README.txt`) and runs a job on a fresh runner. Once per run (not repeated).',
    'A complete cache lets every round take all steps but the changed stage\'s and the final copies after it from the cache: fewer cached steps than the other configuration in the same round means the restored cache lacked something.',
    '',
    ...summaries,
    completeness,
    '',
    charts.rounds ? `![cache size over rounds](${charts.rounds})\n` : '',
    table(['round', ...entries.flatMap(([config]) => [`${CONFIG_LABELS[config]}: cache MB`, 'steps cached', 'up MB'])], rows)
  ].join('\n')
}

function throughputSection(results, charts) {
  const workloads = Object.keys(results.workloads).filter(w => results.throughput.some(t => t.workload === w))
  if (workloads.length === 0) return ''
  const share = (v, raw) => (v && raw ? ` (${((v / raw) * 100).toFixed(0)}%)` : '')
  const rows = workloads.map(w => {
    const t = throughput(results, w)
    return [w, mb(t.bytes), mb(t.archiveBytes), rate(t.rawCompress), rate(t.action.save) + share(t.action.save, t.rawCompress), rate(t.handwired.save) + share(t.handwired.save, t.rawCompress), rate(t.rawDecompress), rate(t.action.restore) + share(t.action.restore, t.rawDecompress), rate(t.handwired.restore) + share(t.handwired.restore, t.rawDecompress)]
  })
  return [
    '## Save and restore throughput',
    '',
    'MB/s of cache-directory bytes (10^6 bytes). Raw: `tar -cf - -C DIR . | zstd -T0 --long=30` and `zstd -d --long=30 | tar -xf -` of the',
    'action\'s cache directory right after its seed job, on the same machine (no network). Save: the seed job\'s save phase (archive +',
    'compress + upload to the testbed service, which stores in Azurite on loopback); restore: the no-change job\'s restore phase (download +',
    'decompress + extract, and for the action its check of every blob), both over the seed\'s cache-directory bytes. Percentages: share of raw.',
    '',
    charts.throughput ? `![throughput](${charts.throughput})\n` : '',
    table(['workload', 'cache MB', 'zstd archive MB', 'raw tar|zstd', 'action save', 'hand-wired save', 'raw zstd -d|tar', 'action restore', 'hand-wired restore'], rows),
    '',
    'The hand-wired columns are `@actions/cache` alone on the same kind of directory: the gap from raw to them is the library and the',
    'service (upload to and download from Azurite); the gap from them to the action is the action\'s own work.',
    '',
    ...workloads.map(w => {
      const t = throughput(results, w)
      const of = (a, b) => (a && b ? `${((a / b) * 100).toFixed(0)}%` : 'n/a')
      return `- \`${w}\`: the action saves at ${of(t.action.save, t.handwired.save)} and restores at ${of(t.action.restore, t.handwired.restore)} of \`@actions/cache\`'s speed here.`
    })
  ].join('\n')
}

function ghaSection(gha) {
  if (!gha) return ''
  const lines = ['## Configuration 5: BuildKit `type=gha`', '']
  if (gha.runs) {
    lines.push('`type=gha` exported a cache against the testbed service (no timings were taken for it in this run).')
  } else {
    lines.push(`**Cannot run here: ${gha.error}.**`, '')
    lines.push('Tried on a new builder, with these results:', '')
    for (const a of gha.attempts ?? []) lines.push(`- ${a.what}: exit ${a.exitCode}, cache exported: ${a.exportedCache ? 'yes' : 'no'}; ${a.message}`)
    lines.push(
      '',
      'Why: the testbed\'s BuildKit is built from Debian\'s sources without the `gha` (and `azblob`) cache backends, whose SDKs Debian does',
      'not package (scripts/testbed/README.md), so BuildKit rejects the exporter. Independently, this buildx',
      `${gha.buildxKnowsV2 === false ? '(0.13.1; its binary has no `ACTIONS_RESULTS_URL`) ' : ''}only reads the cache API v1 variable \`ACTIONS_CACHE_URL\`; the testbed`,
      'service speaks v2 only (`ACTIONS_RESULTS_URL`), and without a URL buildx drops a `type=gha` cache entry without an error. So no',
      'configuration-5 numbers exist in this report, and the "ahead of configuration 5" target is left open.'
    )
  }
  return lines.join('\n')
}

function targetsSection(results) {
  const rows = targets(results).map(t => [t.target, t.scope, t.met === true ? 'met' : t.met === false ? '**missed**' : 'open', t.text])
  return ['## Targets', '', table(['target', 'workload', 'status', 'measured'], rows)].join('\n')
}

/** Where the action's time goes, from the same medians: its largest phases next to the persistent builder's whole job. */
function timeSection(results) {
  const lines = ['## Where the action\'s time goes', '']
  for (const workload of Object.keys(results.workloads)) {
    for (const scenario of ['no-change', 'one-stage', 'dep-change']) {
      const c = cell(results, workload, 'action', scenario)
      if (c.n === 0) continue
      const base = cell(results, workload, 'persistent', scenario).total.median
      const parts = ['restore', 'boot', 'build', 'export', 'save', 'other']
        .map(p => [p, c.phases[p].median ?? 0])
        .filter(([, ms]) => ms >= 50)
        .sort((a, b) => b[1] - a[1])
        .map(([p, ms]) => `${p} ${sec(ms)}`)
      const boot = c.bootRaw.median ? `; the builder boot (${sec(c.bootRaw.median)} s) ran alongside the tool check and the restore` : ''
      const other = ['Check docker', 'Rotate cache', 'Remove builder'].map(name => [name, actionPhase(results, workload, scenario, name)]).filter(([, ms]) => ms !== undefined)
      const otherNote = other.length ? `; other includes ${other.map(([name, ms]) => `${name.toLowerCase()} ${sec(ms)}`).join(', ')} (the check runs alongside the boot, the removal alongside the save), the rest process start-up` : ''
      lines.push(`- \`${workload}\`, ${SCENARIO_LABELS[scenario]}: ${sec(c.total.median)} s${base ? ` vs ${sec(base)} s persistent` : ''} = ${parts.join(', ')}${boot}${otherNote}; up ${mb(c.bytesUp.median)} MB, down ${mb(c.bytesDown.median)} MB.`)
    }
  }
  return lines.join('\n')
}

/** Median duration of one of the action's own phases (by name prefix) in a cell. */
function actionPhase(results, workload, scenario, name) {
  const values = results.records
    .filter(r => r.ok && r.config === 'action' && r.workload === workload && r.scenario === scenario)
    .map(r => r.detail?.phases?.find(p => p.name.startsWith(name))?.ms)
    .filter(v => typeof v === 'number')
    .sort((a, b) => a - b)
  return values.length ? values[Math.floor((values.length - 1) / 2)] : undefined
}

function failuresSection(results) {
  const failed = results.records.filter(r => !r.ok)
  const roundFailures = Object.entries(results.rounds ?? {}).flatMap(([config, s]) => s.filter(p => !p.ok).map(p => ({ config, round: p.round, error: p.error })))
  if (failed.length === 0 && roundFailures.length === 0) return ''
  return [
    '## Failed jobs',
    '',
    ...failed.map(r => `- ${r.workload} / ${CONFIG_LABELS[r.config]} / ${r.scenario} / rep ${r.rep + 1}: ${String(r.error).split('\n').slice(-3).join(' ').slice(0, 300)}`),
    ...roundFailures.map(r => `- rounds / ${CONFIG_LABELS[r.config]} / round ${r.round}: ${String(r.error).slice(0, 300)}`)
  ].join('\n')
}

export function renderReport(results, charts) {
  const { meta } = results
  return [
    '# buildx-cache-action benchmark',
    '',
    `Run ${meta.started} to ${meta.finished ?? '?'} (wall time ${meta.wallMs ? (meta.wallMs / 60000).toFixed(1) : '?'} min): \`node scripts/bench/bench.mjs ${(meta.argv ?? []).join(' ')}\`.`,
    `${meta.options.reps} repetition(s); workloads ${Object.keys(results.workloads).join(', ')}; configurations ${Object.keys(results.configs).join(', ')}. Raw measurements: \`results.json\`.`,
    ...(meta.notes ?? []).map(note => `\n**Note on this run:** ${note}`),
    '',
    targetsSection(results),
    machineSection(meta),
    methodSection(results),
    ...Object.keys(results.workloads).map(w => workloadSection(results, w, charts)),
    roundsSection(results, charts),
    throughputSection(results, charts),
    ghaSection(results.gha),
    timeSection(results),
    failuresSection(results)
  ].filter(Boolean).join('\n\n') + '\n'
}

export function writeReport(outDir, results) {
  const charts = Object.fromEntries(fs.readdirSync(outDir).filter(f => f.endsWith('.png')).map(f => {
    const name = f.replace(/\.png$/, '')
    return [name.startsWith('time-') ? `phases-${name.slice(5)}` : name === 'cache-size-rounds' ? 'rounds' : name, f]
  }))
  fs.writeFileSync(path.join(outDir, 'report.md'), renderReport(results, charts))
}
