// index.d.ts types the whole API: a strict TypeScript program using it compiles, wrong uses don't.
import test from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'
import { packageDir } from './helpers.mjs'

test('a strict TypeScript program type-checks against index.d.ts', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  const out = execFileSync(process.execPath, [tsc, '-p', path.join(packageDir, '__test__', 'types', 'tsconfig.json')], { encoding: 'utf8' })
  assert.equal(out, '')
})
