//! `LabelSelector`: a parsed Kubernetes label selector, as providers receive them.

use crate::to_js_error;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::collections::BTreeMap;

/// A parsed Kubernetes label selector (`app=web,tier!=db`, `env in (a,b)`, `!canary`,
/// `replicas>2`), with apimachinery's syntax and matching rules.
///
/// Custom and external metrics providers receive the request's selectors as `LabelSelector`s;
/// the empty selector (no `labelSelector` in the request) matches everything.
///
/// ```js
/// const s = new LabelSelector('queue in (jobs,mail),!paused')
/// s.matches({ queue: 'jobs' }) // true
/// s.toString() // 'queue in (jobs,mail),!paused'
/// ```
#[napi]
#[derive(Debug, Clone, Default)]
pub struct LabelSelector {
    pub(crate) inner: kubemetrics::selector::LabelSelector,
}

impl From<kubemetrics::selector::LabelSelector> for LabelSelector {
    fn from(inner: kubemetrics::selector::LabelSelector) -> Self {
        LabelSelector { inner }
    }
}

#[napi]
impl LabelSelector {
    /// Parses `selector` (absent or empty: the selector that matches everything).
    ///
    /// Throws an `Error` with `code` `ERR_KM_CONFIG` naming the selector and what is wrong.
    #[napi(constructor)]
    pub fn new(env: Env, selector: Option<String>) -> Result<LabelSelector> {
        kubemetrics::selector::LabelSelector::parse(selector.as_deref().unwrap_or_default()).map(LabelSelector::from).map_err(|e| to_js_error(&env, &e))
    }

    /// `true` when `labels` satisfy every requirement (absent labels: an object without labels).
    #[napi]
    pub fn matches(&self, labels: Option<BTreeMap<String, String>>) -> bool {
        self.inner.matches(labels.as_ref())
    }

    /// `true` for the selector that matches everything.
    #[napi]
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// The selector in the syntax the constructor reads (`''` for the empty selector).
    #[napi]
    #[allow(clippy::inherent_to_string)]
    pub fn to_string(&self) -> String {
        self.inner.to_string()
    }

    /// The same string as `toString()`, so that `JSON.stringify` writes the selector text.
    #[napi(js_name = "toJSON")]
    pub fn to_json(&self) -> String {
        self.inner.to_string()
    }
}
