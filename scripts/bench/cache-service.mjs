// The testbed's cache service: a private instance started with its own scripts, and the
// hand-wired configuration's restore and save run through cache-client.mjs.
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as net from 'node:net'
import { run } from './docker.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const ROOT = path.resolve(HERE, '../..')
const SCRIPTS = path.join(ROOT, 'scripts/testbed/cache-service')

/**
 * A private instance of the testbed service (Azurite + server, started by its own start.sh) on free
 * ports, with its state under `stateDir`: tests that stop, restart or fault the shared instance
 * cannot disturb the benchmark, and its entries go away with the directory.
 */
export async function startCacheService(stateDir) {
  fs.mkdirSync(stateDir, { recursive: true })
  running = { ...process.env, TESTBED_STATE: stateDir, AZURITE_BLOB_PORT: String(await freePort()), CACHE_SERVICE_PORT: String(await freePort()) }
  execFileSync('bash', [path.join(SCRIPTS, 'start.sh')], { env: running, stdio: ['ignore', 'ignore', 'inherit'] })
  const env = {}
  for (const line of fs.readFileSync(path.join(stateDir, 'cache-service.env'), 'utf8').split('\n')) {
    const match = /^export ([A-Z_0-9]+)=(.*)$/.exec(line)
    if (match) env[match[1]] = match[2]
  }
  return env
}

let running

/** Synchronous, so it can run from a signal handler. */
export function stopCacheService() {
  if (!running) return
  try {
    execFileSync('bash', [path.join(SCRIPTS, 'stop.sh')], { env: running, stdio: 'ignore' })
  } catch {
    // best effort
  }
  running = undefined
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/**
 * Runs one @actions/cache call in a child process. Returns its own timing (`ms`, without Node's
 * start-up), the wall time, the matched key, and the archive bytes the library logged.
 */
export async function cacheStep(serviceEnv, runnerTemp, op, dir, key, restoreKeys = []) {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, RUNNER_TEMP: runnerTemp, ...serviceEnv }
  const result = await run(process.execPath, [path.join(HERE, 'cache-client.mjs'), op, dir, key, ...restoreKeys], { env, cwd: ROOT })
  const line = result.stdout.split('\n').find(l => l.startsWith('BENCH_RESULT '))
  if (result.code !== 0 || !line) throw new Error(`cache ${op} failed (exit ${result.code}): ${(result.stderr || result.stdout).trim().split('\n').slice(-3).join(' ')}`)
  const parsed = JSON.parse(line.slice('BENCH_RESULT '.length))
  // Restores log "Cache Size: ~N MB (B B)"; saves log the archive size as a debug line.
  const restored = /Cache Size: ~\d+ MB \((\d+) B\)/.exec(result.stdout)
  const saved = /^::debug::File Size: (\d+)$/m.exec(result.stdout)
  const archiveBytes = Number((op === 'restore' ? restored : saved)?.[1] ?? 0)
  return { ms: parsed.ms, wallMs: result.ms, key: op === 'restore' ? parsed.key : parsed.key !== -1 ? key : null, archiveBytes, log: libraryLog(result.stdout) }
}

/** The library's plain log lines (no `::debug::` / `::add-mask::` commands, which carry signed URLs). */
function libraryLog(stdout) {
  return stdout.split('\n').filter(line => line && !line.startsWith('::') && !line.startsWith('BENCH_RESULT')).slice(-8).join('\n')
}
