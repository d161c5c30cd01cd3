// kubemetrics vs @kubernetes/client-node, side by side in one run (not part of the tests).
//
// 1. List pod metrics of a generated cluster (default 100,000 pods, two containers each) from a
//    real loopback API server, then handle the quantities the way `top` does (per-pod CPU and
//    memory sums): kubemetrics `listPodMetrics()` + its parsed `usageQuantities` vs client-node
//    `Metrics.getPodMetrics()` + its `quantityToScalar`/`add` (what its `topPods` uses).
//    Also `topPods({ allNamespaces: true })`, where the core computes the per-pod sums itself.
// 2. Quantity parsing alone over the same quantity strings: `new Quantity(s).milliValue` vs
//    `quantityToScalar(s)`.
//
// Setup (once):  npm install && npm run build   (release addon)
//                (cd .. && cargo build --release -p kubemetrics-cli)
// Run:           node benchmarks/bench.mjs [--pods 100000] [--runs 5]
//
// Both clients read the same server process; runs alternate between the two; the median is kept.
//
// `--quantity-only [--repeat 5] [--seconds 0.2] [--json FILE]` (what benchmarks/run.sh calls) times
// only parse, parse + number and parse + millis over the ten values of core/benches/quantity.rs
// (the criterion benchmark; the list is read from that file), no server: one timed loop handles all
// ten values like one criterion iteration, the sides alternate, each keeps its best; ns per value.
// KM_NODE_ADDON=path/to/kubemetrics.node loads that addon instead of ../index.js (run.sh builds a
// release addon into a scratch folder so that the package's own files stay as they are).
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { KubeConfig, Metrics } from '@kubernetes/client-node'
import { quantityToScalar, add } from '@kubernetes/client-node/dist/util.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '..', '..')
const km = createRequire(import.meta.url)(process.env.KM_NODE_ADDON ? path.resolve(process.env.KM_NODE_ADDON) : '../index.js')

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}
const pods = arg('pods', 100_000)
const runs = arg('runs', 5)
const cli = process.env.KUBEMETRICS_BIN ??
  [path.join(root, 'target', 'release', 'kubemetrics'), path.join(root, 'target', 'debug', 'kubemetrics')].find(existsSync)

async function startServer () {
  const dir = mkdtempSync(path.join(tmpdir(), 'km-bench-'))
  const kubeconfig = path.join(dir, 'kubeconfig')
  const child = spawn(cli, ['loopback-api', '--scale-pods', String(pods), '--write-kubeconfig', kubeconfig], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`loopback API exited with ${code}`)))
    createInterface({ input: child.stdout }).once('line', resolve)
  })
  return { kubeconfig, stop: () => { child.kill('SIGTERM'); rmSync(dir, { recursive: true, force: true }) } }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6
// CPU time of this process (all threads) since `c0`, in ms: robust to other load on the machine,
// and it leaves out the server, which is another process.
const cpu = (c0) => { const c = process.cpuUsage(c0); return (c.user + c.system) / 1000 }

// --- the two sides -------------------------------------------------------------------------

async function kubemetricsList (client) {
  const c0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  const items = await client.listPodMetrics()
  const list = ms(t0)
  const listCpu = cpu(c0)
  let cpuMilli = 0n
  let memBytes = 0n
  for (const p of items) {
    for (const c of p.containers) {
      cpuMilli += c.usageQuantities.cpu.milliValue
      memBytes += c.usageQuantities.memory.value
    }
  }
  return { list, listCpu, total: ms(t0), totalCpu: cpu(c0), count: items.length, cpu: Number(cpuMilli) / 1000, mem: memBytes }
}

// The dashboard way: per-pod sums computed by the core (`kubectl top pod -A`), rows as strings.
async function kubemetricsTop (client) {
  const c0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  const top = await client.topPods({ allNamespaces: true })
  let chars = 0
  for (const p of top.pods) chars += p.cpu.length + p.memory.length
  return { top: ms(t0), topCpu: cpu(c0), count: top.pods.length, chars }
}

async function clientNodeList (metrics) {
  const c0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  const { items } = await metrics.getPodMetrics()
  const list = ms(t0)
  const listCpu = cpu(c0)
  let cores = 0
  let mem = 0
  for (const p of items) {
    let podCpu = 0
    let podMem = 0
    for (const c of p.containers) {
      podCpu = add(podCpu, quantityToScalar(c.usage.cpu))
      podMem = add(podMem, quantityToScalar(c.usage.memory))
    }
    cores = add(cores, podCpu)
    mem = add(mem, podMem)
  }
  return { list, listCpu, total: ms(t0), totalCpu: cpu(c0), count: items.length, cpu: Number(cores), mem: BigInt(mem) }
}

function parseKubemetrics (strings) {
  const t0 = process.hrtime.bigint()
  let sum = 0n
  for (const s of strings) sum += new km.Quantity(s).milliValue
  return { time: ms(t0), sum }
}

function parseClientNode (strings) {
  const t0 = process.hrtime.bigint()
  let sum = 0
  for (const s of strings) sum = add(sum, quantityToScalar(s))
  return { time: ms(t0), sum }
}

// --- quantity operations alone (--quantity-only) -----------------------------------------------

function criterionValues () {
  const src = readFileSync(path.join(root, 'core', 'benches', 'quantity.rs'), 'utf8')
  const m = /const VALUES: &\[&str\] = &\[([\s\S]*?)\];/.exec(src)
  if (!m) throw new Error('no `const VALUES` in core/benches/quantity.rs')
  return [...m[1].matchAll(/"([^"]*)"/g)].map((x) => x[1])
}

let sink
// One loop function per side and operation, so that each call site sees one callee.
const QUANTITY_OPS = [
  {
    key: 'parse',
    kubemetrics: 'new Quantity(s)',
    official: 'quantityToScalar(s)',
    check: (s) => [new km.Quantity(s).toNumber(), Number(quantityToScalar(s))],
    ours: (values, n) => { for (let i = 0; i < n; i++) for (const s of values) sink = new km.Quantity(s) },
    theirs: (values, n) => { for (let i = 0; i < n; i++) for (const s of values) sink = quantityToScalar(s) }
  },
  {
    key: 'parse_float',
    kubemetrics: 'new Quantity(s).toNumber()',
    official: 'Number(quantityToScalar(s))',
    check: (s) => [new km.Quantity(s).toNumber(), Number(quantityToScalar(s))],
    ours: (values, n) => { for (let i = 0; i < n; i++) for (const s of values) sink = new km.Quantity(s).toNumber() },
    theirs: (values, n) => { for (let i = 0; i < n; i++) for (const s of values) sink = Number(quantityToScalar(s)) }
  },
  {
    key: 'parse_milli',
    kubemetrics: 'new Quantity(s).milliValue',
    official: 'Math.ceil(Number(quantityToScalar(s)) * 1000)',
    check: (s) => [Number(new km.Quantity(s).milliValue), Math.ceil(Number(quantityToScalar(s)) * 1000)],
    ours: (values, n) => { for (let i = 0; i < n; i++) for (const s of values) sink = new km.Quantity(s).milliValue },
    theirs: (values, n) => { for (let i = 0; i < n; i++) for (const s of values) sink = Math.ceil(Number(quantityToScalar(s)) * 1000) }
  }
]

function quantityOnly () {
  const values = criterionValues()
  const repeat = arg('repeat', 5)
  const seconds = arg('seconds', 0.2)
  const jsonIndex = process.argv.indexOf('--json')
  const timed = (loop, n) => { const t0 = process.hrtime.bigint(); loop(values, n); return Number(process.hrtime.bigint() - t0) }
  const rows = {}
  for (const op of QUANTITY_OPS) {
    for (const s of values) {
      const [a, b] = op.check(s)
      if (a !== b) throw new Error(`${op.key} of ${s}: kubemetrics ${a}, client-node ${b}`)
    }
    const sides = { kubemetrics: op.ours, official: op.theirs }
    const passes = {}
    for (const [side, loop] of Object.entries(sides)) {
      // Warm up (JIT), then passes per timing for about `seconds`.
      let n = 1
      while (timed(loop, n) < 0.02e9) n *= 2
      passes[side] = Math.max(1, Math.round(n * seconds / (timed(loop, n) / 1e9)))
    }
    const best = { kubemetrics: Infinity, official: Infinity }
    for (let r = 0; r < repeat; r++) {
      for (const [side, loop] of Object.entries(sides)) {
        globalThis.gc?.()
        best[side] = Math.min(best[side], timed(loop, passes[side]) / passes[side])
      }
    }
    rows[op.key] = {
      kubemetrics: op.kubemetrics,
      official: op.official,
      kubemetrics_ns_per_value: best.kubemetrics / values.length,
      official_ns_per_value: best.official / values.length
    }
    const r = rows[op.key]
    console.log(`node ${op.key.padEnd(12)} ${op.kubemetrics.padEnd(28)} ${r.kubemetrics_ns_per_value.toFixed(0).padStart(8)} ns/value   ` +
      `${op.official.padEnd(46)} ${r.official_ns_per_value.toFixed(0).padStart(8)} ns/value   ratio ${(r.official_ns_per_value / r.kubemetrics_ns_per_value).toFixed(2)}x`)
  }
  const clientNode = JSON.parse(readFileSync(path.join(here, '..', 'node_modules', '@kubernetes', 'client-node', 'package.json'), 'utf8')).version
  const out = {
    node: process.version,
    client_node: clientNode,
    addon: process.env.KM_NODE_ADDON ? path.resolve(process.env.KM_NODE_ADDON) : path.join(here, '..', 'index.js'),
    values,
    repeat,
    loadavg: loadavg(),
    cpus: cpus().length,
    rows
  }
  if (jsonIndex !== -1) writeFileSync(process.argv[jsonIndex + 1], JSON.stringify(out, null, 1) + '\n')
}

// --- run -----------------------------------------------------------------------------------

if (process.argv.includes('--quantity-only')) {
  quantityOnly()
  process.exit(0)
}

const server = await startServer()
try {
  const client = await km.Client.fromKubeconfig(server.kubeconfig)
  const kc = new KubeConfig()
  kc.loadFromFile(server.kubeconfig)
  // client-node refuses plain-HTTP servers unless TLS verification is marked as skipped.
  kc.loadFromOptions({
    clusters: kc.getClusters().map((c) => ({ ...c, skipTLSVerify: true })),
    users: kc.getUsers(),
    contexts: kc.getContexts(),
    currentContext: kc.getCurrentContext()
  })
  const metrics = new Metrics(kc)

  // Warm up both (connections, JIT, the server's first serialization).
  const warmK = await kubemetricsList(client)
  const warmC = await clientNodeList(metrics)
  if (warmK.count !== pods || warmC.count !== pods) throw new Error(`expected ${pods} pods, got ${warmK.count} / ${warmC.count}`)

  const k = { list: [], total: [], listCpu: [], totalCpu: [] }
  const t = { top: [], topCpu: [] }
  const c = { list: [], total: [], listCpu: [], totalCpu: [] }
  for (let i = 0; i < runs; i++) {
    for (const [side, fn] of i % 2 === 0
      ? [[k, () => kubemetricsList(client)], [t, () => kubemetricsTop(client)], [c, () => clientNodeList(metrics)]]
      : [[c, () => clientNodeList(metrics)], [t, () => kubemetricsTop(client)], [k, () => kubemetricsList(client)]]) {
      globalThis.gc?.()
      const r = await fn()
      for (const key of Object.keys(side)) side[key].push(r[key])
    }
  }

  // Quantity strings exactly as the server sends them (both clients' input).
  const strings = (await metrics.getPodMetrics()).items.flatMap((p) => p.containers.flatMap((ct) => [ct.usage.cpu, ct.usage.memory]))
  parseKubemetrics(strings.slice(0, 10_000))
  parseClientNode(strings.slice(0, 10_000))
  const pk = []
  const pc = []
  const pkCpu = []
  const pcCpu = []
  for (let i = 0; i < runs; i++) {
    let c0 = process.cpuUsage()
    pk.push(parseKubemetrics(strings).time)
    pkCpu.push(cpu(c0))
    c0 = process.cpuUsage()
    pc.push(parseClientNode(strings).time)
    pcCpu.push(cpu(c0))
  }

  const rows = [
    ['list pod metrics (HTTP + decode + JS objects)', k.list, c.list, k.listCpu, c.listCpu],
    ['list + quantity handling (per-pod sums)', k.total, c.total, k.totalCpu, c.totalCpu],
    ['topPods({allNamespaces}) vs list + per-pod sums', t.top, c.total, t.topCpu, c.totalCpu],
    [`parse ${strings.length.toLocaleString('en')} quantity strings`, pk, pc, pkCpu, pcCpu]
  ].map(([name, ...xs]) => [name, ...xs.map(median)])
  console.log(`Node ${process.version}, ${pods.toLocaleString('en')} pods x 2 containers, median of ${runs} runs, loopback server: ${path.relative(root, cli)}`)
  const cell = (x) => (x.toFixed(0) + ' ms').padStart(10)
  const ratio = (a, b) => ((b / a).toFixed(2) + 'x').padStart(7)
  console.log(`${'benchmark'.padEnd(46)} ${'wall: kubemetrics'.padStart(17)} ${'client-node'.padStart(11)} ${'ratio'.padStart(7)}   ${'CPU: kubemetrics'.padStart(16)} ${'client-node'.padStart(11)} ${'ratio'.padStart(7)}`)
  for (const [name, a, b, ac, bc] of rows) {
    console.log(`${name.padEnd(46)} ${cell(a).padStart(17)} ${cell(b).padStart(11)} ${ratio(a, b)}   ${cell(ac).padStart(16)} ${cell(bc).padStart(11)} ${ratio(ac, bc)}`)
  }
  console.log(`load average at the end: ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')} on ${(await import('node:os')).cpus().length} CPUs`)
  console.log('ratio = client-node / kubemetrics (above 1: kubemetrics faster). CPU = this process, all threads (the server is another process).')
  console.log(`sums: kubemetrics cpu ${warmK.cpu} cores (millicores rounded up per container), memory ${warmK.mem} bytes; client-node cpu ${warmC.cpu.toFixed(3)} cores (float), memory ${warmC.mem} bytes`)
} finally {
  server.stop()
}
