import * as core from '@actions/core'
import type { RunReport } from './report.js'

/** What post needs from main. Saved whole after every change so a main that dies early still leaves a usable record. */
export interface RunState {
  builder?: string
  keepBuilder: boolean
  cacheDir?: string
  exportDir?: string
  keyPrefix?: string
  restoredKey?: string
  newKey?: string
  /** Every step came from the restored cache, so it is this build's cache as it is: no export, no rotation. */
  cacheReused?: boolean
  buildSucceeded: boolean
  cacheSave: boolean
  cacheMaxSize?: number
  report: RunReport
}

const STATE_KEY = 'run'

export function saveRunState(state: RunState): void {
  core.saveState(STATE_KEY, JSON.stringify(state))
}

export function loadRunState(): RunState | undefined {
  const text = core.getState(STATE_KEY)
  if (!text) return undefined
  try {
    return JSON.parse(text) as RunState
  } catch {
    return undefined
  }
}
