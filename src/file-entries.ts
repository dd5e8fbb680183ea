import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'

/**
 * Large files of the cache (layer blobs, cache-mount archives) travel as cache entries of their
 * own, keyed by content: a file the service already holds is never uploaded again, so a build
 * that changed one layer uploads that layer, not the whole cache. The main entry carries the
 * small files and a list of the large ones.
 */
export const SEPARATE_FILE_MIN_BYTES = 1024 * 1024
export const FILE_LIST = 'buildx-cache-action-files.json'
/**
 * Layer blobs of a restored cache left in the cache service until BuildKit asks for one (registry
 * transport): a build that takes a step from the cache without needing its layer never downloads it.
 * With cache-mounts-restore on-demand, mount archives too, until a step that uses the mount runs.
 */
export const REMOTE_LIST = 'buildx-cache-action-remote.json'

export interface SeparateFile {
  /** Relative to the cache directory, with forward slashes. */
  path: string
  sha256: string
  bytes: number
}

export function fileEntryKey(file: SeparateFile): string {
  return `buildx-cache-file-${file.sha256}`
}

/** Where a large file waits while the main entry is saved or restored: beside the cache directory, never inside it. */
export function stagingDir(dir: string): string {
  return `${dir}-files`
}

/** The path a file entry is saved from and restored to; part of the entry's version, so it must not vary. */
export function stagedPath(dir: string, file: SeparateFile): string {
  return path.join(stagingDir(dir), file.sha256)
}

/** Files large enough to travel alone. Blobs are named by their sha256 already; anything else is hashed. */
export async function listSeparateFiles(dir: string, minBytes = SEPARATE_FILE_MIN_BYTES): Promise<SeparateFile[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true, recursive: true })
  const files: SeparateFile[] = []
  for (const entry of entries) {
    if (!entry.isFile()) continue
    const full = path.join(entry.parentPath, entry.name)
    const { size } = await fs.stat(full)
    if (size < minBytes) continue
    const relative = path.relative(dir, full).split(path.sep).join('/')
    const sha256 = /^blobs\/sha256\/[0-9a-f]{64}$/.test(relative) ? entry.name : await fileSha256(full)
    files.push({ path: relative, sha256, bytes: size })
  }
  return files.sort((a, b) => a.path.localeCompare(b.path))
}

/** Moves the large files out, so the main entry holds only the small ones and the list (which also names files never downloaded). */
export async function stageFiles(dir: string, files: SeparateFile[], listed: SeparateFile[] = files): Promise<void> {
  await fs.rm(stagingDir(dir), { recursive: true, force: true })
  await fs.mkdir(stagingDir(dir), { recursive: true })
  for (const file of files) await fs.rename(path.join(dir, file.path), stagedPath(dir, file))
  await fs.writeFile(path.join(dir, FILE_LIST), JSON.stringify(listed, null, 1))
}

/** Puts staged files back where they belong; those not staged (not restored) are skipped. */
export async function unstageFiles(dir: string, files: SeparateFile[]): Promise<void> {
  for (const file of files) {
    const target = path.join(dir, file.path)
    await fs.mkdir(path.dirname(target), { recursive: true })
    await fs.rename(stagedPath(dir, file), target).catch(error => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    })
  }
  await fs.rm(path.join(dir, FILE_LIST), { force: true })
  await fs.rm(stagingDir(dir), { recursive: true, force: true })
}

/** The list a restored main entry carries; empty for a cache saved in one piece. */
export async function readFileList(dir: string): Promise<SeparateFile[]> {
  return readList(path.join(dir, FILE_LIST))
}

/** Files of this cache directory that are in the cache service but not on disk. */
export async function readRemoteList(dir: string): Promise<SeparateFile[]> {
  return readList(path.join(dir, REMOTE_LIST))
}

export async function writeRemoteList(dir: string, files: SeparateFile[]): Promise<void> {
  const file = path.join(dir, REMOTE_LIST)
  if (files.length === 0) await fs.rm(file, { force: true })
  else await fs.writeFile(file, JSON.stringify(files, null, 1))
}

async function readList(file: string): Promise<SeparateFile[]> {
  const text = await fs.readFile(file, 'utf8').catch(() => undefined)
  if (text === undefined) return []
  const files = JSON.parse(text) as SeparateFile[]
  for (const entry of files) {
    // The list comes from the cache service: a path that leaves the directory is not followed.
    if (!/^[0-9a-f]{64}$/.test(entry.sha256) || entry.path.startsWith('/') || entry.path.split('/').includes('..')) {
      throw new Error(`the restored file list names an invalid file: ${JSON.stringify(entry)}`)
    }
  }
  return files
}

/** Runs `task` over `items`, at most `limit` at a time, in order of the items. */
export async function mapLimit<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      results[i] = await task(items[i])
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}
