import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { FILE_LIST, fileEntryKey, listSeparateFiles, mapLimit, readFileList, stagedPath, stageFiles, stagingDir, unstageFiles } from '../../src/file-entries.js'

const sha = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex')

const made: string[] = []
afterAll(() => {
  for (const dir of made) for (const leftover of [dir, stagingDir(dir)]) fs.rmSync(leftover, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bca-files-'))
  made.push(dir)
  return dir
}

/** A cache directory with two large blobs, a small blob, a large mount archive and small files. */
function cacheDir(): { dir: string; big: Buffer; mount: Buffer } {
  const dir = tempDir()
  const big = Buffer.alloc(2 * 1024 * 1024, 1)
  const other = Buffer.alloc(1024 * 1024, 2)
  const mount = Buffer.alloc(1536 * 1024, 3)
  fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true })
  fs.mkdirSync(path.join(dir, 'mounts'))
  fs.writeFileSync(path.join(dir, 'blobs', 'sha256', sha(big)), big)
  fs.writeFileSync(path.join(dir, 'blobs', 'sha256', sha(other)), other)
  fs.writeFileSync(path.join(dir, 'blobs', 'sha256', sha('small')), 'small')
  fs.writeFileSync(path.join(dir, 'mounts', 'npm-12345678.tar'), mount)
  fs.writeFileSync(path.join(dir, 'index.json'), '{}')
  return { dir, big, mount }
}

function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {}
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) files[path.relative(dir, path.join(entry.parentPath, entry.name))] = sha(fs.readFileSync(path.join(entry.parentPath, entry.name)))
  }
  return files
}

describe('large files as entries of their own', () => {
  test('files of 1 MiB or more are listed by content: blobs by their name, others by their hash', async () => {
    const { dir, big, mount } = cacheDir()
    const files = await listSeparateFiles(dir)
    expect(files.map(f => f.bytes).sort((a, b) => a - b)).toEqual([1024 * 1024, 1536 * 1024, 2 * 1024 * 1024])
    expect(files.map(f => f.path)).toContain('mounts/npm-12345678.tar')
    expect(files.find(f => f.bytes === big.length)?.sha256).toBe(sha(big))
    expect(files.find(f => f.path === 'mounts/npm-12345678.tar')?.sha256).toBe(sha(mount))
    expect(fileEntryKey(files[0])).toBe(`buildx-cache-file-${files[0].sha256}`)
  })

  test('staging moves large files beside the directory with a list, and unstaging restores it exactly', async () => {
    const { dir } = cacheDir()
    const before = snapshot(dir)
    const files = await listSeparateFiles(dir)
    await stageFiles(dir, files)
    expect(Object.keys(snapshot(dir)).sort()).toEqual([FILE_LIST, 'blobs/sha256/' + sha('small'), 'index.json'].sort())
    for (const file of files) expect(fs.existsSync(stagedPath(dir, file))).toBe(true)
    expect(await readFileList(dir)).toEqual(files)
    await unstageFiles(dir, files)
    expect(snapshot(dir)).toEqual(before)
    expect(fs.existsSync(stagingDir(dir))).toBe(false)
  })

  test('unstaging skips files that never arrived (a restore that missed some), leaving them missing', async () => {
    const { dir } = cacheDir()
    const files = await listSeparateFiles(dir)
    await stageFiles(dir, files)
    fs.rmSync(stagedPath(dir, files[0]))
    await unstageFiles(dir, files)
    expect(fs.existsSync(path.join(dir, files[0].path))).toBe(false)
    expect(fs.existsSync(path.join(dir, files[1].path))).toBe(true)
  })

  test('a cache saved in one piece has no list', async () => {
    expect(await readFileList(tempDir())).toEqual([])
  })

  test.each([
    [{ path: '../../etc/passwd', sha256: 'a'.repeat(64), bytes: 1 }],
    [{ path: '/etc/passwd', sha256: 'a'.repeat(64), bytes: 1 }],
    [{ path: 'blobs/x', sha256: '../x', bytes: 1 }]
  ])('[%#] a list naming a path outside the directory is refused: %j', async entry => {
    const dir = tempDir()
    fs.writeFileSync(path.join(dir, FILE_LIST), JSON.stringify([entry]))
    await expect(readFileList(dir)).rejects.toThrow('invalid file')
  })
})

describe('mapLimit', () => {
  test('keeps the order of the items and never runs more than the limit at once', async () => {
    let running = 0
    let peak = 0
    const results = await mapLimit([5, 1, 4, 2, 3], 2, async n => {
      running++
      peak = Math.max(peak, running)
      await new Promise(resolve => setTimeout(resolve, n * 3))
      running--
      return n * 10
    })
    expect(results).toEqual([50, 10, 40, 20, 30])
    expect(peak).toBe(2)
  })

  test('no items, no work', async () => {
    expect(await mapLimit([], 4, async () => 1)).toEqual([])
  })
})
