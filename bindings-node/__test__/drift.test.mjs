// The committed index.js / index.d.ts are what `napi build` generates from the Rust sources.
// Regenerates them into a temporary folder with the package's own build script and compares.
// Set KM_NODE_UPDATE_GENERATED=1 to copy the regenerated files over the committed ones.
import test from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, copyFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { packageDir } from './helpers.mjs'

test('index.js and index.d.ts match a fresh `napi build`', { timeout: 20 * 60_000 }, () => {
  const out = mkdtempSync(path.join(tmpdir(), 'km-node-drift-'))
  try {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
    execFileSync(npm, ['run', '--silent', 'build:debug', '--', '--output-dir', out], { cwd: packageDir, stdio: ['ignore', 'ignore', 'inherit'] })
    for (const file of ['index.js', 'index.d.ts']) {
      const fresh = readFileSync(path.join(out, file), 'utf8')
      if (process.env.KM_NODE_UPDATE_GENERATED === '1') copyFileSync(path.join(out, file), path.join(packageDir, file))
      const committed = readFileSync(path.join(packageDir, file), 'utf8')
      assert.equal(committed, fresh, `${file} is stale: run \`npm run build\` in bindings-node and commit it`)
    }
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
})
