"""kubemetrics: read Kubernetes resource metrics, exactly.

- ``Quantity``: the exact Kubernetes ``resource.Quantity`` (parse, canonical form, arithmetic).
- ``NodeMetrics``, ``PodMetrics``, ``ContainerMetrics``: the ``metrics.k8s.io`` types.
- ``Client`` (blocking, releases the GIL) and ``AsyncClient`` (asyncio): the Metrics API and
  kubectl-identical ``top_nodes`` / ``top_pods`` (``NodeRow``, ``PodRow``, ``ContainerRow``,
  ``TopPods``).
- ``KubeMetricsError`` and one subclass per error kind.

Everything is implemented in the Rust crate ``kubemetrics``; this package re-exports the native
module ``kubemetrics._native``.
"""

from kubemetrics._native import (
    ApiError,
    AsyncClient,
    AuthError,
    Client,
    ConfigError,
    ContainerMetrics,
    ContainerRow,
    InternalError,
    IoError,
    KubeMetricsError,
    MetricsUnavailableError,
    NodeMetrics,
    NodeRow,
    NotFoundError,
    PodMetrics,
    PodRow,
    Quantity,
    QuantityError,
    TopPods,
    __version__,
    parse_quantity,
)

__all__ = [
    "ApiError",
    "AsyncClient",
    "AuthError",
    "Client",
    "ConfigError",
    "ContainerMetrics",
    "ContainerRow",
    "InternalError",
    "IoError",
    "KubeMetricsError",
    "MetricsUnavailableError",
    "NodeMetrics",
    "NodeRow",
    "NotFoundError",
    "PodMetrics",
    "PodRow",
    "Quantity",
    "QuantityError",
    "TopPods",
    "__version__",
    "parse_quantity",
]
