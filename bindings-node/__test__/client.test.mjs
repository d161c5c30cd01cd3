// Client: every method against a real loopback API server (the repo's `kubemetrics loopback-api`).
import test, { before, after } from 'node:test'
import assert from 'node:assert/strict'
import { km, startLoopback, request, runCli } from './helpers.mjs'

const { Client, Quantity } = km
let server
let client

before(async () => {
  server = await startLoopback()
  client = await Client.fromKubeconfig(server.kubeconfig)
})
after(() => server.stop())

const raw = async (path) => JSON.parse(await request('GET', `${server.url}${path}`))
const withoutQuantities = ({ usageQuantities, ...rest }) => rest
const podWithoutQuantities = (p) => ({ ...p, containers: p.containers.map(withoutQuantities) })
const camel = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/_(.)/g, (_, c) => c.toUpperCase()), v]))

function assertQuantitiesMatch (usage, usageQuantities) {
  assert.deepEqual(Object.keys(usageQuantities), Object.keys(usage))
  for (const [resource, q] of Object.entries(usageQuantities)) {
    assert.ok(q instanceof Quantity)
    assert.equal(q.toString(), usage[resource])
  }
}

test('defaultNamespace and metricsApiVersion', async () => {
  assert.equal(client.defaultNamespace, 'default')
  assert.equal(await client.metricsApiVersion(), 'v1beta1')
})

test('listNodeMetrics: the Kubernetes JSON of every node plus parsed quantities', async () => {
  const items = await client.listNodeMetrics()
  const wire = (await raw('/apis/metrics.k8s.io/v1beta1/nodes')).items
  assert.deepEqual(items.map(withoutQuantities), wire)
  assert.deepEqual(items.map((n) => n.metadata.name).sort(), ['node-a', 'node-b'])
  for (const n of items) assertQuantitiesMatch(n.usage, n.usageQuantities)
  const a = items.find((n) => n.metadata.name === 'node-a')
  assert.equal(a.usage.cpu, '1630534153n')
  assert.equal(a.usageQuantities.cpu.milliValue, 1631n)
  assert.equal(a.usageQuantities.memory.value, 8318172n * 1024n)
  assert.equal(a.timestamp, '2024-01-01T00:09:50Z')
  assert.equal(a.window, '20s')
  assert.deepEqual(a.metadata.labels, { tier: 'a', zone: 'z1' })
})

test('listNodeMetrics with label and field selectors', async () => {
  assert.deepEqual((await client.listNodeMetrics({ labelSelector: 'tier=a' })).map((n) => n.metadata.name), ['node-a'])
  assert.deepEqual((await client.listNodeMetrics({ fieldSelector: 'metadata.name=node-b' })).map((n) => n.metadata.name), ['node-b'])
  assert.deepEqual(await client.listNodeMetrics({ labelSelector: 'tier=none' }), [])
})

test('getNodeMetrics: one node, as the server sends it', async () => {
  const m = await client.getNodeMetrics('node-b')
  const { kind, apiVersion, ...wire } = await raw('/apis/metrics.k8s.io/v1beta1/nodes/node-b')
  assert.equal(kind, 'NodeMetrics')
  assert.deepEqual(withoutQuantities(m), wire)
  assert.equal(m.usageQuantities.memory.toString(), '13280692Ki')
})

test('listPodMetrics: all namespaces, one namespace, selectors', async () => {
  const all = await client.listPodMetrics()
  const wire = (await raw('/apis/metrics.k8s.io/v1beta1/pods')).items
  assert.equal(all.length, 9)
  assert.deepEqual(all.map(podWithoutQuantities), wire)
  for (const p of all) for (const c of p.containers) assertQuantitiesMatch(c.usage, c.usageQuantities)
  const system = await client.listPodMetrics({ namespace: 'kube-system' })
  assert.deepEqual(system.map((p) => p.metadata.name).sort(), ['coredns-558bd4d5db-4dpjz', 'etcd-node-a', 'kube-apiserver-node-a'])
  assert.ok(system.every((p) => p.metadata.namespace === 'kube-system'))
  const web = await client.listPodMetrics({ labelSelector: 'app=web' })
  assert.deepEqual(web.map((p) => p.metadata.name).sort(), ['web-7f9c-abcde', 'web-7f9c-fghij'])
  const byName = await client.listPodMetrics({ namespace: 'default', fieldSelector: 'metadata.name=batch-1' })
  assert.deepEqual(byName.map((p) => p.metadata.name), ['batch-1'])
})

test('getPodMetrics: containers with usage strings and exact quantities', async () => {
  const p = await client.getPodMetrics('default', 'batch-1')
  const { kind, apiVersion, ...wire } = await raw('/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/batch-1')
  assert.deepEqual(podWithoutQuantities(p), wire)
  assert.equal(p.window, '14.982s')
  assert.deepEqual(p.containers.map((c) => c.name), ['worker', 'helper', 'init-copy'])
  const worker = p.containers[0]
  assert.equal(worker.usageQuantities.cpu.milliValue, 2000n)
  assert.equal(worker.usage.memory, '12e6')
  assert.equal(worker.usageQuantities.memory.value, 12_000_000n)
  const total = p.containers.reduce((sum, c) => sum.add(c.usageQuantities.cpu), new Quantity('0'))
  assert.equal(total.toString(), '2500m')
})

test('usageQuantities: computed on first read, then kept; JSON.stringify writes canonical strings', async () => {
  const p = await client.getPodMetrics('default', 'batch-1')
  const c = p.containers[0]
  assert.ok(Object.keys(c).includes('usageQuantities'))
  const first = c.usageQuantities
  assert.equal(c.usageQuantities, first)
  assert.deepEqual(JSON.parse(JSON.stringify(c)).usageQuantities, c.usage)
  const n = await client.getNodeMetrics('node-a')
  assert.deepEqual(JSON.parse(JSON.stringify(n.usageQuantities)), n.usage)
})

test('topNodes equals `kubemetrics top node -o json` (node without metrics included)', async () => {
  for (const [options, flags] of [
    [{}, []],
    [{ sortBy: 'cpu' }, ['--sort-by', 'cpu']],
    [{ sortBy: 'memory', showCapacity: true }, ['--sort-by', 'memory', '--show-capacity']],
    [{ labelSelector: 'zone=z1' }, ['-l', 'zone=z1']],
    [{ name: 'node-a' }, ['node-a']]
  ]) {
    const rows = await client.topNodes(options)
    const cli = JSON.parse(await runCli(['top', 'node', ...flags, '-o', 'json', '--kubeconfig', server.kubeconfig]))
    assert.deepEqual(rows, cli.map(camel), JSON.stringify(options))
  }
  const rows = await client.topNodes()
  assert.deepEqual(rows.map((r) => r.name), ['node-a', 'node-b', 'node-c'])
  const c = rows[2]
  assert.equal(c.cpu, null)
  assert.equal(c.cpuPercent, null)
  assert.equal(c.cpuAvailable, '8')
  assert.equal(typeof rows[0].cpuPercent, 'number')
})

test('topPods rows equal `kubemetrics top pod -A -o json`', async () => {
  const result = await client.topPods({ allNamespaces: true })
  const cli = JSON.parse(await runCli(['top', 'pod', '-A', '-o', 'json', '--kubeconfig', server.kubeconfig]))
  assert.deepEqual(result.pods, cli.pods)
  assert.equal(result.totalCpu, cli.total_cpu)
  assert.equal(result.totalMemory, cli.total_memory)
  assert.equal(result.namespace, null)
  assert.equal(result.pods.length, 9)
})

test('topPods options: namespace, default namespace, name, selectors, sort, containers, sum', async () => {
  for (const [options, flags] of [
    [{}, []],
    [{ namespace: 'kube-system', sortBy: 'memory' }, ['-n', 'kube-system', '--sort-by', 'memory']],
    [{ allNamespaces: true, sortBy: 'cpu', containers: true, sum: true }, ['-A', '--sort-by', 'cpu', '--containers', '--sum']],
    [{ allNamespaces: true, labelSelector: 'app in (web,redis)' }, ['-A', '-l', 'app in (web,redis)']],
    [{ namespace: 'monitoring', fieldSelector: 'metadata.name=prometheus-0' }, ['-n', 'monitoring', '--field-selector', 'metadata.name=prometheus-0']],
    [{ name: 'batch-1' }, ['batch-1']]
  ]) {
    const result = await client.topPods(options)
    const cli = JSON.parse(await runCli(['top', 'pod', ...flags, '-o', 'json', '--kubeconfig', server.kubeconfig]))
    assert.deepEqual(result, camel(cli), JSON.stringify(options))
  }
  const ns = await client.topPods()
  assert.equal(ns.namespace, 'default')
  assert.deepEqual(ns.pods.map((p) => p.name), ['batch-1', 'redis-master-fsx46', 'web-7f9c-abcde', 'web-7f9c-fghij'])
})

test('50 concurrent calls on one client all succeed with the same answers as sequential calls', async () => {
  const calls = [
    () => client.listNodeMetrics(),
    () => client.getNodeMetrics('node-a'),
    () => client.listPodMetrics({ namespace: 'default' }),
    () => client.getPodMetrics('monitoring', 'prometheus-0'),
    () => client.topNodes({ sortBy: 'cpu' }),
    () => client.topPods({ allNamespaces: true, sortBy: 'memory' })
  ]
  const plain = (v) => JSON.parse(JSON.stringify(v))
  const expected = []
  for (const call of calls) expected.push(plain(await call()))
  const started = Array.from({ length: 50 }, (_, i) => calls[i % calls.length]())
  const results = await Promise.all(started)
  results.forEach((r, i) => assert.deepEqual(plain(r), expected[i % calls.length]))
})

test('50 concurrent clients, each created and used at once', async () => {
  const results = await Promise.all(Array.from({ length: 50 }, async () => {
    const c = await Client.fromKubeconfig(server.kubeconfig, 'loopback')
    return (await c.topNodes()).length
  }))
  assert.deepEqual(results, Array(50).fill(3))
})

test('tryDefault reads KUBECONFIG; fromSettings takes explicit connection details', async () => {
  const saved = process.env.KUBECONFIG
  process.env.KUBECONFIG = server.kubeconfig
  try {
    const c = await Client.tryDefault({ timeoutMs: 5000 })
    assert.equal((await c.listNodeMetrics()).length, 2)
  } finally {
    if (saved === undefined) delete process.env.KUBECONFIG
    else process.env.KUBECONFIG = saved
  }
  const s = await Client.fromSettings({ server: server.url, token: 'loopback-token', namespace: 'monitoring' })
  assert.equal(s.defaultNamespace, 'monitoring')
  assert.deepEqual((await s.topPods()).pods.map((p) => p.name), ['alertmanager-0', 'prometheus-0'])
})
