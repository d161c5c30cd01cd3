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
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { KubeConfig, Metrics } from '@kubernetes/client-node'
import { quantityToScalar, add } from '@kubernetes/client-node/dist/util.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '..', '..')
const km = createRequire(import.meta.url)('../index.js')

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

// --- run -----------------------------------------------------------------------------------

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
