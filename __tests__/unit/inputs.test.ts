import { parseList, splitAssignment } from '../../src/input-lists.js'
import type { ActionInputs } from '../../src/inputs.js'
import { makeWorkspace, type InputValues } from './fixtures.js'

const ws = makeWorkspace()
afterAll(() => ws.remove())

describe('parseInputs', () => {
  test('an empty workflow step reads as the documented defaults', () => {
    expect(ws.parse({})).toEqual<ActionInputs>({
      context: '.',
      file: ws.at('Dockerfile'),
      tags: [],
      labels: [],
      buildArgs: [],
      buildContexts: [],
      target: '',
      platforms: [],
      push: false,
      load: false,
      secrets: [],
      noCache: false,
      pull: false,
      driver: 'docker-container',
      endpoint: '',
      driverOpts: [],
      buildkitdConfigInline: '',
      buildxVersion: '',
      keepBuilder: false,
      cacheMode: 'max',
      cachePath: '',
      cacheKey: '',
      cacheSave: true,
      cacheMaxSize: undefined,
      cacheCompression: 'gzip',
      cacheCompressionLevel: 1,
      cacheMounts: [],
      cacheMountsImage: 'busybox:1.36',
      cacheMountsRestore: 'on-demand',
      cacheTransport: 'registry'
    })
  })

  test.each<[InputValues, Partial<ActionInputs>]>([
    [{ context: 'app' }, { context: 'app', file: '<ws>/app/Dockerfile' }],
    [{ context: ' app ' }, { context: 'app', file: '<ws>/app/Dockerfile' }],
    [{ context: 'app', file: 'docker/Dockerfile.prod' }, { file: '<ws>/docker/Dockerfile.prod' }],
    [{ file: './app/../docker/Dockerfile.prod' }, { file: '<ws>/docker/Dockerfile.prod' }],
    [{ tags: 'ghcr.io/o/app:1,ghcr.io/o/app:latest\n  ghcr.io/o/app:sha  \n' }, { tags: ['ghcr.io/o/app:1', 'ghcr.io/o/app:latest', 'ghcr.io/o/app:sha'] }],
    [{ platforms: 'linux/amd64, linux/arm64' }, { platforms: ['linux/amd64', 'linux/arm64'] }],
    [{ 'build-args': 'LIST=a,b,c\nEMPTY=\nURL=https://x/?a=b' }, { buildArgs: ['LIST=a,b,c', 'EMPTY=', 'URL=https://x/?a=b'] }],
    [{ labels: 'org.opencontainers.image.authors=a, b\n# a comment\n\nteam=core' }, { labels: ['org.opencontainers.image.authors=a, b', 'team=core'] }],
    [{ 'build-contexts': 'base=docker-image://alpine:3.20\nsrc=../src' }, { buildContexts: ['base=docker-image://alpine:3.20', 'src=../src'] }],
    [{ secrets: 'token=a,b=c\nnpmrc=//registry.npmjs.org/:_authToken=x' }, { secrets: [{ id: 'token', value: 'a,b=c' }, { id: 'npmrc', value: '//registry.npmjs.org/:_authToken=x' }] }],
    [{ 'driver-opts': 'image=moby/buildkit:v0.13.1\nnetwork=host' }, { driverOpts: ['image=moby/buildkit:v0.13.1', 'network=host'] }],
    [{ push: 'true', load: 'TRUE', 'no-cache': 'True', pull: ' true ', 'keep-builder': 'true', 'cache-save': 'false' }, { push: true, load: true, noCache: true, pull: true, keepBuilder: true, cacheSave: false }],
    [{ driver: 'remote', endpoint: 'tcp://buildkitd:1234' }, { driver: 'remote', endpoint: 'tcp://buildkitd:1234' }],
    [{ 'buildx-version': 'v0.13.1' }, { buildxVersion: '0.13.1' }],
    [{ 'buildx-version': '0.14.0-rc1' }, { buildxVersion: '0.14.0-rc1' }],
    [{ 'buildx-version': 'latest' }, { buildxVersion: 'latest' }],
    [{ 'cache-mode': 'min' }, { cacheMode: 'min' }],
    [{ 'cache-mode': 'off' }, { cacheMode: 'off' }],
    [{ 'cache-key': 'my-app/v2' }, { cacheKey: 'my-app/v2' }],
    [{ 'cache-path': '.buildx-cache' }, { cachePath: '.buildx-cache' }],
    [{ 'cache-max-size': '4GB' }, { cacheMaxSize: 4 * 1024 ** 3 }],
    [{ 'cache-max-size': '1048576' }, { cacheMaxSize: 1048576 }],
    [{ load: 'true', platforms: 'linux/arm64' }, { load: true, platforms: ['linux/arm64'] }],
    [{ 'buildkitd-config-inline': '[worker.oci]\n  max-parallelism = 4\n' }, { buildkitdConfigInline: '[worker.oci]\n  max-parallelism = 4\n' }],
    [
      { 'cache-mounts': 'id=npm,target=/root/.npm\n/root/.cache/go-build/\napt\ntarget=/var/cache/apt' },
      {
        cacheMounts: [
          { text: 'id=npm,target=/root/.npm', id: 'npm', target: '/root/.npm' },
          { text: '/root/.cache/go-build/', target: '/root/.cache/go-build' },
          { text: 'apt', id: 'apt' },
          { text: 'target=/var/cache/apt', target: '/var/cache/apt' }
        ]
      }
    ],
    [{ 'cache-compression': 'zstd' }, { cacheCompression: 'zstd', cacheCompressionLevel: undefined }],
    [{ 'cache-compression': 'ZSTD', 'cache-compression-level': '19' }, { cacheCompression: 'zstd', cacheCompressionLevel: 19 }],
    [{ 'cache-compression-level': '6' }, { cacheCompression: 'gzip', cacheCompressionLevel: 6 }],
    [{ 'cache-compression': 'uncompressed' }, { cacheCompression: 'uncompressed', cacheCompressionLevel: undefined }],
    [{ 'cache-mounts-image': 'docker.io/library/busybox:1.37@sha256:abc' }, { cacheMountsImage: 'docker.io/library/busybox:1.37@sha256:abc' }],
    [{ 'cache-mounts-restore': 'Before-Build' }, { cacheMountsRestore: 'before-build' }],
    [{ 'cache-transport': 'local' }, { cacheTransport: 'local' }],
    [{ 'driver-opts': 'network=host' }, { cacheTransport: 'registry' }],
    [{ 'driver-opts': 'network = bridge' }, { cacheTransport: 'local' }],
    [{ 'driver-opts': 'network=bridge', 'cache-transport': 'AUTO' }, { cacheTransport: 'local' }],
    [{ driver: 'remote', endpoint: 'tcp://buildkitd:1234' }, { cacheTransport: 'local' }],
    [{ driver: 'remote', endpoint: 'tcp://127.0.0.1:1234', 'cache-transport': 'registry' }, { cacheTransport: 'registry' }]
  ])('[%#] given %j reads %j', (values, expected) => {
    const inputs = ws.parse(values)
    expect({ ...inputs, file: inputs.file.replace(ws.dir, '<ws>') }).toMatchObject(expected)
  })

  test.each<[InputValues, Partial<ActionInputs>]>([
    [{ context: 'https://github.com/docker/buildx.git#master' }, { context: 'https://github.com/docker/buildx.git#master', file: '' }],
    [{ context: 'git@github.com:o/app.git', file: 'docker/Dockerfile' }, { file: 'docker/Dockerfile' }],
    [{ context: 'ssh://git@example.com/o/app' }, { file: '' }],
    [{ context: 'https://example.com/context.tar.gz' }, { file: '' }]
  ])('[%#] remote context %j is not looked for on disk: %j', (values, expected) => {
    expect(ws.parse(values)).toMatchObject(expected)
  })

  // Each row: the inputs, then the input the message must name, the value it must show, and
  // words from what it says is accepted.
  test.each<[InputValues, string, string, string]>([
    [{ 'cache-mode': 'maximum' }, 'cache-mode', 'maximum', "expected one of 'max', 'min', 'off'"],
    [{ driver: 'kubernetes' }, 'driver', 'kubernetes', "expected one of 'docker-container', 'remote'"],
    [{ 'cache-mounts-restore': 'lazy' }, 'cache-mounts-restore', 'lazy', "expected one of 'on-demand', 'before-build'"],
    [{ context: 'no-such-dir' }, 'context', 'no-such-dir', 'no such directory (looked at <ws>/no-such-dir)'],
    [{ context: 'Dockerfile' }, 'context', 'Dockerfile', 'no such directory'],
    [{ context: 'empty' }, 'file', '(default)', 'no Dockerfile at <ws>/empty/Dockerfile'],
    [{ file: 'docker/Dockerfile.dev' }, 'file', 'docker/Dockerfile.dev', 'no Dockerfile at <ws>/docker/Dockerfile.dev'],
    [{ driver: 'remote' }, 'endpoint', '', "driver 'remote' needs an endpoint such as tcp://buildkitd:1234"],
    [{ endpoint: 'tcp://buildkitd:1234' }, 'endpoint', 'tcp://buildkitd:1234', "only used with driver 'remote'"],
    [{ 'cache-max-size': '4 parsecs' }, 'cache-max-size', '4 parsecs', "expected a size such as '4GB', '512MB' or a byte count"],
    [{ 'cache-max-size': '0' }, 'cache-max-size', '0', 'expected a size'],
    [{ 'cache-max-size': '-1GB' }, 'cache-max-size', '-1GB', 'expected a size'],
    [{ load: 'true', platforms: 'linux/amd64,linux/arm64' }, 'platforms', 'linux/amd64,linux/arm64', "'load' can import one platform only"],
    [{ 'build-args': 'GOOD=1\nNO_EQUALS' }, 'build-args', 'NO_EQUALS', 'expected NAME=value, one per line'],
    [{ 'build-args': '1ST=x' }, 'build-args', '1ST=x', 'expected NAME=value'],
    [{ 'build-args': 'HAS SPACE=x' }, 'build-args', 'HAS SPACE=x', 'expected NAME=value'],
    [{ 'build-args': '=x' }, 'build-args', '=x', 'expected NAME=value'],
    [{ 'build-contexts': 'base' }, 'build-contexts', 'base', 'expected name=source'],
    [{ 'build-contexts': 'base=' }, 'build-contexts', 'base=', 'expected name=source'],
    [{ 'build-contexts': '=docker-image://alpine' }, 'build-contexts', '=docker-image://alpine', 'expected name=source'],
    [{ secrets: 'no-equals-sign' }, 'secrets', '***', 'expected id=value, one per line'],
    [{ secrets: 'bad id=x' }, 'secrets', 'bad id=***', 'id made of letters, digits, _ . -'],
    [{ push: 'yes' }, 'push', 'yes', "expected 'true' or 'false'"],
    [{ load: '1' }, 'load', '1', "expected 'true' or 'false'"],
    [{ 'no-cache': 'on' }, 'no-cache', 'on', "expected 'true' or 'false'"],
    [{ pull: 'always' }, 'pull', 'always', "expected 'true' or 'false'"],
    [{ 'keep-builder': 'no' }, 'keep-builder', 'no', "expected 'true' or 'false'"],
    [{ 'cache-save': 'n' }, 'cache-save', 'n', "expected 'true' or 'false'"],
    [{ 'buildx-version': '0.13' }, 'buildx-version', '0.13', "expected empty (use the runner's buildx), 'latest' or a version like 0.13.1"],
    [{ 'buildx-version': 'newest' }, 'buildx-version', 'newest', "'latest' or a version"],
    [{ 'cache-key': 'my app' }, 'cache-key', 'my app', 'expected a key prefix without spaces or commas'],
    [{ 'cache-key': 'a,b' }, 'cache-key', 'a,b', 'without spaces or commas'],
    [{ 'cache-compression': 'lz4' }, 'cache-compression', 'lz4', "expected one of 'gzip', 'zstd', 'uncompressed'"],
    [{ 'cache-compression-level': '10' }, 'cache-compression-level', '10', 'expected a whole number from 0 to 9 for gzip'],
    [{ 'cache-compression': 'zstd', 'cache-compression-level': 'fast' }, 'cache-compression-level', 'fast', 'from 0 to 22 for zstd'],
    [{ 'cache-compression': 'uncompressed', 'cache-compression-level': '1' }, 'cache-compression-level', '1', 'uncompressed has no level'],
    [{ 'cache-mounts': 'id=npm,src=/x' }, 'cache-mounts', 'id=npm,src=/x', "unknown field 'src'"],
    [{ 'cache-mounts': 'type=bind,target=/x' }, 'cache-mounts', 'type=bind,target=/x', 'only type=cache mounts'],
    [{ 'cache-mounts': 'id=' }, 'cache-mounts', 'id=', "empty value for 'id'"],
    [{ 'cache-mounts': 'type=cache' }, 'cache-mounts', 'type=cache', 'expected an id, a target'],
    [{ 'cache-mounts': 'npm\nid=npm,target=/root/.npm' }, 'cache-mounts', 'id=npm,target=/root/.npm', 'listed once'],
    [{ 'cache-mounts': 'npm', 'cache-mode': 'off' }, 'cache-mounts', 'npm', "need cache-mode 'max' or 'min'"],
    [{ 'cache-transport': 'http' }, 'cache-transport', 'http', "expected one of 'auto', 'registry', 'local'"],
    [{ 'cache-transport': 'registry', 'driver-opts': 'network=bridge' }, 'cache-transport', 'registry', 'needs the builder on the host network, but driver-opts set network=bridge'],
    [{ 'cache-mounts-image': 'busy box' }, 'cache-mounts-image', 'busy box', 'expected an image reference']
  ])('[%#] given %j the error names %p, shows %p and says %p', (values, input, value, accepted) => {
    const error = ws.parseError(values)
    const message = error.message.replaceAll(ws.dir, '<ws>')
    expect(error.name).toBe('InputError')
    expect(message).toContain(`'${input}'`)
    expect(message).toContain(`'${value}'`)
    expect(message).toContain(accepted)
  })

  test.each<[string]>([['hunter2'], ['bad id=hunter2'], ['ok=fine\nbad/id=hunter2'], ['=hunter2'], ['token hunter2']])(
    '[%#] a malformed secret %j never shows its value',
    secrets => {
      const error = ws.parseError({ secrets })
      expect(error.message).toContain("'secrets'")
      expect(error.message).not.toContain('hunter2')
    }
  )
})

describe('parseList', () => {
  test.each<[string, boolean, string[]]>([
    ['', true, []],
    ['a', true, ['a']],
    ['a,b\nc', true, ['a', 'b', 'c']],
    ['a,b\nc', false, ['a,b', 'c']],
    ['a\r\nb\r\n', false, ['a', 'b']],
    [' a , ,b ', true, ['a', 'b']],
    ['# comment\na\n\n   \n  # indented comment\nb', false, ['a', 'b']],
    ['a,#b,c', true, ['a', 'c']],
    ['A=#fff', false, ['A=#fff']]
  ])('[%#] given %j with commas=%p returns %j', (text, commas, expected) => {
    expect(parseList(text, { commas })).toEqual(expected)
  })
})

describe('splitAssignment', () => {
  test.each<[string, { name: string; value: string } | undefined]>([
    ['A=1', { name: 'A', value: '1' }],
    ['A=1=2', { name: 'A', value: '1=2' }],
    [' A =  1', { name: 'A', value: '  1' }],
    ['A=', { name: 'A', value: '' }],
    ['=1', { name: '', value: '1' }],
    ['A', undefined]
  ])('[%#] given %p returns %p', (item, expected) => {
    expect(splitAssignment(item)).toEqual(expected)
  })
})
