// Custom and external metrics: the Client's reads against `kubemetrics serve --custom-metrics-push`,
// and providers written in JavaScript served for real on loopback by `serveCustomMetrics`, read
// back with curl, kubectl and the Client. Authentication uses client certificates (and the
// aggregator's front-proxy headers); SubjectAccessReview is answered by `kubemetrics loopback-api`.
import test, { before, after, describe } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import https from 'node:https'
import net from 'node:net'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { km, cli, packageDir, repoRoot, writeKubeconfig, certsAndLoopback, startServing, curl, rejectsWith } from './helpers.mjs'

const { Client, Quantity, LabelSelector, ErrorCode, serveCustomMetrics } = km
const CUSTOM = '/apis/custom.metrics.k8s.io'
const EXTERNAL = '/apis/external.metrics.k8s.io/v1beta1'

let dir
let cert
let loopback
let serving

certsAndLoopback('km-node-custom-', (shared) => ({ dir, cert, loopback, serving } = shared))

/** `serveCustomMetrics` on 127.0.0.1 (a free port) with client-certificate and front-proxy authentication. */
function serve (providers, options = {}) {
  return serveCustomMetrics({ ...providers, ...serving, ...options })
}

/** GET `path` with Node's https client and client certificate `user`; resolves with status, JSON and time taken. */
function get (url, p, { user = 'admin', headers = {} } = {}) {
  const started = Date.now()
  const auth = user ? { cert: readCert(`${user}.crt`), key: readCert(`${user}.key`) } : {}
  return new Promise((resolve, reject) => {
    const req = https.get(`${url}${p}`, { ca: readCert('serving-ca.crt'), ...auth, headers, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c) => { body += c })
      res.on('end', () => {
        let json
        try { json = JSON.parse(body) } catch {}
        resolve({ status: res.statusCode, body, json, ms: Date.now() - started })
      })
    })
    req.on('error', reject)
  })
}
const certCache = new Map()
function readCert (name) {
  if (!certCache.has(name)) certCache.set(name, readFileSync(cert(name)))
  return certCache.get(name)
}

/** `kubectl get --raw path` with a kubeconfig holding the admin client certificate. */
function kubectlRaw (kubeconfig, p) {
  return new Promise((resolve, reject) => {
    execFile('kubectl', ['--kubeconfig', kubeconfig, 'get', '--raw', p], (err, stdout, stderr) => {
      if (err) reject(new Error(`kubectl get --raw ${p}: ${stderr}`))
      else resolve(JSON.parse(stdout))
    })
  })
}

const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/
/** `items` with each timestamp checked and removed (they are "now", per request). */
function untimed (items) {
  return items.map(({ timestamp, ...rest }) => {
    assert.match(timestamp, TIMESTAMP)
    return rest
  })
}
const plain = ({ valueQuantity, ...rest }) => rest

// ---------------------------------------------------------------------------------------------
// Reads: the Client against `kubemetrics serve --custom-metrics-push`
// ---------------------------------------------------------------------------------------------

describe('Client reads of kubemetrics serve --custom-metrics-push', () => {
  let server
  let kubeconfig
  let client
  const push = (p) => curl(`${server.url}${p}`, cert, { args: ['-X', 'PUT'] })

  before(async () => {
    server = await startServing(cli, [
      'serve', '--fixture-metrics', '--custom-metrics-push', '--bind-address', '127.0.0.1', '--secure-port', '0',
      '--tls-cert-file', cert('serving.crt'), '--tls-private-key-file', cert('serving.key'),
      '--client-ca-file', cert('client-ca.crt'), '--kubeconfig', loopback.kubeconfig
    ])
    kubeconfig = writeKubeconfig(path.join(dir, 'push-kubeconfig'), server.url, cert)
    client = await Client.fromKubeconfig(kubeconfig)
    for (const [pod, app, value] of [['web-1', 'web', '10'], ['web-2', 'web', '30'], ['db-1', 'db', '500m']]) {
      const r = await push(`/push/custom/namespaces/web/pods/${pod}/http_requests?value=${value}&ttl=5m&labels=app%3D${app}`)
      assert.equal(r.status, 200, r.body)
    }
    assert.equal((await push('/push/custom/namespaces/web/namespaces/web/queue_depth?value=1.5Gi&ttl=5m')).status, 200)
    for (const [queue, value] of [['jobs', '42'], ['mail', '250264852n']]) {
      assert.equal((await push(`/push/external/namespaces/web/queue_depth?value=${value}&ttl=5m&labels=queue%3D${queue}`)).status, 200)
    }
  })
  after(() => server.stop())

  test('customMetricsVersion and discovery', async () => {
    assert.equal(await client.customMetricsVersion(), 'v1beta2')
    assert.deepEqual((await client.listCustomMetricNames()).sort(), ['namespaces/queue_depth', 'pods/http_requests'])
    assert.deepEqual(await client.listExternalMetricNames(), ['queue_depth'])
  })

  test('getCustomMetric: the v1beta2 JSON the server sent, plus valueQuantity', async () => {
    const v = await client.getCustomMetric({ namespace: 'web', resource: 'pods', name: 'db-1' }, 'http_requests')
    const wire = await kubectlRaw(kubeconfig, `${CUSTOM}/v1beta2/namespaces/web/pods/db-1/http_requests`)
    assert.deepEqual(untimed([plain(v)]), untimed(wire.items))
    assert.deepEqual(plain(v).describedObject, { kind: 'Pod', namespace: 'web', name: 'db-1', apiVersion: '/v1' })
    assert.deepEqual(v.metric, { name: 'http_requests' })
    assert.equal(v.value, '500m')
    assert.ok(v.valueQuantity instanceof Quantity)
    assert.equal(v.valueQuantity.milliValue, 500n)
    assert.equal(v.valueQuantity, v.valueQuantity, 'computed once, then kept')
    assert.equal(JSON.parse(JSON.stringify(v)).valueQuantity, '500m')
    const ns = await client.getCustomMetric({ resource: 'namespaces', name: 'web' }, 'queue_depth')
    assert.deepEqual(ns.describedObject, { kind: 'Namespace', name: 'web', apiVersion: '/v1' })
    assert.equal(ns.valueQuantity.value, 1536n * 1024n * 1024n)
  })

  test('listCustomMetrics: label selector and metric selector', async () => {
    const web = await client.listCustomMetrics('pods', 'http_requests', { namespace: 'web', labelSelector: 'app=web' })
    assert.deepEqual(web.map((v) => [v.describedObject.name, v.value, v.valueQuantity.value]), [['web-1', '10', 10n], ['web-2', '30', 30n]])
    const wire = await kubectlRaw(kubeconfig, `${CUSTOM}/v1beta2/namespaces/web/pods/*/http_requests?labelSelector=app%3Dweb`)
    assert.deepEqual(untimed(web.map(plain)), untimed(wire.items))
    const all = await client.listCustomMetrics('pods', 'http_requests', { namespace: 'web' })
    assert.deepEqual(all.map((v) => v.describedObject.name), ['db-1', 'web-1', 'web-2'])
    const selected = await client.listCustomMetrics('pods', 'http_requests', { namespace: 'web', labelSelector: 'app=web', metricSelector: 'verb=GET' })
    assert.deepEqual(selected[0].metric, { name: 'http_requests', selector: { matchLabels: { verb: 'GET' } } })
    assert.deepEqual(await client.listCustomMetrics('pods', 'http_requests', { namespace: 'other' }), [])
  })

  test('getExternalMetric: every series or those matching the selector', async () => {
    const all = await client.getExternalMetric('web', 'queue_depth')
    assert.deepEqual(all.map((s) => [s.metricLabels, s.value]), [[{ queue: 'jobs' }, '42'], [{ queue: 'mail' }, '250264852n']])
    assert.equal(all[1].valueQuantity.milliValue, 251n)
    const wire = await kubectlRaw(kubeconfig, `${EXTERNAL}/namespaces/web/queue_depth`)
    assert.deepEqual(untimed(all.map(plain)), untimed(wire.items))
    const jobs = await client.getExternalMetric('web', 'queue_depth', { labelSelector: 'queue=jobs' })
    assert.deepEqual(jobs.map((s) => s.value), ['42'])
    assert.deepEqual(await client.getExternalMetric('other', 'queue_depth'), [])
  })

  test('errors: NotFound with the server message, MetricsUnavailable without the APIs', async () => {
    await rejectsWith(assert, client.getCustomMetric({ namespace: 'web', resource: 'pods', name: 'nope' }, 'http_requests'), ErrorCode.NotFound, {
      status: 404,
      message: /the server could not find the metric http_requests for pods nope/
    })
    const plainApi = await Client.fromKubeconfig(loopback.kubeconfig)
    await rejectsWith(assert, plainApi.customMetricsVersion(), ErrorCode.MetricsUnavailable, { message: /Custom metrics API not available/ })
    await rejectsWith(assert, plainApi.getExternalMetric('web', 'q'), ErrorCode.MetricsUnavailable, { message: /External metrics API not available/ })
    await rejectsWith(assert, plainApi.listCustomMetricNames(), ErrorCode.MetricsUnavailable)
  })
})

// ---------------------------------------------------------------------------------------------
// Providers written in JavaScript
// ---------------------------------------------------------------------------------------------

const PODS = {
  'web-1': { labels: { app: 'web' }, requests: 10 }, // a number
  'web-2': { labels: { app: 'web' }, requests: '30' }, // a quantity string
  'db-1': { labels: { app: 'db' }, requests: new Quantity('500m') } // a Quantity
}
const QUEUES = [{ labels: { queue: 'jobs' }, value: 42 }, { labels: { queue: 'mail' }, value: '7' }, { labels: { queue: 'mail', tier: 'low' }, value: 1n }]

/** A custom metrics provider as a class (its methods use `this`), answering synchronously. */
class PodMetricsProvider {
  constructor () {
    this.pods = PODS
    this.calls = []
  }

  listMetrics () {
    return [
      { resource: 'pods', metric: 'http_requests' },
      { resource: 'namespaces', metric: 'queue_depth', namespaced: false },
      { resource: 'nodes', metric: 'temperature', namespaced: false }
    ]
  }

  metricByName (object, metric, metricSelector) {
    this.calls.push({ method: 'metricByName', object, metric, metricSelector })
    if (object.resource === 'namespaces' && metric === 'queue_depth') return 1.5
    if (object.resource === 'nodes' && metric === 'temperature') return 12345678901234567890n
    if (object.resource !== 'pods' || metric !== 'http_requests') return undefined
    return this.pods[object.name]?.requests
  }

  metricsBySelector (namespace, resource, selector, metric, metricSelector) {
    this.calls.push({ method: 'metricsBySelector', namespace, resource, selector, metric, metricSelector })
    if (resource !== 'pods' || metric !== 'http_requests') return []
    return Object.entries(this.pods).filter(([, p]) => selector.matches(p.labels)).map(([name, p]) => ({ name, value: p.requests }))
  }
}

/** The same answers, asynchronously (Promises settled later), metricsBySelector as `{ name: value }`. */
function asyncPodMetrics () {
  const sync = new PodMetricsProvider()
  const later = async (v) => { await sleep(5); return v }
  return {
    calls: sync.calls,
    listMetrics: () => later(sync.listMetrics()),
    metricByName: async (...args) => later(sync.metricByName(...args)),
    metricsBySelector: async (...args) => Object.fromEntries((await later(sync.metricsBySelector(...args))).map(({ name, value }) => [name, value]))
  }
}

const syncQueues = {
  listExternalMetrics: () => ['queue_messages_ready'],
  externalMetric (namespace, metric, selector) {
    if (metric !== 'queue_messages_ready') return []
    return QUEUES.filter((q) => selector.matches(q.labels))
  }
}
const asyncQueues = {
  listExternalMetrics: async () => ['queue_messages_ready'],
  externalMetric: async (namespace, metric, selector) => { await sleep(5); return syncQueues.externalMetric(namespace, metric, selector) }
}

for (const [flavour, makeCustom, external] of [['synchronous', () => new PodMetricsProvider(), syncQueues], ['asynchronous', asyncPodMetrics, asyncQueues]]) {
  describe(`${flavour} providers served on 127.0.0.1`, () => {
    let server
    let custom
    let kubeconfig
    let client

    before(async () => {
      custom = makeCustom()
      server = await serve({ custom, external })
      kubeconfig = writeKubeconfig(path.join(dir, `${flavour}-kubeconfig`), server.url, cert)
      client = await Client.fromKubeconfig(kubeconfig)
    })
    after(() => server.stop())

    test('address, port and url', () => {
      assert.equal(server.address, '127.0.0.1')
      assert.ok(server.port > 0)
      assert.equal(server.url, `https://127.0.0.1:${server.port}`)
    })

    test('discovery: /apis, the group versions, kubectl and the Client agree', async () => {
      const apis = await curl(`${server.url}/apis`, cert)
      assert.deepEqual(apis.json.groups.map((g) => [g.name, g.versions.map((v) => v.version)]), [
        ['custom.metrics.k8s.io', ['v1beta2', 'v1beta1']],
        ['external.metrics.k8s.io', ['v1beta1']]
      ])
      for (const version of ['v1beta1', 'v1beta2']) {
        const list = await kubectlRaw(kubeconfig, `${CUSTOM}/${version}`)
        assert.equal(list.groupVersion, `custom.metrics.k8s.io/${version}`)
        assert.deepEqual(list.resources.map((r) => [r.name, r.namespaced, r.kind]), [
          ['pods/http_requests', true, 'MetricValueList'],
          ['namespaces/queue_depth', false, 'MetricValueList'],
          ['nodes/temperature', false, 'MetricValueList']
        ])
      }
      const external = await kubectlRaw(kubeconfig, EXTERNAL)
      assert.deepEqual(external.resources.map((r) => [r.name, r.namespaced, r.kind]), [['queue_messages_ready', true, 'ExternalMetricValueList']])
      assert.deepEqual(await client.listCustomMetricNames(), ['pods/http_requests', 'namespaces/queue_depth', 'nodes/temperature'])
      assert.deepEqual(await client.listExternalMetricNames(), ['queue_messages_ready'])
      assert.equal(await client.customMetricsVersion(), 'v1beta2')
    })

    test('one object by name: v1beta2 and v1beta1 shapes, exact values', async () => {
      const v2 = await kubectlRaw(kubeconfig, `${CUSTOM}/v1beta2/namespaces/web/pods/db-1/http_requests`)
      assert.equal(v2.kind, 'MetricValueList')
      assert.equal(v2.apiVersion, 'custom.metrics.k8s.io/v1beta2')
      assert.deepEqual(untimed(v2.items), [{ describedObject: { kind: 'Pod', namespace: 'web', name: 'db-1', apiVersion: '/v1' }, metric: { name: 'http_requests' }, value: '500m' }])
      const v1 = await kubectlRaw(kubeconfig, `${CUSTOM}/v1beta1/namespaces/web/pods/web-1/http_requests`)
      assert.equal(v1.apiVersion, 'custom.metrics.k8s.io/v1beta1')
      assert.deepEqual(untimed(v1.items), [{ describedObject: { kind: 'Pod', namespace: 'web', name: 'web-1', apiVersion: '/v1' }, metricName: 'http_requests', value: '10', selector: null }])
      const selected = await curl(`${server.url}${CUSTOM}/v1beta2/namespaces/web/pods/web-2/http_requests?metricLabelSelector=verb%3DGET`, cert)
      assert.equal(selected.status, 200)
      assert.deepEqual(untimed(selected.json.items), [{ describedObject: { kind: 'Pod', namespace: 'web', name: 'web-2', apiVersion: '/v1' }, metric: { name: 'http_requests', selector: { matchLabels: { verb: 'GET' } } }, value: '30' }])
      const call = custom.calls.findLast((c) => c.method === 'metricByName')
      assert.deepEqual(call.object, { namespace: 'web', resource: 'pods', name: 'web-2' })
      assert.equal(call.metric, 'http_requests')
      assert.ok(call.metricSelector instanceof LabelSelector)
      assert.equal(call.metricSelector.toString(), 'verb=GET')
    })

    test('namespace metrics and cluster-scoped objects (numbers and bigints)', async () => {
      const ns = await get(server.url, `${CUSTOM}/v1beta2/namespaces/web/metrics/queue_depth`)
      assert.deepEqual(untimed(ns.json.items), [{ describedObject: { kind: 'Namespace', name: 'web', apiVersion: '/v1' }, metric: { name: 'queue_depth' }, value: '1500m' }])
      assert.deepEqual(custom.calls.findLast((c) => c.method === 'metricByName').object, { resource: 'namespaces', name: 'web' })
      const node = await client.getCustomMetric({ resource: 'nodes', name: 'node-a' }, 'temperature')
      assert.deepEqual(node.describedObject, { kind: 'Node', name: 'node-a', apiVersion: '/v1' })
      assert.equal(node.value, '12345678901234567890')
      assert.equal(node.valueQuantity.value, 12345678901234567890n)
    })

    test('objects by label selector: the provider gets LabelSelectors, curl and the Client read exact values', async () => {
      const r = await curl(`${server.url}${CUSTOM}/v1beta2/namespaces/web/pods/*/http_requests?labelSelector=app%3Dweb`, cert)
      assert.equal(r.status, 200)
      assert.deepEqual(untimed(r.json.items).map((i) => [i.describedObject.name, i.value]), [['web-1', '10'], ['web-2', '30']])
      const call = custom.calls.findLast((c) => c.method === 'metricsBySelector')
      assert.equal(call.namespace, 'web')
      assert.equal(call.resource, 'pods')
      assert.ok(call.selector instanceof LabelSelector)
      assert.equal(call.selector.toString(), 'app=web')
      assert.ok(call.metricSelector.isEmpty())
      const values = await client.listCustomMetrics('pods', 'http_requests', { namespace: 'web', labelSelector: 'app in (web,db)' })
      assert.deepEqual(values.map((v) => [v.describedObject.name, v.value, v.valueQuantity.milliValue]), [['web-1', '10', 10000n], ['web-2', '30', 30000n], ['db-1', '500m', 500n]])
      assert.deepEqual(await client.listCustomMetrics('pods', 'http_requests', { namespace: 'web', labelSelector: 'app=none' }), [])
      const v1 = await curl(`${server.url}${CUSTOM}/v1beta1/namespaces/web/pods/*/http_requests?labelSelector=app%3Ddb`, cert)
      assert.deepEqual(untimed(v1.json.items), [{ describedObject: { kind: 'Pod', namespace: 'web', name: 'db-1', apiVersion: '/v1' }, metricName: 'http_requests', value: '500m', selector: null }])
    })

    test('external metrics: selector-filtered series, exact values', async () => {
      const all = await kubectlRaw(kubeconfig, `${EXTERNAL}/namespaces/web/queue_messages_ready`)
      assert.equal(all.kind, 'ExternalMetricValueList')
      assert.deepEqual(untimed(all.items), [
        { metricName: 'queue_messages_ready', metricLabels: { queue: 'jobs' }, value: '42' },
        { metricName: 'queue_messages_ready', metricLabels: { queue: 'mail' }, value: '7' },
        { metricName: 'queue_messages_ready', metricLabels: { queue: 'mail', tier: 'low' }, value: '1' }
      ])
      const mail = await client.getExternalMetric('web', 'queue_messages_ready', { labelSelector: 'queue=mail,!tier' })
      assert.deepEqual(mail.map((s) => [s.metricLabels, s.value, s.valueQuantity.value]), [[{ queue: 'mail' }, '7', 7n]])
      const jobs = await curl(`${server.url}${EXTERNAL}/namespaces/prod/queue_messages_ready?labelSelector=queue%3Djobs`, cert)
      assert.deepEqual(untimed(jobs.json.items).map((i) => i.value), ['42'])
      assert.deepEqual(await client.getExternalMetric('web', 'unknown_metric'), [])
    })

    test('100 concurrent requests all get their own exact answer', async () => {
      const names = Object.keys(PODS)
      const expected = { 'web-1': '10', 'web-2': '30', 'db-1': '500m' }
      const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => get(server.url, `${CUSTOM}/v1beta2/namespaces/web/pods/${names[i % 3]}/http_requests`)))
      answers.forEach((a, i) => {
        assert.equal(a.status, 200)
        assert.equal(a.json.items[0].describedObject.name, names[i % 3])
        assert.equal(a.json.items[0].value, expected[names[i % 3]])
      })
    })
  })
}

// ---------------------------------------------------------------------------------------------
// The answers every provider implementation gives (tests/fixtures/providers/answers.json, also
// served by a Rust provider in the core's tests and by a Python one in the Python binding's)
// ---------------------------------------------------------------------------------------------

const ANSWERS = JSON.parse(readFileSync(path.join(repoRoot, 'tests', 'fixtures', 'providers', 'answers.json'), 'utf8'))
/** Names and values only, as answers.json describes; kubemetrics builds the values served. */
const answersCustom = {
  listMetrics: () => ANSWERS.metrics.map(([resource, metric, namespaced]) => ({ resource, metric, namespaced })),
  metricByName: (object, metric) => ANSWERS.objects.find((o) => o.resource === object.resource && o.name === object.name && o.metric === metric)?.value,
  metricsBySelector: (namespace, resource, selector, metric) => ANSWERS.objects
    .filter((o) => o.resource === resource && o.metric === metric && (o.namespace === undefined || o.namespace === namespace))
    .map(({ name, value }) => ({ name, value }))
}
const answersExternal = {
  listExternalMetrics: () => ['queue'],
  externalMetric: (namespace, metric) => metric === 'queue' ? ANSWERS.series : []
}
/** The same answers as Promises. */
const later = (provider) => Object.fromEntries(Object.entries(provider).map(([k, f]) => [k, async (...args) => { await sleep(1); return f(...args) }]))

for (const [flavour, custom, external] of [['synchronous', answersCustom, answersExternal], ['asynchronous', later(answersCustom), later(answersExternal)]]) {
  test(`${flavour} providers of names and values answer every route as the core and Python do`, async () => {
    // namespaces/*/metrics/..., a namespace's own metric, nodes by name and by selector (also
    // under a namespace), pods, a metric with no value, discovery and external metrics: the exact
    // bodies of answers.json, so namespaces and nodes are described without a namespace.
    const server = await serve({ custom, external })
    try {
      assert.ok(ANSWERS.answers.length >= 10)
      for (const answer of ANSWERS.answers) {
        const r = await get(server.url, answer.path)
        const body = r.json?.items ? { ...r.json, items: untimed(r.json.items) } : r.json
        assert.deepEqual({ path: answer.path, status: r.status, body }, { path: answer.path, status: answer.status, body: answer.body })
      }
    } finally {
      await server.stop()
    }
  })
}

describe('provider errors become Kubernetes Status answers', () => {
  let server
  let client
  const failing = {
    listMetrics: () => [{ resource: 'pods', metric: 'm' }],
    metricByName (object) {
      switch (object.name) {
        case 'code-not-found': throw Object.assign(new Error('pod code-not-found has no m'), { code: ErrorCode.NotFound })
        case 'k8s-not-found': throw Object.assign(new Error('pod k8s-not-found has no m'), { code: 'NotFound' })
        case 'undefined': return undefined
        case 'code-config': throw Object.assign(new Error('m needs a metricLabelSelector'), { code: ErrorCode.Config })
        case 'k8s-bad-request': throw Object.assign(new Error('bad request for m'), { code: 'BadRequest' })
        case 'error': throw new Error('database unreachable')
        case 'type-error': return null.missing
        case 'rejects': return Promise.reject(new Error('asynchronous failure'))
        case 'rejects-not-found': return (async () => { await sleep(1); throw Object.assign(new Error('gone by now'), { code: 'NotFound' }) })()
        case 'string': throw 'a thrown string' // eslint-disable-line no-throw-literal
        case 'plain-object': throw { code: 'NotFound', message: 'a plain object' } // eslint-disable-line no-throw-literal
        case 'rejects-plain-object': return Promise.reject({ code: 'BadRequest', message: 'a plain rejection' }) // eslint-disable-line prefer-promise-reject-errors
        case 'number': throw 42 // eslint-disable-line no-throw-literal
        case 'invalid-quantity': return '12 apples'
        case 'nan': return NaN
        case 'object': return { value: 1 }
        default: return 1
      }
    },
    metricsBySelector: () => 42
  }
  const externalFailing = {
    listExternalMetrics: () => { throw new Error('discovery is down') },
    externalMetric: () => [{ labels: { queue: 'x' } }]
  }

  before(async () => {
    server = await serve({ custom: failing, external: externalFailing })
    client = await Client.fromKubeconfig(writeKubeconfig(path.join(dir, 'errors-kubeconfig'), server.url, cert))
  })
  after(() => server.stop())

  const byName = (name) => get(server.url, `${CUSTOM}/v1beta2/namespaces/web/pods/${name}/m`)

  test('404, 400 and 500 with the provider message', async () => {
    const notFound = (name, message) => [name, 404, 'NotFound', message]
    const badRequest = (name, message) => [name, 400, 'BadRequest', message]
    // 500s carry "Internal error occurred: " before the message (a string, or a pattern of its start).
    const internal = (name, message) =>
      [name, 500, 'InternalError', typeof message === 'string' ? `Internal error occurred: ${message}` : new RegExp(`^Internal error occurred: ${message.source}`)]
    for (const [name, status, reason, message] of [
      notFound('code-not-found', 'pod code-not-found has no m'),
      notFound('k8s-not-found', 'pod k8s-not-found has no m'),
      notFound('undefined', 'the server could not find the metric m for pods undefined'),
      notFound('rejects-not-found', 'gone by now'),
      badRequest('code-config', 'm needs a metricLabelSelector'),
      badRequest('k8s-bad-request', 'bad request for m'),
      internal('error', 'database unreachable'),
      internal('type-error', "Cannot read properties of null (reading 'missing')"),
      internal('rejects', 'asynchronous failure'),
      internal('string', 'a thrown string'),
      notFound('plain-object', 'a plain object'),
      badRequest('rejects-plain-object', 'a plain rejection'),
      internal('number', 'metricByName threw a number'),
      internal('invalid-quantity', /metricByName returned an invalid value: .*12 apples/),
      internal('nan', 'metricByName returned an invalid value: NaN is not a quantity'),
      internal('object', 'metricByName returned an invalid value: expected a Quantity, a number, a bigint or a quantity string, got an object')
    ]) {
      const r = await byName(name)
      assert.equal(r.status, status, `${name}: ${r.body}`)
      assert.equal(r.json.kind, 'Status')
      assert.equal(r.json.code, status)
      assert.equal(r.json.reason, reason, name)
      if (typeof message === 'string') assert.equal(r.json.message, message, name)
      else assert.match(r.json.message, message, name)
    }
    assert.equal((await byName('fine')).status, 200, 'the provider still answers after all those errors')
  })

  test('wrong shapes from the other methods are 500s that name the method', async () => {
    const list = await get(server.url, `${CUSTOM}/v1beta2/namespaces/web/pods/*/m`)
    assert.equal(list.status, 500)
    assert.match(list.json.message, /^Internal error occurred: metricsBySelector returned a number/)
    const discovery = await get(server.url, EXTERNAL)
    assert.equal(discovery.status, 500)
    assert.equal(discovery.json.message, 'Internal error occurred: discovery is down')
    const series = await get(server.url, `${EXTERNAL}/namespaces/web/q`)
    assert.equal(series.status, 500)
    assert.match(series.json.message, /^Internal error occurred: externalMetric returned an invalid value: .*value/)
  })

  test('the Client sees them as ERR_KM_NOT_FOUND and ERR_KM_API with the status and message', async () => {
    await rejectsWith(assert, client.getCustomMetric({ namespace: 'web', resource: 'pods', name: 'code-not-found' }, 'm'), ErrorCode.NotFound, { status: 404, message: /^pod code-not-found has no m$/ })
    await rejectsWith(assert, client.getCustomMetric({ namespace: 'web', resource: 'pods', name: 'error' }, 'm'), ErrorCode.Api, { status: 500, message: /database unreachable/ })
  })
})

describe('slow providers', () => {
  let server
  const provider = {
    listMetrics: () => [{ resource: 'pods', metric: 'm' }],
    async metricByName (object) {
      if (object.name === 'slow') await sleep(3000)
      if (object.name === 'late') await sleep(11_000)
      if (object.name === 'never') await new Promise(() => {})
      return 1
    },
    metricsBySelector: () => []
  }
  before(async () => { server = await serve({ custom: provider }) })
  after(() => server.stop())

  test('a slow provider call does not hold up other requests', async () => {
    const slow = get(server.url, `${CUSTOM}/v1beta2/namespaces/web/pods/slow/m`)
    const started = Date.now()
    const fast = await Promise.all(Array.from({ length: 50 }, () => get(server.url, `${CUSTOM}/v1beta2/namespaces/web/pods/fast/m`)))
    const fastDone = Date.now() - started
    assert.ok(fast.every((r) => r.status === 200 && r.json.items[0].value === '1'))
    const s = await slow
    assert.equal(s.status, 200)
    assert.ok(fastDone < s.ms, `50 fast requests took ${fastDone} ms, the slow one ${s.ms} ms`)
    assert.ok(s.ms >= 2900, `the slow one took ${s.ms} ms`)
  })

  test('a provider that does not answer within 10 s gets 504 (and a late answer is ignored)', { timeout: 60_000 }, async () => {
    const [never, late] = await Promise.all(['never', 'late'].map((name) => get(server.url, `${CUSTOM}/v1beta2/namespaces/web/pods/${name}/m`)))
    for (const r of [never, late]) {
      assert.equal(r.status, 504, r.body)
      assert.equal(r.json.reason, 'Timeout')
      assert.equal(r.json.message, 'the metrics provider did not answer within 10s')
      assert.ok(r.ms >= 9_500 && r.ms < 15_000, `answered after ${r.ms} ms`)
    }
    await sleep(1500) // the late answer arrives, with nobody waiting for it
    assert.equal((await get(server.url, `${CUSTOM}/v1beta2/namespaces/web/pods/fast/m`)).status, 200)
  })
})

describe('authentication and authorization', () => {
  let server
  before(async () => { server = await serve({ external: syncQueues }) })
  after(() => server.stop())
  const p = `${EXTERNAL}/namespaces/web/queue_messages_ready`

  test('client certificates: system:masters allowed, anonymous 401, others 403 (SubjectAccessReview)', async () => {
    assert.equal((await curl(`${server.url}${p}`, cert)).status, 200)
    const anonymous = await curl(`${server.url}${p}`, cert, { user: null })
    assert.equal(anonymous.status, 401)
    const dave = await curl(`${server.url}${p}`, cert, { user: 'dave' })
    assert.equal(dave.status, 403)
    assert.match(dave.json.message, /forbidden: User "dave" cannot get resource "queue_messages_ready"/)
  })

  test('the front proxy (aggregator) headers: the named user is authorized', async () => {
    const alice = await curl(`${server.url}${p}`, cert, { user: 'front-proxy', args: ['-H', 'X-Remote-User: alice'] })
    assert.equal(alice.status, 200, alice.body)
    const bob = await curl(`${server.url}${p}`, cert, { user: 'front-proxy', args: ['-H', 'X-Remote-User: bob'] })
    assert.equal(bob.status, 403)
    const aggregator = await curl(`${server.url}${EXTERNAL}`, cert, { user: 'front-proxy', args: ['-H', 'X-Remote-User: system:kube-aggregator'] })
    assert.equal(aggregator.status, 200)
  })
})

test('serveCustomMetrics rejects bad options with ERR_KM_CONFIG (and a taken port with ERR_KM_IO)', async () => {
  await rejectsWith(assert, serve({}), ErrorCode.Config, { message: /nothing to serve/ })
  await rejectsWith(assert, serve({ custom: { listMetrics: () => [], metricByName: () => 1 } }), ErrorCode.Config, { message: /^custom\.metricsBySelector must be a function, not undefined$/ })
  await rejectsWith(assert, serve({ external: { listExternalMetrics: [], externalMetric: () => 1 } }), ErrorCode.Config, { message: /^external\.listExternalMetrics must be a function, not an object$/ })
  await rejectsWith(assert, serve({ external: syncQueues }, { bindAddress: 'localhost' }), ErrorCode.Config, { message: /bindAddress "localhost" is not an IP address/ })
  await rejectsWith(assert, serve({ external: syncQueues }, { securePort: 70000 }), ErrorCode.Config, { message: /securePort 70000/ })
  await rejectsWith(assert, serve({ external: syncQueues }, { tlsPrivateKeyFile: undefined }), ErrorCode.Config, { message: /must be given together/ })
  await rejectsWith(assert, serve({ external: syncQueues }, { requestTimeout: 'soon' }), ErrorCode.Config, { message: /requestTimeout/ })
  const taken = net.createServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => taken.once('listening', resolve))
  try {
    await rejectsWith(assert, serve({ external: syncQueues }, { securePort: taken.address().port }), ErrorCode.Io, { message: /cannot listen on 127\.0\.0\.1/ })
  } finally {
    taken.close()
  }
})

test('stop(): the port closes, stopping twice is harmless', async () => {
  const server = await serve({ external: syncQueues })
  assert.equal((await get(server.url, EXTERNAL)).status, 200)
  await server.stop()
  await server.stop()
  let refused = false
  for (let i = 0; i < 50 && !refused; i++) {
    refused = await new Promise((resolve) => {
      const s = net.connect(server.port, '127.0.0.1')
      s.once('connect', () => { s.destroy(); resolve(false) })
      s.once('error', () => resolve(true))
    })
    if (!refused) await sleep(20)
  }
  assert.ok(refused, 'connections are refused after stop()')
})

test('IPv6 loopback: bindAddress ::1', async (t) => {
  let server
  try {
    server = await serve({ external: syncQueues }, { bindAddress: '::1' })
  } catch (e) {
    if (e.code === ErrorCode.Io) return t.skip(`no IPv6 loopback here: ${e.message}`)
    throw e
  }
  try {
    assert.equal(server.address, '::1')
    assert.equal(server.url, `https://[::1]:${server.port}`)
    const r = await curl(`${server.url}${EXTERNAL}/namespaces/web/queue_messages_ready?labelSelector=queue%3Djobs`, cert)
    assert.deepEqual(r.json.items.map((i) => i.value), ['42'])
  } finally {
    await server.stop()
  }
})

describe('the event loop: a running server keeps the process alive until stop() or unref()', () => {
  /** Runs a Node script that starts a server; resolves with how it ended (or 'running' after `waitMs`). */
  async function run (ending, waitMs = 5000) {
    const script = `
      const km = require(${JSON.stringify(path.join(packageDir, 'index.js'))})
      const options = JSON.parse(process.argv[1])
      options.external = { listExternalMetrics: () => ['q'], externalMetric: async () => 1 }
      km.serveCustomMetrics(options).then(async (server) => {
        console.log('serving on ' + server.url)
        ${ending}
      })`
    const options = {
      bindAddress: '127.0.0.1', securePort: 0, tlsCertFile: cert('serving.crt'), tlsPrivateKeyFile: cert('serving.key'), clientCaFile: cert('client-ca.crt'), kubeconfig: loopback.kubeconfig
    }
    const child = spawn(process.execPath, ['-e', script, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] })
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
    let out = ''
    child.stdout.on('data', (c) => { out += c })
    const result = await Promise.race([exited, sleep(waitMs).then(() => 'running')])
    if (result === 'running') {
      child.kill('SIGKILL')
      await exited
    }
    return { result, out }
  }

  test('stop() lets the process exit by itself', async () => {
    const { result, out } = await run(`
      const r = await new Promise((resolve) => require('node:https').get(server.url + '/apis/external.metrics.k8s.io/v1beta1/namespaces/x/q', { rejectUnauthorized: false }, (res) => { res.resume(); resolve(res.statusCode) }))
      console.log('answered ' + r)
      await server.stop()`)
    assert.deepEqual(result, { code: 0, signal: null })
    assert.match(out, /^serving on https:\/\/127\.0\.0\.1:\d+\nanswered 401\n$/)
  })

  test('unref() lets the process exit while the server runs', async () => {
    const { result } = await run('server.unref()')
    assert.deepEqual(result, { code: 0, signal: null })
  })

  test('without stop() the process keeps serving (ref() after unref() too)', async () => {
    for (const ending of ['', 'server.unref(); server.ref()']) {
      const { result, out } = await run(ending, 2000)
      assert.equal(result, 'running', ending)
      assert.match(out, /^serving on /)
    }
  })
})

test('LabelSelector: apimachinery syntax and matching', () => {
  const s = new LabelSelector('queue in (jobs,mail),!paused,tier!=low')
  assert.equal(s.toString(), 'queue in (jobs,mail),!paused,tier!=low')
  assert.equal(JSON.stringify({ s }), '{"s":"queue in (jobs,mail),!paused,tier!=low"}')
  assert.equal(s.matches({ queue: 'jobs' }), true)
  assert.equal(s.matches({ queue: 'jobs', paused: 'yes' }), false)
  assert.equal(s.matches({ queue: 'mail', tier: 'low' }), false)
  assert.equal(s.matches({}), false)
  assert.equal(s.isEmpty(), false)
  const all = new LabelSelector()
  assert.equal(all.isEmpty(), true)
  assert.equal(all.toString(), '')
  assert.equal(all.matches(), true)
  assert.equal(new LabelSelector('replicas>2').matches({ replicas: '3' }), true)
  assert.throws(() => new LabelSelector('a in b'), (e) => e.code === ErrorCode.Config && /invalid label selector "a in b"/.test(e.message))
})
