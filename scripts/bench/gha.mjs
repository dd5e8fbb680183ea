// Configuration 5, BuildKit's own `type=gha` cache backend against the testbed's cache service:
// tried for real, and reported as it went. No numbers are made up when it cannot run.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { build, builderName, BUSYBOX_CONTEXT, createBuilder, removeBuilder, run, sh } from './docker.mjs'

/**
 * Two attempts on a new builder:
 *  a) as a workflow would write it (`--cache-to type=gha,mode=max`), with the job's environment from
 *     the testbed (its cache service is API v2: ACTIONS_RESULTS_URL, no ACTIONS_CACHE_URL);
 *  b) with the service's URL and token passed explicitly, so the request reaches BuildKit.
 */
export async function probeGha(ctx) {
  const workspace = fs.mkdtempSync(path.join(ctx.tmp, 'gha-'))
  fs.writeFileSync(path.join(workspace, 'Dockerfile'), 'FROM busybox:1.36\nRUN echo gha probe > /probe.txt\n')
  const buildxPath = findBuildxPlugin()
  const knowsV2 = buildxPath ? fs.readFileSync(buildxPath).includes('ACTIONS_RESULTS_URL') : undefined
  const name = builderName('gha')
  const result = { runs: false, attempts: [], buildxKnowsV2: knowsV2 }
  try {
    await createBuilder(name)
    const env = { ...process.env, ...ctx.serviceEnv }
    const implicit = await run('docker', ['buildx', 'build', '--builder', name, '--progress=plain', '--build-context', BUSYBOX_CONTEXT, '--cache-to', 'type=gha,mode=max,scope=bench', workspace], { env })
    result.attempts.push({
      what: '`--cache-to type=gha,mode=max` with the testbed job environment (cache API v2 variables)',
      exitCode: implicit.code,
      exportedCache: /exporting cache/.test(implicit.stderr),
      message: /exporting cache/.test(implicit.stderr) ? lastLines(implicit.stderr, ctx.serviceEnv) : 'build succeeded, but buildx dropped the gha cache without a word: no cache was exported'
    })
    const url = ctx.serviceEnv.ACTIONS_RESULTS_URL
    const explicit = await build(name, workspace, { cacheTo: `type=gha,mode=max,scope=bench,url=${url},token=${ctx.serviceEnv.ACTIONS_RUNTIME_TOKEN}` })
    result.attempts.push({
      what: '`--cache-to type=gha,url=<service URL>,token=<job token>` (explicit, reaches BuildKit)',
      exitCode: explicit.ok ? 0 : 1,
      exportedCache: explicit.progress.exportMs > 0,
      message: redact(explicit.error ?? lastLines(explicit.stderr, ctx.serviceEnv), ctx.serviceEnv)
    })
    result.runs = result.attempts.some(a => a.exitCode === 0 && a.exportedCache)
    result.error = result.attempts.at(-1).message
  } catch (error) {
    result.error = redact(error.message, ctx.serviceEnv)
  } finally {
    await removeBuilder(name).catch(() => undefined)
    fs.rmSync(workspace, { recursive: true, force: true })
  }
  return result
}

function findBuildxPlugin() {
  for (const dir of ['/usr/libexec/docker/cli-plugins', '/usr/lib/docker/cli-plugins', '/usr/local/lib/docker/cli-plugins', path.join(process.env.HOME ?? '/root', '.docker/cli-plugins')]) {
    const file = path.join(dir, 'docker-buildx')
    if (fs.existsSync(file)) return file
  }
  try {
    return sh('bash', ['-c', 'command -v docker-buildx']) || undefined
  } catch {
    return undefined
  }
}

function lastLines(stderr, serviceEnv) {
  const lines = stderr.split('\n').filter(line => line.trim() && !/http2: server connection error/.test(line))
  const errors = lines.filter(line => /^ERROR|error/i.test(line))
  return redact((errors.length > 0 ? errors : lines.slice(-2)).join(' | '), serviceEnv)
}

/** The job token never goes into a result file. */
function redact(text, serviceEnv) {
  const token = serviceEnv.ACTIONS_RUNTIME_TOKEN
  return token ? String(text).split(token).join('<token>') : String(text)
}
