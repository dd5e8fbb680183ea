#!/usr/bin/env node
// The hand-wired setup's cache steps (what `actions/cache` does in a workflow), run as their own
// process like a workflow step: the real @actions/cache against the testbed's cache service.
//   node cache-client.mjs restore DIR KEY [RESTORE_KEY...]
//   node cache-client.mjs save DIR KEY
// The last stdout line is `BENCH_RESULT {"op","key","ms"}`; the library's own log (archive sizes)
// comes before it. The environment must carry the service's variables and RUNNER_TEMP.
import * as cache from '@actions/cache'

const [op, dir, key, ...restoreKeys] = process.argv.slice(2)
if (!['restore', 'save'].includes(op) || !dir || !key) {
  console.error('usage: cache-client.mjs restore|save DIR KEY [RESTORE_KEY...]')
  process.exit(2)
}

const started = Date.now()
let result
if (op === 'restore') result = (await cache.restoreCache([dir], key, restoreKeys)) ?? null
else result = await cache.saveCache([dir], key)
console.log(`BENCH_RESULT ${JSON.stringify({ op, key: result, ms: Date.now() - started })}`)
