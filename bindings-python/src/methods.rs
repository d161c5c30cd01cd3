//! `py_methods!`: the `#[pymethods]` of a value class, its own methods followed by shared groups
//! of methods that several classes have alike (so each is written once).
//!
//! ```ignore
//! py_methods!(PyNodeMetrics { /* own methods */ } json("NodeMetrics", wire_json), metrics_meta);
//! ```
//!
//! The groups (each class is a tuple struct around its core value, `self.0`):
//! - `json(NAME, TO_JSON)`: `to_dict`, `to_json` (`TO_JSON(&self.0)`), `from_json`, `==` and
//!   pickling through the Kubernetes JSON;
//! - `dict_eq`: `to_dict` (the serde JSON of the core value) and `==`;
//! - `metrics_meta`: `name`, `labels`, `timestamp`, `window` of a `NodeMetrics` / `PodMetrics`;
//! - `measured`: `timestamp`, `window_seconds`, `value` of a custom / external metric value;
//! - `namespace_name`: `namespace` and `name` of a row;
//! - `cpu_memory`: `cpu` and `memory` `Quantity`s of a row, and `usage_ints`;
//! - `usage_ints`: `cpu_milli_value` and `memory_value`, exact ints of [`CpuMemory`] with no
//!   `Quantity` object (rows, pods and containers);
//! - `cpu_memory_optional`: `cpu` and `memory`, None when absent;
//! - `str_fields(getter(path.to.field) = "doc", ...)`: getters of string fields of the core
//!   value (the path defaults to the getter's name);
//! - `repr(getter, ...)`: `repr` as a constructor call with these getters' values;
//! - `ctor(getter, ...)`: that `repr`, and pickling through the constructor, whose arguments
//!   are these getters' values;
//! - `eq_hash`: `==` and a hash of the core value.

macro_rules! py_methods {
    ($ty:ident { $($own:tt)* } $($groups:tt)*) => {
        $crate::methods::py_methods!(@munch $ty [$($own)*] $($groups)*);
    };
    (@munch $ty:ident [$($acc:tt)*] $(,)?) => {
        #[pymethods]
        impl $ty {
            $($acc)*
        }
    };
    (@munch $ty:ident [$($acc:tt)*] , $($rest:tt)*) => {
        $crate::methods::py_methods!(@munch $ty [$($acc)*] $($rest)*);
    };
    (@munch $ty:ident [$($acc:tt)*] json($name:literal, $to_json:path) $($rest:tt)*) => {
        $crate::methods::py_methods!(@munch $ty [$($acc)*
            /// The object as a Kubernetes server sends it (Go field order, canonical quantities),
            /// as dicts and lists.
            fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                json_to_py(py, &self.to_json()?)
            }

            /// The object as JSON, exactly as a Kubernetes server would write it.
            fn to_json(&self) -> PyResult<String> {
                $to_json(&self.0)
            }

            #[doc = concat!("Reads a `", $name, "` from its Kubernetes JSON (`ApiError` when it cannot be decoded).")]
            #[staticmethod]
            fn from_json(json: &str) -> PyResult<Self> {
                from_json($name, json).map($ty)
            }

            fn __richcmp__(&self, other: PyRef<'_, Self>, op: CompareOp, py: Python<'_>) -> Py<PyAny> {
                richcmp_eq(py, &self.0, &other.0, op)
            }

            fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
                reduce_from_json::<Self>(py, self.to_json()?)
            }
        ] $($rest)*);
    };
    (@munch $ty:ident [$($acc:tt)*] dict_eq $($rest:tt)*) => {
        $crate::methods::py_methods!(@munch $ty [$($acc)*
            /// The value as a dict, as `kubemetrics ... -o json` prints it (quantities as
            /// canonical strings).
            fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                json_to_py(py, &to_json(&self.0)?)
            }

            fn __richcmp__(&self, other: PyRef<'_, Self>, op: CompareOp, py: Python<'_>) -> Py<PyAny> {
                richcmp_eq(py, &self.0, &other.0, op)
            }
        ] $($rest)*);
    };
    (@munch $ty:ident [$($acc:tt)*] metrics_meta $($rest:tt)*) => {
        $crate::methods::py_methods!(@munch $ty [$($acc)*
            /// The object's name (empty if unset).
            #[getter]
            fn name(&self) -> &str {
                self.0.name()
            }

            /// Labels, copied from the Node or Pod.
            #[getter]
            fn labels<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
                labels_to_py(py, &self.0.metadata.labels)
            }

            /// The end of the interval the usage was measured over (for a pod, the earliest
            /// container's), an aware `datetime` in UTC.
            #[getter]
            fn timestamp<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                time_to_py(py, &self.0.timestamp)
            }

            /// The length of that interval.
            #[getter]
            fn window<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                duration_to_py(py, self.0.window)
            }
        ] $($rest)*);
    };
    (@munch $ty:ident [$($acc:tt)*] measured $($rest:tt)*) => {
        $crate::methods::py_methods!(@munch $ty [$($acc)*
            /// When the value was measured (an aware `datetime` in UTC).
            #[getter]
            fn timestamp<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                time_to_py(py, &self.0.timestamp)
            }

            /// Length of the measurement window in seconds (None when the server did not say).
            #[getter]
            fn window_seconds(&self) -> Option<i64> {
                self.0.window_seconds
            }

            /// The value.
            #[getter]
            fn value(&self) -> PyQuantity {
                PyQuantity(self.0.value)
            }
        ] $($rest)*);
    };
    (@munch $ty:ident [$($acc:tt)*] namespace_name $($rest:tt)*) => {
        $crate::methods::py_methods!(@munch $ty [$($acc)*
            /// Namespace.
            #[getter]
            fn namespace(&self) -> &str {
                $crate::top::RowNames::namespace(&self.0)
            }

            /// Name.
            #[getter]
            fn name(&self) -> &str {
                $crate::top::RowNames::name(&self.0)
            }
        ] $($rest)*);
    };
    (@munch $ty:ident [$($acc:tt)*] cpu_memory $($rest:tt)*) => {
        $crate::methods::py_methods!(@munch $ty [$($acc)*
            /// CPU usage (of a pod: summed over its containers).
            #[getter]
            fn cpu(&self) -> PyQuantity {
                PyQuantity($crate::methods::CpuMemory::cpu(&self.0))
            }

            /// Memory usage (of a pod: summed over its containers).
            #[getter]
            fn memory(&self) -> PyQuantity {
                PyQuantity($crate::methods::CpuMemory::memory(&self.0))
            }
        ] usage_ints $($rest)*);
    };
    (@munch $ty:ident [$($acc:tt)*] usage_ints $($rest:tt)*) => {
        $crate::methods::py_methods!(@munch $ty [$($acc)*
            /// CPU usage in millicores, rounded up (`cpu.milli_value` of a row, what `kubectl
            /// top` prints; `total("cpu").milli_value` of a pod; `usage["cpu"].milli_value` of a
            /// container, 0 when not reported), an int made without a `Quantity` object.
            #[getter]
            fn cpu_milli_value(&self) -> PyResult<$crate::quantity::ExactInt> {
                $crate::quantity::exact($crate::methods::CpuMemory::cpu(&self.0).milli_value())
            }

            /// Memory usage in bytes, rounded up (`memory.value` of a row, `total("memory").value`
            /// of a pod, `usage["memory"].value` of a container, 0 when not reported), an int made
            /// without a `Quantity` object.
            #[getter]
            fn memory_value(&self) -> PyResult<$crate::quantity::ExactInt> {
                $crate::quantity::exact($crate::methods::CpuMemory::memory(&self.0).value())
            }
        ] $($rest)*);
    };
    (@munch $ty:ident [$($acc:tt)*] str_fields($($field:ident $(($($path:ident).+))? = $doc:literal),* $(,)?) $($rest:tt)*) => {
        $crate::methods::py_methods!(@munch $ty [$($acc)*
            $(
                #[doc = $doc]
                #[getter]
                fn $field(&self) -> &str {
                    $crate::methods::field_path!(self.0, $field $(, $($path).+)?)
                }
            )*
        ] $($rest)*);
    };
    (@munch $ty:ident [$($acc:tt)*] repr($($field:ident),* $(,)?) $($rest:tt)*) => {
        $crate::methods::py_methods!(@munch $ty [$($acc)*
            fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
                $crate::convert::repr_fields(slf.as_any(), &[$(stringify!($field)),*])
            }
        ] $($rest)*);
    };
    (@munch $ty:ident [$($acc:tt)*] ctor($($field:ident),* $(,)?) $($rest:tt)*) => {
        $crate::methods::py_methods!(@munch $ty [$($acc)*
            fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
                $crate::convert::repr_fields(slf.as_any(), &[$(stringify!($field)),*])
            }

            fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, pyo3::types::PyTuple>)> {
                $crate::convert::reduce_fields(slf.as_any(), &[$(stringify!($field)),*])
            }
        ] $($rest)*);
    };
    (@munch $ty:ident [$($acc:tt)*] eq_hash $($rest:tt)*) => {
        $crate::methods::py_methods!(@munch $ty [$($acc)*
            fn __richcmp__(&self, other: PyRef<'_, Self>, op: CompareOp, py: Python<'_>) -> Py<PyAny> {
                richcmp_eq(py, &self.0, &other.0, op)
            }

            fn __hash__(&self) -> u64 {
                hash_of(&self.0)
            }
        ] $($rest)*);
    };
    (@munch $ty:ident [$($acc:tt)*] cpu_memory_optional $($rest:tt)*) => {
        $crate::methods::py_methods!(@munch $ty [$($acc)*
            /// CPU (None when absent: a node without metrics, a pod without requests).
            #[getter]
            fn cpu(&self) -> Option<PyQuantity> {
                self.0.cpu.map(PyQuantity)
            }

            /// Memory (None when absent).
            #[getter]
            fn memory(&self) -> Option<PyQuantity> {
                self.0.memory.map(PyQuantity)
            }
        ] $($rest)*);
    };
}
pub(crate) use py_methods;

/// `&value.field`, or `&value.path.to.field` when a path is given.
macro_rules! field_path {
    ($value:expr, $field:ident) => {
        &$value.$field
    };
    ($value:expr, $field:ident, $($path:ident).+) => {
        &$value.$($path).+
    };
}
pub(crate) use field_path;

/// The CPU and memory a value's `cpu_memory` / `usage_ints` getters read: a row's, a pod's summed
/// over its containers, a container's (zero when not reported).
pub(crate) trait CpuMemory {
    /// CPU usage.
    fn cpu(&self) -> kubemetrics::Quantity;
    /// Memory usage.
    fn memory(&self) -> kubemetrics::Quantity;
}
