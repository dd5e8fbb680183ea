/** Every input, output and state name, spelled once. */
export enum Input {
  Context = 'context',
  File = 'file',
  Tags = 'tags',
  Labels = 'labels',
  BuildArgs = 'build-args',
  BuildContexts = 'build-contexts',
  Target = 'target',
  Platforms = 'platforms',
  Push = 'push',
  Load = 'load',
  Secrets = 'secrets',
  NoCache = 'no-cache',
  Pull = 'pull',
  Driver = 'driver',
  Endpoint = 'endpoint',
  DriverOpts = 'driver-opts',
  BuildkitdConfigInline = 'buildkitd-config-inline',
  BuildxVersion = 'buildx-version',
  KeepBuilder = 'keep-builder',
  CacheMode = 'cache-mode',
  CachePath = 'cache-path',
  CacheKey = 'cache-key',
  CacheSave = 'cache-save',
  CacheMaxSize = 'cache-max-size',
  CacheCompression = 'cache-compression',
  CacheCompressionLevel = 'cache-compression-level',
  CacheMounts = 'cache-mounts',
  CacheMountsImage = 'cache-mounts-image',
  CacheMountsRestore = 'cache-mounts-restore',
  CacheTransport = 'cache-transport'
}

export enum Output {
  ImageId = 'imageid',
  Digest = 'digest',
  Metadata = 'metadata',
  CacheHit = 'cache-hit',
  CacheKey = 'cache-key',
  CacheSize = 'cache-size',
  CachedSteps = 'cached-steps',
  TotalSteps = 'total-steps',
  CacheMounts = 'cache-mounts'
}

export const ACTION_NAME = 'buildx-cache-action'
/** Written into the cache directory; carries what the next run needs to know about this cache. */
export const CACHE_META_FILE = 'buildx-cache-action.json'
