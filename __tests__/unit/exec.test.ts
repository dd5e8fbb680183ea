import { runCancellable } from '../../src/exec.js'

describe('runCancellable', () => {
  test('runs to the end when not stopped, with its output and exit code', async () => {
    const result = await runCancellable('sh', ['-c', 'echo out; echo err >&2; exit 3'], { signal: new AbortController().signal, silent: true })
    expect(result).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', cancelled: false })
  })

  test('the signal interrupts the whole process group, as Ctrl-C would', async () => {
    const stop = new AbortController()
    // The shell runs its trap only once its foreground child has ended: signalled alone, it would wait
    // out the sleep and be killed after the grace period (exit code 1, not 130).
    // The child says "started" itself, so it is there to be signalled when the abort comes.
    const script = 'trap "echo interrupted >&2; exit 130" INT; sh -c "echo started >&2; exec sleep 30"'
    const result = await runCancellable('sh', ['-c', script], { signal: stop.signal, silent: true, onStderr: chunk => chunk.includes('started') && stop.abort() })
    expect(result.cancelled).toBe(true)
    expect(result.exitCode).toBe(130)
    expect(result.stderr).toContain('interrupted')
  })

  test('a SIGINT this process gets (the runner cancelling the job) is passed on to the command', async () => {
    const listeners = process.listenerCount('SIGINT')
    const script = 'trap "echo interrupted >&2; exit 130" INT; sh -c "echo started >&2; exec sleep 30"'
    // process.emit runs the listeners as the signal would, without signalling the test runner itself.
    const onStderr = (chunk: string): unknown => chunk.includes('started') && process.emit('SIGINT', 'SIGINT')
    const result = await runCancellable('sh', ['-c', script], { signal: new AbortController().signal, silent: true, onStderr })
    expect(result).toMatchObject({ cancelled: false, exitCode: 130 })
    expect(process.listenerCount('SIGINT')).toBe(listeners)
  })
})
