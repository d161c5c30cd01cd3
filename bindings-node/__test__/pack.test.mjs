// `npm pack` gives an installable package, and the README quick start runs from an install of it.
import test, { before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { packageDir, startLoopback, km } from './helpers.mjs'

let work
let server

before(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'km-node-pack-'))
  server = await startLoopback()
})
after(async () => {
  await server.stop()
  rmSync(work, { recursive: true, force: true })
})

/** The first ```js block after the "## Quick start" heading of README.md. */
function quickStart () {
  const readme = readFileSync(path.join(packageDir, 'README.md'), 'utf8')
  const section = readme.split('## Quick start')[1]
  assert.ok(section, 'README.md has a "## Quick start" section')
  const m = /```js\n([\s\S]*?)```/.exec(section)
  assert.ok(m, 'the quick start has a ```js block')
  return m[1]
}

test('npm pack, npm install of the tarball, then the README quick start against a loopback cluster', { timeout: 300_000 }, async () => {
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: packageDir, encoding: 'utf8' }))
  const files = packed[0].files.map((f) => f.path).sort()
  assert.deepEqual(files, ['README.md', 'index.d.ts', 'index.js', 'kubemetrics.linux-x64-gnu.node', 'package.json'].filter((f) => process.platform === 'linux' || !f.endsWith('.node')))
  const tarball = path.join(work, packed[0].filename)

  const app = path.join(work, 'app')
  execFileSync('mkdir', ['-p', app])
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', tarball], { cwd: app, stdio: ['ignore', 'ignore', 'inherit'] })
  writeFileSync(path.join(app, 'quickstart.mjs'), quickStart())

  const stdout = await new Promise((resolve, reject) => {
    execFile(process.execPath, ['quickstart.mjs'], { cwd: app, env: { ...process.env, KUBECONFIG: server.kubeconfig }, timeout: 60_000 }, (err, out, stderr) => err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(out))
  })
  const lines = stdout.trim().split('\n')
  const client = await km.Client.fromKubeconfig(server.kubeconfig)
  const nodes = await client.topNodes({ sortBy: 'cpu' })
  assert.deepEqual(lines.slice(0, nodes.length), nodes.map((r) => [r.name, r.cpu, r.cpuPercent, r.memory, r.memoryPercent].map(String).join(' ')))
  assert.ok(lines.includes('etcd-node-a etcd 25m 25m'), stdout)
  assert.ok(lines.includes('coredns-558bd4d5db-4dpjz coredns 4710169n 5m'), stdout)
  assert.equal(lines.at(-1), '1536Mi 1610612736n 1')
})
