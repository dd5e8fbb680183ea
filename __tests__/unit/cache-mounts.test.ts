import {
  cacheNamespaceArg,
  contextsForImage,
  extractBuildArgs,
  extractDockerfile,
  findCacheMounts,
  injectBuildArgs,
  injectDockerfile,
  matchCacheMounts,
  mountArchiveName,
  mountsUsedBySteps,
  parseCacheMountRequest,
  plansWithoutDockerfile,
  sameCacheMountFlag,
  type CacheMountRequest,
  type MountBuildPlan
} from '../../src/cache-mounts.js'

const DOCKERFILE = `# syntax=docker/dockerfile:1
FROM node:20 AS deps
# RUN --mount=type=cache,target=/commented/out npm ci
RUN --mount=type=cache,id=npm,target=/root/.npm,sharing=locked \\
    --mount=type=bind,source=package.json,target=package.json \\
    npm ci
RUN --mount=type=cache,target=/root/.cache/go-build/ --mount=type=secret,id=token go build ./...
run --mount=type=cache,target=/var/cache/apt,uid=100,gid=101,mode=0755 apt-get update
RUN --mount=type=cache,id=npm,target=/elsewhere npm run build
RUN --mount=type=cache,from=deps,source=/cache,target=/from-stage ls
RUN --mount=type=tmpfs,target=/tmp/scratch ls
RUN echo --mount=type=cache,target=/not-a-flag-but-still-text
`

describe('findCacheMounts', () => {
  const mounts = findCacheMounts(DOCKERFILE)

  test('reads every cache mount of every RUN, joining continued lines, with BuildKit default ids', () => {
    expect(mounts.slice(0, 5)).toEqual([
      { id: 'npm', target: '/root/.npm', uid: undefined, gid: undefined, mode: undefined, from: undefined },
      { id: '/root/.cache/go-build', target: '/root/.cache/go-build', uid: undefined, gid: undefined, mode: undefined, from: undefined },
      { id: '/var/cache/apt', target: '/var/cache/apt', uid: '100', gid: '101', mode: '0755', from: undefined },
      { id: 'npm', target: '/elsewhere', uid: undefined, gid: undefined, mode: undefined, from: undefined },
      { id: '/from-stage', target: '/from-stage', uid: undefined, gid: undefined, mode: undefined, from: 'deps' }
    ])
  })

  test('ignores comments, other mount types and non-RUN lines', () => {
    const targets = mounts.map(m => m.target)
    expect(targets).not.toContain('/commented/out')
    expect(targets).not.toContain('/tmp/scratch')
    expect(targets).not.toContain('package.json')
    expect(targets).not.toContain('/not-a-flag-but-still-text')
    expect(mounts).toHaveLength(5)
  })

  test('a Dockerfile without cache mounts has none', () => {
    expect(findCacheMounts('FROM busybox\nRUN echo hi\n')).toEqual([])
  })
})

describe('parseCacheMountRequest', () => {
  test.each<[string, CacheMountRequest | string]>([
    ['npm', { text: 'npm', id: 'npm' }],
    ['/root/.npm/', { text: '/root/.npm/', target: '/root/.npm' }],
    ['id=npm,target=/root/.npm', { text: 'id=npm,target=/root/.npm', id: 'npm', target: '/root/.npm' }],
    ['type=cache,dst=/x', { text: 'type=cache,dst=/x', target: '/x' }],
    ['id=a=b', { text: 'id=a=b', id: 'a=b' }],
    ['uid=1', "unknown field 'uid'"],
    ['type=secret,id=x', 'only type=cache mounts can be carried, not type=secret'],
    ['target=', "empty value for 'target'"]
  ])('[%#] %p', (text, expected) => {
    expect(parseCacheMountRequest(text)).toEqual(expected)
  })
})

describe('matchCacheMounts', () => {
  const mounts = findCacheMounts(DOCKERFILE)
  const request = (text: string): CacheMountRequest => parseCacheMountRequest(text) as CacheMountRequest

  test('a request matches by id, or by target when it gives no id; a mount is planned once', () => {
    const match = matchCacheMounts([request('npm'), request('/root/.cache/go-build'), request('target=/var/cache/apt'), request('id=npm,target=/elsewhere')], mounts)
    expect(match.plans.map(plan => plan.id)).toEqual(['npm', '/root/.cache/go-build', '/var/cache/apt'])
    expect(match.plans[2].mount).toMatchObject({ uid: '100', gid: '101', mode: '0755' })
    expect(match.unused).toEqual([])
  })

  test('requests the Dockerfile does not use are reported, not planned', () => {
    const match = matchCacheMounts([request('pip'), request('/root/.npm'), request('id=/root/.npm')], mounts)
    // /root/.npm is the target of the mount whose id is npm: matched by target, not by id.
    expect(match.plans.map(plan => plan.id)).toEqual(['npm'])
    expect(match.unused.map(r => r.text)).toEqual(['pip', 'id=/root/.npm'])
  })

  test('a mount based on another stage (from=) cannot be filled and says why', () => {
    const match = matchCacheMounts([request('/from-stage')], mounts)
    expect(match.plans).toEqual([])
    expect(match.unsupported[0].reason).toContain("based on 'deps'")
  })

  test('without a Dockerfile, requests are taken as written', () => {
    expect(plansWithoutDockerfile([request('npm'), request('/root/.npm')]).map(p => [p.id, p.mount.target])).toEqual([
      ['npm', '/npm'],
      ['/root/.npm', '/root/.npm']
    ])
  })
})

describe('mountArchiveName', () => {
  test('is a safe file name, readable and unique per id', () => {
    expect(mountArchiveName('npm')).toMatch(/^npm-[0-9a-f]{8}\.tar$/)
    expect(mountArchiveName('/root/.cache/go-build')).toMatch(/^root_.cache_go-build-[0-9a-f]{8}\.tar$/)
    expect(mountArchiveName('../../etc')).not.toContain('/')
    expect(mountArchiveName('a/b')).not.toBe(mountArchiveName('a_b'))
    expect(mountArchiveName('///')).toMatch(/^mount-[0-9a-f]{8}\.tar$/)
  })
})

describe('generated builds', () => {
  const [npm, , apt] = matchCacheMounts(
    ['npm', '/root/.cache/go-build', '/var/cache/apt'].map(text => parseCacheMountRequest(text) as CacheMountRequest),
    findCacheMounts(DOCKERFILE)
  ).plans

  test('the copy step mounts the same cache: same id, and the uid, gid and mode that shape it', () => {
    expect(sameCacheMountFlag(apt.mount, '/m')).toBe('--mount=type=cache,id=/var/cache/apt,target=/m,sharing=locked,uid=100,gid=101,mode=0755')
    expect(sameCacheMountFlag(npm.mount, '/m')).toBe('--mount=type=cache,id=npm,target=/m,sharing=locked')
  })

  test('one inject build unpacks every saved archive, and never answers from the layer cache', () => {
    const dockerfile = injectDockerfile('busybox:1.36', [npm, apt])
    expect(dockerfile).toMatch(/^FROM busybox:1\.36\nARG BUILDX_CACHE_ACTION_RUN\n/)
    expect(dockerfile).toContain(`--mount=type=cache,id=npm,target=/buildx-cache-action/mount-0,sharing=locked`)
    expect(dockerfile).toContain(`tar -xf /buildx-cache-action/saved/${npm.file} -C /buildx-cache-action/mount-0`)
    expect(dockerfile).toContain(`tar -xf /buildx-cache-action/saved/${apt.file} -C /buildx-cache-action/mount-1`)
    expect(dockerfile.match(/--mount=type=bind,from=buildx-cache-action-mounts/g)).toHaveLength(2)
    expect(dockerfile.match(/\$BUILDX_CACHE_ACTION_RUN/g)).toHaveLength(2)
  })

  test('with the loopback server, BuildKit downloads each archive itself and no archive comes through the session', () => {
    const dockerfile = injectDockerfile('busybox:1.36', [npm, apt], file => `http://127.0.0.1:4000/files/${file}`)
    expect(dockerfile).toMatch(/^FROM busybox:1\.36\nARG BUILDX_CACHE_ACTION_RUN\nADD /)
    expect(dockerfile).toContain(`ADD http://127.0.0.1:4000/files/${npm.file} /buildx-cache-action/saved/${npm.file}\n`)
    expect(dockerfile).toContain(`ADD http://127.0.0.1:4000/files/${apt.file} /buildx-cache-action/saved/${apt.file}\n`)
    expect(dockerfile).toContain(`tar -xf /buildx-cache-action/saved/${apt.file} -C /buildx-cache-action/mount-1`)
    expect(dockerfile).not.toContain('--mount=type=bind')
    expect(dockerfile.match(/\$BUILDX_CACHE_ACTION_RUN/g)).toHaveLength(2)
    expect(injectBuildArgs(plan, undefined).join(' ')).not.toContain('buildx-cache-action-mounts=')
  })

  test('an extract build copies one mount into a scratch image', () => {
    const dockerfile = extractDockerfile('busybox:1.36', apt)
    expect(dockerfile).toContain('cp -a /buildx-cache-action/mount/. /buildx-cache-action/out/')
    expect(dockerfile).toContain('$BUILDX_CACHE_ACTION_RUN')
    expect(dockerfile).toMatch(/FROM scratch\nCOPY --from=copy \/buildx-cache-action\/out\/ \/\n$/)
  })

  const plan: MountBuildPlan = {
    builder: 'b1',
    contextDir: '/tmp/ctx',
    nonce: 'n1',
    imageContexts: ['busybox:1.36=oci-layout:///base/busybox'],
    namespaceArg: 'BUILDKIT_CACHE_MOUNT_NS=app'
  }

  test('command lines: the saved archives as a named context in, a tar file out', () => {
    expect(injectBuildArgs(plan, '/cache/mounts')).toEqual([
      'buildx', 'build', '--builder', 'b1', '--progress=plain', '--provenance=false',
      '--build-arg', 'BUILDX_CACHE_ACTION_RUN=n1', '--build-arg', 'BUILDKIT_CACHE_MOUNT_NS=app',
      '--build-context', 'busybox:1.36=oci-layout:///base/busybox',
      '--build-context', 'buildx-cache-action-mounts=/cache/mounts', '--output', 'type=cacheonly', '/tmp/ctx'
    ])
    expect(extractBuildArgs({ ...plan, namespaceArg: undefined, imageContexts: [] }, { archive: '/new/mounts/npm.tar' })).toEqual([
      'buildx', 'build', '--builder', 'b1', '--progress=plain', '--provenance=false',
      '--build-arg', 'BUILDX_CACHE_ACTION_RUN=n1', '--output', 'type=tar,dest=/new/mounts/npm.tar', '/tmp/ctx'
    ])
    expect(extractBuildArgs({ ...plan, namespaceArg: undefined, imageContexts: [] }, { imageRef: '127.0.0.1:4000/buildx-cache-layers:mount-npm.tar' })).toEqual([
      'buildx', 'build', '--builder', 'b1', '--progress=plain', '--provenance=false',
      '--build-arg', 'BUILDX_CACHE_ACTION_RUN=n1',
      '--output', 'type=image,name=127.0.0.1:4000/buildx-cache-layers:mount-npm.tar,push=true,compression=uncompressed,oci-mediatypes=true', '/tmp/ctx'
    ])
  })

  test('only the build contexts that name the helper image, and the cache namespace, are passed on', () => {
    expect(contextsForImage(['busybox:1.36=oci-layout:///b', 'busybox=docker-image://x', 'src=../src'], 'busybox:1.36')).toEqual(['busybox:1.36=oci-layout:///b'])
    expect(cacheNamespaceArg(['A=1', 'BUILDKIT_CACHE_MOUNT_NS=team'])).toBe('BUILDKIT_CACHE_MOUNT_NS=team')
    expect(cacheNamespaceArg(['A=1'])).toBeUndefined()
  })
})

describe('mountsUsedBySteps', () => {
  test('reads the cache mounts of the steps that ran from their progress names', () => {
    const used = mountsUsedBySteps([
      '[deps 3/3] RUN --mount=type=cache,id=downloads,target=/var/cache/downloads     set -e; fetched=0',
      '[build 2/2] RUN --mount=type=cache,target=/root/.cache/go-build/ go build ./...',
      '[final 2/3] COPY src/ /app/src/',
      '[final 3/3] RUN echo --mount=type=cache,id=not-a-flag'
    ])
    expect(used).toEqual(new Set(['downloads', '/root/.cache/go-build']))
  })

  test('nothing ran, no mount used', () => {
    expect(mountsUsedBySteps([])).toEqual(new Set())
  })

  test('a mount id that is a variable could be any mount: unknown', () => {
    expect(mountsUsedBySteps(['[a 1/1] RUN --mount=type=cache,id=${CACHE_ID},target=/c make'])).toBeUndefined()
  })
})
