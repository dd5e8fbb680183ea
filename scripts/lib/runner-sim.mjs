// Runs the bundled action the way the GitHub runner does: INPUT_* variables, the GITHUB_OUTPUT /
// GITHUB_STATE / GITHUB_STEP_SUMMARY files, and STATE_* variables for the post step.
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/** Parses the runner's file-command format: `name=value` lines and `name<<DELIM ... DELIM` blocks. */
export function parseFileCommands(text) {
  const values = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i])
    if (heredoc) {
      const body = []
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) body.push(lines[i])
      values[heredoc[1]] = body.join('\n')
    } else if (lines[i].includes('=')) {
      const at = lines[i].indexOf('=')
      values[lines[i].slice(0, at)] = lines[i].slice(at + 1)
    }
  }
  return values
}

function inputEnv(inputs) {
  return Object.fromEntries(Object.entries(inputs).map(([name, value]) => [`INPUT_${name.replace(/ /g, '_').toUpperCase()}`, String(value)]))
}

/**
 * One runner: a workspace and a RUNNER_TEMP that survive between steps of a job. A "fresh runner"
 * is the same paths wiped clean, as on GitHub's hosted runners, where RUNNER_TEMP is the same path
 * on every machine (which matters: the cache entry's version hashes the cached path).
 */
export class SimulatedRunner {
  constructor({ root, workspace, env = {} }) {
    this.root = root
    this.workspace = workspace
    this.temp = path.join(root, 'temp')
    this.env = env
    this.reset()
  }

  reset() {
    fs.rmSync(this.temp, { recursive: true, force: true })
    fs.mkdirSync(this.temp, { recursive: true })
    fs.mkdirSync(path.join(this.root, 'files'), { recursive: true })
  }

  /**
   * Runs main then post (post-if: always()), like a job with one `uses:` step. `beforePost` runs
   * between the two, for tests that need another job to act in that gap.
   */
  async runJob(inputs, { env: extraEnv = {}, beforePost } = {}) {
    const files = this.jobFiles()
    const main = await this.runEntry('main', inputs, files, {}, extraEnv)
    const state = parseFileCommands(fs.readFileSync(files.state, 'utf8'))
    if (beforePost) await beforePost(state.run ? JSON.parse(state.run) : undefined)
    const stateEnv = Object.fromEntries(Object.entries(state).map(([name, value]) => [`STATE_${name}`, value]))
    const post = await this.runEntry('post', inputs, files, stateEnv, extraEnv)
    const postState = parseFileCommands(fs.readFileSync(files.state, 'utf8'))
    return {
      main,
      post,
      outputs: parseFileCommands(fs.readFileSync(files.output, 'utf8')),
      state,
      summary: fs.readFileSync(files.summary, 'utf8'),
      report: postState.report ? JSON.parse(postState.report) : state.run ? JSON.parse(state.run).report : undefined
    }
  }

  jobFiles() {
    const dir = fs.mkdtempSync(path.join(this.root, 'files', 'job-'))
    const files = { output: path.join(dir, 'output'), state: path.join(dir, 'state'), summary: path.join(dir, 'summary') }
    for (const file of Object.values(files)) fs.writeFileSync(file, '')
    return files
  }

  runEntry(entry, inputs, files, stateEnv, extraEnv) {
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKSPACE: this.workspace,
      GITHUB_OUTPUT: files.output,
      GITHUB_STATE: files.state,
      GITHUB_STEP_SUMMARY: files.summary,
      GITHUB_RUN_ID: String(process.pid),
      GITHUB_RUN_ATTEMPT: '1',
      RUNNER_TEMP: this.temp,
      RUNNER_TOOL_CACHE: path.join(this.root, 'toolcache'),
      RUNNER_OS: 'Linux',
      RUNNER_ARCH: 'X64',
      ...this.env,
      ...extraEnv,
      ...inputEnv(inputs),
      ...stateEnv
    }
    return runNode(path.join(ROOT, 'dist', entry, 'index.js'), env, this.workspace)
  }
}

function runNode(script, env, cwd) {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const child = spawn(process.execPath, [script], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let log = ''
    child.stdout.on('data', chunk => (log += chunk))
    child.stderr.on('data', chunk => (log += chunk))
    child.on('error', reject)
    child.on('close', code => resolve({ exitCode: code ?? 1, log, ms: Date.now() - started }))
  })
}
