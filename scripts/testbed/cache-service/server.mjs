// Stand-in for the GitHub Actions cache service v2 (the twirp API @actions/cache uses when
// ACTIONS_CACHE_SERVICE_V2 is set), storing archives in Azurite, plus /_testbed/ admin
// endpoints for fault injection. See README.md.
import * as http from 'node:http'
import * as path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { BlobStore } from './blob.mjs'
import { EntryStore } from './store.mjs'
import { readScopesOf, scopesFromToken, writeScopeOf } from './token.mjs'

const TWIRP_PREFIX = '/twirp/github.actions.results.api.v1.CacheService/'
const ADMIN_PREFIX = '/_testbed/'
const MAX_KEY_LENGTH = 512

const TWIRP_STATUS = {
  invalid_argument: 400,
  malformed: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  bad_route: 404,
  already_exists: 409,
  internal: 500
}

class TwirpError extends Error {
  constructor(code, msg) {
    super(msg)
    this.code = code
  }
}

export function configFromEnv(env = process.env) {
  const stateDir = env.TESTBED_STATE || '/var/lib/buildx-cache-testbed'
  return {
    host: env.CACHE_SERVICE_HOST || '127.0.0.1',
    port: Number(env.CACHE_SERVICE_PORT || 8788),
    azuritePort: Number(env.AZURITE_BLOB_PORT || 10000),
    blobHost: env.CACHE_SERVICE_BLOB_HOST || '127.0.0.1',
    container: env.CACHE_SERVICE_CONTAINER || 'actions-cache',
    entriesFile: env.CACHE_SERVICE_ENTRIES_FILE || path.join(stateDir, 'cache-service', 'entries.json')
  }
}

/** Injected failures and latency, set through /_testbed/faults. */
class Faults {
  constructor() {
    this.reset()
  }

  reset() {
    this.remaining = 0
    this.status = 500
    this.method = undefined
    this.delayMs = 0
  }

  update({ fail, status, method, delayMs }) {
    if (fail !== undefined) this.remaining = fail === 'all' ? Infinity : Number(fail)
    if (status !== undefined) this.status = Number(status)
    if (method !== undefined) this.method = method || undefined
    if (delayMs !== undefined) this.delayMs = Number(delayMs)
  }

  /** Consumes one failure when it applies to this twirp method; returns the status to fail with. */
  take(method) {
    if (this.remaining <= 0 || (this.method && this.method !== method)) return undefined
    this.remaining--
    return this.status
  }

  describe() {
    return { fail: this.remaining === Infinity ? 'all' : this.remaining, status: this.status, method: this.method ?? null, delayMs: this.delayMs }
  }
}

function sendJson(res, status, body) {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) })
  res.end(text)
}

async function readJson(req) {
  const chunks = []
  for await (const chunk of req) chunks.push(chunk)
  const text = Buffer.concat(chunks).toString('utf8')
  if (!text) return {}
  try {
    return JSON.parse(text)
  } catch {
    throw new TwirpError('malformed', 'request body is not JSON')
  }
}

function scopesOf(req) {
  const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')
  if (!match) throw new TwirpError('unauthenticated', 'missing bearer token')
  try {
    return scopesFromToken(match[1])
  } catch (error) {
    throw new TwirpError('unauthenticated', `invalid runtime token: ${error.message}`)
  }
}

function requireKeyAndVersion({ key, version }) {
  if (!key) throw new TwirpError('invalid_argument', 'key is required')
  if (key.length > MAX_KEY_LENGTH) throw new TwirpError('invalid_argument', `key is longer than ${MAX_KEY_LENGTH} characters`)
  if (!version) throw new TwirpError('invalid_argument', 'version is required')
}

function entryView(e) {
  return { id: e.id, key: e.key, version: e.version, scope: e.scope, size: e.size, created: e.createdAt, finalized: e.finalizedAt }
}

// Responses use the proto field names, as the real service's twirp JSON does; the generated
// client accepts them (and go-actions-cache requires them).
function twirpMethods(store, blobs) {
  return {
    async CreateCacheEntry(body, scopes) {
      requireKeyAndVersion(body)
      const scope = writeScopeOf(scopes)
      if (!scope) return { ok: false, message: 'cache write denied: the runtime token grants no writable cache scope' }
      const entry = store.reserve(body.key, body.version, scope)
      if (!entry) throw new TwirpError('already_exists', 'cache entry with the same key, version, and scope already exists')
      return { ok: true, signed_upload_url: blobs.uploadUrl(entry.blobName) }
    },

    async FinalizeCacheEntryUpload(body, scopes) {
      requireKeyAndVersion(body)
      const entry = store.find(body.key, body.version, writeScopeOf(scopes))
      if (!entry || entry.finalizedAt) throw new TwirpError('not_found', 'no cache entry is being uploaded with this key and version')
      const declared = Number(body.size_bytes ?? body.sizeBytes)
      const uploaded = await blobs.size(entry.blobName)
      if (uploaded === undefined) throw new TwirpError('not_found', 'the cache archive was not uploaded')
      if (uploaded !== declared) throw new TwirpError('invalid_argument', `size_bytes ${declared} does not match the uploaded ${uploaded} bytes`)
      store.finalize(entry, uploaded)
      return { ok: true, entry_id: String(entry.id) }
    },

    async GetCacheEntryDownloadURL(body, scopes) {
      requireKeyAndVersion(body)
      const readable = readScopesOf(scopes)
      if (readable.length === 0) throw new TwirpError('permission_denied', 'cache read denied: the runtime token grants no readable cache scope')
      const restoreKeys = body.restore_keys ?? body.restoreKeys ?? []
      const entry = store.lookup(body.key, restoreKeys, body.version, readable)
      if (!entry) return { ok: false, signed_download_url: '', matched_key: '' }
      return { ok: true, signed_download_url: blobs.downloadUrl(entry.blobName), matched_key: entry.key }
    }
  }
}

function adminRoutes(store, blobs, faults) {
  return {
    'GET health': async () => {
      const azurite = await blobs.isUp()
      return [azurite ? 200 : 503, { ok: azurite, azurite }]
    },
    'GET entries': async () => [200, store.entries.map(entryView)],
    'DELETE entries': async () => {
      const removed = store.clear()
      await Promise.all(removed.map(e => blobs.delete(e.blobName)))
      return [200, { deleted: removed.length }]
    },
    'GET faults': async () => [200, faults.describe()],
    'POST faults': async body => {
      faults.update(body)
      return [200, faults.describe()]
    },
    'DELETE faults': async () => {
      faults.reset()
      return [200, faults.describe()]
    },
    // Body: { key, version?, scope?, part?: 'all' | 'tail' }; corrupts every finalized match.
    'POST corrupt': async body => {
      if (!body.key) return [400, { error: 'key is required' }]
      const targets = store.matching(body).filter(e => e.finalizedAt)
      for (const entry of targets) await blobs.corrupt(entry.blobName, body.part)
      return [targets.length ? 200 : 404, { corrupted: targets.map(entryView) }]
    }
  }
}

async function handleTwirp(req, res, methods, faults) {
  const method = req.url.slice(TWIRP_PREFIX.length)
  if (faults.delayMs) await sleep(faults.delayMs)
  const injected = faults.take(method)
  if (injected) return sendJson(res, injected, { code: 'internal', msg: `injected fault (HTTP ${injected})` })
  try {
    if (req.method !== 'POST' || !methods[method]) throw new TwirpError('bad_route', `no such method: ${req.method} ${method}`)
    const scopes = scopesOf(req)
    sendJson(res, 200, await methods[method](await readJson(req), scopes))
  } catch (error) {
    const code = error instanceof TwirpError ? error.code : 'internal'
    sendJson(res, TWIRP_STATUS[code], { code, msg: error.message })
  }
}

async function handleAdmin(req, res, routes) {
  const route = routes[`${req.method} ${req.url.slice(ADMIN_PREFIX.length).split('?')[0]}`]
  if (!route) return sendJson(res, 404, { error: `no admin route ${req.method} ${req.url}` })
  try {
    const [status, body] = await route(req.method === 'POST' ? await readJson(req) : {})
    sendJson(res, status, body)
  } catch (error) {
    sendJson(res, 500, { error: error.message })
  }
}

function logRequest(req, res, startedAt) {
  const ms = Date.now() - startedAt
  console.log(`${new Date().toISOString()} ${req.method} ${req.url} -> ${res.statusCode} (${ms} ms)`)
}

async function waitForAzurite(blobs, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs
  while (!(await blobs.isUp())) {
    if (Date.now() > deadline) throw new Error('Azurite blob service did not answer')
    await sleep(250)
  }
  await blobs.ensureContainer()
}

/** Starts the service; resolves to the listening http.Server once Azurite answers. */
export async function startCacheService(config = configFromEnv()) {
  const store = new EntryStore(config.entriesFile)
  const blobs = new BlobStore({ port: config.azuritePort, publicHost: config.blobHost, container: config.container })
  const faults = new Faults()
  await waitForAzurite(blobs)
  const methods = twirpMethods(store, blobs)
  const routes = adminRoutes(store, blobs, faults)
  const server = http.createServer((req, res) => {
    const startedAt = Date.now()
    res.on('finish', () => logRequest(req, res, startedAt))
    if (req.url.startsWith(TWIRP_PREFIX)) return handleTwirp(req, res, methods, faults)
    if (req.url.startsWith(ADMIN_PREFIX)) return handleAdmin(req, res, routes)
    sendJson(res, 404, { code: 'bad_route', msg: `no route ${req.url}` })
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.host, resolve)
  })
  return server
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const config = configFromEnv()
  const server = await startCacheService(config)
  console.log(`cache service listening on http://${config.host}:${config.port}/ (azurite :${config.azuritePort}, blob host ${config.blobHost})`)
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      server.close(() => process.exit(0))
      server.closeAllConnections()
    })
  }
}
