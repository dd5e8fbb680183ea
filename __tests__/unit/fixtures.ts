import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import type { RunnerInfo } from '../../src/cache-keys.js'
import type { Input } from '../../src/constants.js'
import { InputError, parseInputs, type ActionInputs, type InputReader } from '../../src/inputs.js'

/** Action inputs as a workflow spells them; a misspelt input name is a type error. */
export type InputValues = Partial<Record<`${Input}`, string>>

/** Reads like core.getInput: an input the workflow does not set reads as ''. */
export function inputReader(values: InputValues): InputReader {
  return name => values[name as `${Input}`] ?? ''
}

/**
 * A checked-out repository in a temp dir:
 *   Dockerfile, app/Dockerfile, docker/Dockerfile.prod, and empty/ (a context with no Dockerfile).
 * Made synchronously so test tables can name its paths; remove it in afterAll.
 */
export interface Workspace {
  dir: string
  /** Absolute path of a file in the workspace. */
  at(relative: string): string
  parse(values?: InputValues): ActionInputs
  /** The InputError that parsing these values throws; fails the test when none is thrown. */
  parseError(values: InputValues): InputError
  remove(): void
}

export function makeWorkspace(): Workspace {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildx-cache-ws-'))
  const files: Record<string, string> = {
    Dockerfile: 'FROM alpine:3.20\nRUN echo root\n',
    'app/Dockerfile': 'FROM alpine:3.20\nRUN echo app\n',
    'docker/Dockerfile.prod': 'FROM alpine:3.20\nRUN echo prod\n'
  }
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
    fs.writeFileSync(path.join(dir, name), content)
  }
  fs.mkdirSync(path.join(dir, 'empty'))
  const parse = (values: InputValues = {}): ActionInputs => parseInputs(inputReader(values), dir)
  return {
    dir,
    at: relative => path.join(dir, relative),
    parse,
    parseError(values) {
      try {
        parse(values)
      } catch (error) {
        if (error instanceof InputError) return error
        throw error
      }
      throw new Error(`expected an InputError for ${JSON.stringify(values)}`)
    },
    remove: () => fs.rmSync(dir, { recursive: true, force: true })
  }
}

export function runnerOn(workspace: string, overrides: Partial<RunnerInfo> = {}): RunnerInfo {
  return { os: 'Linux', arch: 'X64', workspace, temp: '/runner/_temp', ...overrides }
}

/** Fresh temp dirs for each test, removed after it. Call at describe level. */
export function useTempDirs(): () => Promise<string> {
  const made: string[] = []
  afterEach(async () => {
    await Promise.all(made.splice(0).map(dir => fsp.rm(dir, { recursive: true, force: true })))
  })
  return async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'buildx-cache-test-'))
    made.push(dir)
    return dir
  }
}

export async function exists(target: string): Promise<boolean> {
  return fsp.access(target).then(
    () => true,
    () => false
  )
}
