import * as path from 'node:path'
import { classifyHit, contentKey, defaultCachePath, keyPrefix, restoreKeys, sha256, type CacheHit } from '../../src/cache-keys.js'
import { makeWorkspace, runnerOn, type InputValues } from './fixtures.js'

const ws = makeWorkspace()
const elsewhere = makeWorkspace()
afterAll(() => {
  ws.remove()
  elsewhere.remove()
})

const prefixOf = (values: InputValues = {}, runner = runnerOn(ws.dir)): string => keyPrefix(ws.parse(values), runner)

describe('keyPrefix', () => {
  test('names the runner and a hash of what is built', () => {
    expect(prefixOf()).toMatch(/^buildx-linux-x64-[0-9a-f]{12}$/)
  })

  test('is the same for the same inputs, whatever the workspace path', () => {
    expect(prefixOf()).toBe(prefixOf())
    expect(keyPrefix(elsewhere.parse({}), runnerOn(elsewhere.dir))).toBe(prefixOf())
  })

  test('does not depend on what only changes the output', () => {
    expect(prefixOf({ tags: 'a:1', push: 'true', labels: 'x=y', 'cache-mode': 'min' })).toBe(prefixOf())
  })

  // Two builds that would overwrite each other's cache if they shared a prefix.
  test.each<[string, InputValues, InputValues]>([
    ['another Dockerfile', {}, { file: 'docker/Dockerfile.prod' }],
    ['another context and its Dockerfile', {}, { context: 'app' }],
    ['a target', {}, { target: 'test' }],
    ['a platform', {}, { platforms: 'linux/arm64' }],
    ['two platforms', { platforms: 'linux/amd64' }, { platforms: 'linux/amd64,linux/arm64' }],
    ['a remote context', {}, { context: 'https://github.com/o/app.git#main' }],
    ['the same Dockerfile, another context', { context: '.', file: 'Dockerfile' }, { context: 'app', file: 'Dockerfile' }],
    ['two remote repositories, the same file', { context: 'https://github.com/o/a.git', file: 'Dockerfile' }, { context: 'https://github.com/o/b.git', file: 'Dockerfile' }]
  ])('[%#] %s: %j and %j get different prefixes', (_name, one, other) => {
    expect(prefixOf(one)).not.toBe(prefixOf(other))
  })

  test.each([
    ['another runner OS', { os: 'macOS' }],
    ['another runner arch', { arch: 'ARM64' }]
  ])('[%#] %s (%j) gives another prefix', (_name, runner) => {
    expect(prefixOf({}, runnerOn(ws.dir, runner))).not.toBe(prefixOf())
  })

  test('a cache-key input wins, exactly as written', () => {
    expect(prefixOf({ 'cache-key': 'My-App/v2', target: 'test' })).toBe('My-App/v2')
  })
})

describe('restoreKeys', () => {
  test('match any entry under the prefix', () => {
    expect(restoreKeys('buildx-linux-x64-abc')).toEqual({ primary: 'buildx-linux-x64-abc-', fallbacks: ['buildx-linux-x64-abc-'] })
  })
})

describe('contentKey', () => {
  const index = Buffer.from('{"schemaVersion":2,"manifests":[{"digest":"sha256:aa","size":10}]}')
  const base = contentKey('p', index, { mounts: 'sha256:1', go: 'sha256:2' })

  test('is the prefix and 20 hex digits', () => {
    expect(base).toMatch(/^p-[0-9a-f]{20}$/)
  })

  test.each<[string, string]>([
    ['the same index and parts', contentKey('p', Buffer.from(index), { mounts: 'sha256:1', go: 'sha256:2' })],
    ['the parts in another order', contentKey('p', index, { go: 'sha256:2', mounts: 'sha256:1' })]
  ])('[%#] %s give the same key', (_name, key) => {
    expect(key).toBe(base)
  })

  test.each<[string, string]>([
    ['one index byte changed', contentKey('p', Buffer.from(index.toString().replace('"size":10', '"size":11')), { mounts: 'sha256:1', go: 'sha256:2' })],
    ['a part changed', contentKey('p', index, { mounts: 'sha256:1', go: 'sha256:3' })],
    ['a part added', contentKey('p', index, { mounts: 'sha256:1', go: 'sha256:2', npm: 'sha256:4' })],
    ['a part dropped', contentKey('p', index, { mounts: 'sha256:1' })],
    ['a part renamed', contentKey('p', index, { mounts: 'sha256:1', golang: 'sha256:2' })],
    ['another prefix', contentKey('q', index, { mounts: 'sha256:1', go: 'sha256:2' })]
  ])('[%#] %s gives another key', (_name, key) => {
    expect(key).not.toBe(base)
  })

  test('without parts is a pure function of the index', () => {
    expect(contentKey('p', index)).toBe(contentKey('p', index, {}))
    expect(contentKey('p', index)).toBe(`p-${sha256(index).slice(0, 20)}`)
  })
})

describe('defaultCachePath', () => {
  const runner = runnerOn(ws.dir, { temp: '/runner/_temp' })

  test('is a directory under RUNNER_TEMP named by the prefix', () => {
    expect(defaultCachePath(runner, 'buildx-linux-x64-abc')).toBe(path.join('/runner/_temp', 'buildx-cache-action', sha256('buildx-linux-x64-abc').slice(0, 12)))
  })

  test('differs between prefixes and repeats for one', () => {
    expect(defaultCachePath(runner, 'a')).toBe(defaultCachePath(runner, 'a'))
    expect(defaultCachePath(runner, 'a')).not.toBe(defaultCachePath(runner, 'b'))
  })
})

describe('classifyHit', () => {
  test.each<[string | undefined, string | undefined, CacheHit]>([
    [undefined, undefined, 'miss'],
    [undefined, 'p-new', 'miss'],
    ['', 'p-new', 'miss'],
    ['p-old', 'p-old', 'exact'],
    ['p-old', 'p-new', 'partial'],
    ['p-old', undefined, 'partial']
  ])('[%#] restored %p, new %p is %p', (restored, fresh, expected) => {
    expect(classifyHit(restored, fresh)).toBe(expected)
  })
})
