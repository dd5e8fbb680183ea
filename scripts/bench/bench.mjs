#!/usr/bin/env node
// Benchmark: the same workloads under each configuration on the testbed, in one run; writes
// results.json (every measurement), report.md and PNG charts. See scripts/bench/README.md.
//
//   node scripts/bench/bench.mjs [--reps N] [--workloads a,b] [--configs a,b] [--rounds N] [--quick] [--out DIR]
//   node scripts/bench/bench.mjs --report-only DIR      (charts and report again from DIR/results.json)
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeCharts } from './charts.mjs'
import { startCacheService, stopCacheService } from './cache-service.mjs'
import { CONFIG_LABELS, CONFIG_NAMES, openSession } from './configs.mjs'
import { BUILDKIT_IMAGE, builderName, createBuilder, removeBuilder, removeStrayBuilders, sh, TESTBED_CACHE, versions } from './docker.mjs'
import { probeGha } from './gha.mjs'
import { rawTarZstd } from './measure.mjs'
import { writeReport } from './report.mjs'
import { ROUND_CONFIGS, runRounds } from './rounds.mjs'
import { copyWorkspace, SCENARIOS, WORKLOADS } from './workloads.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const USAGE = `usage: node scripts/bench/bench.mjs [options]
  --reps N          repetitions of every workload x configuration (default 3)
  --workloads a,b   ${Object.keys(WORKLOADS).join(', ')} (default all)
  --configs a,b     ${CONFIG_NAMES.join(', ')} (default all)
  --rounds N        rounds of one-stage changes for the cache-size series (default 20; 0 = none)
  --quick           --reps 1 --rounds 5
  --out DIR         output directory (default bench-results/<UTC timestamp>/)
  --report-only DIR rewrite report.md and the charts from DIR/results.json`

function parseArgs(argv) {
  const options = { reps: 3, rounds: 20, workloads: Object.keys(WORKLOADS), configs: [...CONFIG_NAMES], out: undefined, reportOnly: undefined }
  const list = (value, known, what) => {
    const names = value.split(',').map(s => s.trim()).filter(Boolean)
    const unknown = names.filter(n => !known.includes(n))
    if (unknown.length > 0) throw new Error(`unknown ${what}: ${unknown.join(', ')} (known: ${known.join(', ')})`)
    return names
  }
  const explicit = new Set()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`)
      return argv[++i]
    }
    if (arg === '--reps') options.reps = positive(value(), arg, 1)
    else if (arg === '--rounds') options.rounds = positive(value(), arg, 0)
    else if (arg === '--workloads') options.workloads = list(value(), Object.keys(WORKLOADS), 'workload')
    else if (arg === '--configs') options.configs = list(value(), CONFIG_NAMES, 'configuration')
    else if (arg === '--out') options.out = path.resolve(value())
    else if (arg === '--report-only') options.reportOnly = path.resolve(value())
    else if (arg === '--quick') explicit.add('quick')
    else if (arg === '--help' || arg === '-h') throw new Error(USAGE)
    else throw new Error(`unknown option ${arg}\n${USAGE}`)
    if (arg === '--reps' || arg === '--rounds') explicit.add(arg)
  }
  if (explicit.has('quick')) {
    if (!explicit.has('--reps')) options.reps = 1
    if (!explicit.has('--rounds')) options.rounds = 5
  }
  return options
}

function positive(text, flag, min) {
  const n = Number(text)
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} must be an integer >= ${min}, got ${text}`)
  return n
}

function log(message) {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`)
}

/** zstd for the raw baseline, rsvg-convert for the charts: installed from Debian if missing. */
function ensureTools() {
  const missing = [['zstd', 'zstd'], ['rsvg-convert', 'librsvg2-bin']].filter(([tool]) => {
    try {
      sh('bash', ['-c', `command -v ${tool}`])
      return false
    } catch {
      return true
    }
  })
  if (missing.length === 0) return
  const packages = missing.map(([, pkg]) => pkg)
  log(`apt-get install ${packages.join(' ')}`)
  const install = () => execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages, 'fonts-dejavu-core'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  try {
    install()
  } catch {
    execFileSync('apt-get', ['update'], { stdio: 'ignore' })
    install()
  }
}

function requireTestbed() {
  const problems = []
  const probe = (what, check) => {
    try {
      check()
    } catch (error) {
      problems.push(`${what}: ${error.message.split('\n')[0]}`)
    }
  }
  probe('docker daemon', () => sh('docker', ['info', '--format', '{{.ServerVersion}}']))
  probe('buildx', () => sh('docker', ['buildx', 'version']))
  probe(`image ${BUILDKIT_IMAGE}`, () => sh('docker', ['image', 'inspect', BUILDKIT_IMAGE]))
  probe('busybox OCI layout', () => fs.accessSync(path.join(TESTBED_CACHE, 'base', 'busybox', 'index.json')))
  probe('dist/ bundles', () => fs.accessSync(path.join(ROOT, 'dist', 'main', 'index.js')))
  if (problems.length > 0) throw new Error(`the testbed is not ready (${problems.join('; ')}); run bash scripts/testbed/setup.sh first`)
}

/** Which action the run measured: the commit, whether dist/ differs from it, and a hash of the bundles (read at start and end). */
function actionVersion() {
  const version = { commit: undefined, distChanged: undefined, distSha256: undefined }
  try {
    version.commit = sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'])
    version.distChanged = sh('git', ['-C', ROOT, 'status', '--porcelain', '--', 'dist']) !== ''
  } catch {
    // not a git checkout
  }
  const hash = createHash('sha256')
  for (const entry of ['main', 'post']) hash.update(fs.readFileSync(path.join(ROOT, 'dist', entry, 'index.js')))
  version.distSha256 = hash.digest('hex').slice(0, 16)
  return version
}

function machine() {
  const cpus = os.cpus()
  const release = fs.existsSync('/etc/os-release') ? /^PRETTY_NAME="?([^"\n]*)"?/m.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1] : undefined
  return { cores: cpus.length, cpu: cpus[0]?.model?.trim(), memoryBytes: os.totalmem(), os: release, kernel: os.release(), node: process.version }
}

// ---- cleanup, also on Ctrl-C ----

let tmpRoot
function cleanup() {
  removeStrayBuilders()
  stopCacheService()
  if (tmpRoot) fs.rmSync(tmpRoot, { recursive: true, force: true })
  tmpRoot = undefined
}

/** Processes this one started (builds, action steps, cache steps), deepest first. */
function descendants(pid) {
  let table = ''
  try {
    table = sh('ps', ['-e', '-o', 'pid=,ppid='])
  } catch {
    return []
  }
  const children = new Map()
  for (const line of table.split('\n')) {
    const [child, parent] = line.trim().split(/\s+/).map(Number)
    if (!children.has(parent)) children.set(parent, [])
    children.get(parent).push(child)
  }
  const found = []
  const walk = p => (children.get(p) ?? []).forEach(c => { walk(c); found.push(c) })
  walk(pid)
  return found
}

function onSignal(signal, code) {
  process.on(signal, () => {
    log(`${signal}: stopping, removing builders and temp dirs`)
    for (const pid of descendants(process.pid)) {
      try {
        process.kill(pid, 'SIGTERM')
      } catch {
        // gone
      }
    }
    cleanup()
    process.exit(code)
  })
}

// ---- the run ----

function saveResults(outDir, results) {
  fs.writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(results, null, 1))
}

function describeRecord(r) {
  if (!r.ok) return `FAILED: ${String(r.error).split('\n')[0]}`
  const s = ms => (ms / 1000).toFixed(1)
  const p = r.phases
  const boot = r.bootOverlapsRestore ? `${s(r.bootRawMs)} alongside check and restore` : s(p.boot)
  return `${s(r.totalMs)} s (boot ${boot}, restore ${s(p.restore)}, build ${s(p.build)}, export ${s(p.export)}, save ${s(p.save)}, other ${s(p.other)}) ` +
    `down ${(r.bytesDown / 1e6).toFixed(1)} MB, up ${(r.bytesUp / 1e6).toFixed(1)} MB, steps cached ${r.cachedSteps ?? '?'}/${r.totalSteps ?? '?'}`
}

async function runMatrix(ctx, options, results, save) {
  for (let rep = 0; rep < options.reps; rep++) {
    for (const workloadName of options.workloads) {
      const workload = WORKLOADS[workloadName]
      // The action without cache-mounts is only a comparison for workloads that use them.
      const jobConfigs = options.configs.filter(c => c !== 'gha' && (c !== 'action-no-mounts' || workload.inputs['cache-mounts']))
      // The order of the configurations turns with each repetition, so no one always runs first.
      const order = jobConfigs.map((_, i) => jobConfigs[(i + rep) % jobConfigs.length])
      for (const config of order) {
        const workspace = copyWorkspace(workload, ctx.tmp, `${workloadName}-${config}`)
        const tag = `${workloadName}-${ctx.runTag}-r${rep}`
        const session = openSession(config, ctx, workload, workspace, tag)
        try {
          for (const scenario of ['seed', ...SCENARIOS]) {
            workload.changes[scenario]?.apply(workspace, rep + 1)
            let record
            try {
              record = await session.job()
            } catch (error) {
              record = { ok: false, totalMs: 0, phases: {}, error: error.message }
            }
            record = { workload: workloadName, config, rep, scenario, ...record }
            results.records.push(record)
            log(`rep ${rep + 1}/${options.reps} ${workloadName} ${config} ${scenario}: ${describeRecord(record)}`)
            if (config === 'action' && scenario === 'seed' && record.ok && session.cacheDir) {
              try {
                const raw = rawTarZstd(session.cacheDir, ctx.tmp, Math.max(1, Math.ceil(3 / options.reps)))
                results.throughput.push({ workload: workloadName, rep, ...raw })
                log(`raw tar|zstd of the action's cache (${(raw.bytes / 1e6).toFixed(1)} MB): ${raw.compressMs.join('/')} ms, zstd -d|tar: ${raw.decompressMs.join('/')} ms`)
              } catch (error) {
                log(`raw tar|zstd failed: ${error.message.split('\n')[0]}`)
              }
            }
            save()
          }
        } finally {
          await session.close()
          fs.rmSync(workspace, { recursive: true, force: true })
        }
      }
    }
  }
}

async function main() {
  const options = parseArgs(process.argv.slice(2))
  if (options.reportOnly) {
    const results = JSON.parse(fs.readFileSync(path.join(options.reportOnly, 'results.json'), 'utf8'))
    writeCharts(options.reportOnly, results)
    writeReport(options.reportOnly, results)
    log(`rewrote ${path.join(options.reportOnly, 'report.md')}`)
    return
  }
  const started = new Date()
  const outDir = options.out ?? path.join(ROOT, 'bench-results', started.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-'))
  fs.mkdirSync(outDir, { recursive: true })
  onSignal('SIGINT', 130)
  onSignal('SIGTERM', 143)
  requireTestbed()
  ensureTools()
  tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'bca-bench-'))
  const ctx = { tmp: tmpRoot, serviceEnv: await startCacheService(path.join(tmpRoot, 'cache-service')), runTag: started.getTime().toString(36) }
  const results = {
    meta: { started: started.toISOString(), argv: process.argv.slice(2), options: { ...options, out: outDir }, machine: machine(), loadavg: { start: os.loadavg() }, action: { start: actionVersion() } },
    workloads: Object.fromEntries(options.workloads.map(name => [name, { description: WORKLOADS[name].description, changes: Object.fromEntries(Object.entries(WORKLOADS[name].changes).map(([s, c]) => [s, c.what])) }])),
    configs: Object.fromEntries(options.configs.map(c => [c, CONFIG_LABELS[c]])),
    records: [],
    throughput: [],
    rounds: {},
    gha: undefined
  }
  const save = () => saveResults(outDir, results)
  log(`output: ${outDir}; ${options.reps} rep(s) of ${options.workloads.join(', ')} under ${options.configs.join(', ')}; ${options.rounds} rounds`)
  try {
    const probe = builderName('versions')
    await createBuilder(probe)
    results.meta.versions = versions(probe)
    await removeBuilder(probe)
    log(`docker ${results.meta.versions.docker}; ${results.meta.versions.buildx}; BuildKit ${results.meta.versions.buildkit}`)

    if (options.configs.includes('gha')) {
      results.gha = await probeGha(ctx)
      log(`gha: ${results.gha.runs ? 'runs' : `cannot run: ${results.gha.error}`}`)
      save()
    }
    await runMatrix(ctx, options, results, save)
    if (options.rounds > 0 && options.workloads.includes('parallel-stages')) {
      for (const config of ROUND_CONFIGS.filter(c => options.configs.includes(c))) {
        results.rounds[config] = await runRounds(ctx, config, WORKLOADS['parallel-stages'], options.rounds, `rounds-${config}-${ctx.runTag}`, log)
        save()
      }
    }
  } finally {
    const finished = new Date()
    results.meta.finished = finished.toISOString()
    results.meta.wallMs = finished.getTime() - started.getTime()
    results.meta.loadavg.end = os.loadavg()
    results.meta.action.end = actionVersion()
    save()
    cleanup()
  }
  writeCharts(outDir, results)
  writeReport(outDir, results)
  log(`done in ${(results.meta.wallMs / 60000).toFixed(1)} min: ${path.join(outDir, 'report.md')}`)
}

main().catch(error => {
  console.error(error.message)
  try {
    cleanup()
  } catch {
    // nothing more to do
  }
  process.exit(1)
})

