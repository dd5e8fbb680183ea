#!/usr/bin/env node
// Runs the action's job on this machine as a GitHub runner would: cold, then warm on a fresh runner,
// on examples/parallel-stages. Sets up the testbed first (idempotent). Usage: npm run demo
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { SimulatedRunner } from './lib/runner-sim.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const TESTBED_STATE = process.env.TESTBED_STATE || '/var/lib/buildx-cache-testbed'
const TESTBED_CACHE = process.env.TESTBED_CACHE || '/var/cache/buildx-cache-testbed'

function setUpTestbed() {
  if (!process.argv.includes('--no-setup')) execFileSync('bash', [path.join(ROOT, 'scripts/testbed/setup.sh')], { stdio: 'inherit' })
  execFileSync('bash', [path.join(ROOT, 'scripts/testbed/cache-service/start.sh')], { stdio: 'inherit' })
  if (!fs.existsSync(path.join(ROOT, 'dist/main/index.js'))) execFileSync('npm', ['run', '-s', 'package'], { cwd: ROOT, stdio: 'inherit' })
  const env = {}
  for (const line of fs.readFileSync(path.join(TESTBED_STATE, 'cache-service.env'), 'utf8').split('\n')) {
    const match = /^export ([A-Z_0-9]+)=(.*)$/.exec(line)
    if (match) env[match[1]] = match[2]
  }
  return env
}

function row(label, job) {
  const report = job.report
  const phase = name => {
    const found = report.phases.find(p => p.name.startsWith(name))
    return found ? (found.ms / 1000).toFixed(1) : '-'
  }
  return [
    label,
    job.outputs['cache-hit'],
    `${job.outputs['cached-steps']}/${job.outputs['total-steps']}`,
    phase('Create'),
    phase('Restore'),
    phase('Build'),
    phase('Rotate'),
    phase('Save'),
    ((job.main.ms + job.post.ms) / 1000).toFixed(1),
    mb(report.restore?.archiveBytes),
    report.save?.status === 'saved' ? mb(report.save.archiveBytes) : '0 (' + report.save?.status + ')'
  ]
}

function mb(bytes) {
  return bytes === undefined ? '0' : `${(bytes / 1024 / 1024).toFixed(1)} MB`
}

function printTable(rows) {
  const header = ['run', 'cache-hit', 'steps cached', 'builder s', 'restore s', 'build s', 'rotate s', 'save s', 'job s', 'downloaded', 'uploaded']
  const all = [header, ...rows]
  const widths = header.map((_, i) => Math.max(...all.map(r => String(r[i]).length)))
  for (const r of all) console.log('| ' + r.map((cell, i) => String(cell).padEnd(widths[i])).join(' | ') + ' |')
}

async function main() {
  const serviceEnv = setUpTestbed()
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'bca-demo-'))
  fs.cpSync(path.join(ROOT, 'examples/parallel-stages'), workspace, { recursive: true })
  const runner = new SimulatedRunner({ root: fs.mkdtempSync(path.join(os.tmpdir(), 'bca-demo-runner-')), workspace, env: serviceEnv })
  const inputs = {
    context: '.',
    'build-contexts': `busybox:1.36=oci-layout://${path.join(TESTBED_CACHE, 'base/busybox')}`,
    'cache-key': `demo-${Date.now().toString(36)}`
  }
  const rows = []
  let last
  try {
    for (const label of ['cold', 'warm (fresh runner)']) {
      runner.reset()
      console.log(`\n--- ${label} run ---`)
      last = await runner.runJob(inputs)
      if (last.main.exitCode !== 0 || last.post.exitCode !== 0) {
        console.log(last.main.log, last.post.log)
        throw new Error(`${label} run failed`)
      }
      rows.push(row(label, last))
    }
  } finally {
    for (const dir of [workspace, runner.root]) fs.rmSync(dir, { recursive: true, force: true })
  }
  console.log('\n')
  printTable(rows)
  console.log('\nJob summary of the warm run:\n')
  console.log(last.summary)
}

main().catch(error => {
  console.error(error.message)
  process.exit(1)
})
