// kubemetrics vs @kubernetes/client-node, side by side in one run (not part of the tests).
//
// Every case runs in a child process of its own (this script with `--case NAME`), so that each
// reports its own peak RSS (`process.resourceUsage().maxRSS`) besides wall and CPU time
// (`process.cpuUsage()`: all threads of that process; the loopback server is another process and
// is left out). All cases read the same server (default 100,000 pods, two containers each).
//
//  quantity-one    `Quantity.milliValueOf(s)` vs `quantityToScalar(s)`, per value, over every
//                  quantity string the server sends
//  quantity-class  `new Quantity(s).milliValue` vs the same
//  quantity-bulk   `Quantity.milliValuesOf(strings)` vs `quantityToScalar(s)` per value
//  list-sums       `listPodMetrics()` + per-pod CPU and memory sums from its `usageColumns` (exact
//                  BigInts, no row built) vs `Metrics.getPodMetrics()` + `quantityToScalar`/`add`
//                  per-pod sums (what client-node's `topPods` does)
//  list-rows-sums  the same sums through each row's `usageQuantities` (every row and Quantity built)
//  top-pods        `topPods({ allNamespaces: true })` with every row's name, CPU and memory read vs
//                  the client-node list + per-pod sums above
//
// Setup (once):  npm install && npm run build   (release addon)
//                (cd .. && cargo build --release -p kubemetrics-cli)
// Run:           node benchmarks/bench.mjs [--pods 100000] [--runs 5] [--cases a,b] [--json FILE]
//                (CARGO_TARGET_DIR or KUBEMETRICS_BIN say where the CLI is)
//
// Within a child: one warm-up run, then `--runs` timed runs, medians kept; the two sides of a
// case run one after the other, in alternating order from case to case.
//
// `--quantity-only [--repeat 5] [--seconds 0.2] [--json FILE]` (what benchmarks/run.sh calls) times
// only parse, parse + number and parse + millis over the ten values of core/benches/quantity.rs
// (the criterion benchmark; the list is read from that file), no server: one timed loop handles all
// ten values like one criterion iteration, the sides alternate, each keeps its best; ns per value.
// KM_NODE_ADDON=path/to/kubemetrics.node loads that addon instead of ../index.js (run.sh builds a
// release addon into a scratch folder so that the package's own files stay as they are).
import { spawn, execFileSync } from 'node:child_process'
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
const target = process.env.CARGO_TARGET_DIR ?? path.join(root, 'target')
const cli = process.env.KUBEMETRICS_BIN ??
  [path.join(target, 'release', 'kubemetrics'), path.join(target, 'debug', 'kubemetrics')].find(existsSync)

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

// --- the cases (each runs in a child process: `--case NAME --side kubemetrics|client-node`) --------

async function clientNodeMetrics (kubeconfig) {
  const kc = new KubeConfig()
  kc.loadFromFile(kubeconfig)
  // client-node refuses plain-HTTP servers unless TLS verification is marked as skipped.
  kc.loadFromOptions({
    clusters: kc.getClusters().map((c) => ({ ...c, skipTLSVerify: true })),
    users: kc.getUsers(),
    contexts: kc.getContexts(),
    currentContext: kc.getCurrentContext()
  })
  return new Metrics(kc)
}

// client-node's list + per-pod sums (quantityToScalar + add, as its own `topPods` sums).
async function clientNodeSums (metrics) {
  const { items } = await metrics.getPodMetrics()
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
  return { count: items.length, check: `cpu ${Number(cores).toFixed(3)} cores (float), memory ${BigInt(mem)} bytes` }
}

let sink
const CASES = {
  // Quantity strings exactly as the server sends them: every container's CPU and memory.
  'quantity-one': {
    title: 'one quantity: milliValueOf(s) vs quantityToScalar(s)',
    perValue: true,
    setup: async (kubeconfig) => {
      const { items } = await (await clientNodeMetrics(kubeconfig)).getPodMetrics()
      return items.flatMap((p) => p.containers.flatMap((c) => [c.usage.cpu, c.usage.memory]))
    },
    kubemetrics: (strings) => { let sum = 0n; for (const s of strings) sum += km.Quantity.milliValueOf(s); sink = sum; return strings.length },
    'client-node': (strings) => { let sum = 0; for (const s of strings) sum = add(sum, quantityToScalar(s)); sink = sum; return strings.length }
  },
  'quantity-class': {
    title: 'one quantity: new Quantity(s).milliValue vs quantityToScalar(s)',
    perValue: true,
    setup: (kubeconfig) => CASES['quantity-one'].setup(kubeconfig),
    kubemetrics: (strings) => { let sum = 0n; for (const s of strings) sum += new km.Quantity(s).milliValue; sink = sum; return strings.length },
    'client-node': (strings) => CASES['quantity-one']['client-node'](strings)
  },
  'quantity-bulk': {
    title: 'bulk: milliValuesOf(strings) vs quantityToScalar(s) each',
    perValue: true,
    setup: (kubeconfig) => CASES['quantity-one'].setup(kubeconfig),
    kubemetrics: (strings) => { const m = km.Quantity.milliValuesOf(strings); let sum = 0n; for (let i = 0; i < m.length; i++) sum += m[i]; sink = sum; return strings.length },
    'client-node': (strings) => CASES['quantity-one']['client-node'](strings)
  },
  'list-sums': {
    title: 'listPodMetrics + exact per-pod sums (usageColumns)',
    setup: async (kubeconfig) => ({ client: await km.Client.fromKubeconfig(kubeconfig), metrics: await clientNodeMetrics(kubeconfig) }),
    kubemetrics: async ({ client }) => {
      const pods = await client.listPodMetrics()
      const { podContainers, cpuNanoCores, memoryBytes } = pods.usageColumns
      let cpu = 0n
      let mem = 0n
      for (let i = 0, n = pods.length; i < n; i++) {
        let podCpu = 0n
        let podMem = 0n
        for (let c = podContainers[i], end = podContainers[i + 1]; c < end; c++) {
          podCpu += cpuNanoCores[c]
          podMem += memoryBytes[c]
        }
        cpu += podCpu
        mem += podMem
      }
      return { count: pods.length, check: `cpu ${cpu} nano-cores (exact), memory ${mem} bytes` }
    },
    'client-node': ({ metrics }) => clientNodeSums(metrics)
  },
  'list-rows-sums': {
    title: 'listPodMetrics + sums via each row\'s usageQuantities',
    setup: (kubeconfig) => CASES['list-sums'].setup(kubeconfig),
    kubemetrics: async ({ client }) => {
      const pods = await client.listPodMetrics()
      let cpu = 0n
      let mem = 0n
      for (const p of pods) {
        let podCpu = 0n
        let podMem = 0n
        for (const c of p.containers) {
          podCpu += c.usageQuantities.cpu.milliValue
          podMem += c.usageQuantities.memory.value
        }
        cpu += podCpu
        mem += podMem
      }
      return { count: pods.length, check: `cpu ${cpu} millicores (rounded up per container), memory ${mem} bytes` }
    },
    'client-node': ({ metrics }) => clientNodeSums(metrics)
  },
  'top-pods': {
    title: 'topPods({allNamespaces}), every row read',
    setup: (kubeconfig) => CASES['list-sums'].setup(kubeconfig),
    kubemetrics: async ({ client }) => {
      const top = await client.topPods({ allNamespaces: true })
      let chars = 0
      for (const p of top.pods) chars += p.name.length + p.cpu.length + p.memory.length
      return { count: top.pods.length, check: `total cpu ${top.totalCpu}, memory ${top.totalMemory} (${chars} chars read)` }
    },
    'client-node': ({ metrics }) => clientNodeSums(metrics)
  }
}

// One side of one case, in this (child) process: warm-up, `runs` timed runs, one JSON line out.
async function runCase (name, side, kubeconfig) {
  const spec = CASES[name]
  const input = await spec.setup(kubeconfig)
  const once = async () => {
    globalThis.gc?.()
    const c0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    const result = await spec[side](input)
    return { wall: ms(t0), cpu: cpu(c0), result }
  }
  const warm = await once()
  const times = []
  for (let i = 0; i < runs; i++) times.push(await once())
  const perValue = spec.perValue ? warm.result : 1
  console.log(JSON.stringify({
    wall: median(times.map((t) => t.wall)) / perValue,
    cpu: median(times.map((t) => t.cpu)) / perValue,
    maxRssKiB: process.resourceUsage().maxRSS,
    result: spec.perValue ? { count: warm.result } : warm.result
  }))
}

// --- quantity operations alone (--quantity-only) -----------------------------------------------

function criterionValues () {
  const src = readFileSync(path.join(root, 'core', 'benches', 'quantity.rs'), 'utf8')
  const m = /const VALUES: &\[&str\] = &\[([\s\S]*?)\];/.exec(src)
  if (!m) throw new Error('no `const VALUES` in core/benches/quantity.rs')
  return [...m[1].matchAll(/"([^"]*)"/g)].map((x) => x[1])
}

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

if (process.argv.includes('--baseline')) {
  console.log(JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS }))
  process.exit(0)
}

const caseIndex = process.argv.indexOf('--case')
if (caseIndex !== -1) {
  const side = process.argv[process.argv.indexOf('--side') + 1]
  const kubeconfig = process.argv[process.argv.indexOf('--kubeconfig') + 1]
  await runCase(process.argv[caseIndex + 1], side, kubeconfig)
  process.exit(0)
}

function child (args) {
  const out = execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), ...args, '--pods', String(pods), '--runs', String(runs)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env,
    maxBuffer: 1 << 20
  })
  return JSON.parse(out.trim().split('\n').pop())
}

const server = await startServer()
try {
  const only = process.argv.includes('--cases') ? process.argv[process.argv.indexOf('--cases') + 1].split(',') : Object.keys(CASES)
  const results = {}
  let round = 0
  for (const name of only) {
    const sides = round++ % 2 === 0 ? ['kubemetrics', 'client-node'] : ['client-node', 'kubemetrics']
    results[name] = {}
    for (const side of sides) results[name][side] = child(['--case', name, '--side', side, '--kubeconfig', server.kubeconfig])
  }
  const baseline = child(['--baseline'])
  console.log(`Node ${process.version}, ${pods.toLocaleString('en')} pods x 2 containers, median of ${runs} runs after one warm-up, each side in its own process, loopback server: ${cli}`)
  const col = (x, w) => String(x).padStart(w)
  const time = (x, perValue) => (perValue ? `${x * 1e6 < 10000 ? (x * 1e6).toFixed(0) : (x * 1e6).toExponential(2)} ns/value` : `${x.toFixed(0)} ms`)
  const ratio = (a, b) => `${(b / a).toFixed(2)}x`
  console.log(`${'case'.padEnd(56)} ${col('wall: km', 13)} ${col('client-node', 13)} ${col('ratio', 7)}   ${col('CPU: km', 13)} ${col('client-node', 13)} ${col('ratio', 7)}   ${col('peak RSS: km', 12)} ${col('client-node', 11)} ${col('ratio', 7)}`)
  for (const [name, r] of Object.entries(results)) {
    const k = r.kubemetrics
    const c = r['client-node']
    const pv = !!CASES[name].perValue
    const mib = (x) => `${(x / 1024).toFixed(0)} MiB`
    console.log(`${CASES[name].title.padEnd(56)} ${col(time(k.wall, pv), 13)} ${col(time(c.wall, pv), 13)} ${col(ratio(k.wall, c.wall), 7)}   ${col(time(k.cpu, pv), 13)} ${col(time(c.cpu, pv), 13)} ${col(ratio(k.cpu, c.cpu), 7)}   ${col(mib(k.maxRssKiB), 12)} ${col(mib(c.maxRssKiB), 11)} ${col(ratio(k.maxRssKiB, c.maxRssKiB), 7)}`)
  }
  console.log(`peak RSS of a child that loads both libraries and does nothing: ${(baseline.maxRssKiB / 1024).toFixed(0)} MiB`)
  console.log(`load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} CPUs`)
  console.log('ratio = client-node / kubemetrics (above 1: kubemetrics faster or smaller). CPU = the child process, all threads (the server is another process).')
  for (const [name, r] of Object.entries(results)) {
    console.log(`check ${name}: kubemetrics ${JSON.stringify(r.kubemetrics.result)}; client-node ${JSON.stringify(r['client-node'].result)}`)
  }
  const jsonIndex = process.argv.indexOf('--json')
  if (jsonIndex !== -1) writeFileSync(process.argv[jsonIndex + 1], JSON.stringify({ node: process.version, pods, runs, baseline, results }, null, 1) + '\n')
} finally {
  server.stop()
}
