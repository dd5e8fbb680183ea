import { clearCacheService, removeScratch } from './testbed.js'

// Each test file's workspaces, runner directories and caches (hundreds of MB) go when the file is
// done, and so do the cache service's entries (each file uses keys of its own).
afterAll(async () => {
  removeScratch()
  await clearCacheService()
})
