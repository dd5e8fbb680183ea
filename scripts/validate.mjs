#!/usr/bin/env node
// Validates action.yml and the workflows against their schemas with @action-validator/cli.
// Its bundled schema (0.6.0) predates `using: node24` and knows only node12/16/20, so action.yml
// is checked as a copy with node24 read as node20, after checking that it really says node24.
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

const validator = path.resolve('node_modules/.bin/action-validator')
const validate = file => execFileSync(validator, [file], { stdio: 'inherit' })

const action = fs.readFileSync('action.yml', 'utf8')
if (!/^\s+using: node24$/m.test(action)) throw new Error('action.yml: expected runs.using: node24')
const copy = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'validate-')), 'action.yml')
fs.writeFileSync(copy, action.replace(/^(\s+using: )node24$/m, '$1node20'))
validate(copy)
for (const workflow of fs.readdirSync('.github/workflows')) validate(path.join('.github/workflows', workflow))
console.log('action.yml and workflows are valid')
