// Compiled with `tsc --strict --noEmit` by types.test.mjs: the generated index.d.ts types every
// object a TypeScript user touches, and wrong uses fail to compile (the @ts-expect-error lines).
import { Client, Quantity, QuantityFormat, ErrorCode, LabelSelector, serveCustomMetrics } from '../../index.js'
import type { NodeMetrics, PodMetrics, NodeRow, TopPods, ContainerMetrics, ObjectMeta } from '../../index.js'
import type {
  MetricValue, ExternalMetricValue, MetricObject, CustomMetricsProvider, ExternalMetricsProvider, CustomMetricInfo, CustomMetricsServer, NamedMetricValue
} from '../../index.js'

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
  const rowMillis: BigInt64Array = top.pods.usageColumns.cpuMilliCores
  const listed = await client.listPodMetrics()
  const nanoCores: BigInt64Array = listed.usageColumns.cpuNanoCores
  const firstContainer: number = listed.usageColumns.podContainers[0]
  const exact: boolean = listed.usageColumns.exact
  const oneMilli: bigint = Quantity.milliValueOf('250m')
  const manyMilli: BigInt64Array = Quantity.milliValuesOf(['250m', '1Gi'])
  // @ts-expect-error milliValuesOf takes strings
  Quantity.milliValuesOf([1, 2])

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

/** A custom metrics provider as a class: methods that use `this`, sync and async. */
class Provider implements CustomMetricsProvider {
  private values = new Map<string, bigint>([['web-1', 10n]])

  listMetrics = (): CustomMetricInfo[] => [{ resource: 'pods', metric: 'http_requests' }]

  metricByName = async (object: MetricObject, metric: string, metricSelector: LabelSelector): Promise<bigint | undefined> => {
    void [metric, metricSelector.toString()]
    return this.values.get(object.name)
  }

  metricsBySelector = (namespace: string | null, resource: string, selector: LabelSelector): NamedMetricValue[] => {
    void [namespace, resource]
    return [...this.values].filter(([name]) => selector.matches({ name })).map(([name, value]) => ({ name, value }))
  }
}

export async function customMetrics (): Promise<string[]> {
  const client = await Client.tryDefault()
  const version: 'v1beta2' | 'v1beta1' = await client.customMetricsVersion()
  const one: MetricValue = await client.getCustomMetric({ namespace: 'web', resource: 'pods', name: 'web-1' }, 'http_requests', { metricSelector: 'verb=GET' })
  const millis: bigint = one.valueQuantity.milliValue
  const kind: string | undefined = one.describedObject.kind
  const window: number | undefined = one.windowSeconds
  const many: MetricValue[] = await client.listCustomMetrics('pods', 'http_requests', { namespace: 'web', labelSelector: 'app=web' })
  const series: ExternalMetricValue[] = await client.getExternalMetric('web', 'queue', { labelSelector: 'queue=jobs' })
  const labels: Record<string, string> = series[0].metricLabels
  const names: string[] = [...await client.listCustomMetricNames(), ...await client.listExternalMetricNames()]

  const external: ExternalMetricsProvider = {
    listExternalMetrics: () => ['queue'],
    externalMetric: async (namespace, metric, selector) => selector.matches({ queue: 'jobs' }) ? [{ labels: { queue: 'jobs' }, value: new Quantity('42') }] : []
  }
  const server: CustomMetricsServer = await serveCustomMetrics({
    custom: new Provider(),
    external,
    bindAddress: '127.0.0.1',
    securePort: 0,
    requestheaderAllowedNames: ['front-proxy-client'],
    anonymousAuth: false
  })
  const url: string = server.url
  const port: number = server.port
  server.unref()
  await server.stop()

  // @ts-expect-error getCustomMetric takes the object as { namespace, resource, name }
  await client.getCustomMetric('web', 'pods', 'web-1', 'http_requests')
  // @ts-expect-error values are quantities, numbers, bigints or strings
  await serveCustomMetrics({ external: { listExternalMetrics: () => ['q'], externalMetric: () => [{ value: true }] } })
  // @ts-expect-error securePort is a number
  await serveCustomMetrics({ external, securePort: '6443' })
  // @ts-expect-error value is a string; valueQuantity is the Quantity
  const wrong: Quantity = one.value

  void [version, millis, kind, window, many, labels, port, wrong]
  return [url, ...names]
}
