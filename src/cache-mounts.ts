import * as path from 'node:path'
import { sha256 } from './cache-keys.js'

/** Go's path.Clean, which BuildKit applies to a mount target to make its default id. */
export function cleanPath(target: string): string {
  const normal = path.posix.normalize(target)
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal
}

/** One entry of the cache-mounts input: a mount id, a target, or both (`id=npm,target=/root/.npm`). */
export interface CacheMountRequest {
  /** As written, for messages. */
  text: string
  id?: string
  target?: string
}

/** A `RUN --mount=type=cache,...` found in the Dockerfile, with BuildKit's default id applied. */
export interface DockerfileCacheMount {
  id: string
  target: string
  uid?: string
  gid?: string
  mode?: string
  /** Set when the mount is based on another stage or image: such mounts cannot be filled from outside. */
  from?: string
}

/** A mount this run carries across runners. `file` names its archive inside the cache directory. */
export interface CacheMountPlan {
  id: string
  file: string
  mount: DockerfileCacheMount
}

export interface CacheMountMatch {
  plans: CacheMountPlan[]
  /** Requests no RUN --mount=type=cache in the Dockerfile uses. */
  unused: CacheMountRequest[]
  /** Matched, but not something this action can fill (e.g. a `from=` mount). */
  unsupported: { request: CacheMountRequest; reason: string }[]
}

export const MOUNTS_DIR = 'mounts'
const REQUEST_KEYS = new Set(['id', 'target', 'dst', 'destination', 'type'])

/** Parses one cache-mounts line; a message saying what is wrong when it cannot be used. */
export function parseCacheMountRequest(text: string): CacheMountRequest | string {
  if (!text.includes('=')) return text.startsWith('/') ? { text, target: cleanPath(text) } : { text, id: text }
  const request: CacheMountRequest = { text }
  for (const field of text.split(',')) {
    const [key, ...rest] = field.split('=')
    const name = key.trim().toLowerCase()
    const value = rest.join('=').trim()
    if (!REQUEST_KEYS.has(name)) return `unknown field '${name}'`
    if (value === '') return `empty value for '${name}'`
    if (name === 'type' && value !== 'cache') return `only type=cache mounts can be carried, not type=${value}`
    if (name === 'id') request.id = value
    if (name === 'target' || name === 'dst' || name === 'destination') request.target = cleanPath(value)
  }
  if (!request.id && !request.target) return 'expected an id, a target, or id=...,target=...'
  return request
}

/** Every cache mount of every RUN, in order of appearance; line continuations are joined first. */
export function findCacheMounts(dockerfile: string): DockerfileCacheMount[] {
  const found: DockerfileCacheMount[] = []
  for (const instruction of joinContinuations(dockerfile)) {
    const words = instruction.trim().split(/\s+/)
    if (words[0].toUpperCase() !== 'RUN') continue
    // Flags come before the command; a --mount inside the command is the command's business.
    for (const word of words.slice(1)) {
      if (!word.startsWith('--')) break
      const mount = word.startsWith('--mount=') ? parseMountFlag(word.slice('--mount='.length).replace(/^"|"$/g, '')) : undefined
      if (mount) found.push(mount)
    }
  }
  return found
}

function joinContinuations(dockerfile: string): string[] {
  const instructions: string[] = []
  let current = ''
  for (const line of dockerfile.split(/\r?\n/)) {
    if (current === '' && /^\s*#/.test(line)) continue
    if (/\\\s*$/.test(line)) {
      current += line.replace(/\\\s*$/, ' ')
      continue
    }
    instructions.push(current + line)
    current = ''
  }
  if (current !== '') instructions.push(current)
  return instructions
}

function parseMountFlag(value: string): DockerfileCacheMount | undefined {
  const fields = new Map<string, string>()
  for (const field of value.split(',')) {
    const at = field.indexOf('=')
    fields.set((at < 0 ? field : field.slice(0, at)).toLowerCase(), at < 0 ? '' : field.slice(at + 1))
  }
  if (fields.get('type') !== 'cache') return undefined
  const target = fields.get('target') ?? fields.get('dst') ?? fields.get('destination')
  if (!target) return undefined
  // BuildKit's own default: a cache mount without an id is keyed by its cleaned target path.
  const id = fields.get('id') || cleanPath(target)
  return { id, target: cleanPath(target), uid: fields.get('uid'), gid: fields.get('gid'), mode: fields.get('mode'), from: fields.get('from') }
}

/**
 * The cache mounts the steps that ran used, read from their progress names
 * ("[deps 2/3] RUN --mount=type=cache,id=npm,target=/root/.npm npm ci"). A mount no step used
 * cannot have changed. undefined when a step's mount id is not literal (a variable): then any mount may have.
 */
export function mountsUsedBySteps(stepsRun: string[]): Set<string> | undefined {
  const used = new Set<string>()
  for (const step of stepsRun) {
    for (const mount of stepCacheMounts(step)) {
      if (mount.id.includes('$')) return undefined
      used.add(mount.id)
    }
  }
  return used
}

/** The cache mounts of one step, read from its progress name (its `[stage n/m]` prefix dropped). */
export function stepCacheMounts(stepName: string): DockerfileCacheMount[] {
  return findCacheMounts(stepName.replace(/^\[[^\]]*\]\s*/, ''))
}

/** A request names a mount by its id, or by its target when it gives no id. */
export function matchCacheMounts(requests: CacheMountRequest[], mounts: DockerfileCacheMount[]): CacheMountMatch {
  const result: CacheMountMatch = { plans: [], unused: [], unsupported: [] }
  for (const request of requests) {
    const mount = mounts.find(m => (request.id ? m.id === request.id : m.target === request.target))
    if (!mount) result.unused.push(request)
    else if (mount.from) result.unsupported.push({ request, reason: `its mount is based on '${mount.from}' (from=), which this action cannot fill from outside the build` })
    else if (!result.plans.some(plan => plan.id === mount.id)) result.plans.push({ id: mount.id, file: mountArchiveName(mount.id), mount })
  }
  return result
}

/** Without a Dockerfile to read (a remote context), each request is taken as it is written. */
export function plansWithoutDockerfile(requests: CacheMountRequest[]): CacheMountPlan[] {
  return requests.map(request => {
    const id = request.id ?? request.target!
    return { id, file: mountArchiveName(id), mount: { id, target: request.target ?? `/${id}` } }
  })
}

/** A file name that is safe whatever the id holds, readable where the id allows, and unique by hash. */
export function mountArchiveName(id: string): string {
  const readable = id.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 40)
  return `${readable || 'mount'}-${sha256(id).slice(0, 8)}.tar`
}

/** The --mount flag that reaches the same BuildKit cache as the user's RUN step, mounted at `at`. */
export function sameCacheMountFlag(mount: DockerfileCacheMount, at: string): string {
  const fields = ['type=cache', `id=${mount.id}`, `target=${at}`, 'sharing=locked']
  // uid, gid and mode shape the mount's base directory, which is part of the cache's identity.
  if (mount.uid !== undefined) fields.push(`uid=${mount.uid}`)
  if (mount.gid !== undefined) fields.push(`gid=${mount.gid}`)
  if (mount.mode !== undefined) fields.push(`mode=${mount.mode}`)
  return `--mount=${fields.join(',')}`
}

export const SAVED_MOUNTS_CONTEXT = 'buildx-cache-action-mounts'
/** Changes every run, so the generated RUN steps are never answered from the layer cache. */
export const RUN_NONCE_ARG = 'BUILDX_CACHE_ACTION_RUN'

/**
 * One build that unpacks every saved archive into its cache mount before the user's build. With
 * `urlOf` (the action's loopback server), BuildKit downloads each archive itself (`ADD <url>`);
 * without it, the archives come as a named context through the build session, which is slower.
 */
export function injectDockerfile(image: string, plans: CacheMountPlan[], urlOf?: (file: string) => string): string {
  const saved = '/buildx-cache-action/saved'
  const downloads = urlOf ? plans.map(plan => `ADD ${urlOf(plan.file)} ${saved}/${plan.file}`) : []
  const steps = plans.map((plan, i) => {
    const at = `/buildx-cache-action/mount-${i}`
    return [
      `RUN ${sameCacheMountFlag(plan.mount, at)} \\`,
      ...(urlOf ? [] : [`    --mount=type=bind,from=${SAVED_MOUNTS_CONTEXT},target=${saved} \\`]),
      `    echo "$${RUN_NONCE_ARG}" > /dev/null && tar -xf ${saved}/${plan.file} -C ${at}`
    ].join('\n')
  })
  return [`FROM ${image}`, `ARG ${RUN_NONCE_ARG}`, ...downloads, ...steps].join('\n') + '\n'
}

/** A build whose tar output is the contents of one cache mount, owners and modes included. */
export function extractDockerfile(image: string, plan: CacheMountPlan): string {
  const at = '/buildx-cache-action/mount'
  return [
    `FROM ${image} AS copy`,
    `ARG ${RUN_NONCE_ARG}`,
    `RUN ${sameCacheMountFlag(plan.mount, at)} \\`,
    `    echo "$${RUN_NONCE_ARG}" > /dev/null && mkdir -p /buildx-cache-action/out && cp -a ${at}/. /buildx-cache-action/out/`,
    'FROM scratch',
    'COPY --from=copy /buildx-cache-action/out/ /'
  ].join('\n') + '\n'
}

export interface MountBuildPlan {
  builder: string
  /** Directory holding the generated Dockerfile (and nothing else): the build's context. */
  contextDir: string
  nonce: string
  /** The user's build contexts that name the helper image, so an offline or mirrored image resolves the same way. */
  imageContexts: string[]
  /** The user's BUILDKIT_CACHE_MOUNT_NS, when set: it prefixes every cache id. */
  namespaceArg?: string
}

/** `savedDir`: the archives as a named context; undefined when the Dockerfile downloads them. */
export function injectBuildArgs(plan: MountBuildPlan, savedDir: string | undefined): string[] {
  const saved = savedDir ? ['--build-context', `${SAVED_MOUNTS_CONTEXT}=${savedDir}`] : []
  return [...mountBuildCommon(plan), ...saved, '--output', 'type=cacheonly', plan.contextDir]
}

/**
 * Out through the build session as a tar file, or pushed as a one-layer image to the action's
 * loopback registry: uncompressed, so the layer blob is the mount's tar as it is.
 */
export function extractBuildArgs(plan: MountBuildPlan, destination: { archive: string } | { imageRef: string }): string[] {
  const output = 'archive' in destination ? `type=tar,dest=${destination.archive}` : `type=image,name=${destination.imageRef},push=true,compression=uncompressed,oci-mediatypes=true`
  return [...mountBuildCommon(plan), '--output', output, plan.contextDir]
}

function mountBuildCommon(plan: MountBuildPlan): string[] {
  const args = ['buildx', 'build', '--builder', plan.builder, '--progress=plain', '--provenance=false', '--build-arg', `${RUN_NONCE_ARG}=${plan.nonce}`]
  if (plan.namespaceArg) args.push('--build-arg', plan.namespaceArg)
  for (const context of plan.imageContexts) args.push('--build-context', context)
  return args
}

/** The user's build contexts whose name is the helper image, e.g. `busybox:1.36=oci-layout://...`. */
export function contextsForImage(buildContexts: string[], image: string): string[] {
  return buildContexts.filter(context => context.slice(0, context.indexOf('=')) === image)
}

export function cacheNamespaceArg(buildArgs: string[]): string | undefined {
  return buildArgs.find(arg => arg.startsWith('BUILDKIT_CACHE_MOUNT_NS='))
}
