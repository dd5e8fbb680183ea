import { jest } from '@jest/globals'
import type { BuildOutcome, BuildWatch } from '../../src/build.js'
import { buildWithMountsOnDemand, type MountsOnDemand } from '../../src/mount-demand.js'
import { MountStepWatch, usesMount } from '../../src/mount-watch.js'
import { mergeStoppedRun, type ProgressSummary } from '../../src/progress.js'

const DEPS = '[deps 3/4] RUN --mount=type=cache,id=downloads,target=/var/cache/downloads ./fetch.sh'
const OTHER = '[deps 2/4] RUN --mount=type=cache,id=apt,target=/var/cache/apt apt-get update'
const LAYER = 'sha256:74fc566bb1d68193e00b4357b0f8af5ed4ef09d1fb1b07905607e26d1add0b66'
const GRACE = 1000

/** Progress fed to a watch of the `downloads` mount; the steps it reported as needing the mount. */
function watchOf(text: string, { chunk = Number.MAX_SAFE_INTEGER, waitMs = 0, busy = (): boolean => false } = {}): string[] {
  const needed: string[] = []
  const watch = new MountStepWatch(new Set(['downloads']), step => needed.push(step), { graceMs: GRACE, busy })
  for (let at = 0; at < text.length; at += chunk) watch.write(text.slice(at, at + chunk))
  jest.advanceTimersByTime(waitMs)
  watch.close()
  return needed
}

describe('MountStepWatch', () => {
  beforeEach(() => jest.useFakeTimers())
  afterEach(() => jest.useRealTimers())

  test.each<[string, string, string[]]>([
    ['a cached step', `#9 ${DEPS}\n#9 CACHED\n`, []],
    ['a step taken from the cache whose layer a later step downloads', `#9 ${DEPS}\n#9 ${LAYER} 327B / 327B done\n#9 extracting ${LAYER} done\n#9 DONE 0.0s\n`, []],
    ['a step that prints', `#9 ${DEPS}\n#9 0.102 fetching delta 4.2.0\n`, [DEPS]],
    ['a step that finished without printing', `#9 ${DEPS}\n#9 DONE 1.3s\n`, [DEPS]],
    ['a step that failed', `#9 ${DEPS}\n#9 ERROR: process "/bin/sh -c ./fetch.sh" did not complete successfully: exit code: 1\n`, [DEPS]],
    ['a running step that uses another mount', `#8 ${OTHER}\n#8 0.100 Get:1 http://deb\n#8 DONE 4.0s\n`, []],
    ['a running step without mounts', '#7 [build 1/2] RUN make\n#7 0.100 cc -c main.c\n', []],
    ['its header repeated when its output resumes, then CACHED', `#9 ${DEPS}\n#9 ${DEPS}\n#9 CACHED\n`, []],
    ['two steps needing it: reported once', `#9 ${DEPS}\n#10 ${DEPS.replace('3/4', '4/4')}\n#9 0.1 a\n#10 0.1 b\n`, [DEPS]]
  ])('%s', (_name, text, expected) => {
    expect(watchOf(text, { waitMs: GRACE * 2 })).toEqual(expected)
    expect(watchOf(text, { chunk: 5, waitMs: GRACE * 2 })).toEqual(expected)
  })

  test('a step that shows nothing after its header is running once the grace period is over', () => {
    expect(watchOf(`#9 ${DEPS}\n`, { waitMs: GRACE - 1 })).toEqual([])
    expect(watchOf(`#9 ${DEPS}\n`, { waitMs: GRACE })).toEqual([DEPS])
  })

  test('silence while layers are being fetched is not taken as running; it is once the fetch is over', () => {
    let fetching = true
    const needed: string[] = []
    const watch = new MountStepWatch(new Set(['downloads']), step => needed.push(step), { graceMs: GRACE, busy: () => fetching })
    watch.write(`#9 ${DEPS}\n`)
    jest.advanceTimersByTime(GRACE * 5)
    expect(needed).toEqual([])
    fetching = false
    jest.advanceTimersByTime(GRACE)
    expect(needed).toEqual([DEPS])
    watch.close()
  })

  test('nothing is reported after close', () => {
    const needed: string[] = []
    const watch = new MountStepWatch(new Set(['downloads']), step => needed.push(step), { graceMs: GRACE })
    watch.write(`#9 ${DEPS}\n`)
    watch.close()
    jest.advanceTimersByTime(GRACE * 2)
    watch.write('#9 0.5 output\n')
    expect(needed).toEqual([])
  })
})

describe('usesMount', () => {
  const ids = new Set(['npm', '/root/.cache/go-build'])
  test.each<[string, boolean]>([
    ['[deps 2/3] RUN --mount=type=cache,id=npm,target=/root/.npm npm ci', true],
    ['[build 1/1] RUN --mount=type=cache,target=/root/.cache/go-build/ go build ./...', true],
    ['[deps 2/3] RUN --mount=type=cache,id=pip,target=/root/.cache/pip pip install', false],
    ['[deps 2/3] RUN --mount=type=bind,source=x,target=/x --mount=type=cache,id=npm,target=/n ls', true],
    ['[a 1/1] RUN --mount=type=cache,id=${CACHE_ID},target=/c make', true],
    ['[a 1/1] RUN echo --mount=type=cache,id=npm,target=/n', false],
    ['[a 1/2] COPY . .', false]
  ])('%s: %s', (step, expected) => {
    expect(usesMount(step, ids)).toBe(expected)
  })
})

describe('mergeStoppedRun', () => {
  const summary = (part: Partial<ProgressSummary>): ProgressSummary => ({ cachedSteps: 0, totalSteps: 0, stepsRun: [], errors: [], ...part })

  test('a step the stopped run finished counts as run although the rerun took it from the builder; the stopped step counts once', () => {
    const stopped = summary({ cachedSteps: 1, totalSteps: 3, stepsRun: ['[a 2/4] RUN prepare', DEPS], unfinished: [DEPS], cacheImportMs: 100 })
    const rerun = summary({ cachedSteps: 3, totalSteps: 4, stepsRun: [DEPS], cacheImportMs: 50, cacheExportMs: 300 })
    expect(mergeStoppedRun(stopped, rerun)).toEqual(summary({ cachedSteps: 2, totalSteps: 4, stepsRun: ['[a 2/4] RUN prepare', DEPS], cacheImportMs: 150, cacheExportMs: 300 }))
  })
})

describe('buildWithMountsOnDemand', () => {
  const done = (stepsRun: string[]): BuildOutcome => ({ succeeded: true, progress: { cachedSteps: 4 - stepsRun.length, totalSteps: 4, stepsRun, errors: [] } })

  /** A build whose progress is `progress`; it stops, as buildx does, when the watch aborts it. */
  function fakeBuild(progress: string[]): { attempts: string[]; attempt: (name: string, watch?: BuildWatch) => Promise<BuildOutcome> } {
    const attempts: string[] = []
    return {
      attempts,
      attempt: async (name, watch) => {
        attempts.push(name)
        const text = progress[attempts.length - 1]
        watch?.write(text)
        if (watch?.signal.aborted) return { succeeded: false, stopped: true, progress: { cachedSteps: 2, totalSteps: 4, stepsRun: [DEPS], unfinished: [DEPS], errors: [] } }
        return done(text.includes('CACHED') && !text.includes('0.1') ? [] : [DEPS])
      }
    }
  }

  function mounts(): MountsOnDemand & { restoredFor: string[] } {
    const restoredFor: string[] = []
    return { ids: new Set(['downloads']), restored: false, restoredFor, restore: async step => void restoredFor.push(step) }
  }

  test('no step using the mount runs: one build, the mounts stay out of the builder', async () => {
    const build = fakeBuild([`#9 ${DEPS}\n#9 CACHED\n`])
    const saved = mounts()
    const outcome = await buildWithMountsOnDemand(build.attempt, 'Build', saved)
    expect(build.attempts).toEqual(['Build'])
    expect(saved.restoredFor).toEqual([])
    expect(outcome.succeeded).toBe(true)
  })

  test('a step using the mount runs: the build is stopped, the mounts restored, the build run again', async () => {
    const running = `#9 ${DEPS}\n#9 0.1 fetching\n#9 DONE 1.0s\n`
    const build = fakeBuild([running, running, running])
    const saved = mounts()
    const outcome = await buildWithMountsOnDemand(build.attempt, 'Build', saved)
    expect(build.attempts).toEqual(['Build', 'Build, again with the cache mounts'])
    expect(saved.restoredFor).toEqual([DEPS])
    expect(saved.restored).toBe(true)
    expect(outcome).toMatchObject({ succeeded: true, progress: { stepsRun: [DEPS], totalSteps: 4, cachedSteps: 3 } })
    // Restored once: a later build (e.g. without the cache) is not watched again.
    await buildWithMountsOnDemand(build.attempt, 'Build without cache', saved)
    expect(build.attempts).toEqual(['Build', 'Build, again with the cache mounts', 'Build without cache'])
  })
})
