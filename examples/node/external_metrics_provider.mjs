// An external metrics provider written in JavaScript: serves `external.metrics.k8s.io` so that a
// HorizontalPodAutoscaler can scale on a number that lives outside Kubernetes. Here it is the
// depth of a queue, read from a file on every request (replace `readQueueDepth` with a call to
// your broker's API).
//
//   node external_metrics_provider.mjs '{"valueFile": "/tmp/depth", "bindAddress": "127.0.0.1",
//     "securePort": 6443, "tlsCertFile": "tls.crt", "tlsPrivateKeyFile": "tls.key", ...}'
//
// The JSON holds `valueFile` (a file holding a quantity such as `42` or `1500m`) and
// `serveCustomMetrics` options: `kubemetrics serve`'s flags in camelCase (bindAddress,
// securePort, tlsCertFile, tlsPrivateKeyFile, clientCaFile, requestheaderClientCaFile,
// requestheaderAllowedNames, kubeconfig, ...). Prints `serving on https://ADDRESS:PORT` once
// it serves; stops on SIGTERM or SIGINT.
//
// The metric is `queue_messages_ready` with the labels `{ queue: 'jobs' }`, in every namespace:
//
//   metrics:
//   - type: External
//     external:
//       metric:
//         name: queue_messages_ready
//         selector: { matchLabels: { queue: jobs } }
//       target: { type: AverageValue, averageValue: "10" }
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
// `kubemetrics` as `npm install` in this folder links it; straight from the repository's
// binding (after its `npm run build`) when this folder has no node_modules.
function loadKubemetrics () {
  try {
    return require('kubemetrics')
  } catch (e) {
    if (e.code !== 'MODULE_NOT_FOUND') throw e
    return require('../../bindings-node/index.js')
  }
}
const { serveCustomMetrics, ErrorCode } = loadKubemetrics()

const METRIC = 'queue_messages_ready'
const LABELS = { queue: 'jobs' }

let options
try {
  options = JSON.parse(process.argv[2] ?? '')
} catch {
  options = {}
}
const { valueFile, ...given } = options
// Unset settings may come as null from other tools' JSON: leave them out (the flags' defaults).
const serveOptions = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== null))
if (typeof valueFile !== 'string') {
  console.error('usage: node external_metrics_provider.mjs \'{"valueFile": "/path/to/file", "bindAddress": "127.0.0.1", "securePort": 6443, ...}\'')
  process.exit(2)
}

/** The queue's depth: the file's content, a Kubernetes quantity (`42`, `1500m`). */
async function readQueueDepth () {
  try {
    return (await readFile(valueFile, 'utf8')).trim()
  } catch (e) {
    if (e.code === 'ENOENT') throw Object.assign(new Error(`no value yet: ${valueFile} does not exist`), { code: ErrorCode.NotFound })
    throw e
  }
}

const server = await serveCustomMetrics({
  ...serveOptions,
  external: {
    listExternalMetrics: () => [METRIC],
    // Called for GET /apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/{metric}?labelSelector=...
    async externalMetric (namespace, metric, selector) {
      if (metric !== METRIC) throw Object.assign(new Error(`external metric ${metric} is not served`), { code: ErrorCode.NotFound })
      if (!selector.matches(LABELS)) return []
      return [{ labels: LABELS, value: await readQueueDepth() }]
    }
  }
})
console.log(`serving on ${server.url}`)

// Stopping releases everything the server holds: the process then exits by itself.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    server.stop().catch((e) => {
      console.error(e)
      process.exit(1)
    })
  })
}
