// ACTIONS_RUNTIME_TOKEN handling. The real token is a JWT whose `ac` claim is a JSON *string*
// holding [{ Scope, Permission }], Permission being a bit set (1 = read, 2 = write). The testbed
// never verifies signatures: tests mint their own unsigned tokens.

export const PERMISSION_READ = 1
export const PERMISSION_WRITE = 2

const HOUR = 3600

function base64url(value) {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/**
 * Mints an unsigned (alg "none") runtime token. `writeScope` gets read+write; `readScopes` are
 * read-only and searched after it, in the order given. exp/nbf are set because
 * go-actions-cache (BuildKit's gha backend) refuses tokens without them.
 */
export function mintRuntimeToken({ writeScope = 'refs/heads/main', readScopes = [], ttlSeconds = 6 * HOUR } = {}) {
  const now = Math.floor(Date.now() / 1000)
  const scopes = []
  if (writeScope) scopes.push({ Scope: writeScope, Permission: PERMISSION_READ | PERMISSION_WRITE })
  for (const scope of readScopes) {
    if (scope !== writeScope) scopes.push({ Scope: scope, Permission: PERMISSION_READ })
  }
  const claims = { ac: JSON.stringify(scopes), iat: now, nbf: now - 60, exp: now + ttlSeconds, iss: 'buildx-cache-testbed' }
  return `${base64url({ typ: 'JWT', alg: 'none' })}.${base64url(claims)}.`
}

/** Decodes the `ac` claim of a bearer token into [{ scope, permission }], or throws. */
export function scopesFromToken(token) {
  const payload = token.split('.')[1]
  if (!payload) throw new Error('runtime token is not a JWT')
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  if (typeof claims.ac !== 'string') throw new Error('runtime token has no "ac" claim')
  return JSON.parse(claims.ac).map(({ Scope, Permission }) => ({ scope: Scope, permission: Permission }))
}

/** The scope a token may write to: the first one carrying the write bit. */
export function writeScopeOf(scopes) {
  return scopes.find(s => s.permission & PERMISSION_WRITE)?.scope
}

/** The scopes a token may read, the writable one first, then the others in token order. */
export function readScopesOf(scopes) {
  const readable = scopes.filter(s => s.permission & PERMISSION_READ).map(s => s.scope)
  const writable = writeScopeOf(scopes)
  return writable && readable.includes(writable) ? [writable, ...readable.filter(s => s !== writable)] : readable
}

// Lets start.sh mint the token for the env file: `node token.mjs <writeScope> [readScope...]`.
if (import.meta.url === `file://${process.argv[1]}`) {
  const [writeScope, ...readScopes] = process.argv.slice(2)
  process.stdout.write(mintRuntimeToken({ writeScope, readScopes }) + '\n')
}
