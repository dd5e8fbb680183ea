import { downgradeErrors, parseArchiveSize, parseWarnings, watchCacheLog } from '../../src/cache-log.js'

describe('parseArchiveSize', () => {
  test.each<[string, number | undefined]>([
    ['Cache Size: ~82 MB (86234567 B)', 86234567],
    ['Cache Size: ~0 MB (1234 B)', 1234],
    ['Received 86234567 of 86234567 (100.0%), 40.1 MBs/sec\nCache Size: ~82 MB (86234567 B)\nCache restored successfully\n', 86234567],
    ['::debug::File Size: 86234567\n', 86234567],
    ['Cache saved successfully\n::debug::File Size: 1048576\n::debug::Reserving Cache\n', 1048576],
    ['say ::debug::File Size: 10', undefined],
    ['::debug::File Size: 10 MB', undefined],
    ['Cache Size: ~82 MB', undefined],
    ['Cache saved with key: k-1', undefined],
    ['', undefined]
  ])('[%#] given %j returns %p', (text, expected) => {
    expect(parseArchiveSize(text)).toBe(expected)
  })
})

describe('parseWarnings', () => {
  test.each<[string, string[]]>([
    ['::warning::Failed to restore: Cache service responded with 503\n', ['Failed to restore: Cache service responded with 503']],
    ['::warning title=cache::Failed to save\n', ['Failed to save']],
    ['Cache not found for input keys: k-\n::warning::one\nplain line\n::warning::  two  \n', ['one', 'two']],
    ['::error::not a warning\n', []],
    ['::debug::x\n', []],
    ['text then ::warning::not at a line start\n', []],
    ['', []]
  ])('[%#] given %j returns %j', (text, expected) => {
    expect(parseWarnings(text)).toEqual(expected)
  })
})

describe('downgradeErrors', () => {
  test.each<[string, string]>([
    ['::error::Failed to save: 500\n', '::warning::Failed to save: 500\n'],
    ['::error file=a.ts,line=1::boom', '::warning file=a.ts,line=1::boom'],
    ['info\n::error::one\n::error::two\n', 'info\n::warning::one\n::warning::two\n'],
    ['::errors are plural', '::errors are plural'],
    ['said ::error::in the middle', 'said ::error::in the middle'],
    ['::warning::already a warning', '::warning::already a warning'],
    ['Cache Size: ~1 MB (1048576 B)', 'Cache Size: ~1 MB (1048576 B)']
  ])('[%#] given %j returns %j', (text, expected) => {
    expect(downgradeErrors(text)).toBe(expected)
  })
})

describe('watchCacheLog', () => {
  const realWrite = process.stdout.write
  /** What reached the real stdout; stands in for it so the test log stays clean. */
  let written: string[]
  let stdout: typeof process.stdout.write

  beforeEach(() => {
    written = []
    stdout = ((chunk: string | Uint8Array) => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString())
      return true
    }) as typeof process.stdout.write
    process.stdout.write = stdout
  })

  afterEach(() => {
    process.stdout.write = realWrite
  })

  /** What @actions/cache prints around a restore: a size line, a 5xx error annotation, in string and byte chunks. */
  async function restoreLikeTheLibrary(): Promise<string> {
    process.stdout.write('Received 1048576 of 1048576 (100.0%), 10.0 MBs/sec\n')
    process.stdout.write('Cache Size: ~1 MB (1048576 B)\n')
    process.stdout.write(Buffer.from('::error::Failed to restore: Cache service responded with 503\n'))
    process.stdout.write('::warning::Failed to save: reserve failed\n')
    return 'k-1'
  }

  test('reads the size and the warnings, and downgrades errors on their way out', async () => {
    expect(await watchCacheLog(restoreLikeTheLibrary)).toEqual({
      result: 'k-1',
      archiveBytes: 1048576,
      warnings: ['Failed to restore: Cache service responded with 503', 'Failed to save: reserve failed']
    })
    expect(written).toEqual([
      'Received 1048576 of 1048576 (100.0%), 10.0 MBs/sec\n',
      'Cache Size: ~1 MB (1048576 B)\n',
      '::warning::Failed to restore: Cache service responded with 503\n',
      '::warning::Failed to save: reserve failed\n'
    ])
  })

  test('a call that logs nothing gives no size and no warnings', async () => {
    expect(await watchCacheLog(async () => 7)).toEqual({ result: 7, archiveBytes: undefined, warnings: [] })
  })

  test.each<[string, () => Promise<unknown>]>([
    ['resolves', restoreLikeTheLibrary],
    [
      'throws',
      async () => {
        process.stdout.write('::error::half way\n')
        throw new Error('network down')
      }
    ]
  ])('[%#] after a call that %s, stdout is no longer rewritten', async (_name, call) => {
    await watchCacheLog(call).catch(() => undefined)
    written = []
    process.stdout.write('::error::a real error, later\n')
    expect(written).toEqual(['::error::a real error, later\n'])
  })

  test.each<[string, () => Promise<unknown>]>([
    ['resolves', async () => 'k-1'],
    [
      'throws',
      async () => {
        throw new Error('network down')
      }
    ]
  ])('[%#] after a call that %s, process.stdout.write is the very function it replaced', async (_name, call) => {
    await watchCacheLog(call).catch(() => undefined)
    expect(process.stdout.write).toBe(stdout)
  })

  /** One fetch of a layer as @actions/cache logs it, yielding between lines as a real download does. */
  async function fetchLogging(bytes: number, pause: number): Promise<number> {
    await new Promise(resolve => setTimeout(resolve, pause))
    process.stdout.write(`Cache Size: ~0 MB (${bytes} B)\n`)
    await new Promise(resolve => setTimeout(resolve, pause))
    process.stdout.write(`::error::slow entry ${bytes}\n`)
    return bytes
  }

  test('concurrent calls each read only the lines they wrote themselves', async () => {
    const [first, second, third] = await Promise.all([watchCacheLog(() => fetchLogging(100, 20)), watchCacheLog(() => fetchLogging(2000, 5)), watchCacheLog(() => fetchLogging(30000, 10))])
    expect(first).toEqual({ result: 100, archiveBytes: 100, warnings: ['slow entry 100'] })
    expect(second).toEqual({ result: 2000, archiveBytes: 2000, warnings: ['slow entry 2000'] })
    expect(third).toEqual({ result: 30000, archiveBytes: 30000, warnings: ['slow entry 30000'] })
    expect(written.filter(line => line.startsWith('::error'))).toEqual([])
  })

  test('when overlapping calls end in any order, stdout is the function they replaced, and lines outside them are untouched', async () => {
    let finishLong: () => void = () => undefined
    const long = watchCacheLog(() => new Promise<void>(resolve => (finishLong = resolve)))
    await watchCacheLog(async () => undefined)
    process.stdout.write('::error::not from the cache library\n')
    expect(written).toEqual(['::error::not from the cache library\n'])
    finishLong()
    await long
    expect(process.stdout.write).toBe(stdout)
  })

  test('the error of a failed call reaches the caller', async () => {
    await expect(
      watchCacheLog(async () => {
        throw new Error('network down')
      })
    ).rejects.toThrow('network down')
  })
})
