import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { parseEnvFile } from '../fixtures/cache-service/cache-service.js'

/** The real testbed (scripts/testbed/setup.sh): these tests fail, loudly, when any part is missing. */
export const ROOT = path.resolve(import.meta.dirname, '../..')
export const TESTBED_STATE = process.env.TESTBED_STATE || '/var/lib/buildx-cache-testbed'
export const TESTBED_CACHE = process.env.TESTBED_CACHE || '/var/cache/buildx-cache-testbed'
export const BUSYBOX_LAYOUT = path.join(TESTBED_CACHE, 'base', 'busybox')
/** How the example Dockerfiles' `FROM busybox:1.36` is served without a registry. */
export const BUSYBOX_CONTEXT = `busybox:1.36=oci-layout://${BUSYBOX_LAYOUT}`
export const BUILDKIT_IMAGE = 'moby/buildkit:buildx-stable-1'
/** Written by the cache service's start.sh: the env a job gets from the runner. */
const SERVICE_ENV_FILE = path.join(TESTBED_STATE, 'cache-service.env')
const SETUP_HINT = 'set it up with `bash scripts/testbed/setup.sh` (see scripts/testbed/README.md)'

function sh(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

export function requireTestbed(): void {
  const missing: string[] = []
  const probe = (what: string, check: () => unknown): void => {
    try {
      check()
    } catch (error) {
      missing.push(`${what}: ${(error as Error).message.split('\n')[0]}`)
    }
  }
  probe('docker daemon', () => sh('docker', ['info', '--format', '{{.ServerVersion}}']))
  probe('buildx plugin', () => sh('docker', ['buildx', 'version']))
  probe(`image ${BUILDKIT_IMAGE}`, () => sh('docker', ['image', 'inspect', BUILDKIT_IMAGE]))
  probe('busybox OCI layout', () => fs.accessSync(path.join(BUSYBOX_LAYOUT, 'index.json')))
  probe('dist/ bundles', () => fs.accessSync(path.join(ROOT, 'dist', 'main', 'index.js')))
  if (missing.length > 0) throw new Error(`The testbed is not ready (${missing.join('; ')}); ${SETUP_HINT}`)
}

/** Starts (or finds running) Azurite and the cache service; returns the env a job gets from the runner. */
export function startCacheService(extraEnv: Record<string, string> = {}): Record<string, string> {
  sh('env', [...Object.entries(extraEnv).map(([k, v]) => `${k}=${v}`), 'bash', path.join(ROOT, 'scripts/testbed/cache-service/start.sh')])
  return parseEnvFile(SERVICE_ENV_FILE)
}

export function stopCacheService(): void {
  sh('bash', [path.join(ROOT, 'scripts/testbed/cache-service/stop.sh')])
}

export interface CacheEntry {
  key: string
  version: string
  scope: string
  size: number
}

export async function admin<T>(serviceEnv: Record<string, string>, method: string, route: string, body?: unknown): Promise<T> {
  const response = await fetch(`${serviceEnv.CACHE_SERVICE_ADMIN_URL}/${route}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  return (await response.json()) as T
}

/**
 * Deletes every entry of the testbed's cache service and its blob in Azurite, when the service
 * runs: each test file uses keys of its own, and without this the entries of every run pile up
 * (tens of GB over a few days of runs).
 */
export async function clearCacheService(): Promise<void> {
  if (!fs.existsSync(SERVICE_ENV_FILE)) return
  await admin(parseEnvFile(SERVICE_ENV_FILE), 'DELETE', 'entries').catch(() => undefined)
}

/** The service's entries saved under `${prefix}-`. */
export async function entriesUnder(serviceEnv: Record<string, string>, prefix: string): Promise<CacheEntry[]> {
  return (await admin<CacheEntry[]>(serviceEnv, 'GET', 'entries')).filter(entry => entry.key.startsWith(`${prefix}-`))
}

/** Where a test file's workspaces, runners and caches go: removed when the file is done (cleanup.ts). */
const SCRATCH_ROOT = path.join(os.tmpdir(), `bca-itest-${process.pid}`)

export function scratchDir(prefix: string): string {
  fs.mkdirSync(SCRATCH_ROOT, { recursive: true })
  return fs.mkdtempSync(path.join(SCRATCH_ROOT, `${prefix}-`))
}

export function removeScratch(): void {
  fs.rmSync(SCRATCH_ROOT, { recursive: true, force: true })
}

/** A copy of an example project in a fresh temp dir, so tests can change its files. */
export function copyExample(name: string): string {
  const dir = scratchDir(name)
  fs.cpSync(path.join(ROOT, 'examples', name), dir, { recursive: true })
  return dir
}

/**
 * Builders that jobs of this test process created (the simulated runner's GITHUB_RUN_ID is this
 * process's pid) and post did not remove: they would leak into the next test.
 */
export function actionBuilders(): string[] {
  return sh('docker', ['buildx', 'ls'])
    .split('\n')
    .map(line => line.split(/\s+/)[0])
    .filter(name => name.startsWith(`buildx-cache-${process.pid}-`))
}
