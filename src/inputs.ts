import * as fs from 'node:fs'
import * as path from 'node:path'
import { Input } from './constants.js'
import { parseCacheMountRequest, type CacheMountRequest } from './cache-mounts.js'
import { parseList, splitAssignment } from './input-lists.js'
import { parseSize } from './units.js'

export type CacheMode = 'max' | 'min' | 'off'
export type CacheCompression = 'gzip' | 'zstd' | 'uncompressed'
export type Driver = 'docker-container' | 'remote'
/** registry: BuildKit reaches the cache over HTTP on the runner's loopback; local: through the build session. */
export type CacheTransport = 'registry' | 'local'
/** on-demand: only when a step that uses a mount runs (the build is stopped and started again); before-build: always. */
export type MountRestore = 'on-demand' | 'before-build'

export interface Secret {
  id: string
  value: string
}

export interface ActionInputs {
  context: string
  /** Absolute Dockerfile path; empty for a remote (git or URL) context that holds its own. */
  file: string
  tags: string[]
  labels: string[]
  buildArgs: string[]
  buildContexts: string[]
  target: string
  platforms: string[]
  push: boolean
  load: boolean
  secrets: Secret[]
  noCache: boolean
  pull: boolean
  driver: Driver
  endpoint: string
  driverOpts: string[]
  buildkitdConfigInline: string
  buildxVersion: string
  keepBuilder: boolean
  cacheMode: CacheMode
  /** Empty means "choose a directory under RUNNER_TEMP". */
  cachePath: string
  /** Empty means "derive from the runner OS and the Dockerfile". */
  cacheKey: string
  cacheSave: boolean
  /** Bytes; undefined means no limit. */
  cacheMaxSize: number | undefined
  /** How BuildKit compresses cache-only layers (image layers keep the image exporter's compression). */
  cacheCompression: CacheCompression
  /** undefined means BuildKit's default for that compression. */
  cacheCompressionLevel: number | undefined
  /** RUN --mount=type=cache mounts whose contents travel with the cache; empty means none. */
  cacheMounts: CacheMountRequest[]
  /** Image with sh, tar and cp that the mount-copying builds run in. */
  cacheMountsImage: string
  cacheMountsRestore: MountRestore
  /** Resolved from auto: registry whenever the builder is on the runner's network. */
  cacheTransport: CacheTransport
}

export type InputReader = (name: string) => string

export class InputError extends Error {
  constructor(input: string, value: string, accepted: string) {
    super(`Input '${input}' has an invalid value '${value}': ${accepted}`)
    this.name = 'InputError'
  }
}

export const DEFAULT_CACHE_MOUNTS_IMAGE = 'busybox:1.36'
const CACHE_MODES: CacheMode[] = ['max', 'min', 'off']
const COMPRESSIONS: CacheCompression[] = ['gzip', 'zstd', 'uncompressed']
/** Level 1 writes gzip about twice as fast as BuildKit's default (6); cache layers are read far more often than their size matters. */
const DEFAULT_GZIP_LEVEL = 1
const MAX_LEVEL: Record<CacheCompression, number> = { gzip: 9, zstd: 22, uncompressed: 0 }
const DRIVERS: Driver[] = ['docker-container', 'remote']
const TRANSPORTS = ['auto', 'registry', 'local'] as const
const MOUNT_RESTORES: MountRestore[] = ['on-demand', 'before-build']
const ARG_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/
const SECRET_ID = /^[A-Za-z0-9_.-]+$/

/** Reads and validates every input once; throws an InputError naming the first bad one. */
export function parseInputs(read: InputReader, workspace: string): ActionInputs {
  const bool = (name: Input, fallback: boolean): boolean => parseBoolean(name, read(name), fallback)
  const list = (name: Input, commas: boolean): string[] => parseList(read(name), { commas })
  const context = read(Input.Context).trim() || '.'
  const inputs: ActionInputs = {
    context,
    file: resolveDockerfile(context, read(Input.File).trim(), workspace),
    tags: list(Input.Tags, true),
    labels: list(Input.Labels, false),
    buildArgs: validateBuildArgs(list(Input.BuildArgs, false)),
    buildContexts: validateBuildContexts(list(Input.BuildContexts, false)),
    target: read(Input.Target).trim(),
    platforms: list(Input.Platforms, true),
    push: bool(Input.Push, false),
    load: bool(Input.Load, false),
    secrets: parseSecrets(list(Input.Secrets, false)),
    noCache: bool(Input.NoCache, false),
    pull: bool(Input.Pull, false),
    driver: oneOf(Input.Driver, read(Input.Driver).trim().toLowerCase() || 'docker-container', DRIVERS),
    endpoint: read(Input.Endpoint).trim(),
    driverOpts: list(Input.DriverOpts, false),
    buildkitdConfigInline: read(Input.BuildkitdConfigInline),
    buildxVersion: parseBuildxVersion(read(Input.BuildxVersion).trim()),
    keepBuilder: bool(Input.KeepBuilder, false),
    cacheMode: oneOf(Input.CacheMode, read(Input.CacheMode).trim().toLowerCase() || 'max', CACHE_MODES),
    cachePath: read(Input.CachePath).trim(),
    cacheKey: parseCacheKey(read(Input.CacheKey).trim()),
    cacheSave: bool(Input.CacheSave, true),
    cacheMaxSize: parseMaxSize(read(Input.CacheMaxSize).trim()),
    ...parseCompression(read(Input.CacheCompression).trim().toLowerCase() || 'gzip', read(Input.CacheCompressionLevel).trim()),
    cacheMounts: parseCacheMounts(list(Input.CacheMounts, false)),
    cacheMountsImage: parseImage(Input.CacheMountsImage, read(Input.CacheMountsImage).trim() || DEFAULT_CACHE_MOUNTS_IMAGE),
    cacheMountsRestore: oneOf(Input.CacheMountsRestore, read(Input.CacheMountsRestore).trim().toLowerCase() || 'on-demand', MOUNT_RESTORES),
    cacheTransport: 'local'
  }
  inputs.cacheTransport = resolveTransport(oneOf(Input.CacheTransport, read(Input.CacheTransport).trim().toLowerCase() || 'auto', TRANSPORTS), inputs)
  checkCombinations(inputs)
  return inputs
}

function parseBoolean(name: Input, value: string, fallback: boolean): boolean {
  const text = value.trim()
  if (text === '') return fallback
  if (/^true$/i.test(text)) return true
  if (/^false$/i.test(text)) return false
  throw new InputError(name, text, "expected 'true' or 'false'")
}

function oneOf<T extends string>(name: Input, value: string, accepted: readonly T[]): T {
  if ((accepted as readonly string[]).includes(value)) return value as T
  throw new InputError(name, value, `expected one of ${accepted.map(a => `'${a}'`).join(', ')}`)
}

function isRemoteContext(context: string): boolean {
  return /^(https?:\/\/|git@|git:\/\/|ssh:\/\/)/.test(context) || context.endsWith('.git')
}

function resolveDockerfile(context: string, file: string, workspace: string): string {
  if (isRemoteContext(context)) return file
  const contextDir = path.resolve(workspace, context)
  if (!isDirectory(contextDir)) {
    throw new InputError(Input.Context, context, `no such directory (looked at ${contextDir})`)
  }
  const dockerfile = file ? path.resolve(workspace, file) : path.join(contextDir, 'Dockerfile')
  if (!isFile(dockerfile)) {
    throw new InputError(Input.File, file || '(default)', `no Dockerfile at ${dockerfile}`)
  }
  return dockerfile
}

function isDirectory(target: string): boolean {
  return fs.statSync(target, { throwIfNoEntry: false })?.isDirectory() ?? false
}

function isFile(target: string): boolean {
  return fs.statSync(target, { throwIfNoEntry: false })?.isFile() ?? false
}

function validateBuildArgs(items: string[]): string[] {
  for (const item of items) {
    const assignment = splitAssignment(item)
    if (!assignment || !ARG_NAME.test(assignment.name)) {
      throw new InputError(Input.BuildArgs, item, 'expected NAME=value, one per line')
    }
  }
  return items
}

function validateBuildContexts(items: string[]): string[] {
  for (const item of items) {
    const assignment = splitAssignment(item)
    if (!assignment || assignment.name === '' || assignment.value.trim() === '') {
      throw new InputError(Input.BuildContexts, item, 'expected name=source (a path, docker-image://, oci-layout:// or URL), one per line')
    }
  }
  return items
}

function parseSecrets(items: string[]): Secret[] {
  return items.map(item => {
    const assignment = splitAssignment(item)
    if (!assignment || !SECRET_ID.test(assignment.name)) {
      // The value may be a credential: name only the part before '='.
      const shown = assignment ? `${assignment.name}=***` : '***'
      throw new InputError(Input.Secrets, shown, 'expected id=value, one per line, id made of letters, digits, _ . -')
    }
    return { id: assignment.name, value: assignment.value }
  })
}

function parseBuildxVersion(value: string): string {
  if (value === '' || value === 'latest' || /^v?\d+\.\d+\.\d+(-[\w.]+)?$/.test(value)) return value.replace(/^v/, '')
  throw new InputError(Input.BuildxVersion, value, "expected empty (use the runner's buildx), 'latest' or a version like 0.13.1")
}

function parseCacheKey(value: string): string {
  if (value === '' || /^[^\s,]+$/.test(value)) return value
  throw new InputError(Input.CacheKey, value, 'expected a key prefix without spaces or commas')
}

function parseMaxSize(value: string): number | undefined {
  if (value === '') return undefined
  const bytes = parseSize(value)
  if (bytes === undefined || bytes <= 0) {
    throw new InputError(Input.CacheMaxSize, value, "expected a size such as '4GB', '512MB' or a byte count")
  }
  return bytes
}

function parseCompression(compressionText: string, levelText: string): Pick<ActionInputs, 'cacheCompression' | 'cacheCompressionLevel'> {
  const cacheCompression = oneOf(Input.CacheCompression, compressionText, COMPRESSIONS)
  if (levelText === '') return { cacheCompression, cacheCompressionLevel: cacheCompression === 'gzip' ? DEFAULT_GZIP_LEVEL : undefined }
  const max = MAX_LEVEL[cacheCompression]
  const level = /^\d+$/.test(levelText) ? Number(levelText) : NaN
  if (max === 0) throw new InputError(Input.CacheCompressionLevel, levelText, "uncompressed has no level; leave it empty")
  if (!(level >= 0 && level <= max)) throw new InputError(Input.CacheCompressionLevel, levelText, `expected a whole number from 0 to ${max} for ${cacheCompression}`)
  return { cacheCompression, cacheCompressionLevel: level }
}

function parseCacheMounts(items: string[]): CacheMountRequest[] {
  const requests: CacheMountRequest[] = []
  for (const item of items) {
    const request = parseCacheMountRequest(item)
    if (typeof request === 'string') {
      throw new InputError(Input.CacheMounts, item, `${request}; expected one mount per line: an id, a target path, or id=...,target=...`)
    }
    const name = request.id ?? request.target
    if (requests.some(other => (other.id ?? other.target) === name)) throw new InputError(Input.CacheMounts, item, 'each mount may be listed once')
    requests.push(request)
  }
  return requests
}

function parseImage(name: Input, value: string): string {
  if (/^[a-z0-9][\w.\-/:@]*$/i.test(value)) return value
  throw new InputError(name, value, 'expected an image reference such as busybox:1.36')
}

/** The network the docker-container builder asks for in driver-opts; undefined when it leaves it to the action. */
export function builderNetwork(inputs: Pick<ActionInputs, 'driverOpts'>): string | undefined {
  return inputs.driverOpts.map(opt => splitAssignment(opt)).find(pair => pair?.name.trim() === 'network')?.value.trim()
}

/**
 * auto picks the registry when the action creates a docker-container builder on the host network
 * (it asks for network=host unless driver-opts say otherwise); a remote buildkitd may not share
 * the runner's loopback, so it gets the registry only when asked for it.
 */
function resolveTransport(requested: (typeof TRANSPORTS)[number], inputs: ActionInputs): CacheTransport {
  const network = builderNetwork(inputs)
  const onHostNetwork = inputs.driver === 'docker-container' && (network === undefined || network === 'host')
  if (requested === 'registry' && inputs.driver === 'docker-container' && !onHostNetwork) {
    throw new InputError(Input.CacheTransport, requested, `the registry transport needs the builder on the host network, but driver-opts set network=${network}; drop that option or use 'local'`)
  }
  if (requested === 'auto') return onHostNetwork ? 'registry' : 'local'
  return requested
}

function checkCombinations(inputs: ActionInputs): void {
  if (inputs.cacheMounts.length > 0 && inputs.cacheMode === 'off') {
    throw new InputError(Input.CacheMounts, inputs.cacheMounts.map(m => m.text).join(', '), "cache mounts travel inside the cache, so they need cache-mode 'max' or 'min', not 'off'")
  }
  if (inputs.driver === 'remote' && inputs.endpoint === '') {
    throw new InputError(Input.Endpoint, '', "driver 'remote' needs an endpoint such as tcp://buildkitd:1234")
  }
  if (inputs.driver !== 'remote' && inputs.endpoint !== '') {
    throw new InputError(Input.Endpoint, inputs.endpoint, "an endpoint is only used with driver 'remote'")
  }
  if (inputs.load && inputs.platforms.length > 1) {
    throw new InputError(Input.Platforms, inputs.platforms.join(','), "'load' can import one platform only into the Docker engine; build one platform or drop 'load'")
  }
}
