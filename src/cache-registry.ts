import { createHash, randomUUID, type Hash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import * as fs from 'node:fs/promises'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as path from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { SeparateFile } from './file-entries.js'
import { blobPath } from './local-cache.js'

/**
 * A registry on the runner's loopback that serves BuildKit the restored cache directory and takes
 * its new export into the export directory, both in the layout `type=local` uses, so the rest of
 * the action cannot tell the two apart. BuildKit reaches it over plain HTTP from the host network
 * instead of through the build session (`docker exec`'s stream): it fetches only the blobs a step
 * needs, and before pushing a blob it asks whether the registry has it, so unchanged layers are
 * never read again.
 */
export interface CacheRegistry {
  /** host:port, for image references */
  host: string
  /** `host/repository:tag` of the restored cache; undefined when there is none. */
  importRef?: string
  exportRef: string
  traffic: RegistryTraffic
  /** Where BuildKit downloads a file of `RegistryDirs.files` (an `ADD <url>`), or undefined when none is served. */
  fileUrl(name: string): string | undefined
  /** Where a helper build pushes an image whose layers the action keeps as files (cache-mount archives). */
  layerImageRef(tag: string): string
  /** Files are being fetched from the cache service for BuildKit right now. */
  fetching(): boolean
  /** The layer files (in the export directory) of the image last pushed to `layerImageRef(tag)`. */
  pushedLayers(tag: string): Promise<string[] | undefined>
  close(): Promise<void>
}

export interface RegistryTraffic {
  requests: number
  servedBytes: number
  receivedBytes: number
  /** Layers fetched from the cache service because BuildKit asked for them. */
  fetchedFiles: number
  fetchedBytes: number
  /** Layers BuildKit asked for that the cache service could not give. */
  failedFetches: string[]
}

export interface RegistryDirs {
  /** The restored cache, read only (except for layers fetched into it). */
  importDir?: string
  /** Receives the new export: blobs, then index.json when the cache manifest arrives. */
  exportDir: string
  /** Files of the restored cache left in the cache service (layers, mount archives): present to a HEAD, fetched on the first GET. */
  remote?: RemoteLayers
  /** Plain files served at `/files/<name>` (cache-mount archives): BuildKit downloads them without the build session. A file of `remote` that belongs here is fetched first. */
  files?: string
}

export interface RemoteLayers {
  files: SeparateFile[]
  /** Downloads a file into importDir; its archive size, or undefined when the service does not have it. */
  fetch(file: SeparateFile): Promise<number | undefined>
}

const REPOSITORY = 'buildx-cache'
const LAYER_REPOSITORY = 'buildx-cache-layers'
const IMPORT_TAG = 'restored'
const EXPORT_TAG = 'export'
const INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json'
const ROUTE = /^\/v2\/(.+)\/(blobs|manifests)\/(uploads\/?)?([^/?]*)$/
const FILE_ROUTE = /^\/files\/([A-Za-z0-9][A-Za-z0-9._-]*)$/

interface Upload {
  file: string
  hash: Hash
  bytes: number
}

export async function startCacheRegistry(dirs: RegistryDirs): Promise<CacheRegistry> {
  await fs.mkdir(path.join(dirs.exportDir, 'blobs', 'sha256'), { recursive: true })
  const uploadDir = await fs.mkdtemp(`${dirs.exportDir}-uploads-`)
  const traffic: RegistryTraffic = { requests: 0, servedBytes: 0, receivedBytes: 0, fetchedFiles: 0, fetchedBytes: 0, failedFetches: [] }
  const uploads = new Map<string, Upload>()
  const pushedTags = new Map<string, string>()
  const handler = new RegistryHandler(dirs, uploadDir, uploads, traffic, pushedTags)
  const server = http.createServer((req, res) => {
    traffic.requests++
    handler.handle(req, res).catch(error => respond(res, 500, { errors: [{ code: 'UNKNOWN', message: (error as Error).message }] }))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`
  const hasImport = dirs.importDir !== undefined && (await readIndexDescriptor(dirs.importDir)) !== undefined
  return {
    host,
    importRef: hasImport ? `${host}/${REPOSITORY}:${IMPORT_TAG}` : undefined,
    exportRef: `${host}/${REPOSITORY}:${EXPORT_TAG}`,
    traffic,
    fileUrl: name => (dirs.files && FILE_ROUTE.test(`/files/${name}`) ? `http://${host}/files/${name}` : undefined),
    layerImageRef: tag => `${host}/${LAYER_REPOSITORY}:${tag}`,
    fetching: () => handler.inFlight > 0,
    pushedLayers: async tag => {
      const digest = pushedTags.get(tag)
      if (!digest) return undefined
      const manifest = JSON.parse(await fs.readFile(blobPath(dirs.exportDir, digest), 'utf8')) as { layers?: { digest: string }[] }
      return manifest.layers?.map(layer => blobPath(dirs.exportDir, layer.digest))
    },
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
      await fs.rm(uploadDir, { recursive: true, force: true })
    }
  }
}

class RegistryHandler {
  private readonly fetches = new Map<string, Promise<boolean>>()
  inFlight = 0

  constructor(
    private readonly dirs: RegistryDirs,
    private readonly uploadDir: string,
    private readonly uploads: Map<string, Upload>,
    private readonly traffic: CacheRegistry['traffic'],
    private readonly pushedTags: Map<string, string>
  ) {}

  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://registry')
    if (url.pathname === '/v2/' || url.pathname === '/v2') return respond(res, 200, {})
    const file = FILE_ROUTE.exec(url.pathname)
    if (file && (req.method === 'GET' || req.method === 'HEAD')) return this.serveFile(res, file[1], req.method === 'HEAD')
    const route = ROUTE.exec(url.pathname)
    if (!route) return notFound(res, 'NAME_UNKNOWN', url.pathname)
    const [, name, kind, uploading, reference] = route
    const method = req.method ?? 'GET'
    if (kind === 'blobs' && uploading) return this.upload(req, res, name, decodeURIComponent(reference), url)
    if (kind === 'blobs' && (method === 'GET' || method === 'HEAD')) return this.serveBlob(res, reference, method === 'HEAD')
    if (kind === 'manifests' && (method === 'GET' || method === 'HEAD')) return this.serveManifest(res, reference, method === 'HEAD')
    if (kind === 'manifests' && method === 'PUT') return this.putManifest(req, res, name, reference)
    return respond(res, 405, { errors: [{ code: 'UNSUPPORTED', message: `${method} ${url.pathname}` }] })
  }

  /**
   * The export directory first: blobs of the restored cache are linked there before an export.
   * A layer still in the cache service is only fetched for a GET; a HEAD (BuildKit asking before
   * it pushes) is told it exists, so an unchanged layer is neither downloaded nor uploaded.
   */
  private async findBlob(digest: string, fetchRemote: boolean): Promise<{ file?: string; size: number } | undefined> {
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) return undefined
    const local = await this.localBlob(digest)
    if (local) return local
    const remote = this.dirs.remote?.files.find(file => `sha256:${file.sha256}` === digest)
    if (!remote) return undefined
    if (!fetchRemote) return { size: remote.bytes }
    return (await this.fetchOnce(remote)) ? this.localBlob(digest) : undefined
  }

  /** The file of the restored cache left in the cache service that belongs at `file`. */
  private remoteAt(file: string): SeparateFile | undefined {
    const { importDir, remote } = this.dirs
    return importDir ? remote?.files.find(entry => path.join(importDir, entry.path) === file) : undefined
  }

  private async localBlob(digest: string): Promise<{ file: string; size: number } | undefined> {
    for (const dir of [this.dirs.exportDir, this.dirs.importDir]) {
      if (!dir) continue
      const file = blobPath(dir, digest)
      const stat = await fs.stat(file).catch(() => undefined)
      if (stat?.isFile()) return { file, size: stat.size }
    }
    return undefined
  }

  /** A layer the service could not give is no longer claimed: BuildKit will push its own copy instead. */
  private fetchFailed(file: SeparateFile): false {
    this.traffic.failedFetches.push(file.path)
    const remote = this.dirs.remote!
    remote.files = remote.files.filter(other => other.sha256 !== file.sha256)
    return false
  }

  /** BuildKit may ask for a layer on several connections at once: one download serves them all. */
  private fetchOnce(file: SeparateFile): Promise<boolean> {
    let pending = this.fetches.get(file.sha256)
    if (!pending) {
      this.inFlight++
      pending = this.dirs.remote!.fetch(file).then(
        archiveBytes => {
          if (archiveBytes === undefined) return this.fetchFailed(file)
          this.traffic.fetchedFiles++
          this.traffic.fetchedBytes += archiveBytes
          return true
        },
        () => this.fetchFailed(file)
      )
      pending.finally(() => this.inFlight--)
      this.fetches.set(file.sha256, pending)
    }
    return pending
  }

  private async serveBlob(res: http.ServerResponse, digest: string, headOnly: boolean, contentType = 'application/octet-stream'): Promise<void> {
    const blob = await this.findBlob(digest, !headOnly)
    if (!blob) return notFound(res, 'BLOB_UNKNOWN', digest)
    res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': blob.size, 'Docker-Content-Digest': digest })
    if (headOnly || !blob.file) return void res.end()
    this.traffic.servedBytes += blob.size
    await pipeline(createReadStream(blob.file), res)
  }

  private async serveFile(res: http.ServerResponse, name: string, headOnly: boolean): Promise<void> {
    const found = this.dirs.files ? await this.findFile(path.join(this.dirs.files, name), !headOnly) : undefined
    if (!found) return notFound(res, 'NOT_FOUND', name)
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': found.size })
    if (headOnly || !found.file) return void res.end()
    this.traffic.servedBytes += found.size
    await pipeline(createReadStream(found.file), res)
  }

  /** On disk, or left in the cache service and fetched for a GET, as findBlob does for layers. */
  private async findFile(file: string, fetchRemote: boolean): Promise<{ file?: string; size: number } | undefined> {
    const onDisk = async (): Promise<{ file: string; size: number } | undefined> => {
      const stat = await fs.stat(file).catch(() => undefined)
      return stat?.isFile() ? { file, size: stat.size } : undefined
    }
    const local = await onDisk()
    if (local) return local
    const remote = this.remoteAt(file)
    if (!remote) return undefined
    if (!fetchRemote) return { size: remote.bytes }
    return (await this.fetchOnce(remote)) ? onDisk() : undefined
  }

  private async serveManifest(res: http.ServerResponse, reference: string, headOnly: boolean): Promise<void> {
    const descriptor = reference.startsWith('sha256:') ? await this.manifestByDigest(reference) : await this.manifestByTag(reference)
    if (!descriptor) return notFound(res, 'MANIFEST_UNKNOWN', reference)
    return this.serveBlob(res, descriptor.digest, headOnly, descriptor.mediaType)
  }

  private async manifestByTag(tag: string): Promise<IndexDescriptor | undefined> {
    const dir = tag === IMPORT_TAG ? this.dirs.importDir : tag === EXPORT_TAG ? this.dirs.exportDir : undefined
    return dir ? readIndexDescriptor(dir) : undefined
  }

  private async manifestByDigest(digest: string): Promise<IndexDescriptor | undefined> {
    const blob = await this.findBlob(digest, true)
    if (!blob?.file) return undefined
    const { mediaType } = JSON.parse(await fs.readFile(blob.file, 'utf8')) as { mediaType?: string }
    return { digest, size: blob.size, mediaType: mediaType ?? INDEX_MEDIA_TYPE }
  }

  /** The cache manifest: stored as a blob, and under the export tag it becomes the export's index.json. */
  private async putManifest(req: http.IncomingMessage, res: http.ServerResponse, name: string, reference: string): Promise<void> {
    const body = await readBody(req)
    this.traffic.receivedBytes += body.length
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`
    if (reference.startsWith('sha256:') && reference !== digest) return respond(res, 400, { errors: [{ code: 'DIGEST_INVALID', message: reference }] })
    await writeFileAtomic(blobPath(this.dirs.exportDir, digest), body)
    if (name === REPOSITORY && reference === EXPORT_TAG) {
      const mediaType = req.headers['content-type'] ?? INDEX_MEDIA_TYPE
      await writeIndex(this.dirs.exportDir, { mediaType, digest, size: body.length })
    }
    if (name === LAYER_REPOSITORY && !reference.startsWith('sha256:')) this.pushedTags.set(reference, digest)
    res.writeHead(201, { Location: `/v2/${name}/manifests/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': 0 })
    res.end()
  }

  /** POST starts an upload (or completes it when it carries ?digest=), PATCH appends, PUT ?digest= completes. */
  private async upload(req: http.IncomingMessage, res: http.ServerResponse, name: string, id: string, url: URL): Promise<void> {
    const method = req.method ?? 'GET'
    const mount = url.searchParams.get('mount')
    if (method === 'POST' && mount && (await this.findBlob(mount, false))) return created(res, name, mount)
    if (method === 'POST') {
      const upload = { file: path.join(this.uploadDir, randomUUID()), hash: createHash('sha256'), bytes: 0 }
      const uuid = path.basename(upload.file)
      this.uploads.set(uuid, upload)
      await fs.writeFile(upload.file, '')
      const digest = url.searchParams.get('digest')
      if (digest) return this.complete(req, res, name, uuid, digest)
      res.writeHead(202, { Location: `/v2/${name}/blobs/uploads/${uuid}`, 'Docker-Upload-UUID': uuid, Range: '0-0', 'Content-Length': 0 })
      return void res.end()
    }
    const upload = this.uploads.get(id)
    if (!upload) return notFound(res, 'BLOB_UPLOAD_UNKNOWN', id)
    if (method === 'PATCH') {
      await this.append(req, upload)
      res.writeHead(202, { Location: `/v2/${name}/blobs/uploads/${id}`, 'Docker-Upload-UUID': id, Range: `0-${Math.max(upload.bytes - 1, 0)}`, 'Content-Length': 0 })
      return void res.end()
    }
    if (method === 'PUT') return this.complete(req, res, name, id, url.searchParams.get('digest') ?? '')
    if (method === 'DELETE') {
      this.uploads.delete(id)
      await fs.rm(upload.file, { force: true })
      res.writeHead(204)
      return void res.end()
    }
    return respond(res, 405, { errors: [{ code: 'UNSUPPORTED', message: method }] })
  }

  private async append(req: http.IncomingMessage, upload: Upload): Promise<void> {
    const traffic = this.traffic
    await pipeline(
      req,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          upload.hash.update(chunk)
          upload.bytes += chunk.length
          traffic.receivedBytes += chunk.length
          yield chunk
        }
      },
      createWriteStream(upload.file, { flags: 'a' })
    )
  }

  /** A blob lands in the export directory only whole and with the digest it claims. */
  private async complete(req: http.IncomingMessage, res: http.ServerResponse, name: string, id: string, digest: string): Promise<void> {
    const upload = this.uploads.get(id)!
    await this.append(req, upload)
    this.uploads.delete(id)
    const actual = `sha256:${upload.hash.digest('hex')}`
    if (actual !== digest) {
      await fs.rm(upload.file, { force: true })
      return respond(res, 400, { errors: [{ code: 'DIGEST_INVALID', message: `expected ${digest}, got ${actual}` }] })
    }
    const target = blobPath(this.dirs.exportDir, digest)
    await fs.mkdir(path.dirname(target), { recursive: true })
    await fs.rename(upload.file, target)
    return created(res, name, digest)
  }
}

interface IndexDescriptor {
  mediaType: string
  digest: string
  size: number
}

/** The cache manifest an OCI layout's index.json points at, as `type=local` writes it. */
async function readIndexDescriptor(dir: string): Promise<IndexDescriptor | undefined> {
  const text = await fs.readFile(path.join(dir, 'index.json'), 'utf8').catch(() => undefined)
  if (text === undefined) return undefined
  const index = JSON.parse(text) as { manifests?: IndexDescriptor[] }
  return index.manifests?.[0]
}

async function writeIndex(dir: string, descriptor: IndexDescriptor): Promise<void> {
  const index = { schemaVersion: 2, manifests: [{ ...descriptor, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }] }
  await fs.writeFile(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  await writeFileAtomic(path.join(dir, 'index.json'), Buffer.from(JSON.stringify(index)))
}

async function writeFileAtomic(file: string, content: Buffer): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true })
  const temporary = `${file}.${randomUUID()}.tmp`
  await fs.writeFile(temporary, content)
  await fs.rename(temporary, file)
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

function created(res: http.ServerResponse, name: string, digest: string): void {
  res.writeHead(201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': 0 })
  res.end()
}

function notFound(res: http.ServerResponse, code: string, what: string): void {
  respond(res, 404, { errors: [{ code, message: `${code.toLowerCase().replace(/_/g, ' ')}: ${what}` }] })
}

function respond(res: http.ServerResponse, status: number, body: object): void {
  if (res.headersSent) return void res.destroy()
  const text = JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) })
  res.end(text)
}
