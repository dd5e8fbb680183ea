// Cache entry metadata, kept in memory and mirrored to a JSON file so a restarted server still
// knows what Azurite holds. An entry is identified by (key, version, scope); it is "pending" from
// CreateCacheEntry until FinalizeCacheEntryUpload and only finalized entries are ever served.
import * as fs from 'node:fs'
import * as path from 'node:path'

export class EntryStore {
  constructor(file) {
    this.file = file
    this.entries = []
    this.nextId = 1
    this.load()
  }

  load() {
    if (!this.file || !fs.existsSync(this.file)) return
    const saved = JSON.parse(fs.readFileSync(this.file, 'utf8'))
    this.entries = saved.entries
    this.nextId = saved.nextId
  }

  persist() {
    if (!this.file) return
    fs.mkdirSync(path.dirname(this.file), { recursive: true })
    const tmp = `${this.file}.tmp`
    fs.writeFileSync(tmp, JSON.stringify({ nextId: this.nextId, entries: this.entries }, null, 2))
    fs.renameSync(tmp, this.file)
  }

  find(key, version, scope) {
    return this.entries.find(e => e.key === key && e.version === version && e.scope === scope)
  }

  /** Reserves (key, version, scope); returns undefined when it is already taken, pending or not. */
  reserve(key, version, scope) {
    if (this.find(key, version, scope)) return undefined
    const id = this.nextId++
    const entry = { id, key, version, scope, blobName: `entries/${id}`, size: 0, createdAt: new Date().toISOString(), finalizedAt: null }
    this.entries.push(entry)
    this.persist()
    return entry
  }

  finalize(entry, size) {
    entry.size = size
    entry.finalizedAt = new Date().toISOString()
    this.persist()
  }

  /**
   * Resolves a restore the way GitHub documents it: in each readable scope in turn, the exact
   * primary key, then the primary key as a prefix, then each restore key as a prefix; among
   * several prefix matches the most recently created wins. Only finalized entries of the same version count.
   */
  lookup(key, restoreKeys, version, scopes) {
    for (const scope of scopes) {
      const candidates = this.entries
        .filter(e => e.scope === scope && e.version === version && e.finalizedAt)
        .sort((a, b) => b.id - a.id) // ids grow with creation time: newest first
      const exact = candidates.find(e => e.key === key)
      if (exact) return exact
      for (const prefix of [key, ...restoreKeys]) {
        const match = candidates.find(e => e.key.startsWith(prefix))
        if (match) return match
      }
    }
    return undefined
  }

  matching({ key, version, scope }) {
    return this.entries.filter(
      e => (key === undefined || e.key === key) && (version === undefined || e.version === version) && (scope === undefined || e.scope === scope)
    )
  }

  clear() {
    const removed = this.entries
    this.entries = []
    this.persist()
    return removed
  }
}
