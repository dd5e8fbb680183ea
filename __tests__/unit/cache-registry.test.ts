import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { startCacheRegistry, type CacheRegistry } from '../../src/cache-registry.js'
import { checkLocalCache } from '../../src/local-cache.js'

const INDEX_TYPE = 'application/vnd.oci.image.index.v1+json'

function digestOf(content: string | Buffer): string {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`
}

function writeBlob(dir: string, content: string | Buffer): { digest: string; size: number } {
  const digest = digestOf(content)
  const file = path.join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length))
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, content)
  return { digest, size: Buffer.byteLength(content) }
}

/** A cache directory as `type=local` writes it: one layer, a cache config, the cache manifest, index.json. */
function makeCacheDir(dir: string, layerText: string): { manifest: string; manifestDigest: string; layer: { digest: string; size: number } } {
  const layer = writeBlob(dir, layerText)
  const config = writeBlob(dir, JSON.stringify({ layers: [{ blob: layer.digest }], records: [] }))
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: INDEX_TYPE,
    manifests: [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer },
      { mediaType: 'application/vnd.buildkit.cacheconfig.v0', ...config }
    ]
  })
  const stored = writeBlob(dir, manifest)
  const index = { schemaVersion: 2, manifests: [{ mediaType: INDEX_TYPE, ...stored, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }] }
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify(index))
  return { manifest, manifestDigest: stored.digest, layer }
}

describe('the loopback cache registry', () => {
  let root: string
  let importDir: string
  let exportDir: string
  let registry: CacheRegistry
  let restored: ReturnType<typeof makeCacheDir>
  const url = (pathname: string): string => `http://${registry.host}${pathname}`

  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'cache-registry-'))
    importDir = path.join(root, 'cache')
    exportDir = path.join(root, 'cache-new')
    restored = makeCacheDir(importDir, 'layer of the restored cache')
    registry = await startCacheRegistry({ importDir, exportDir })
  })

  afterEach(async () => {
    await registry.close()
    fs.rmSync(root, { recursive: true, force: true })
  })

  test('names its import and export references on 127.0.0.1', () => {
    expect(registry.importRef).toBe(`${registry.host}/buildx-cache:restored`)
    expect(registry.exportRef).toBe(`${registry.host}/buildx-cache:export`)
    expect(registry.host).toMatch(/^127\.0\.0\.1:\d+$/)
  })

  test('answers the API version check', async () => {
    expect((await fetch(url('/v2/'))).status).toBe(200)
  })

  test('serves the restored cache manifest by tag and by digest, with its media type', async () => {
    for (const reference of ['restored', restored.manifestDigest]) {
      const response = await fetch(url(`/v2/buildx-cache/manifests/${reference}`))
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toBe(INDEX_TYPE)
      expect(response.headers.get('docker-content-digest')).toBe(restored.manifestDigest)
      expect(await response.text()).toBe(restored.manifest)
    }
    const head = await fetch(url('/v2/buildx-cache/manifests/restored'), { method: 'HEAD' })
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(restored.manifest)))
  })

  test('serves restored blobs, and counts the bytes; an unknown blob or tag is a 404 with the registry error code', async () => {
    const blob = await fetch(url(`/v2/buildx-cache/blobs/${restored.layer.digest}`))
    expect(await blob.text()).toBe('layer of the restored cache')
    expect(registry.traffic.servedBytes).toBe(restored.layer.size)
    const missing = await fetch(url(`/v2/buildx-cache/blobs/${digestOf('nothing')}`))
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ errors: [{ code: 'BLOB_UNKNOWN' }] })
    expect((await fetch(url('/v2/buildx-cache/manifests/export'))).status).toBe(404)
    expect((await fetch(url('/v2/buildx-cache/blobs/../../etc/passwd'))).status).toBe(404)
  })

  test('takes a blob in chunks and stores it in the export directory only once its digest checks out', async () => {
    const content = 'first half, second half'
    const start = await fetch(url('/v2/buildx-cache/blobs/uploads/'), { method: 'POST' })
    expect(start.status).toBe(202)
    let location = start.headers.get('location')!
    const first = await fetch(url(location), { method: 'PATCH', body: content.slice(0, 11) })
    expect(first.status).toBe(202)
    expect(first.headers.get('range')).toBe('0-10')
    location = first.headers.get('location')!
    expect(fs.existsSync(path.join(exportDir, 'blobs', 'sha256', digestOf(content).slice(7)))).toBe(false)
    const done = await fetch(url(`${location}?digest=${digestOf(content)}`), { method: 'PUT', body: content.slice(11) })
    expect(done.status).toBe(201)
    expect(done.headers.get('docker-content-digest')).toBe(digestOf(content))
    expect(fs.readFileSync(path.join(exportDir, 'blobs', 'sha256', digestOf(content).slice(7)), 'utf8')).toBe(content)
    expect(registry.traffic.receivedBytes).toBe(content.length)
  })

  test('takes a blob in one POST', async () => {
    const content = Buffer.from('monolithic upload')
    const response = await fetch(url(`/v2/buildx-cache/blobs/uploads/?digest=${digestOf(content)}`), { method: 'POST', body: content })
    expect(response.status).toBe(201)
    expect(fs.readFileSync(path.join(exportDir, 'blobs', 'sha256', digestOf(content).slice(7)))).toEqual(content)
  })

  test('refuses a blob whose content does not match its digest, and keeps nothing of it', async () => {
    const start = await fetch(url('/v2/buildx-cache/blobs/uploads/'), { method: 'POST' })
    const claimed = digestOf('what it should have been')
    const response = await fetch(url(`${start.headers.get('location')}?digest=${claimed}`), { method: 'PUT', body: 'what arrived' })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ errors: [{ code: 'DIGEST_INVALID' }] })
    expect(fs.existsSync(path.join(exportDir, 'blobs', 'sha256', claimed.slice(7)))).toBe(false)
    expect(fs.readdirSync(root).filter(name => name.includes('uploads')).flatMap(dir => fs.readdirSync(path.join(root, dir)))).toEqual([])
  })

  test('a blob it already has is mounted, not uploaded again', async () => {
    const response = await fetch(url(`/v2/buildx-cache/blobs/uploads/?mount=${restored.layer.digest}&from=other`), { method: 'POST' })
    expect(response.status).toBe(201)
    expect(registry.traffic.receivedBytes).toBe(0)
  })

  test('the manifest pushed under the export tag becomes the index.json of a complete cache directory', async () => {
    const fresh = makeCacheDir(path.join(root, 'elsewhere'), 'layer of the new build')
    for (const name of fs.readdirSync(path.join(root, 'elsewhere', 'blobs', 'sha256'))) {
      const content = fs.readFileSync(path.join(root, 'elsewhere', 'blobs', 'sha256', name))
      if (`sha256:${name}` === fresh.manifestDigest) continue
      await fetch(url(`/v2/buildx-cache/blobs/uploads/?digest=sha256:${name}`), { method: 'POST', body: content })
    }
    expect((await checkLocalCache(exportDir)).ok).toBe(false)
    const put = await fetch(url('/v2/buildx-cache/manifests/export'), { method: 'PUT', body: fresh.manifest, headers: { 'Content-Type': INDEX_TYPE } })
    expect(put.status).toBe(201)
    expect(put.headers.get('docker-content-digest')).toBe(fresh.manifestDigest)
    const check = await checkLocalCache(exportDir)
    expect(check.ok).toBe(true)
    expect(JSON.parse(fs.readFileSync(path.join(exportDir, 'index.json'), 'utf8'))).toEqual({
      schemaVersion: 2,
      manifests: [{ mediaType: INDEX_TYPE, digest: fresh.manifestDigest, size: Buffer.byteLength(fresh.manifest), annotations: { 'org.opencontainers.image.ref.name': 'latest' } }]
    })
  })

  test('an image pushed to the layer repository gives its layer files, and never touches the export index', async () => {
    const layer = Buffer.from('tar of a cache mount')
    const layerDigest = digestOf(layer)
    await fetch(url(`/v2/buildx-cache-layers/blobs/uploads/?digest=${layerDigest}`), { method: 'POST', body: layer })
    const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', layers: [{ digest: layerDigest, size: layer.length }] })
    expect(registry.layerImageRef('mount-npm.tar')).toBe(`${registry.host}/buildx-cache-layers:mount-npm.tar`)
    expect(await registry.pushedLayers('mount-npm.tar')).toBeUndefined()
    const put = await fetch(url('/v2/buildx-cache-layers/manifests/mount-npm.tar'), { method: 'PUT', body: manifest })
    expect(put.status).toBe(201)
    const files = await registry.pushedLayers('mount-npm.tar')
    expect(files).toHaveLength(1)
    expect(fs.readFileSync(files![0], 'utf8')).toBe('tar of a cache mount')
    expect(fs.existsSync(path.join(exportDir, 'index.json'))).toBe(false)
    await fetch(url('/v2/buildx-cache-layers/manifests/export'), { method: 'PUT', body: manifest })
    expect(fs.existsSync(path.join(exportDir, 'index.json'))).toBe(false)
  })

  test('without a restored cache there is no import reference', async () => {
    const alone = await startCacheRegistry({ exportDir: path.join(root, 'cold-new') })
    try {
      expect(alone.importRef).toBeUndefined()
      expect((await fetch(`http://${alone.host}/v2/buildx-cache/manifests/restored`)).status).toBe(404)
    } finally {
      await alone.close()
    }
  })

  describe('plain files (cache-mount archives)', () => {
    let filesDir: string
    let served: CacheRegistry

    beforeEach(async () => {
      filesDir = path.join(importDir, 'mounts')
      fs.mkdirSync(filesDir, { recursive: true })
      fs.writeFileSync(path.join(filesDir, 'npm-1a2b3c4d.tar'), 'archive bytes')
      fs.writeFileSync(path.join(importDir, 'secret.txt'), 'outside the files directory')
      served = await startCacheRegistry({ importDir, exportDir: path.join(root, 'files-new'), files: filesDir })
    })

    afterEach(async () => {
      await served.close()
    })

    test('serves a file by name at the URL it gives, and counts the bytes', async () => {
      const fileUrl = served.fileUrl('npm-1a2b3c4d.tar')
      expect(fileUrl).toBe(`http://${served.host}/files/npm-1a2b3c4d.tar`)
      const head = await fetch(fileUrl!, { method: 'HEAD' })
      expect([head.status, head.headers.get('content-length')]).toEqual([200, '13'])
      expect(await (await fetch(fileUrl!)).text()).toBe('archive bytes')
      expect(served.traffic.servedBytes).toBe(13)
    })

    test.each(['missing.tar', '..%2Fsecret.txt', '../secret.txt', '.hidden', ''])('[%#] %j is a 404, never a file outside the directory', async name => {
      const response = await fetch(`http://${served.host}/files/${name}`)
      expect(response.status).toBe(404)
      expect(await response.text()).not.toContain('outside the files directory')
    })

    test('gives no URL for a name it would not serve, nor when it serves no files', () => {
      expect(served.fileUrl('../secret.txt')).toBeUndefined()
      expect(registry.fileUrl('npm-1a2b3c4d.tar')).toBeUndefined()
    })
  })

  test('close stops it and removes its upload directory', async () => {
    await fetch(url('/v2/buildx-cache/blobs/uploads/'), { method: 'POST' })
    const host = registry.host
    await registry.close()
    await expect(fetch(`http://${host}/v2/`)).rejects.toThrow()
    expect(fs.readdirSync(root).filter(name => name.includes('uploads'))).toEqual([])
    registry = await startCacheRegistry({ exportDir: path.join(root, 'again') })
  })

  describe('layers left in the cache service', () => {
    const remoteLayer = (text: string) => {
      const digest = digestOf(text)
      return { digest, file: { path: `blobs/sha256/${digest.slice(7)}`, sha256: digest.slice(7), bytes: Buffer.byteLength(text) } }
    }

    async function withRemote(texts: string[], available: boolean) {
      const layers = texts.map(remoteLayer)
      const fetched: string[] = []
      const remote = {
        files: layers.map(layer => layer.file),
        fetch: async (file: { path: string; sha256: string; bytes: number }) => {
          fetched.push(file.sha256)
          await new Promise(resolve => setTimeout(resolve, 20))
          if (!available) return undefined
          const text = texts[layers.findIndex(layer => layer.file.sha256 === file.sha256)]
          fs.writeFileSync(path.join(importDir, file.path), text)
          return 100 + text.length
        }
      }
      await registry.close()
      registry = await startCacheRegistry({ importDir, exportDir, remote })
      return { layers, fetched }
    }

    test('a HEAD is answered from the list without a download; GETs download it once, however many arrive at once', async () => {
      const { layers, fetched } = await withRemote(['remote layer'], true)
      const head = await fetch(url(`/v2/buildx-cache/blobs/${layers[0].digest}`), { method: 'HEAD' })
      expect(head.status).toBe(200)
      expect(head.headers.get('content-length')).toBe(String('remote layer'.length))
      expect(fetched).toEqual([])
      const bodies = await Promise.all([1, 2, 3].map(() => fetch(url(`/v2/buildx-cache/blobs/${layers[0].digest}`)).then(r => r.text())))
      expect(bodies).toEqual(['remote layer', 'remote layer', 'remote layer'])
      expect(fetched).toHaveLength(1)
      expect(registry.traffic).toMatchObject({ fetchedFiles: 1, fetchedBytes: 100 + 'remote layer'.length, failedFetches: [] })
    })

    test('a mount archive left in the service is fetched on the first GET of its file URL, and says so while it is', async () => {
      const text = 'mount archive'
      const file = { path: 'mounts/npm-1a2b3c4d.tar', sha256: digestOf(text).slice(7), bytes: text.length }
      const fetched: string[] = []
      let release = (): void => undefined
      const remote = {
        files: [file],
        fetch: async (entry: typeof file) => {
          fetched.push(entry.path)
          await new Promise<void>(resolve => (release = resolve))
          fs.mkdirSync(path.join(importDir, 'mounts'), { recursive: true })
          fs.writeFileSync(path.join(importDir, entry.path), text)
          return 50
        }
      }
      await registry.close()
      registry = await startCacheRegistry({ importDir, exportDir, remote, files: path.join(importDir, 'mounts') })
      const fileUrl = registry.fileUrl('npm-1a2b3c4d.tar')!
      const head = await fetch(fileUrl, { method: 'HEAD' })
      expect([head.status, head.headers.get('content-length'), fetched]).toEqual([200, String(text.length), []])
      expect(registry.fetching()).toBe(false)
      const body = fetch(fileUrl).then(r => r.text())
      while (fetched.length === 0) await new Promise(resolve => setTimeout(resolve, 5))
      expect(registry.fetching()).toBe(true)
      release()
      expect(await body).toBe(text)
      expect(registry.fetching()).toBe(false)
      expect(registry.traffic).toMatchObject({ fetchedFiles: 1, fetchedBytes: 50 })
    })

    test('a layer the service cannot give is a 404, and is recorded', async () => {
      const { layers } = await withRemote(['evicted layer'], false)
      expect((await fetch(url(`/v2/buildx-cache/blobs/${layers[0].digest}`))).status).toBe(404)
      expect(registry.traffic.failedFetches).toEqual([layers[0].file.path])
      // No longer claimed, so BuildKit pushes its own copy rather than naming a layer nobody can give.
      expect((await fetch(url(`/v2/buildx-cache/blobs/${layers[0].digest}`), { method: 'HEAD' })).status).toBe(404)
    })
  })
})
