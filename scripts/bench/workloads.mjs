// The workloads: an example project and the changes each scenario applies to a copy of it. Plain
// data, so more can be added (e.g. one with extra action inputs: `inputs` goes to the action, and
// its `build-args` lines to the other configurations' builds as well).
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/** The scenarios measured after the seed (cold build + save), in this order, each on a fresh runner. */
export const SCENARIOS = ['no-change', 'one-stage', 'dep-change']
export const SCENARIO_LABELS = { seed: 'cold (seed)', 'no-change': 'no change', 'one-stage': 'one-stage change', 'dep-change': 'dependency change' }

function append(file, text) {
  fs.appendFileSync(file, text)
}

function replaceIn(file, pattern, replacement) {
  const before = fs.readFileSync(file, 'utf8')
  const after = before.replace(pattern, replacement)
  if (after === before) throw new Error(`${file}: ${pattern} not found`)
  fs.writeFileSync(file, after)
}

const STAGES = ['deps', 'assets', 'docs', 'tests']

export const WORKLOADS = {
  'parallel-stages': {
    example: 'parallel-stages',
    description: 'four parallel stages (each sleeps 3 s and writes 6 MB), a final stage copying them',
    inputs: {},
    changes: {
      'one-stage': { what: 'append a line to src/docs/README.txt (reruns docs and final\'s COPY)', apply: (ws, n) => append(path.join(ws, 'src/docs/README.txt'), `bench change ${n}\n`) },
      'dep-change': {
        what: 'edit the base stage\'s RUN (as a base image bump would): reruns base, all four stages and final',
        apply: (ws, n) => replaceIn(path.join(ws, 'Dockerfile'), /echo "base (?:\(rev \d+\) )?built/, `echo "base (rev ${n}) built`)
      }
    },
    /** The rounds of changes: one stage per round, in turn. */
    roundChange: (ws, round) => append(path.join(ws, 'src', STAGES[round % STAGES.length], 'README.txt'), `round ${round}\n`)
  },
  compile: {
    example: 'compile',
    description: '"install dependencies" (~15 s of sha256 on 2 cores), then "compile" src/*.c; small runtime stage',
    inputs: {},
    changes: {
      'one-stage': { what: 'edit src/util.c (reruns build, not deps)', apply: (ws, n) => append(path.join(ws, 'src/util.c'), `/* bench change ${n} */\n`) },
      'dep-change': { what: 'bump a version in deps.lock (reruns deps, then build)', apply: (ws, n) => replaceIn(path.join(ws, 'deps.lock'), /^zlib (\S+)$/m, `zlib $1.${n}`) }
    }
  },
  'cache-mounts': {
    example: 'cache-mounts',
    description: 'eight 16 MiB "downloads" (1 s each) into a RUN --mount=type=cache mount, keyed by deps.lock; compared with and without the cache-mounts input',
    inputs: { 'cache-mounts': 'downloads' },
    changes: {
      'one-stage': { what: 'edit src/app.txt (reruns only the final COPY)', apply: (ws, n) => append(path.join(ws, 'src/app.txt'), `bench change ${n}\n`) },
      'dep-change': { what: 'bump one package in deps.lock (reruns the download step: 1 package new, 7 in the mount if it was carried)', apply: (ws, n) => replaceIn(path.join(ws, 'deps.lock'), /^delta (\S+)/m, `delta $1.${n}`) }
    }
  },
  'large-layer': {
    example: 'large-layer',
    description: 'a ~300 MB incompressible intermediate layer (15 s to "fetch" it, then /dev/urandom), read by a later stage; small final stage',
    inputs: {},
    changes: {
      'one-stage': { what: 'edit src/app.txt (reruns only final\'s COPY and RUN)', apply: (ws, n) => append(path.join(ws, 'src/app.txt'), `bench change ${n}\n`) },
      'dep-change': { what: 'bump deps.lock (reruns the 300 MB data stage, index and final)', apply: (ws, n) => replaceIn(path.join(ws, 'deps.lock'), /^dataset (\S+)$/m, `dataset $1.${n}`) }
    }
  }
}

/** Build args the non-action configurations pass, so every configuration builds the same thing. */
export function buildArgsOf(workload) {
  return (workload.inputs['build-args'] ?? '').split('\n').map(line => line.trim()).filter(Boolean)
}

/** A fresh copy of the workload's example under `parent`, for changes to be applied to. */
export function copyWorkspace(workload, parent, label) {
  const dir = fs.mkdtempSync(path.join(parent ?? os.tmpdir(), `ws-${label}-`))
  fs.cpSync(path.join(ROOT, 'examples', workload.example), dir, { recursive: true })
  return dir
}
