import { emptyReport, totalMs, warner, type BuildReport, type PhaseTiming, type RunReport } from '../../src/report.js'
import { renderSummary } from '../../src/summary.js'

const MiB = 1024 ** 2

function build(overrides: Partial<BuildReport> = {}): BuildReport {
  return { succeeded: true, cachedSteps: 0, totalSteps: 5, stepsRun: [], ...overrides }
}

/** A mode=max run that restored nothing and saved its first cache; rows change what they are about. */
function report(overrides: Partial<RunReport> = {}): RunReport {
  return {
    ...emptyReport('max'),
    exportMode: 'max',
    restore: { hit: 'miss', note: 'no entry for this key yet' },
    build: build({ stepsRun: ['[base 2/3] RUN apk add git', '[build 2/2] RUN go build ./...'] }),
    newCache: { key: 'buildx-linux-x64-abc-0123', bytes: 82 * MiB },
    rotation: { replaced: true, note: 'first cache on this runner', bytesAfter: 82 * MiB },
    save: { status: 'saved', key: 'buildx-linux-x64-abc-0123', archiveBytes: 80 * MiB },
    ...overrides
  }
}

/** The cells of a markdown table row; an escaped pipe does not split a cell. */
function cells(row: string): string[] {
  return row
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map(cell => cell.trim())
}

describe('renderSummary', () => {
  // Each row: a run, what the summary must say about it, and what it must not.
  test.each<[string, RunReport, string[], string[]]>([
    [
      'cold miss',
      report(),
      [
        '### buildx-cache-action: ✅ build succeeded, cache miss (cold build) — 0 of 5 steps from cache',
        '| Cache mode | mode=max |',
        '| Restored | nothing (no entry for this key yet) |',
        '| New cache | 82 MiB, key `buildx-linux-x64-abc-0123` |',
        '| Rotation | old cache replaced by the new export (82 MiB); first cache on this runner |',
        '| Saved | `buildx-linux-x64-abc-0123`, 80 MiB uploaded |'
      ],
      ['Warnings', 'Build error']
    ],
    [
      'warm exact hit',
      report({
        restore: { hit: 'exact', key: 'buildx-linux-x64-abc-0123', archiveBytes: 80 * MiB },
        build: build({ cachedSteps: 5 }),
        rotation: { replaced: true, note: 'no stale blobs', bytesBefore: 82 * MiB, bytesAfter: 82 * MiB },
        save: { status: 'unchanged', key: 'buildx-linux-x64-abc-0123' }
      }),
      [
        'cache hit (exact: nothing changed) — 5 of 5 steps from cache',
        '| Restored | `buildx-linux-x64-abc-0123`, 80 MiB downloaded |',
        '| Rotation | old cache replaced by the new export (82 MiB → 82 MiB); no stale blobs |',
        '| Saved | skipped: the cache did not change (0 B uploaded) |'
      ],
      ['Steps that ran', 'uploaded |\n| Saved']
    ],
    [
      'warm hit from a cache the runner kept',
      report({
        restore: { hit: 'exact', key: 'k-1', note: 'complete cache already on this runner; download skipped' },
        build: build({ cachedSteps: 5 })
      }),
      ['| Restored | `k-1`, local copy (complete cache already on this runner; download skipped) |'],
      ['downloaded']
    ],
    [
      'layers left in the cache service, some fetched when the build needed them',
      report({
        restore: { hit: 'partial', key: 'k-old', archiveBytes: 2 * MiB, remoteFiles: 3, remoteBytes: 300 * MiB, fetchedFiles: 1, fetchedBytes: 6 * MiB },
        build: build({ cachedSteps: 4 })
      }),
      ['| Restored | `k-old`, 2.0 MiB downloaded; 3 large files (300 MiB) left in the cache service, 1 of them fetched when the build needed them (6.0 MiB more downloaded) |'],
      []
    ],
    [
      'partial hit lists the steps that ran',
      report({
        restore: { hit: 'partial', key: 'k-old', archiveBytes: 60 * MiB },
        build: build({ cachedSteps: 3, stepsRun: ['[build 2/3] RUN make', '[build 3/3] RUN make test'] })
      }),
      [
        'cache hit (partial: some steps changed) — 3 of 5 steps from cache',
        '<details><summary>Steps that ran (not from cache)</summary>',
        '- `[build 2/3] RUN make`\n- `[build 3/3] RUN make test`'
      ],
      ['… and']
    ],
    [
      'failed build shows the error and keeps the old cache',
      report({
        restore: { hit: 'partial', key: 'k-old', archiveBytes: 60 * MiB },
        build: build({ succeeded: false, cachedSteps: 3, error: 'ERROR: failed to solve: process "/bin/sh -c make" did not complete successfully: exit code: 2' }),
        newCache: undefined,
        rotation: { replaced: false, note: 'the build did not succeed; the previous cache is kept' },
        save: { status: 'not-saved', note: 'no new complete cache to save; the previous entry stays the newest' }
      }),
      [
        '### buildx-cache-action: ❌ build failed, cache hit (partial: some steps changed) — 3 of 5 steps from cache',
        '| Build error | `ERROR: failed to solve: process "/bin/sh -c make" did not complete successfully: exit code: 2` |',
        '| Rotation | the build did not succeed; the previous cache is kept |',
        '| Saved | not saved: no new complete cache to save; the previous entry stays the newest (0 B uploaded) |'
      ],
      ['New cache', 'build succeeded']
    ],
    [
      'cache off',
      {
        ...emptyReport('off'),
        versions: { docker: '27.1.1', buildx: 'github.com/docker/buildx v0.16.2 ef8ef3d' },
        build: build({ totalSteps: 3 })
      },
      ['✅ build succeeded, cache off — 0 of 3 steps from cache', '| Tools | docker 27.1.1; github.com/docker/buildx v0.16.2 ef8ef3d |'],
      ['Cache mode', 'Restored', 'Saved', 'miss']
    ],
    [
      'mode=max lowered to min',
      report({ exportMode: 'min', modeFallback: 'the last mode=max export was 5368709120 bytes, over cache-max-size (4294967296 bytes)' }),
      ['| Cache mode | mode=min (lowered from max: the last mode=max export was 5368709120 bytes, over cache-max-size (4294967296 bytes)) |'],
      []
    ],
    [
      'a new cache over cache-max-size',
      report({ newCache: { key: 'k-2', bytes: 5 * 1024 * MiB, overLimit: 4 * 1024 * MiB } }),
      ['| New cache | 5.0 GiB, key `k-2` — over cache-max-size (4.0 GiB): next run exports mode=min |'],
      []
    ],
    [
      'warnings are listed',
      report({
        warnings: ['the Actions cache service is not available to this job; the new cache was not saved', 'cache restore failed: 503'],
        save: { status: 'not-saved', key: 'k-2', note: 'the Actions cache service is not available to this job' }
      }),
      [
        '**Warnings** (the build went on without the cache where needed):\n- the Actions cache service is not available to this job; the new cache was not saved\n- cache restore failed: 503',
        '| Saved | not saved: the Actions cache service is not available to this job (0 B uploaded) |'
      ],
      []
    ],
    [
      'cache-save false',
      report({ save: { status: 'disabled', key: 'k-2', note: 'cache-save is false (restore only)' } }),
      ['| Saved | skipped: cache-save is false (restore only) (0 B uploaded) |'],
      []
    ],
    [
      'a save that failed',
      report({ save: { status: 'failed', key: 'k-2', note: 'cache save failed: socket hang up' } }),
      ['| Saved | not saved: cache save failed: socket hang up (0 B uploaded) |'],
      []
    ],
    [
      'no build ran',
      report({ build: undefined, newCache: undefined, rotation: undefined, save: undefined }),
      ['### buildx-cache-action: ⚠️ no build ran, cache miss (cold build)\n'],
      ['steps from cache']
    ],
    [
      'where the time went',
      report({
        phases: [
          { name: 'Restore cache', ms: 1500 },
          { name: 'Build', ms: 30250 }
        ],
        build: build({ cacheImportMs: 120, cacheExportMs: 2400 })
      }),
      [
        '| Phase | Time |\n|---|---|\n| Restore cache | 1.5 s |\n| Build | 30.3 s |\n| **Total** | **31.8 s** |',
        'Inside the build, BuildKit reported: cache import 0.1 s, cache export 2.4 s.'
      ],
      []
    ],
    [
      'the builder booted alongside the restore',
      report({
        phases: [
          { name: 'Restore cache', ms: 4000 },
          { name: 'Create docker-container builder', ms: 2500, alongside: 1 },
          { name: 'Build', ms: 30000 }
        ]
      }),
      ['| Create docker-container builder (alongside the line above) | 2.5 s |', '| **Total** | **34.0 s** |'],
      ['Restore cache (alongside']
    ],
    [
      'the builder booted alongside the tool check and the restore',
      report({
        phases: [
          { name: 'Check docker and buildx', ms: 200 },
          { name: 'Restore cache', ms: 300 },
          { name: 'Create docker-container builder', ms: 900, alongside: 2 },
          { name: 'Build', ms: 1000 }
        ]
      }),
      ['| Create docker-container builder (alongside the 2 lines above) | 0.9 s |', '| **Total** | **1.9 s** |'],
      []
    ],
    ['no phases, no phase table', report(), ['| Restored |'], ['| Phase |', 'Inside the build']],
    [
      'a long list of steps is cut at 20',
      report({ build: build({ totalSteps: 25, stepsRun: Array.from({ length: 25 }, (_, i) => `[s ${i + 1}/25] RUN step ${i + 1}`) }) }),
      ['- `[s 20/25] RUN step 20`\n- … and 5 more'],
      ['step 21']
    ],
    [
      'cache mounts: one per row, restored or not, and what was stored',
      report({
        mounts: [
          { id: 'npm', restoredBytes: 120 * MiB, unpacked: 'before-build', savedBytes: 125 * MiB, outcome: 'extracted' },
          { id: 'pip', restoredBytes: 30 * MiB, unpacked: 'on-demand', savedBytes: 31 * MiB, outcome: 'extracted' },
          { id: '/root/.cache/go-build', outcome: 'extracted', savedBytes: 2 * MiB },
          { id: 'apt', restoredBytes: 40 * MiB, savedBytes: 40 * MiB, outcome: 'kept' },
          { id: 'cargo', restoredBytes: 9 * MiB, savedBytes: 9 * MiB, outcome: 'kept', note: 'a step using it finished before the mount could be restored; the saved contents are kept' },
          { id: 'big', outcome: 'skipped', note: '5 GiB does not fit in cache-max-size' },
          { id: 'x|y', outcome: 'failed', note: 'could not be read back from the builder' }
        ]
      }),
      [
        '| Cache mount | Restored into the builder | Stored with the new cache |',
        '| `npm` | 120 MiB | 125 MiB, read back after the build |',
        '| `pip` | 30 MiB, when a step using it ran | 31 MiB, read back after the build |',
        '| `/root/.cache/go-build` | no (empty mount) | 2.0 MiB, read back after the build |',
        '| `apt` | not needed (40 MiB saved): no step using it ran | 40 MiB, unchanged: no step using it ran |',
        '| `cargo` | not needed (9.0 MiB saved): no step using it ran | 9.0 MiB, unchanged (a step using it finished before the mount could be restored; the saved contents are kept) |',
        '| `big` | no (empty mount) | not saved (5 GiB does not fit in cache-max-size) |',
        '| `x\\|y` | no (empty mount) | not saved: could not be read back from the builder |'
      ],
      []
    ],
    ['no cache mounts, no mount table', report({ mounts: [] }), ['| Saved |'], ['Cache mount']]
  ])('[%#] %s', (_name, run, present, absent) => {
    const markdown = renderSummary(run)
    for (const text of present) expect(markdown).toContain(text)
    for (const text of absent) expect(markdown).not.toContain(text)
  })

  test('the summary ends with a newline and has no empty sections', () => {
    const markdown = renderSummary(report())
    expect(markdown.endsWith('\n')).toBe(true)
    expect(markdown).not.toMatch(/\n\n\n/)
  })

  // Each row puts hostile text (a pipe, a backtick, a newline) where the table shows it.
  test.each<[string, Partial<RunReport>]>([
    ['a new cache key', { newCache: { key: 'my|key`x`', bytes: 1 } }],
    ['a restored key', { restore: { hit: 'partial', key: 'my|key`x`' } }],
    ['a saved key', { save: { status: 'saved', key: 'my|key`x`' } }],
    ['a build error', { build: build({ succeeded: false, error: 'ERROR: a | b `c`\nsecond line' }) }],
    ['a save failure', { save: { status: 'failed', key: 'k', note: 'cache save failed: 503 | Service Unavailable\nretry later' } }],
    ['a restore note', { restore: { hit: 'miss', note: 'restore failed | see log\nnext line' } }],
    ['a rotation note', { rotation: { replaced: false, note: 'the new export is incomplete (Unexpected token \'|\'\nin JSON); the previous cache is kept' } }]
  ])('[%#] %s stays in its table cell', (_name, overrides) => {
    const table = renderSummary(report(overrides))
      .split('\n\n')
      .find(section => section.startsWith('| | |'))!
    const rows = table.trimEnd().split('\n')
    expect(rows.length).toBeGreaterThan(2)
    for (const row of rows) {
      expect(row).toMatch(/^\|.*\|$/)
      const rowCells = cells(row)
      expect(rowCells).toHaveLength(2)
      // An odd number of backticks would leave a code span open into the next cell.
      for (const cell of rowCells) expect((cell.match(/`/g) ?? []).length % 2).toBe(0)
    }
  })

  test('code spans turn backticks into quotes and escape pipes', () => {
    const markdown = renderSummary(report({ newCache: { key: 'my|key`x`', bytes: 1 } }))
    expect(markdown).toContain("| New cache | 1 B, key `my\\|key'x'` |")
  })
})

describe('totalMs', () => {
  const p = (ms: number, alongside?: number): PhaseTiming => ({ name: `${ms}`, ms, alongside })

  // A phase that ran alongside the ones just before it adds only the time it outlasted them.
  test.each<[PhaseTiming[], number]>([
    [[], 0],
    [[p(1000), p(2000)], 3000],
    [[p(4000), p(2500, 1), p(30000)], 34000],
    [[p(2000), p(5000, 1)], 5000],
    [[p(2000), p(2000, 1)], 2000],
    [[p(2000, 1), p(1000)], 3000],
    [[p(1000), p(2000, 0)], 3000],
    [[p(100), p(300), p(1000, 2)], 1000],
    [[p(100), p(300), p(350, 2)], 400],
    [[p(5000), p(100), p(300), p(1000, 2)], 6000],
    [[p(100), p(1000, 5)], 1000]
  ])('[%#] %j adds up to %d ms', (phases, expected) => {
    expect(totalMs(phases)).toBe(expected)
  })
})

describe('warner', () => {
  test.each<[boolean | undefined, string[]]>([
    [undefined, ['cache restore failed']],
    [false, ['cache restore failed']],
    [true, []]
  ])('[%#] alreadyLogged %p: the summary gets the warning, the log gets %j', (alreadyLogged, logged) => {
    const run = emptyReport('max')
    const log: string[] = []
    warner(run, message => log.push(message))('cache restore failed', alreadyLogged)
    expect(run.warnings).toEqual(['cache restore failed'])
    expect(log).toEqual(logged)
  })
})
