// Rows built in JavaScript from the columns the core hands over (kubemetrics::metrics::table_columns
// and kubemetrics::top::TopPodsTable): one native call per list instead of one object per pod through
// N-API or a JSON round trip. Evaluated once per JavaScript environment by src/columns.rs; the
// value of this script is `init(toQuantity)`, which returns the two row builders (and the string
// joiner of Quantity.milliValuesOf).
//
// A list is an Array (a Proxy whose target is a real Array): `Array.isArray`, indexing, `length`,
// iteration, the Array methods, `JSON.stringify` and deep equality behave as with a plain array;
// each row is built on first read and then kept. Writing to the list makes every row first.
'use strict';
(function init (toQuantity) {
  const INDEX = /^(?:0|[1-9][0-9]*)$/

  function lazyArray (length, build, extra) {
    const target = new Array(length)
    let lazy = length > 0
    const row = (i) => {
      let v = target[i]
      if (v === undefined && !(i in target)) {
        v = build(i)
        target[i] = v
      }
      return v
    }
    const realize = () => {
      if (!lazy) return
      for (let i = 0; i < length; i++) row(i)
      lazy = false
    }
    const index = (key) => {
      if (typeof key !== 'string') return -1
      const c = key.charCodeAt(0)
      if (c < 48 || c > 57 || !INDEX.test(key)) return -1
      const i = Number(key)
      return i < length ? i : -1
    }
    for (const [name, value] of Object.entries(extra)) {
      Object.defineProperty(target, name, { value, enumerable: false, writable: false, configurable: true })
    }
    // `for...of`, spreading and `Array.from`: the same values as the array's own iterator, without
    // two Proxy traps per element while the list is untouched.
    const values = function * () {
      let i = 0
      for (; lazy && i < length; i++) yield row(i)
      for (; i < target.length; i++) yield target[i]
    }
    const proxy = new Proxy(target, {
      get (t, key, receiver) {
        if (lazy) {
          if (key === Symbol.iterator) return values
          const i = index(key)
          if (i >= 0) return row(i)
        }
        return Reflect.get(t, key, receiver)
      },
      has (t, key) {
        return (lazy && index(key) >= 0) || Reflect.has(t, key)
      },
      getOwnPropertyDescriptor (t, key) {
        if (lazy) {
          const i = index(key)
          if (i >= 0) row(i)
        }
        return Reflect.getOwnPropertyDescriptor(t, key)
      },
      ownKeys (t) {
        realize()
        return Reflect.ownKeys(t)
      },
      set (t, key, value, receiver) {
        realize()
        return Reflect.set(t, key, value, receiver === proxy ? t : receiver)
      },
      defineProperty (t, key, descriptor) {
        realize()
        return Reflect.defineProperty(t, key, descriptor)
      },
      deleteProperty (t, key) {
        realize()
        return Reflect.deleteProperty(t, key)
      }
    })
    return proxy
  }

  const dataProperty = (o, key, value) => Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true })

  // `{ [resource]: new Quantity(usage[resource]) }` on first read, then an ordinary data property
  // (one accessor shared by every container).
  const lazyUsageQuantities = {
    get () {
      const q = {}
      for (const k of Object.keys(this.usage)) q[k] = toQuantity(this.usage[k])
      return dataProperty(this, 'usageQuantities', q).usageQuantities
    },
    enumerable: true,
    configurable: true
  }

  function strings (text, ends) {
    return (k) => text.slice(k === 0 ? 0 : ends[k - 1], ends[k])
  }

  // PodMetricsColumns: flags as in kubemetrics::metrics::table_columns.
  const META_FIELDS = [[2, 'name'], [4, 'namespace'], [8, 'creationTimestamp']]
  const USAGE_FIELDS = [[1, 'cpu'], [2, 'memory']]
  function podMetrics (c) {
    const s = strings(c.text, c.ends)
    const { podStrings, podFlags, podLabels, podContainers, containerFlags } = c
    let k = 0
    const next = () => s(k++)
    // One JSON string when the `json` flag is set, else the strings of the fields whose flag is.
    const object = (flags, json, fields) => {
      if (flags & json) return JSON.parse(next())
      const o = {}
      for (const [flag, key] of fields) if (flags & flag) o[key] = next()
      return o
    }
    const build = (i) => {
      k = podStrings[i]
      const f = podFlags[i]
      const metadata = object(f, 1, META_FIELDS)
      if (!(f & 1) && f & 16) {
        const labels = {}
        for (let n = podLabels[i]; n > 0; n--) labels[next()] = next()
        metadata.labels = labels
      }
      const timestamp = next()
      const window = next()
      const containers = []
      for (let j = podContainers[i], end = podContainers[i + 1]; j < end; j++) {
        const name = next()
        const usage = object(containerFlags[j], 4, USAGE_FIELDS)
        containers.push(Object.defineProperty({ name, usage }, 'usageQuantities', lazyUsageQuantities))
      }
      return { metadata, timestamp, window, containers }
    }
    const usageColumns = Object.freeze({
      podContainers,
      cpuNanoCores: c.cpuNanoCores,
      memoryBytes: c.memoryBytes,
      exact: c.exact
    })
    return lazyArray(podFlags.length, build, { usageColumns })
  }

  // A row of `topPods`: a plain object literal (prototype Object.prototype), to which `Stamp`
  // adds its list's `containersOf` and its index as private fields (invisible to Object.keys,
  // JSON.stringify, structuredClone and deep equality; a constructor that returns another object
  // gives that object the private fields). One class and one `containers` accessor for every list,
  // so that every row takes the same hidden-class transitions (a new accessor per list would soon
  // turn rows into slow dictionary objects).
  class Unchanged { constructor (o) { return o } }
  class Stamp extends Unchanged {
    #containersOf
    #i
    constructor (row, containersOf, i) {
      super(row)
      this.#containersOf = containersOf
      this.#i = i
    }

    static containers (o) { return o.#containersOf(o.#i) }
  }
  const lazyContainers = {
    get () { return dataProperty(this, 'containers', Stamp.containers(this)).containers },
    set (v) { dataProperty(this, 'containers', v) },
    enumerable: true,
    configurable: true
  }
  const topRow = (namespace, name, cpu, memory, containersOf, i) =>
    Object.defineProperty(new Stamp({ namespace, name, cpu, memory }, containersOf, i), 'containers', lazyContainers)

  // Columns of kubemetrics::top::TopPodsTable (src/columns.rs): row i has the strings name, CPU,
  // memory from 3 * i + 2 * podContainers[i] on, then CPU and memory of each container;
  // namespaces and container names are shared strings. A row's `containers` is an enumerable
  // accessor that builds them on first read and then becomes a data property.
  function topPods (c) {
    const s = strings(c.text, c.ends)
    const sharedText = strings(c.shared, c.sharedEnds)
    const sharedStrings = []
    const shared = (k) => sharedStrings[k] ?? (sharedStrings[k] = sharedText(k))
    const { podContainers, rowNamespaces, containerNames } = c
    const containersOf = (i) => {
      const containers = []
      let k = 3 * i + 2 * podContainers[i] + 3
      for (let j = podContainers[i], end = podContainers[i + 1]; j < end; j++, k += 2) {
        containers.push({ name: shared(containerNames[j]), cpu: s(k), memory: s(k + 1) })
      }
      return containers
    }
    const build = (i) => {
      const k = 3 * i + 2 * podContainers[i]
      return topRow(shared(rowNamespaces[i]), s(k), s(k + 1), s(k + 2), containersOf, i)
    }
    const usageColumns = Object.freeze({ cpuMilliCores: c.cpuMilliCores, memoryBytes: c.memoryBytes, exact: c.exact })
    return lazyArray(c.cpuMilliCores.length, build, { usageColumns })
  }

  // `values.slice(start, end).join('\n')` when every one of those values is a string
  // (Quantity.milliValuesOf reads one text instead of one N-API call per value); `null` otherwise,
  // and the caller reads value by value.
  function joinStrings (values, start, end) {
    for (let i = start; i < end; i++) if (typeof values[i] !== 'string') return null
    return values.slice(start, end).join('\n')
  }

  return { podMetrics, topPods, joinStrings }
})
