// A small cluster dashboard: `kubectl top` as JSON endpoints and one HTML table page.
// Plain node:http, no framework. The cluster comes from $KUBECONFIG / ~/.kube/config (or the
// in-cluster service account), as kubectl finds it.
//
//   npm install                 # links the local kubemetrics package
//   node dashboard.mjs          # PORT=8080 HOST=127.0.0.1 by default
//
// GET /                 the HTML page (tables filled from the two endpoints below)
// GET /api/nodes        topNodes rows   (?sortBy=cpu|memory, ?showCapacity=1, ?labelSelector=...)
// GET /api/pods         topPods result  (?namespace=..., ?allNamespaces=1, ?sortBy=..., ?labelSelector=...)
// Errors answer JSON {code, message} with the API server's status (or 502 when none).
import http from 'node:http'
import { Client, ErrorCode } from 'kubemetrics'

const client = await Client.tryDefault({ timeoutMs: 10_000 })
const port = Number(process.env.PORT ?? 8080)
const host = process.env.HOST ?? '127.0.0.1'

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>kubemetrics dashboard</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 2em; color: #222; }
  table { border-collapse: collapse; margin-bottom: 2em; min-width: 40em; }
  th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
  th:first-child, td:first-child, td.text { text-align: left; }
  th { background: #eef; }
  #error { color: #b00; }
</style>
</head>
<body>
<h1>Cluster usage</h1>
<p id="error"></p>
<h2>Nodes</h2>
<table id="nodes">
  <thead><tr><th>NAME</th><th>CPU(cores)</th><th>CPU(%)</th><th>MEMORY(bytes)</th><th>MEMORY(%)</th></tr></thead>
  <tbody></tbody>
</table>
<h2>Pods (all namespaces)</h2>
<table id="pods">
  <thead><tr><th>NAMESPACE</th><th>NAME</th><th>CPU(cores)</th><th>MEMORY(bytes)</th></tr></thead>
  <tbody></tbody>
  <tfoot></tfoot>
</table>
<script>
function row (cells, cls) {
  const tr = document.createElement('tr')
  if (cls) tr.className = cls
  cells.forEach((text, i) => {
    const td = document.createElement('td')
    td.textContent = text
    if (i < 2) td.className = 'text'
    tr.appendChild(td)
  })
  return tr
}
const pct = (p) => (p === null ? '<unknown>' : p + '%')
async function load () {
  try {
    const [nodes, pods] = await Promise.all(['/api/nodes', '/api/pods?allNamespaces=1'].map(async (u) => {
      const res = await fetch(u)
      const body = await res.json()
      if (!res.ok) throw new Error(body.code + ': ' + body.message)
      return body
    }))
    const nb = document.querySelector('#nodes tbody')
    nb.replaceChildren(...nodes.map((n) => row([n.name, n.cpu ?? '<unknown>', pct(n.cpuPercent), n.memory ?? '<unknown>', pct(n.memoryPercent)])))
    const pb = document.querySelector('#pods tbody')
    pb.replaceChildren(...pods.pods.map((p) => row([p.namespace, p.name, p.cpu, p.memory])))
    document.querySelector('#pods tfoot').replaceChildren(row(['', 'TOTAL', pods.totalCpu, pods.totalMemory], 'total'))
    document.body.dataset.loaded = 'true'
  } catch (e) {
    document.getElementById('error').textContent = e.message
  }
}
load()
</script>
</body>
</html>
`

function send (res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
  res.end(body)
}

function sendJson (res, status, value) {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value))
}

const flag = (v) => v === '1' || v === 'true'
const opt = (v) => v ?? undefined

async function handle (req, res) {
  const url = new URL(req.url, 'http://localhost')
  const q = url.searchParams
  if (req.method !== 'GET') return sendJson(res, 405, { code: 'METHOD_NOT_ALLOWED', message: 'only GET' })
  try {
    switch (url.pathname) {
      case '/':
        return send(res, 200, 'text/html; charset=utf-8', page)
      case '/api/nodes':
        return sendJson(res, 200, await client.topNodes({
          sortBy: opt(q.get('sortBy')),
          showCapacity: flag(q.get('showCapacity')),
          labelSelector: opt(q.get('labelSelector'))
        }))
      case '/api/pods':
        return sendJson(res, 200, await client.topPods({
          namespace: opt(q.get('namespace')),
          allNamespaces: flag(q.get('allNamespaces')),
          sortBy: opt(q.get('sortBy')),
          labelSelector: opt(q.get('labelSelector')),
          fieldSelector: opt(q.get('fieldSelector'))
        }))
      case '/healthz':
        return send(res, 200, 'text/plain', 'ok')
      default:
        return sendJson(res, 404, { code: 'NOT_FOUND', message: `no route ${url.pathname}` })
    }
  } catch (e) {
    const status = e.status ?? (e.code === ErrorCode.Config ? 400 : e.code === ErrorCode.NotFound ? 404 : 502)
    return sendJson(res, status, { code: e.code, message: e.message })
  }
}

const server = http.createServer((req, res) => { handle(req, res) })
server.listen(port, host, () => {
  const { address, port: bound } = server.address()
  console.log(`dashboard listening on http://${address}:${bound}`)
})
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close(() => process.exit(0))
    server.closeAllConnections()
  })
}
