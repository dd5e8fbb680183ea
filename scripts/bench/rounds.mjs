// Rounds of changes: a cold seed, then N jobs each changing one stage (a different one each round)
// on a fresh runner, recording the cache directory's size after each. With rotation the cache
// should stay the size of one build's cache; exporting into the directory it imports from grows it.
import { openSession } from './configs.mjs'
import { copyWorkspace } from './workloads.mjs'

export const ROUND_CONFIGS = ['action', 'handwired']

/** Returns [{ round, ok, cacheBytes, totalMs, bytesUp, bytesDown, error? }], round 0 being the seed. */
export async function runRounds(ctx, config, workload, rounds, tag, log) {
  const workspace = copyWorkspace(workload, ctx.tmp, `rounds-${config}`)
  const session = openSession(config, ctx, workload, workspace, tag)
  const series = []
  try {
    for (let round = 0; round <= rounds; round++) {
      if (round > 0) workload.roundChange(workspace, round)
      let result
      try {
        result = await session.job()
      } catch (error) {
        result = { ok: false, totalMs: 0, error: error.message }
      }
      const entry = { round, ok: result.ok, cacheBytes: result.cacheBytes, totalMs: result.totalMs, bytesUp: result.bytesUp, bytesDown: result.bytesDown, cachedSteps: result.cachedSteps, totalSteps: result.totalSteps, error: result.error }
      series.push(entry)
      log(`rounds ${config} ${round}/${rounds}: cache ${mb(entry.cacheBytes)} MB, steps cached ${entry.cachedSteps ?? '?'}/${entry.totalSteps ?? '?'}, ${(entry.totalMs / 1000).toFixed(1)} s${entry.ok ? '' : ` FAILED: ${entry.error}`}`)
    }
  } finally {
    await session.close()
  }
  return series
}

function mb(bytes) {
  return bytes === undefined ? '?' : (bytes / 1e6).toFixed(1)
}
