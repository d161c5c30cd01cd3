"""kubemetrics: read Kubernetes resource metrics, exactly.

- ``Quantity``: the exact Kubernetes ``resource.Quantity`` (parse, canonical form, arithmetic).
- ``NodeMetrics``, ``PodMetrics``, ``ContainerMetrics``: the ``metrics.k8s.io`` types;
  ``PodMetricsList``, what ``list_pod_metrics`` returns (a sequence that stays Rust data).
- ``Client`` (blocking, releases the GIL) and ``AsyncClient`` (asyncio): the Metrics API and
  kubectl-identical ``top_nodes`` / ``top_pods`` (``NodeRow``, ``PodRow``, ``ContainerRow``,
  ``TopPods``).
- ``PodRequests``: what pods request, and usage in percent of it (``Client.pod_requests``).
- ``MetricValue``, ``ExternalMetricValue``: ``custom.metrics.k8s.io`` and
  ``external.metrics.k8s.io`` values (``Client.get_custom_metric``, ``list_custom_metrics``,
  ``get_external_metric``, ...).
- ``serve_custom_metrics``: serve ``custom.metrics.k8s.io`` / ``external.metrics.k8s.io`` for the
  HorizontalPodAutoscaler from providers written in Python (``CustomMetricsServer``,
  ``ObjectRef``, ``LabelSelector``, ``CustomMetricInfo``).
- ``KubeMetricsError`` and one subclass per error kind.

Everything is implemented in the Rust crate ``kubemetrics``; this package re-exports the native
module ``kubemetrics._native``.
"""

import collections.abc as _abc

from kubemetrics import _native
from kubemetrics._native import *  # noqa: F403 (the native module's names are the package's)
from kubemetrics._native import __all__ as __all__

# The lazy sequences are sequences: isinstance(top, collections.abc.Sequence) holds.
_abc.Sequence.register(_native.PodMetricsList)
_abc.Sequence.register(_native.TopPods)
