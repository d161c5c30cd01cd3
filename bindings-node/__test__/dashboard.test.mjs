// examples/node/dashboard.mjs: its JSON endpoints over HTTP, and its HTML page rendered by
// headless Chromium when Chromium is installed (KM_REQUIRE_CHROMIUM=1 makes its absence a failure).
import test, { before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync, execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { km, repoRoot, startLoopback, request } from './helpers.mjs'

const exampleDir = path.join(repoRoot, 'examples', 'node')
let server
let dashboard
let base
let client

function findChromium () {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim()
    } catch {}
  }
  return null
}

before(async () => {
  if (!existsSync(path.join(exampleDir, 'node_modules', 'kubemetrics'))) {
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline'], { cwd: exampleDir, stdio: 'inherit' })
  }
  server = await startLoopback()
  client = await km.Client.fromKubeconfig(server.kubeconfig)
  dashboard = spawn(process.execPath, ['dashboard.mjs'], {
    cwd: exampleDir,
    env: { ...process.env, KUBECONFIG: server.kubeconfig, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  base = await new Promise((resolve, reject) => {
    dashboard.once('exit', (code) => reject(new Error(`dashboard exited with ${code}`)))
    createInterface({ input: dashboard.stdout }).once('line', (line) => {
      const m = /listening on (http:\/\/\S+)/.exec(line)
      if (m) resolve(m[1])
      else reject(new Error(line))
    })
  })
})

after(async () => {
  if (dashboard && dashboard.exitCode === null) {
    const exited = new Promise((resolve) => dashboard.once('exit', resolve))
    dashboard.kill('SIGTERM')
    await exited
  }
  await server?.stop()
})

test('GET /api/nodes serves topNodes rows', async () => {
  assert.deepEqual(JSON.parse(await request('GET', `${base}/api/nodes`)), await client.topNodes())
  assert.deepEqual(JSON.parse(await request('GET', `${base}/api/nodes?sortBy=memory`)), await client.topNodes({ sortBy: 'memory' }))
})

test('GET /api/pods serves topPods', async () => {
  assert.deepEqual(JSON.parse(await request('GET', `${base}/api/pods?allNamespaces=1`)), await client.topPods({ allNamespaces: true }))
  assert.deepEqual(JSON.parse(await request('GET', `${base}/api/pods?namespace=kube-system&sortBy=cpu`)), await client.topPods({ namespace: 'kube-system', sortBy: 'cpu' }))
})

test('errors become JSON with the error code', async () => {
  await assert.rejects(request('GET', `${base}/api/nodes?sortBy=bogus`), /400 .*ERR_KM_CONFIG/)
  await server.control('fault/internal-error')
  try {
    await assert.rejects(request('GET', `${base}/api/pods`), /500 .*ERR_KM_API/)
  } finally {
    await server.control('fault/none')
  }
})

test('GET / serves the HTML page', async () => {
  const html = await request('GET', `${base}/`)
  assert.match(html, /<table id="nodes">/)
  assert.match(html, /<table id="pods">/)
})

const chromium = findChromium()
test('the page renders the tables in headless Chromium', { skip: chromium === null && process.env.KM_REQUIRE_CHROMIUM !== '1' ? 'chromium is not installed' : false }, async () => {
  assert.ok(chromium, 'KM_REQUIRE_CHROMIUM=1 but chromium is not installed')
  const profile = mkdtempSync(path.join(tmpdir(), 'km-chromium-'))
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', `--user-data-dir=${profile}`, '--virtual-time-budget=15000']
  try {
    const dom = await new Promise((resolve, reject) => {
      execFile(chromium, [...args, '--dump-dom', `${base}/`], { maxBuffer: 16 << 20, timeout: 120_000 }, (err, stdout, stderr) => err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))
    })
    assert.match(dom, /<body data-loaded="true">/, 'the page script filled the tables')
    const cells = (table) => [...dom.split(`<table id="${table}">`)[1].split('</table>')[0].matchAll(/<tr[^>]*>(.*?)<\/tr>/g)]
      .map((m) => [...m[1].matchAll(/<t[dh][^>]*>(.*?)<\/t[dh]>/g)].map((c) => c[1].replaceAll('&lt;', '<').replaceAll('&gt;', '>')))
    const nodes = await client.topNodes()
    const pct = (p) => (p === null ? '<unknown>' : `${p}%`)
    assert.deepEqual(cells('nodes').slice(1), nodes.map((n) => [n.name, n.cpu ?? '<unknown>', pct(n.cpuPercent), n.memory ?? '<unknown>', pct(n.memoryPercent)]))
    const pods = await client.topPods({ allNamespaces: true })
    assert.deepEqual(cells('pods').slice(1), [...pods.pods.map((p) => [p.namespace, p.name, p.cpu, p.memory]), ['', 'TOTAL', pods.totalCpu, pods.totalMemory]])
    if (process.env.KM_DASHBOARD_SCREENSHOT) {
      execFileSync(chromium, [...args, '--window-size=1000,900', `--screenshot=${process.env.KM_DASHBOARD_SCREENSHOT}`, `${base}/`], { stdio: 'ignore', timeout: 120_000 })
    }
  } finally {
    rmSync(profile, { recursive: true, force: true })
  }
})
