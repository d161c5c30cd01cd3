// Rows built in JavaScript from the columns the core hands over (kubemetrics::metrics::table_columns
// and kubemetrics::top::columns): one native call per list instead of one object per pod through
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
    const proxy = new Proxy(target, {
      get (t, key, receiver) {
        if (lazy) {
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

  // `{ [resource]: new Quantity(usage[resource]) }` on first read, then an ordinary data property.
  function usageQuantities (o) {
    const q = {}
    for (const k of Object.keys(o.usage)) q[k] = toQuantity(o.usage[k])
    Object.defineProperty(o, 'usageQuantities', { value: q, writable: true, enumerable: true, configurable: true })
    return q
  }
  function container (name, usage) {
    return { name, usage, get usageQuantities () { return usageQuantities(this) } }
  }

  function strings (text, ends) {
    return (k) => text.slice(k === 0 ? 0 : ends[k - 1], ends[k])
  }

  // PodMetricsColumns: flags as in kubemetrics::metrics::table_columns.
  function podMetrics (c) {
    const s = strings(c.text, c.ends)
    const { podStrings, podFlags, podLabels, podContainers, containerFlags } = c
    const build = (i) => {
      let k = podStrings[i]
      const f = podFlags[i]
      let metadata
      if (f & 1) {
        metadata = JSON.parse(s(k++))
      } else {
        metadata = {}
        if (f & 2) metadata.name = s(k++)
        if (f & 4) metadata.namespace = s(k++)
        if (f & 8) metadata.creationTimestamp = s(k++)
        if (f & 16) {
          const labels = {}
          for (let n = podLabels[i]; n > 0; n--) {
            const key = s(k++)
            labels[key] = s(k++)
          }
          metadata.labels = labels
        }
      }
      const timestamp = s(k++)
      const window = s(k++)
      const containers = []
      for (let j = podContainers[i], end = podContainers[i + 1]; j < end; j++) {
        const name = s(k++)
        const cf = containerFlags[j]
        let usage
        if (cf & 4) {
          usage = JSON.parse(s(k++))
        } else {
          usage = {}
          if (cf & 1) usage.cpu = s(k++)
          if (cf & 2) usage.memory = s(k++)
        }
        containers.push(container(name, usage))
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

  // TopPodsColumns: row i has the strings 4 * i + 3 * podContainers[i] onwards.
  function topPods (c) {
    const s = strings(c.text, c.ends)
    const { podContainers } = c
    const build = (i) => {
      let k = 4 * i + 3 * podContainers[i]
      const namespace = s(k++)
      const name = s(k++)
      const cpu = s(k++)
      const memory = s(k++)
      const containers = []
      for (let j = podContainers[i], end = podContainers[i + 1]; j < end; j++) {
        containers.push({ name: s(k++), cpu: s(k++), memory: s(k++) })
      }
      return { namespace, name, cpu, memory, containers }
    }
    const usageColumns = Object.freeze({ cpuMilliCores: c.cpuMilliCores, memoryBytes: c.memoryBytes, exact: c.exact })
    return lazyArray(c.cpuMilliCores.length, build, { usageColumns })
  }

  // `values.join('\n')` when every value is a string (Quantity.milliValuesOf reads one text instead
  // of one N-API call per value); `null` otherwise, and the caller reads value by value.
  function joinStrings (values) {
    for (let i = 0; i < values.length; i++) if (typeof values[i] !== 'string') return null
    return values.join('\n')
  }

  return { podMetrics, topPods, joinStrings }
})
