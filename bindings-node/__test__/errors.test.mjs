// Every error code, produced by real failures of a real loopback API server.
import test, { before, after, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { km, startLoopback, request, rejectsWith } from './helpers.mjs'

const { Client, Quantity, ErrorCode } = km
let server
let client

before(async () => {
  server = await startLoopback()
  client = await Client.fromKubeconfig(server.kubeconfig)
})
afterEach(async () => {
  await server.control('fault/none')
  await server.control('metrics-api/on')
})
after(() => server.stop())

test('ErrorCode lists the eight codes', () => {
  assert.deepEqual({ ...ErrorCode }, {
    Config: 'ERR_KM_CONFIG',
    Auth: 'ERR_KM_AUTH',
    NotFound: 'ERR_KM_NOT_FOUND',
    MetricsUnavailable: 'ERR_KM_METRICS_UNAVAILABLE',
    Api: 'ERR_KM_API',
    Quantity: 'ERR_KM_QUANTITY',
    Io: 'ERR_KM_IO',
    Internal: 'ERR_KM_INTERNAL'
  })
})

test('ERR_KM_CONFIG: missing kubeconfig, unknown context, not in a cluster, bad options', async () => {
  await rejectsWith(assert, Client.fromKubeconfig('/nonexistent/kubeconfig'), 'ERR_KM_CONFIG', { message: /nonexistent/ })
  await rejectsWith(assert, Client.fromKubeconfig(server.kubeconfig, 'nope'), 'ERR_KM_CONFIG', { message: /context "nope" does not exist/ })
  const saved = process.env.KUBERNETES_SERVICE_HOST
  delete process.env.KUBERNETES_SERVICE_HOST
  try {
    await rejectsWith(assert, Client.inCluster(), 'ERR_KM_CONFIG', { message: /not running in a cluster/ })
  } finally {
    if (saved !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved
  }
  await rejectsWith(assert, Client.fromSettings({ server: '' }), 'ERR_KM_CONFIG')
  await rejectsWith(assert, client.topNodes({ sortBy: 'bogus' }), 'ERR_KM_CONFIG', { message: /--sort-by accepts only cpu or memory/ })
  await rejectsWith(assert, client.topPods({ sortBy: 'bogus' }), 'ERR_KM_CONFIG')
  await rejectsWith(assert, client.topPods({ name: 'batch-1', labelSelector: 'app=batch' }), 'ERR_KM_CONFIG', { message: /only one of NAME or selector/ })
})

test('ERR_KM_NOT_FOUND with the server message and status 404', async () => {
  const answer = await request('GET', `${server.url}/apis/metrics.k8s.io/v1beta1/nodes/nope`).catch((e) => e.message)
  const wire = JSON.parse(answer.slice(answer.indexOf('{')))
  const e = await rejectsWith(assert, client.getNodeMetrics('nope'), 'ERR_KM_NOT_FOUND', { status: 404 })
  assert.equal(e.message, 'nodemetrics.metrics.k8s.io "nope" not found')
  assert.equal(e.message, wire.message)
  assert.equal(e.status, wire.code)
  await rejectsWith(assert, client.getPodMetrics('default', 'nope'), ErrorCode.NotFound, { status: 404, message: /^podmetrics.metrics.k8s.io "(default\/)?nope" not found$/ })
  await rejectsWith(assert, client.topNodes({ name: 'nope' }), 'ERR_KM_NOT_FOUND', { status: 404 })
  await rejectsWith(assert, client.getNodeMetrics('node-c'), 'ERR_KM_NOT_FOUND', { status: 404, message: /"node-c" not found/ })
})

test('ERR_KM_AUTH for 401 and 403, with the status', async () => {
  await server.control('fault/unauthorized')
  await rejectsWith(assert, client.listNodeMetrics(), 'ERR_KM_AUTH', { status: 401, message: /Unauthorized/ })
  await rejectsWith(assert, Client.fromKubeconfig(server.kubeconfig).then((c) => c.topPods()), 'ERR_KM_AUTH', { status: 401 })
  await server.control('fault/forbidden')
  await rejectsWith(assert, client.listPodMetrics(), 'ERR_KM_AUTH', { status: 403, message: /forbidden: User "loopback" cannot list resource "nodes"/ })
})

test('ERR_KM_METRICS_UNAVAILABLE when no Metrics API is served', async () => {
  await server.control('metrics-api/off')
  const fresh = await Client.fromKubeconfig(server.kubeconfig)
  const e = await rejectsWith(assert, fresh.listNodeMetrics(), 'ERR_KM_METRICS_UNAVAILABLE', { message: /^Metrics API not available/ })
  assert.equal(e.status, undefined)
  await rejectsWith(assert, fresh.topNodes(), 'ERR_KM_METRICS_UNAVAILABLE')
  await rejectsWith(assert, (await Client.fromKubeconfig(server.kubeconfig)).topPods({ allNamespaces: true }), 'ERR_KM_METRICS_UNAVAILABLE')
  await rejectsWith(assert, (await Client.fromKubeconfig(server.kubeconfig)).metricsApiVersion(), 'ERR_KM_METRICS_UNAVAILABLE')
})

test('ERR_KM_API for a 500 (server message, status 500) and for malformed JSON', async () => {
  await server.control('fault/internal-error')
  await rejectsWith(assert, client.listNodeMetrics(), 'ERR_KM_API', { status: 500, message: /^Internal error occurred: simulated failure$/ })
  await rejectsWith(assert, client.topPods(), 'ERR_KM_API', { status: 500 })
  await server.control('fault/malformed-json')
  const e = await rejectsWith(assert, client.listNodeMetrics(), 'ERR_KM_API', { message: /cannot decode/ })
  assert.equal(e.status, undefined)
  await rejectsWith(assert, client.getPodMetrics('default', 'batch-1'), 'ERR_KM_API')
})

test('ERR_KM_QUANTITY for invalid quantities', () => {
  assert.throws(() => new Quantity('1.5Gib'), (e) => e instanceof Error && e.code === 'ERR_KM_QUANTITY' && e.status === undefined)
})

test('ERR_KM_IO when the connection is refused', async () => {
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
  const dir = mkdtempSync(path.join(tmpdir(), 'km-node-refused-'))
  const kubeconfig = path.join(dir, 'kubeconfig')
  writeFileSync(kubeconfig, `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`)
  try {
    const refused = await Client.fromKubeconfig(kubeconfig)
    const e = await rejectsWith(assert, refused.listNodeMetrics(), 'ERR_KM_IO', { message: /refused/ })
    assert.equal(e.status, undefined)
    await rejectsWith(assert, refused.topNodes(), 'ERR_KM_IO')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('ERR_KM_IO when the server hangs past timeoutMs', async () => {
  const quick = await Client.fromKubeconfig(server.kubeconfig, null, { timeoutMs: 300 })
  await quick.metricsApiVersion()
  await server.control('fault/hang')
  const started = Date.now()
  await rejectsWith(assert, quick.listNodeMetrics(), 'ERR_KM_IO', { message: /no answer/ })
  await rejectsWith(assert, quick.getPodMetrics('default', 'batch-1'), 'ERR_KM_IO')
  assert.ok(Date.now() - started < 10_000)
})

test('ERR_KM_INTERNAL is the code of core Internal errors (no public call can produce one)', () => {
  assert.equal(ErrorCode.Internal, 'ERR_KM_INTERNAL')
})

test('errors from concurrent calls each carry their own code', async () => {
  const results = await Promise.allSettled([
    client.getNodeMetrics('nope'),
    client.topNodes({ sortBy: 'x' }),
    client.getNodeMetrics('node-a'),
    client.getPodMetrics('default', 'nope')
  ])
  assert.deepEqual(results.map((r) => r.status === 'fulfilled' ? 'ok' : r.reason.code),
    ['ERR_KM_NOT_FOUND', 'ERR_KM_CONFIG', 'ok', 'ERR_KM_NOT_FOUND'])
})
