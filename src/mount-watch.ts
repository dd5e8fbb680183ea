import { stepCacheMounts } from './cache-mounts.js'
import { LAYER_TRANSFER, VERTEX_LINE } from './progress.js'

/**
 * Watches the build's plain progress for a step that uses one of the watched cache mounts and
 * runs (is not taken from the cache). Such a step needs the mount's saved contents, so the build
 * is stopped, the mounts are restored, and the build starts again; a build in which no such step
 * runs never pays for moving the mounts into the builder.
 *
 * BuildKit prints a cached step's header and CACHED together, and a step taken from the cache
 * whose layers a later step needs shows their download lines. Anything else (command output,
 * DONE, ERROR, or nothing for `graceMs`) means the step is running. While `busy` says layers are
 * being fetched for BuildKit, silence is not taken as running: a download can precede its lines.
 */
export class MountStepWatch {
  private readonly names = new Map<number, string>()
  private readonly pending = new Map<number, NodeJS.Timeout>()
  private fired = false
  private buffered = ''

  private readonly graceMs: number
  private readonly busy: () => boolean

  constructor(
    private readonly mountIds: Set<string>,
    private readonly onNeeded: (step: string) => void,
    options: { graceMs?: number; busy?: () => boolean } = {}
  ) {
    this.graceMs = options.graceMs ?? DEFAULT_GRACE_MS
    this.busy = options.busy ?? (() => false)
  }

  /** Accepts output in arbitrary chunks. */
  write(chunk: string): void {
    const lines = (this.buffered + chunk).split(/\r?\n/)
    this.buffered = lines.pop() ?? ''
    for (const line of lines) this.line(line)
  }

  /** Stops the timers; nothing fires after this. */
  close(): void {
    this.fired = true
    for (const timer of this.pending.values()) clearTimeout(timer)
    this.pending.clear()
  }

  private line(text: string): void {
    const match = VERTEX_LINE.exec(text.trimEnd())
    if (!match || this.fired) return
    const id = Number(match[1])
    const rest = match[2]
    const name = this.names.get(id)
    if (name === undefined) {
      this.names.set(id, rest)
      if (usesMount(rest, this.mountIds)) this.wait(id)
      return
    }
    if (!this.pending.has(id) || rest === name) return
    if (rest === 'CACHED' || LAYER_TRANSFER.test(rest)) this.settle(id)
    else this.needed(id)
  }

  private wait(id: number): void {
    this.pending.set(id, setTimeout(() => (this.busy() ? this.wait(id) : this.needed(id)), this.graceMs))
  }

  private settle(id: number): void {
    clearTimeout(this.pending.get(id))
    this.pending.delete(id)
  }

  private needed(id: number): void {
    if (this.fired) return
    const step = this.names.get(id) ?? `#${id}`
    this.close()
    this.onNeeded(step)
  }
}

/** One second: long enough for the CACHED line that follows a cached step's header, short for a step that runs. */
export const DEFAULT_GRACE_MS = 1000

/**
 * Whether a step's progress name ("[deps 2/3] RUN --mount=type=cache,id=npm,... npm ci") mounts
 * one of `mountIds`. An id written as a variable could be any of them.
 */
export function usesMount(stepName: string, mountIds: Set<string>): boolean {
  return stepCacheMounts(stepName).some(mount => mountIds.has(mount.id) || mount.id.includes('$'))
}
