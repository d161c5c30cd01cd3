//! Lazy sequences: results that stay Rust data and make a Python object only for the item read
//! (`len`, indexing with negative indexes, slices, iteration, `==` with lists, a list's `repr`).

use pyo3::basic::CompareOp;
use pyo3::exceptions::PyIndexError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PySlice, PySliceMethods, PyTuple};
use std::sync::atomic::{AtomicUsize, Ordering};

/// What `seq[index]` accepts: an int (negative counts from the end) or a slice.
#[derive(FromPyObject)]
pub(crate) enum SeqIndex<'py> {
    Int(isize),
    Slice(Bound<'py, PySlice>),
}

/// The Python object of item `i` of `owner`, which must be a lazy sequence of the kind the
/// function was made for (`None` past the end).
pub(crate) type ItemFn = for<'py> fn(&Bound<'py, PyAny>, usize) -> PyResult<Option<Bound<'py, PyAny>>>;

/// A lazy sequence: its length and item `i` as a Python object.
pub(crate) trait LazySeq: pyo3::PyClass<Frozen = pyo3::pyclass::boolean_struct::True> + Sync {
    /// The number of items.
    fn seq_len(&self) -> usize;
    /// Item `i` (`i < seq_len()`) as a new Python object.
    fn item<'py>(&self, py: Python<'py>, i: usize) -> PyResult<Bound<'py, PyAny>>;
    /// The type's name, for messages.
    const SEQ_NAME: &'static str;

    /// [`ItemFn`] of this type.
    fn item_of<'py>(owner: &Bound<'py, PyAny>, i: usize) -> PyResult<Option<Bound<'py, PyAny>>> {
        let this = owner.cast::<Self>()?.get();
        if i < this.seq_len() { this.item(owner.py(), i).map(Some) } else { Ok(None) }
    }
}

/// `seq[index]`: one item for an int (`IndexError` out of range), a list for a slice.
pub(crate) fn get_item<'py, S: LazySeq>(slf: &S, py: Python<'py>, index: SeqIndex<'py>) -> PyResult<Bound<'py, PyAny>> {
    let len = slf.seq_len();
    match index {
        SeqIndex::Int(i) => {
            let i = if i < 0 { i + len as isize } else { i };
            match usize::try_from(i) {
                Ok(i) if i < len => slf.item(py, i),
                _ => Err(PyIndexError::new_err(format!("{} index out of range", S::SEQ_NAME))),
            }
        }
        SeqIndex::Slice(s) => {
            let ix = s.indices(len as isize)?;
            let items = (0..ix.slicelength).map(|k| slf.item(py, (ix.start + k as isize * ix.step) as usize)).collect::<PyResult<Vec<_>>>()?;
            Ok(PyList::new(py, items)?.into_any())
        }
    }
}

/// All items as a list.
pub(crate) fn to_list<'py, S: LazySeq>(slf: &S, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, (0..slf.seq_len()).map(|i| slf.item(py, i)).collect::<PyResult<Vec<_>>>()?)
}

/// `value in seq`, `seq.index(value[, start[, stop]])` and `seq.count(value)`, as a list has them.
fn positions<'a, 'py, S: LazySeq>(
    slf: &'a S,
    py: Python<'py>,
    value: &Bound<'py, PyAny>,
    start: isize,
    stop: isize,
) -> impl Iterator<Item = PyResult<usize>> + use<'a, 'py, S> {
    let len = slf.seq_len() as isize;
    let clamp = |i: isize| (if i < 0 { (i + len).max(0) } else { i.min(len) }) as usize;
    let value = value.clone();
    (clamp(start)..clamp(stop)).filter_map(move |i| match slf.item(py, i).and_then(|item| item.eq(&value)) {
        Ok(true) => Some(Ok(i)),
        Ok(false) => None,
        Err(e) => Some(Err(e)),
    })
}

/// `value in seq`.
pub(crate) fn contains<'py, S: LazySeq>(slf: &S, py: Python<'py>, value: &Bound<'py, PyAny>) -> PyResult<bool> {
    positions(slf, py, value, 0, isize::MAX).next().transpose().map(|i| i.is_some())
}

/// `seq.index(value, start, stop)`: the first position of `value`, `ValueError` when absent.
pub(crate) fn index<'py, S: LazySeq>(slf: &S, py: Python<'py>, value: &Bound<'py, PyAny>, start: isize, stop: isize) -> PyResult<usize> {
    positions(slf, py, value, start, stop)
        .next()
        .transpose()?
        .ok_or_else(|| pyo3::exceptions::PyValueError::new_err(format!("value is not in the {}", S::SEQ_NAME)))
}

/// `seq.count(value)`.
pub(crate) fn count<'py, S: LazySeq>(slf: &S, py: Python<'py>, value: &Bound<'py, PyAny>) -> PyResult<usize> {
    positions(slf, py, value, 0, isize::MAX).try_fold(0, |n, r| r.map(|_| n + 1))
}

/// The `#[pymethods]` of a lazy sequence type (one that implements [`LazySeq`]): the type's
/// own methods followed by `__len__`, `__getitem__`, `__iter__`, `__contains__`, `index` and
/// `count`.
macro_rules! lazy_sequence {
    ($ty:ty, { $($methods:tt)* }) => {
        #[pymethods]
        impl $ty {
            $($methods)*

            fn __len__(&self) -> usize {
                $crate::seq::LazySeq::seq_len(self)
            }

            fn __getitem__<'py>(&self, py: Python<'py>, index: $crate::seq::SeqIndex<'py>) -> PyResult<Bound<'py, PyAny>> {
                $crate::seq::get_item(self, py, index)
            }

            fn __iter__(slf: &Bound<'_, Self>) -> $crate::seq::SeqIterator {
                $crate::seq::iter(slf)
            }

            fn __contains__<'py>(&self, py: Python<'py>, value: &Bound<'py, PyAny>) -> PyResult<bool> {
                $crate::seq::contains(self, py, value)
            }

            /// The position of the first item equal to `value` (from `start`, before `stop`);
            /// `ValueError` when there is none.
            #[pyo3(signature = (value, start = 0, stop = isize::MAX, /))]
            fn index<'py>(&self, py: Python<'py>, value: &Bound<'py, PyAny>, start: isize, stop: isize) -> PyResult<usize> {
                $crate::seq::index(self, py, value, start, stop)
            }

            /// The number of items equal to `value`.
            #[pyo3(signature = (value, /))]
            fn count<'py>(&self, py: Python<'py>, value: &Bound<'py, PyAny>) -> PyResult<usize> {
                $crate::seq::count(self, py, value)
            }
        }
    };
}
pub(crate) use lazy_sequence;

/// An iterator over a lazy sequence (`__iter__`).
pub(crate) fn iter<S: LazySeq>(slf: &Bound<'_, S>) -> SeqIterator {
    SeqIterator { owner: slf.clone().into_any().unbind(), next: AtomicUsize::new(0), item: S::item_of }
}

/// `seq == other` (and `!=`): against a list or tuple item by item (each item's own `==`);
/// `NotImplemented` against anything else. `same` compares two sequences of the same type.
pub(crate) fn richcmp<S: LazySeq>(slf: &Bound<'_, S>, other: &Bound<'_, PyAny>, op: CompareOp, same: fn(&S, &S) -> bool) -> PyResult<Py<PyAny>> {
    let py = slf.py();
    let eq = match op {
        CompareOp::Eq => true,
        CompareOp::Ne => false,
        _ => return Ok(py.NotImplemented()),
    };
    let this = slf.get();
    let equal = if let Ok(o) = other.cast::<S>() {
        same(this, o.get())
    } else if other.is_instance_of::<PyList>() || other.is_instance_of::<PyTuple>() {
        if other.len()? != this.seq_len() {
            false
        } else {
            let mut all = true;
            for (i, theirs) in other.try_iter()?.enumerate() {
                if !this.item(py, i)?.eq(theirs?)? {
                    all = false;
                    break;
                }
            }
            all
        }
    } else {
        return Ok(py.NotImplemented());
    };
    Ok(pyo3::types::PyBool::new(py, equal == eq).to_owned().into_any().unbind())
}

/// The iterator of a lazy sequence: it makes each item when it is reached.
#[pyclass(frozen, module = "kubemetrics")]
pub(crate) struct SeqIterator {
    owner: Py<PyAny>,
    next: AtomicUsize,
    item: ItemFn,
}

#[pymethods]
impl SeqIterator {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let item = (self.item)(self.owner.bind(py), i)?;
        if item.is_none() {
            // Stay exhausted (an iterator that ended never yields again).
            self.next.store(usize::MAX / 2, Ordering::Relaxed);
        }
        Ok(item)
    }
}
