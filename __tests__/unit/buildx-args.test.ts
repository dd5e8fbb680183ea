import {
  buildArgs,
  cacheExportArgs,
  builderCreateArgs,
  builderRemoveArgs,
  secretEnv,
  type BuildPlan
} from '../../src/buildx-args.js'
import { makeWorkspace, type InputValues } from './fixtures.js'

const ws = makeWorkspace()
afterAll(() => ws.remove())

/** Where the Dockerfile of the default context lands on the command line. */
const FILE = ['--file', '<ws>/Dockerfile']
const CACHE = '/runner/_temp/buildx-cache-action/0123456789ab'

function plan(overrides: Partial<BuildPlan> = {}): BuildPlan {
  return { builder: 'b1', metadataFile: '/t/meta.json', iidFile: '/t/iid', exportMode: 'max', ...overrides }
}

/** The argv with the workspace path written as <ws>, so rows read the same on every machine. */
function argv(args: string[]): string[] {
  return args.map(arg => arg.replaceAll(ws.dir, '<ws>'))
}

describe('builderCreateArgs', () => {
  test.each<[InputValues, string | undefined, string[]]>([
    [{}, undefined, ['buildx', 'create', '--name', 'b1', '--driver', 'docker-container', '--bootstrap', '--driver-opt', 'network=host']],
    [{ 'cache-transport': 'local' }, undefined, ['buildx', 'create', '--name', 'b1', '--driver', 'docker-container', '--bootstrap']],
    [{ 'driver-opts': 'network=bridge' }, undefined, ['buildx', 'create', '--name', 'b1', '--driver', 'docker-container', '--bootstrap', '--driver-opt', 'network=bridge']],
    [
      { 'driver-opts': 'image=moby/buildkit:v0.13.1\nnetwork=host' },
      '/t/buildkitd.toml',
      ['buildx', 'create', '--name', 'b1', '--driver', 'docker-container', '--bootstrap', '--driver-opt', 'image=moby/buildkit:v0.13.1', '--driver-opt', 'network=host', '--config', '/t/buildkitd.toml']
    ],
    [{ driver: 'remote', endpoint: 'tcp://buildkitd:1234' }, undefined, ['buildx', 'create', '--name', 'b1', '--driver', 'remote', '--bootstrap', 'tcp://buildkitd:1234']],
    [
      { driver: 'remote', endpoint: 'tcp://buildkitd:1234', 'driver-opts': 'cacert=/certs/ca.pem' },
      '/t/buildkitd.toml',
      ['buildx', 'create', '--name', 'b1', '--driver', 'remote', '--bootstrap', '--driver-opt', 'cacert=/certs/ca.pem', '--config', '/t/buildkitd.toml', 'tcp://buildkitd:1234']
    ]
  ])('[%#] given %j and config %p returns %j', (values, configFile, expected) => {
    expect(builderCreateArgs(ws.parse(values), 'b1', configFile)).toEqual(expected)
  })

  test.each([
    [builderRemoveArgs('b1'), ['buildx', 'rm', 'b1']]
  ])('[%#] %j is exactly %j', (actual, expected) => {
    expect(actual).toEqual(expected)
  })
})

describe('buildArgs', () => {
  const head = ['buildx', 'build', '--builder', 'b1', '--progress=plain', '--metadata-file', '/t/meta.json', '--iidfile', '/t/iid']

  // Each row: inputs, plan, then the argv between the fixed head and the trailing context.
  test.each<[string, InputValues, Partial<BuildPlan>, string[]]>([
    ['caching off', { 'cache-mode': 'off' }, {}, FILE],
    ['cold build', {}, { cacheTo: `${CACHE}-new` }, [...FILE, '--cache-to', `type=local,dest=${CACHE}-new,mode=max,compression=gzip,compression-level=1,ignore-error=true`]],
    [
      'warm build',
      {},
      { cacheFrom: CACHE, cacheTo: `${CACHE}-new` },
      [...FILE, '--cache-from', `type=local,src=${CACHE}`, '--cache-to', `type=local,dest=${CACHE}-new,mode=max,compression=gzip,compression-level=1,ignore-error=true`]
    ],
    [
      'warm build, mode=min',
      { 'cache-mode': 'min' },
      { cacheFrom: CACHE, cacheTo: `${CACHE}-new`, exportMode: 'min' },
      [...FILE, '--cache-from', `type=local,src=${CACHE}`, '--cache-to', `type=local,dest=${CACHE}-new,mode=min,compression=gzip,compression-level=1,ignore-error=true`]
    ],
    [
      'max lowered to min',
      { 'cache-mode': 'max' },
      { cacheFrom: CACHE, cacheTo: `${CACHE}-new`, exportMode: 'min' },
      [...FILE, '--cache-from', `type=local,src=${CACHE}`, '--cache-to', `type=local,dest=${CACHE}-new,mode=min,compression=gzip,compression-level=1,ignore-error=true`]
    ],
    [
      'no-cache keeps the export but not the import',
      { 'no-cache': 'true' },
      { cacheFrom: CACHE, cacheTo: `${CACHE}-new` },
      [...FILE, '--no-cache', '--cache-to', `type=local,dest=${CACHE}-new,mode=max,compression=gzip,compression-level=1,ignore-error=true`]
    ],
    [
      'everything a build can name',
      {
        context: 'app',
        file: 'docker/Dockerfile.prod',
        tags: 'ghcr.io/o/app:1,ghcr.io/o/app:latest',
        labels: 'team=core\norg.opencontainers.image.source=https://github.com/o/app',
        'build-args': 'GO_VERSION=1.22\nFLAGS=-a,-b',
        'build-contexts': 'base=docker-image://alpine:3.20',
        target: 'runtime',
        platforms: 'linux/amd64,linux/arm64',
        push: 'true',
        pull: 'true'
      },
      {},
      [
        '--file',
        '<ws>/docker/Dockerfile.prod',
        '--tag',
        'ghcr.io/o/app:1',
        '--tag',
        'ghcr.io/o/app:latest',
        '--label',
        'team=core',
        '--label',
        'org.opencontainers.image.source=https://github.com/o/app',
        '--build-arg',
        'GO_VERSION=1.22',
        '--build-arg',
        'FLAGS=-a,-b',
        '--build-context',
        'base=docker-image://alpine:3.20',
        '--target',
        'runtime',
        '--platform',
        'linux/amd64,linux/arm64',
        '--pull',
        '--push'
      ]
    ],
    ['load', { load: 'true', platforms: 'linux/amd64' }, {}, [...FILE, '--platform', 'linux/amd64', '--load']],
    [
      'zstd at BuildKit default level',
      { 'cache-compression': 'zstd' },
      { cacheTo: `${CACHE}-new` },
      [...FILE, '--cache-to', `type=local,dest=${CACHE}-new,mode=max,compression=zstd,ignore-error=true`]
    ],
    [
      'gzip at a chosen level',
      { 'cache-compression-level': '9' },
      { cacheTo: `${CACHE}-new` },
      [...FILE, '--cache-to', `type=local,dest=${CACHE}-new,mode=max,compression=gzip,compression-level=9,ignore-error=true`]
    ],
    [
      'registry transport, cold: the export goes to the loopback registry',
      {},
      { cacheTo: `${CACHE}-new`, registry: { exportRef: '127.0.0.1:5000/buildx-cache:export' } },
      [...FILE, '--cache-to', 'type=registry,ref=127.0.0.1:5000/buildx-cache:export,oci-mediatypes=true,mode=max,compression=gzip,compression-level=1,ignore-error=true']
    ],
    [
      'registry transport, warm',
      {},
      { cacheFrom: CACHE, cacheTo: `${CACHE}-new`, registry: { importRef: '127.0.0.1:5000/buildx-cache:restored', exportRef: '127.0.0.1:5000/buildx-cache:export' } },
      [
        ...FILE,
        '--cache-from',
        'type=registry,ref=127.0.0.1:5000/buildx-cache:restored',
        '--cache-to',
        'type=registry,ref=127.0.0.1:5000/buildx-cache:export,oci-mediatypes=true,mode=max,compression=gzip,compression-level=1,ignore-error=true'
      ]
    ],
    [
      'registry transport, deferred export: import only',
      {},
      { cacheFrom: CACHE, registry: { importRef: '127.0.0.1:5000/buildx-cache:restored', exportRef: '127.0.0.1:5000/buildx-cache:export' } },
      [...FILE, '--cache-from', 'type=registry,ref=127.0.0.1:5000/buildx-cache:restored']
    ],
    ['remote git context brings its own Dockerfile', { context: 'https://github.com/o/app.git#main' }, {}, []],
    [
      'secrets travel by environment name',
      { secrets: 'npm_token=s3cr3t-npm\ngh=s3cr3t-gh' },
      {},
      [...FILE, '--secret', 'id=npm_token,env=BUILDX_CACHE_ACTION_SECRET_0', '--secret', 'id=gh,env=BUILDX_CACHE_ACTION_SECRET_1']
    ]
  ])('[%#] %s: given %j and plan %j returns %j', (_name, values, overrides, expected) => {
    const inputs = ws.parse(values)
    expect(argv(buildArgs(inputs, plan(overrides)))).toEqual([...head, ...expected, inputs.context])
  })

  test('secret values are in the environment only, never in argv', () => {
    const inputs = ws.parse({ secrets: 'npm_token=s3cr3t-npm\ngh=s3cr3t,gh=x' })
    expect(secretEnv(inputs)).toEqual({ BUILDX_CACHE_ACTION_SECRET_0: 's3cr3t-npm', BUILDX_CACHE_ACTION_SECRET_1: 's3cr3t,gh=x' })
    expect(buildArgs(inputs, plan()).join(' ')).not.toContain('s3cr3t')
  })

  test('no secrets, no secret environment', () => {
    expect(secretEnv(ws.parse({}))).toEqual({})
  })
})

describe('cacheExportArgs', () => {
  test('the same build, every source kept, only exporting its cache: no tags, outputs, no-cache or pull', () => {
    const inputs = ws.parse({
      tags: 'ghcr.io/o/app:1',
      labels: 'team=core',
      'build-args': 'V=1',
      'build-contexts': 'base=docker-image://alpine:3.20',
      target: 'runtime',
      platforms: 'linux/amd64',
      secrets: 'tok=s3cr3t',
      push: 'true',
      'no-cache': 'true',
      pull: 'true'
    })
    expect(argv(cacheExportArgs(inputs, { builder: 'b1', cacheFrom: CACHE, cacheTo: `${CACHE}-new`, exportMode: 'min' }))).toEqual([
      'buildx', 'build', '--builder', 'b1', '--progress=plain',
      ...FILE, '--label', 'team=core', '--build-arg', 'V=1', '--build-context', 'base=docker-image://alpine:3.20',
      '--target', 'runtime', '--platform', 'linux/amd64',
      '--secret', 'id=tok,env=BUILDX_CACHE_ACTION_SECRET_0',
      '--cache-from', `type=local,src=${CACHE}`, '--cache-to', `type=local,dest=${CACHE}-new,mode=min,compression=gzip,compression-level=1`,
      '--output', 'type=cacheonly', '.'
    ])
  })
})
