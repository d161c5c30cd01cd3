//! `Quantity`: the exact Kubernetes `resource.Quantity`.

// `to_parts` / `to_decimal` mirror the core names; the receiver is a small Copy pyclass.
#![allow(clippy::wrong_self_convention)]

use crate::errors::{quantity_error, to_py_err};
use kubemetrics::Format;
use pyo3::basic::CompareOp;
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyInt, PyString, PyTuple};
use std::hash::{DefaultHasher, Hash, Hasher};

/// An exact Kubernetes resource quantity (`"250264852n"`, `"8318172Ki"`, `"1.5"`, `"12e6"`).
///
/// The value is a decimal number rounded up (away from zero) to a multiple of 10^-9, exactly as
/// k8s.io/apimachinery's `resource.ParseQuantity` does, plus the format it prints in. Equality,
/// ordering and hashing look at the value only: `"1"`, `"1000m"` and `"1e0"` are equal.
///
/// `Quantity(value)` parses a quantity string with apimachinery's grammar and rounding, or takes
/// an `int` (whole units) or another `Quantity`. Invalid strings raise `QuantityError` (also a
/// `ValueError`); the message says what was wrong and shows the input.
///
/// Immutable and hashable; `<`, `==`, `+`, `-` (exact; `QuantityError` when a result needs more
/// than 38 significant digits or exceeds 10^1000), unary `-`, `int(q)` (`q.value`), `float(q)`;
/// `str(q)` is the canonical string, `repr(q)` is `Quantity("1536Mi")`; pickles.
///
/// >>> Quantity("250264852n").milli_value
/// 251
/// >>> str(Quantity("1.5Gi"))
/// '1536Mi'
#[pyclass(frozen, module = "kubemetrics", name = "Quantity")]
#[derive(Clone, Copy, Debug)]
pub struct PyQuantity(pub kubemetrics::Quantity);

/// What `Quantity(...)`, usage mappings and row constructors accept: a `Quantity`, a quantity
/// string, or an `int` of whole units.
pub(crate) struct QuantityLike(pub kubemetrics::Quantity);

impl<'a, 'py> FromPyObject<'a, 'py> for QuantityLike {
    type Error = PyErr;

    fn extract(ob: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(q) = ob.cast::<PyQuantity>() {
            return Ok(QuantityLike(q.get().0));
        }
        if let Ok(s) = ob.cast::<PyString>() {
            return kubemetrics::Quantity::parse(&s.to_cow()?).map(QuantityLike).map_err(to_py_err);
        }
        if let Ok(i) = ob.cast::<PyInt>() {
            let Ok(v) = i.extract::<i128>() else {
                return Err(quantity_error(format!("integer {} is out of range for a quantity", i.str()?)));
            };
            return kubemetrics::Quantity::from_parts(v, 0, Format::DecimalSI).map(QuantityLike).map_err(to_py_err);
        }
        Err(PyTypeError::new_err(format!("a quantity must be a Quantity, a str or an int, not {}", ob.get_type().name()?)))
    }
}

pub(crate) fn parse_format(format: &str) -> PyResult<Format> {
    match format {
        "DecimalSI" => Ok(Format::DecimalSI),
        "BinarySI" => Ok(Format::BinarySI),
        "DecimalExponent" => Ok(Format::DecimalExponent),
        other => Err(PyValueError::new_err(format!("unknown quantity format {other:?}: expected \"DecimalSI\", \"BinarySI\" or \"DecimalExponent\""))),
    }
}

/// An exact integer for Python: made from an `i64` when it fits (pyo3 makes an `i128` under the
/// stable ABI with four Python integer operations).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExactInt(i128);

impl<'py> IntoPyObject<'py> for ExactInt {
    type Target = pyo3::types::PyInt;
    type Output = Bound<'py, pyo3::types::PyInt>;
    type Error = std::convert::Infallible;

    fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Self::Error> {
        match i64::try_from(self.0) {
            Ok(small) => small.into_pyobject(py),
            Err(_) => self.0.into_pyobject(py),
        }
    }
}

pub(crate) fn exact(v: Option<i128>) -> PyResult<ExactInt> {
    v.map(ExactInt).ok_or_else(|| PyOverflowError::new_err("the quantity's integer value does not fit 128 bits"))
}

#[pymethods]
impl PyQuantity {
    #[new]
    fn new(value: QuantityLike) -> Self {
        PyQuantity(value.0)
    }

    /// `mantissa * 10^exponent`, rounded up (away from zero) to nano, printed in `format`
    /// (`"DecimalSI"`, `"BinarySI"` or `"DecimalExponent"`).
    ///
    /// Fails (`QuantityError`) when the value needs more than 38 significant digits or exceeds 10^1000.
    #[staticmethod]
    #[pyo3(signature = (mantissa, exponent, format = "DecimalSI"))]
    fn from_parts(mantissa: i128, exponent: i32, format: &str) -> PyResult<Self> {
        kubemetrics::Quantity::from_parts(mantissa, exponent, parse_format(format)?).map(PyQuantity).map_err(to_py_err)
    }

    /// The value as `(mantissa, exponent)`: `mantissa * 10^exponent`, mantissa without trailing zeros.
    fn to_parts(&self) -> (i128, i32) {
        self.0.to_parts()
    }

    /// The preferred print format, kept from the string it was parsed from:
    /// `"DecimalSI"` (`1500m`, `5G`), `"BinarySI"` (`128Mi`) or `"DecimalExponent"` (`12e6`).
    #[getter]
    fn format(&self) -> &'static str {
        self.0.format().as_str()
    }

    /// The same value, printed in another format.
    fn with_format(&self, format: &str) -> PyResult<Self> {
        Ok(PyQuantity(self.0.with_format(parse_format(format)?)))
    }

    /// Whole units, rounded up (away from zero), as an exact int; `OverflowError` when they do
    /// not fit 128 bits.
    #[getter]
    fn value(&self) -> PyResult<ExactInt> {
        exact(self.0.value())
    }

    /// Thousandths, rounded up (away from zero), as an exact int; `OverflowError` when they do
    /// not fit 128 bits. For CPU this is millicores: `250264852n` gives 251, as `kubectl top`
    /// shows `251m`.
    #[getter]
    fn milli_value(&self) -> PyResult<ExactInt> {
        exact(self.0.milli_value())
    }

    /// The value scaled by `10^-scale` and rounded up (away from zero) to an integer;
    /// `OverflowError` when that integer does not fit 128 bits. `scaled_value(0)` is `value`,
    /// `scaled_value(-3)` is `milli_value`, `scaled_value(-9)` is nanos.
    fn scaled_value(&self, scale: i32) -> PyResult<ExactInt> {
        exact(self.0.scaled_value(scale))
    }

    /// The exact value as a `decimal.Decimal` (from the plain decimal string: `"250264852n"`
    /// gives `Decimal('0.250264852')`, `"1Ki"` gives `Decimal('1024')`).
    fn to_decimal<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        static DECIMAL: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();
        let decimal = DECIMAL.import(py, "decimal", "Decimal")?;
        decimal.call1((self.0.to_plain_decimal(),))
    }

    /// `True` unless the value is zero.
    fn __bool__(&self) -> bool {
        !self.0.is_zero()
    }

    /// Whole units, rounded up (away from zero): the same as `value`.
    fn __int__(&self) -> PyResult<ExactInt> {
        exact(self.0.value())
    }

    /// The nearest float (correctly rounded).
    fn __float__(&self) -> f64 {
        self.0.as_f64()
    }

    /// The canonical string (`"1536Mi"`, `"1500m"`, `"12e6"`).
    fn __str__(&self) -> String {
        self.0.canonical()
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.0)
    }

    fn __hash__(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.0.hash(&mut h);
        h.finish()
    }

    fn __richcmp__(&self, other: PyRef<'_, PyQuantity>, op: CompareOp) -> bool {
        op.matches(self.0.cmp(&other.0))
    }

    fn __neg__(&self) -> Self {
        PyQuantity(-self.0)
    }

    fn __pos__(&self) -> Self {
        *self
    }

    fn __add__(&self, other: PyRef<'_, PyQuantity>) -> PyResult<Self> {
        self.0.checked_add(&other.0).map(PyQuantity).map_err(to_py_err)
    }

    fn __sub__(&self, other: PyRef<'_, PyQuantity>) -> PyResult<Self> {
        self.0.checked_sub(&other.0).map(PyQuantity).map_err(to_py_err)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let q = slf.get().0;
        let (m, e) = q.to_parts();
        let from_parts = py.get_type::<PyQuantity>().getattr("from_parts")?;
        Ok((
            from_parts,
            PyTuple::new(py, [m.into_pyobject(py)?.into_any(), e.into_pyobject(py)?.into_any(), q.format().as_str().into_pyobject(py)?.into_any()])?,
        ))
    }

    fn __copy__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __deepcopy__<'py>(slf: PyRef<'py, Self>, _memo: &Bound<'py, PyAny>) -> PyRef<'py, Self> {
        slf
    }
}
