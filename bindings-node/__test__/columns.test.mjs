// The paths without a class instance per value or a JSON round trip: `Quantity.milliValueOf`,
// `Quantity.milliValuesOf`, and the lists whose rows are built in JavaScript from the core's
// columns (`listPodMetrics`, `topPods`), checked against a real loopback API server.
import test, { before, after } from 'node:test'
import assert from 'node:assert/strict'
import { km, startLoopback, request, runCli } from './helpers.mjs'

const { Client, Quantity } = km

const VALUES = ['0', '1n', '-1n', '250264852n', '1.5', '-1.5', '1Ki', '8318172Ki', '1.5Gi', '12e6', '1e30', '9223372036854775807m', '999Ei', '0.001m']
const quantityError = (pattern) => (e) => e instanceof Error && e.code === 'ERR_KM_QUANTITY' && pattern.test(e.message)

test('Quantity.milliValueOf: exact, rounded up like milliValue, on big and tiny values', () => {
  assert.equal(Quantity.milliValueOf('250264852n'), 251n)
  assert.equal(Quantity.milliValueOf('1n'), 1n)
  assert.equal(Quantity.milliValueOf('-1n'), -1n)
  assert.equal(Quantity.milliValueOf('0.001m'), 1n)
  assert.equal(Quantity.milliValueOf('1e30'), 10n ** 33n)
  assert.equal(Quantity.milliValueOf('9223372036854775807m'), 9223372036854775807n)
  assert.equal(Quantity.milliValueOf('9223372036854775808m'), 9223372036854775808n)
  for (const s of VALUES) assert.equal(Quantity.milliValueOf(s), new Quantity(s).milliValue, s)
  assert.equal(typeof Quantity.milliValueOf('1'), 'bigint')
})

test('Quantity.milliValueOf: the usual errors for a bad quantity and a value that does not fit', () => {
  for (const bad of ['', 'abc', '1K', '1.5.5', ' 1']) {
    const want = (() => { try { return new Quantity(bad) } catch (e) { return e } })()
    assert.throws(() => Quantity.milliValueOf(bad), (e) => e.code === 'ERR_KM_QUANTITY' && e.message === want.message, bad)
  }
  assert.throws(() => Quantity.milliValueOf('1e100'), quantityError(/does not fit a 128-bit integer/))
  assert.throws(() => Quantity.milliValueOf(12), Error)
  assert.equal(Quantity.milliValueOf('0.' + '0'.repeat(70) + '1'), 1n) // longer than the stack buffer
})

test('Quantity.milliValuesOf: the same values as the one-value form, in a BigInt64Array', () => {
  const fits = VALUES.filter((s) => s !== '1e30' && s !== '999Ei')
  const many = Array.from({ length: 5000 }, (_, i) => fits[i % fits.length])
  const out = Quantity.milliValuesOf(many)
  assert.ok(out instanceof BigInt64Array)
  assert.equal(out.length, many.length)
  many.forEach((s, i) => assert.equal(out[i], Quantity.milliValueOf(s), s))
  assert.equal(Quantity.milliValuesOf([]).length, 0)
})

test('Quantity.milliValuesOf: values past the first few thousand (read a few thousand at a time) keep their indexes', () => {
  const many = Array.from({ length: 10000 }, (_, i) => `${i}m`)
  assert.deepEqual([...Quantity.milliValuesOf(many)], many.map((_, i) => BigInt(i)))
  // A value that cannot be joined (a line break, a character beyond ASCII, not a string) is read
  // on its own, and named by its index in the whole array.
  for (const bad of ['5\n6', '1\u0138', 7]) {
    many[9001] = bad
    assert.throws(() => Quantity.milliValuesOf(many), /value 9001/, String(bad))
  }
  many[9001] = '9001m'
  many[4096] = '1\u00a0'
  assert.throws(() => Quantity.milliValuesOf(many), quantityError(/^value 4096: /))
})

test('Quantity.milliValuesOf: errors name the index of a bad value or a value out of range', () => {
  assert.throws(() => Quantity.milliValuesOf(['1', '2', 'x2']), quantityError(/^value 2: .*x2/))
  assert.throws(() => Quantity.milliValuesOf(['1', '1e16']), quantityError(/^value 1: the milli-value of 10e15 does not fit a 64-bit integer/))
  assert.throws(() => Quantity.milliValuesOf(['1', '-1e16']), quantityError(/^value 1: /))
  assert.throws(() => Quantity.milliValuesOf(['1', 2]), /value 1/)
  assert.throws(() => Quantity.milliValuesOf('1'), /array of strings/)
})

let server
let big
let client
let bigClient
before(async () => {
  ;[server, big] = await Promise.all([startLoopback(), startLoopback(['--scale-pods', '1500'])])
  client = await Client.fromKubeconfig(server.kubeconfig)
  bigClient = await Client.fromKubeconfig(big.kubeconfig)
})
after(() => Promise.all([server.stop(), big.stop()]))

const raw = async (url, path) => JSON.parse(await request('GET', `${url}${path}`))
const withoutQuantities = ({ usageQuantities, ...rest }) => rest
const plainPod = (p) => ({ ...p, containers: p.containers.map(withoutQuantities) })

for (const [label, which] of [['the fixture cluster', () => [client, server]], ['a generated cluster of 1,500 pods', () => [bigClient, big]]]) {
  test(`listPodMetrics rows built from columns equal the server's JSON (${label})`, async () => {
    const [c, s] = which()
    const pods = await c.listPodMetrics()
    const wire = (await raw(s.url, '/apis/metrics.k8s.io/v1beta1/pods')).items
    assert.ok(Array.isArray(pods))
    assert.equal(pods.length, wire.length)
    // Read out of order first: rows are built on demand and then kept.
    const last = pods[pods.length - 1]
    assert.equal(pods[pods.length - 1], last)
    assert.deepEqual(plainPod(last), wire[wire.length - 1])
    assert.deepEqual(pods.map(plainPod), wire)
    assert.deepEqual(JSON.parse(JSON.stringify(pods)).map(plainPod), wire)
    assert.deepEqual([...pods].map(plainPod), wire)
    // usageColumns: the exact integers of every container, equal to the Quantity accessors.
    const { podContainers, cpuNanoCores, memoryBytes, exact } = pods.usageColumns
    assert.equal(exact, true)
    assert.equal(podContainers.length, pods.length + 1)
    let j = 0
    for (const [i, p] of pods.entries()) {
      assert.equal(podContainers[i], j)
      for (const ct of p.containers) {
        assert.equal(cpuNanoCores[j], ct.usage.cpu === undefined ? 0n : ct.usageQuantities.cpu.scaledValue(-9))
        assert.equal(memoryBytes[j], ct.usage.memory === undefined ? 0n : ct.usageQuantities.memory.value)
        j++
      }
    }
    assert.equal(podContainers[pods.length], j)
    assert.ok(!Object.keys(pods).includes('usageColumns'))
  })

  test(`topPods rows built from columns equal the CLI's (${label})`, async () => {
    const [c, s] = which()
    const result = await c.topPods({ allNamespaces: true, sortBy: 'cpu' })
    const cli = JSON.parse(await runCli(['top', 'pod', '-A', '--sort-by', 'cpu', '-o', 'json', '--kubeconfig', s.kubeconfig]))
    assert.deepEqual(result.pods, cli.pods)
    const { cpuMilliCores, memoryBytes, exact } = result.pods.usageColumns
    assert.equal(exact, true)
    result.pods.forEach((p, i) => {
      assert.equal(cpuMilliCores[i], Quantity.milliValueOf(p.cpu))
      assert.equal(memoryBytes[i], new Quantity(p.memory).value)
    })
  })
}

test('iterating a lazily built list gives its rows, and what was written during the iteration', async () => {
  const pods = (await client.topPods({ allNamespaces: true })).pods
  const seen = []
  for (const p of pods) {
    seen.push(p)
    if (seen.length === 2) pods.push('pushed')
  }
  assert.equal(seen.length, pods.length)
  seen.forEach((p, i) => assert.equal(p, pods[i]))
  assert.equal(seen[seen.length - 1], 'pushed')
  const fresh = (await client.topPods({ allNamespaces: true })).pods
  assert.deepEqual(Array.from(fresh), fresh.map((p) => p))
})

test('a lazily built list behaves as an array when written to, sliced or cloned', async () => {
  const result = await client.topPods({ allNamespaces: true })
  const pods = result.pods
  const copy = structuredClone([...pods])
  assert.deepEqual(copy, pods)
  assert.deepEqual(pods.slice(1, 3), copy.slice(1, 3))
  pods.push({ name: 'extra' })
  assert.equal(pods.length, copy.length + 1)
  assert.deepEqual(pods.slice(0, -1), copy)
  pods[0] = 'replaced'
  assert.equal(pods[0], 'replaced')
  assert.deepEqual(pods[1], copy[1])
  const empty = await client.topPods({ namespace: 'no-such-namespace' })
  assert.deepEqual(empty.pods, [])
})
