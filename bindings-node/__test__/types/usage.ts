// Compiled with `tsc --strict --noEmit` by types.test.mjs: the generated index.d.ts types every
// object a TypeScript user touches, and wrong uses fail to compile (the @ts-expect-error lines).
import { Client, Quantity, QuantityFormat, ErrorCode } from '../../index.js'
import type { NodeMetrics, PodMetrics, NodeRow, TopPods, ContainerMetrics, ObjectMeta } from '../../index.js'

export async function usage (): Promise<string[]> {
  const client: Client = await Client.fromKubeconfig(undefined, null, { timeoutMs: 1000 })
  const other: Client = await Client.tryDefault()
  const inCluster: Promise<Client> = Client.inCluster()
  const namespace: string = client.defaultNamespace

  const nodes: NodeMetrics[] = await client.listNodeMetrics({ labelSelector: 'tier=a' })
  const node: NodeMetrics = await other.getNodeMetrics('node-a')
  const meta: ObjectMeta = node.metadata
  const name: string | undefined = meta.name
  const cpu: string | undefined = node.usage.cpu
  const millicores: bigint = node.usageQuantities.cpu.milliValue
  const pods: PodMetrics[] = await client.listPodMetrics({ namespace: 'default', fieldSelector: 'metadata.name=x' })
  const pod: PodMetrics = await client.getPodMetrics('default', 'x')
  const container: ContainerMetrics = pod.containers[0]
  const bytes: bigint = container.usageQuantities.memory.value
  const rows: NodeRow[] = await client.topNodes({ sortBy: 'cpu', showCapacity: true })
  const percent: number | null = rows[0].cpuPercent
  const top: TopPods = await client.topPods({ allNamespaces: true, sortBy: 'memory', containers: true, sum: true })
  const total: string = top.totalCpu
  const podCpu: string = top.pods[0].containers[0].cpu
  const all: string | null = top.namespace

  const q = new Quantity('1.5Gi')
  const s: string = q.add('512Mi').sub(new Quantity('1')).toString()
  const c: number = q.cmp('1Gi')
  const n: number = q.toNumber()
  const f: QuantityFormat = q.format
  const json: string = q.toJSON()
  const code: string = ErrorCode.NotFound

  // @ts-expect-error sortBy accepts only kubectl's columns
  await client.topNodes({ sortBy: 'disk' })
  // @ts-expect-error usage values are strings, not quantities
  const wrong: Quantity = node.usage.cpu
  // @ts-expect-error value is a bigint
  const notNumber: number = q.value

  void [inCluster, namespace, nodes, name, cpu, millicores, pods, bytes, percent, total, podCpu, all, s, c, n, f, json, code, wrong, notNumber]
  return [namespace]
}
