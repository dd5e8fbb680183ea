import { builderNetwork, type ActionInputs, type CacheMode } from './inputs.js'

/** What the build command needs besides the inputs: where things go on this runner. */
export interface BuildPlan {
  builder: string
  metadataFile: string
  iidFile: string
  /** Set when a valid cache was restored; absent for a cold build. */
  cacheFrom?: string
  /** Where BuildKit exports the new cache; absent when caching is off. */
  cacheTo?: string
  exportMode: Exclude<CacheMode, 'off'>
  /** Set when the action's loopback registry serves cacheFrom and receives cacheTo (cache-transport registry). */
  registry?: RegistryRefs
}

export interface RegistryRefs {
  importRef?: string
  exportRef: string
}

export const SECRET_ENV_PREFIX = 'BUILDX_CACHE_ACTION_SECRET_'

/** `--bootstrap` on create: a separate `buildx inspect --bootstrap` also queries the workers, 0.3 s more here. */
export function builderCreateArgs(inputs: ActionInputs, name: string, configFile?: string): string[] {
  const args = ['buildx', 'create', '--name', name, '--driver', inputs.driver, '--bootstrap']
  for (const opt of inputs.driverOpts) args.push('--driver-opt', opt)
  // The cache registry listens on the runner's loopback; only the host network reaches it.
  if (inputs.driver === 'docker-container' && inputs.cacheTransport === 'registry' && builderNetwork(inputs) === undefined) args.push('--driver-opt', 'network=host')
  if (configFile) args.push('--config', configFile)
  if (inputs.driver === 'remote') args.push(inputs.endpoint)
  return args
}

export function builderRemoveArgs(name: string): string[] {
  return ['buildx', 'rm', name]
}

/**
 * The same build again, only to export its cache: every step is answered by the builder that just
 * ran it. No image goes anywhere, and no-cache / pull are dropped, or the steps would run again.
 */
export function cacheExportArgs(inputs: ActionInputs, plan: Omit<BuildPlan, 'metadataFile' | 'iidFile'>): string[] {
  const exportOnly: ActionInputs = { ...inputs, tags: [], noCache: false, pull: false, push: false, load: false }
  return [
    'buildx',
    'build',
    '--builder',
    plan.builder,
    '--progress=plain',
    ...sourceArgs(exportOnly),
    ...secretArgs(exportOnly),
    // Here a failed export must fail the pass, so post keeps the previous cache instead of a partial export.
    ...cacheArgs(exportOnly, plan, { ignoreError: false }),
    '--output',
    'type=cacheonly',
    inputs.context
  ]
}

export function buildArgs(inputs: ActionInputs, plan: BuildPlan): string[] {
  return [
    'buildx',
    'build',
    '--builder',
    plan.builder,
    '--progress=plain',
    '--metadata-file',
    plan.metadataFile,
    '--iidfile',
    plan.iidFile,
    ...sourceArgs(inputs),
    ...secretArgs(inputs),
    ...cacheArgs(inputs, plan),
    ...outputArgs(inputs),
    inputs.context
  ]
}

function sourceArgs(inputs: ActionInputs): string[] {
  const args: string[] = []
  if (inputs.file) args.push('--file', inputs.file)
  for (const tag of inputs.tags) args.push('--tag', tag)
  for (const label of inputs.labels) args.push('--label', label)
  for (const arg of inputs.buildArgs) args.push('--build-arg', arg)
  for (const context of inputs.buildContexts) args.push('--build-context', context)
  if (inputs.target) args.push('--target', inputs.target)
  if (inputs.platforms.length > 0) args.push('--platform', inputs.platforms.join(','))
  if (inputs.noCache) args.push('--no-cache')
  if (inputs.pull) args.push('--pull')
  return args
}

/** Secrets travel in the child's environment, never on the command line or on disk. */
function secretArgs(inputs: ActionInputs): string[] {
  return inputs.secrets.flatMap((secret, index) => ['--secret', `id=${secret.id},env=${SECRET_ENV_PREFIX}${index}`])
}

export function secretEnv(inputs: ActionInputs): Record<string, string> {
  return Object.fromEntries(inputs.secrets.map((secret, index) => [`${SECRET_ENV_PREFIX}${index}`, secret.value]))
}

function cacheArgs(inputs: ActionInputs, plan: Pick<BuildPlan, 'cacheFrom' | 'cacheTo' | 'exportMode' | 'registry'>, { ignoreError = true } = {}): string[] {
  const args: string[] = []
  const source = plan.registry ? plan.registry.importRef && `type=registry,ref=${plan.registry.importRef}` : `type=local,src=${plan.cacheFrom}`
  if (plan.cacheFrom && source && !inputs.noCache) args.push('--cache-from', source)
  if (plan.cacheTo) {
    const destination = plan.registry ? `type=registry,ref=${plan.registry.exportRef},oci-mediatypes=true` : `type=local,dest=${plan.cacheTo}`
    args.push('--cache-to', `${destination},${exportOptions(inputs, plan.exportMode, ignoreError)}`)
  }
  return args
}

/**
 * ignore-error (in the build): a failed cache export must not fail the build; post finds the export
 * incomplete and keeps the previous cache. The compression applies to layers only the cache holds: layers of
 * an image being pushed or loaded are compressed by the image exporter first, and reused as they are.
 */
function exportOptions(inputs: ActionInputs, mode: Exclude<CacheMode, 'off'>, ignoreError: boolean): string {
  const level = inputs.cacheCompressionLevel !== undefined ? `,compression-level=${inputs.cacheCompressionLevel}` : ''
  return `mode=${mode},compression=${inputs.cacheCompression}${level}${ignoreError ? ',ignore-error=true' : ''}`
}

function outputArgs(inputs: ActionInputs): string[] {
  const args: string[] = []
  if (inputs.push) args.push('--push')
  if (inputs.load) args.push('--load')
  return args
}
