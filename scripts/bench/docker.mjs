// Docker and buildx for the benchmark: commands, builders it creates (tracked, so they are removed
// on failure or Ctrl-C too) and builds with their progress read back.
import { execFileSync, spawn } from 'node:child_process'
import * as path from 'node:path'
import { parseProgress } from './measure.mjs'

export const BUILDKIT_IMAGE = 'moby/buildkit:buildx-stable-1'
export const TESTBED_STATE = process.env.TESTBED_STATE || '/var/lib/buildx-cache-testbed'
export const TESTBED_CACHE = process.env.TESTBED_CACHE || '/var/cache/buildx-cache-testbed'
export const BUSYBOX_CONTEXT = `busybox:1.36=oci-layout://${path.join(TESTBED_CACHE, 'base', 'busybox')}`

/** Builder names this process created: `bench-<pid>-...`; the action's own are `buildx-cache-<pid>-...`. */
export const BENCH_PREFIX = `bench-${process.pid}-`
export const ACTION_PREFIX = `buildx-cache-${process.pid}-`

/** Runs a command, collecting its output; never rejects on a non-zero exit. */
export function run(command, args, { env, cwd, onStderr } = {}) {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const child = spawn(command, args, { env: env ?? process.env, cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', chunk => (stdout += chunk))
    child.stderr.on('data', chunk => {
      stderr += chunk
      onStderr?.(String(chunk))
    })
    child.on('error', reject)
    child.on('close', code => resolve({ code: code ?? 1, stdout, stderr, ms: Date.now() - started }))
  })
}

export function sh(command, args) {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
}

let counter = 0
const created = new Set()

export function builderName(config) {
  counter += 1
  return `${BENCH_PREFIX}${config}-${counter}`
}

/** `docker buildx create ... --bootstrap`: the builder boot a new runner pays. */
export async function createBuilder(name) {
  created.add(name)
  const result = await run('docker', ['buildx', 'create', '--name', name, '--driver', 'docker-container', '--driver-opt', `image=${BUILDKIT_IMAGE}`, '--bootstrap'])
  if (result.code !== 0) throw new Error(`docker buildx create ${name} failed: ${result.stderr.trim()}`)
  return result.ms
}

/** Removes the builder and its state volume. */
export async function removeBuilder(name) {
  const result = await run('docker', ['buildx', 'rm', name])
  removeVolumes(name)
  created.delete(name)
  return result.ms
}

function removeVolumes(name) {
  try {
    const volumes = sh('docker', ['volume', 'ls', '-q', '--filter', `name=buildx_buildkit_${name}`]).split('\n').filter(Boolean)
    if (volumes.length > 0) sh('docker', ['volume', 'rm', '-f', ...volumes])
  } catch {
    // best effort
  }
}

/**
 * `docker buildx build` on `builder` with the testbed's busybox, no output (the image stays in the
 * builder, as for the action with push and load off); `cache` adds --cache-from / --cache-to values.
 */
export async function build(builder, context, { cacheFrom, cacheTo, buildArgs = [] } = {}) {
  const args = ['buildx', 'build', '--builder', builder, '--progress=plain', '--build-context', BUSYBOX_CONTEXT]
  for (const arg of buildArgs) args.push('--build-arg', arg)
  if (cacheFrom) args.push('--cache-from', cacheFrom)
  if (cacheTo) args.push('--cache-to', cacheTo)
  args.push(context)
  const result = await run('docker', args)
  const progress = parseProgress(result.stderr)
  const error = result.code === 0 ? undefined : (result.stderr.split('\n').filter(line => /^ERROR/.test(line)).join('\n') || result.stderr.trim().split('\n').slice(-3).join('\n'))
  return { ok: result.code === 0, ms: result.ms, progress, error, stderr: result.stderr }
}

/** Builders left by this process (its own and the action's, whose run id is this pid). */
export function strayBuilders() {
  let listing = ''
  try {
    listing = sh('docker', ['buildx', 'ls'])
  } catch {
    return [...created]
  }
  const names = listing.split('\n').map(line => line.split(/\s+/)[0])
  return [...new Set([...created, ...names.filter(n => n.startsWith(BENCH_PREFIX) || n.startsWith(ACTION_PREFIX))])]
}

/** Synchronous, so it can run from a signal handler. */
export function removeStrayBuilders() {
  for (const name of strayBuilders()) {
    try {
      execFileSync('docker', ['buildx', 'rm', name], { stdio: 'ignore' })
    } catch {
      // already gone
    }
    removeVolumes(name)
    created.delete(name)
  }
}

/** Docker, buildx and BuildKit versions (BuildKit's as a booted builder reports it). */
export function versions(builder) {
  const info = { docker: '', buildx: '', buildkit: '' }
  try {
    info.docker = sh('docker', ['version', '--format', '{{.Server.Version}}'])
    info.buildx = sh('docker', ['buildx', 'version'])
    const inspect = sh('docker', ['buildx', 'inspect', builder])
    info.buildkit = /BuildKit version:\s*(\S+)/i.exec(inspect)?.[1] ?? /Buildkit:\s*(\S+)/i.exec(inspect)?.[1] ?? ''
  } catch {
    // partial info is fine
  }
  return info
}
