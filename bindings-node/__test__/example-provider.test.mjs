// examples/node/external_metrics_provider.mjs, run as users (and the HPA e2e test) run it:
// `node external_metrics_provider.mjs '<json>'`, one `serving on URL` line, values read from the
// value file on every request, selector-filtered, a clean exit on SIGTERM. Run from the examples
// folder (kubemetrics resolved through its package.json) and from a tree like a fresh clone's
// (no node_modules: the script falls back to the repository's binding).
import test from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync, unlinkSync } from 'node:fs'
import path from 'node:path'
import { km, repoRoot, packageDir, writeKubeconfig, certsAndLoopback, startServing, curl } from './helpers.mjs'

const { Client, ErrorCode } = km
const SCRIPT = path.join(repoRoot, 'examples', 'node', 'external_metrics_provider.mjs')
const METRIC = 'queue_messages_ready'

let dir, cert, serving

certsAndLoopback('km-node-example-', (shared) => ({ dir, cert, serving } = shared))

/** Starts the example with the options the HPA e2e test gives it. */
function startExample (script, valueFile) {
  const options = { ...serving, certDir: null, valueFile }
  return startServing(process.execPath, [script, JSON.stringify(options)], { env: { ...process.env, NODE_PATH: '' } })
}

async function exercise (script) {
  const valueFile = path.join(dir, `depth-${path.basename(path.dirname(path.dirname(script)))}`)
  writeFileSync(valueFile, '7\n')
  const example = await startExample(script, valueFile)
  try {
    assert.match(example.url, /^https:\/\/127\.0\.0\.1:\d+$/)
    const client = await Client.fromKubeconfig(writeKubeconfig(path.join(dir, 'example-kubeconfig'), example.url, cert))
    assert.deepEqual(await client.listExternalMetricNames(), [METRIC])

    const jobs = await client.getExternalMetric('default', METRIC, { labelSelector: 'queue=jobs' })
    assert.deepEqual(jobs.map((s) => [s.metricName, s.metricLabels, s.value]), [[METRIC, { queue: 'jobs' }, '7']])
    assert.equal(jobs[0].valueQuantity.value, 7n)

    // The file is read on every request, in any namespace.
    writeFileSync(valueFile, '1500m')
    const later = await client.getExternalMetric('production', METRIC)
    assert.deepEqual(later.map((s) => s.value), ['1500m'])
    assert.equal(later[0].valueQuantity.milliValue, 1500n)

    // Selector-filtered.
    assert.deepEqual(await client.getExternalMetric('default', METRIC, { labelSelector: 'queue=mail' }), [])
    assert.deepEqual((await client.getExternalMetric('default', METRIC, { labelSelector: 'queue in (jobs,mail)' })).length, 1)

    // The aggregator's way in: front-proxy certificate and headers, as kube-controller-manager's
    // requests arrive.
    const viaProxy = await curl(`${example.url}/apis/external.metrics.k8s.io/v1beta1/namespaces/default/${METRIC}?labelSelector=queue%3Djobs`, cert, {
      user: 'front-proxy',
      args: ['-H', 'X-Remote-User: system:kube-aggregator']
    })
    assert.equal(viaProxy.status, 200, viaProxy.body)
    assert.deepEqual(viaProxy.json.items.map((i) => i.value), ['1500m'])

    // Errors: an unknown metric, no value file.
    await assert.rejects(client.getExternalMetric('default', 'other_metric'), (e) => e.code === ErrorCode.NotFound && /external metric other_metric is not served/.test(e.message))
    unlinkSync(valueFile)
    await assert.rejects(client.getExternalMetric('default', METRIC), (e) => e.code === ErrorCode.NotFound && /no value yet/.test(e.message))
  } finally {
    const started = Date.now()
    const ended = await example.stop()
    assert.deepEqual(ended, { code: 0, signal: null }, `SIGTERM: ${example.stderr()}`)
    assert.ok(Date.now() - started < 5000, 'exits promptly on SIGTERM')
  }
  assert.deepEqual(example.lines, [`serving on ${example.url}`], 'exactly one line on stdout')
}

test('the example, from examples/node (kubemetrics resolved through its package.json)', async () => {
  await exercise(SCRIPT)
})

test('the example, from a fresh clone (no node_modules: the repository binding)', async () => {
  const clone = path.join(dir, 'clone')
  mkdirSync(path.join(clone, 'examples', 'node'), { recursive: true })
  symlinkSync(packageDir, path.join(clone, 'bindings-node'))
  const copy = path.join(clone, 'examples', 'node', path.basename(SCRIPT))
  copyFileSync(SCRIPT, copy)
  await exercise(copy)
})

test('the example explains its usage without a valueFile', async () => {
  await assert.rejects(startServing(process.execPath, [SCRIPT, '{}']), /exited with 2: usage: node external_metrics_provider\.mjs/)
})
