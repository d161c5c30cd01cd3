//! `serveCustomMetrics`: a `custom.metrics.k8s.io` / `external.metrics.k8s.io` server whose
//! providers are JavaScript objects.
//!
//! The core serves HTTPS, authenticates, authorizes, routes, times out slow providers (504) and
//! writes Kubernetes `Status` errors; this module only adapts JavaScript functions to the core's
//! provider traits. Each provider method becomes a weak `ThreadsafeFunction` (bound to its
//! object, so `this` works): a request on a tokio thread queues a call on the JavaScript thread,
//! the function's result (a value, or a Promise settled later) is converted there, and the
//! converted answer comes back through a oneshot channel. Neither thread ever waits on the
//! other. One strong `ThreadsafeFunction`, never called, keeps the event loop alive while the
//! server runs (like a listening `net.Server`); `stop()` and `unref()` release it. Providers
//! return names and values; the core's `metric_value`, `SelectorQuery::values` and `external_values`
//! build the values served, as for the Python binding.

use crate::custom::MetricObject;
use crate::selector::LabelSelector;
use crate::{spawn, to_js_error};
use kubemetrics::custom::{self as core_custom, BoxFuture, ObjectValue, SeriesValue};
use kubemetrics::metrics::custom::{ExternalMetricValue, MetricValue};
use kubemetrics::server::{MetricsServer, ServeConfig};
use kubemetrics::{ErrorKind, GoDuration};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{JsValue, ValueType, sys};
use napi_derive::napi;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// What `serveCustomMetrics` serves and how: the providers plus `kubemetrics serve`'s serving
/// and authentication settings (metrics-server's flags, camelCased: `securePort` is
/// `--secure-port`). Unset settings take the flags' defaults.
///
/// Requests are authenticated with client certificates (`clientCaFile`), the aggregator's
/// front-proxy headers (`requestheaderClientCaFile`, `requestheaderAllowedNames`) or bearer
/// tokens (TokenReview), and authorized with SubjectAccessReview, both asked of the cluster
/// `kubeconfig` names. When neither CA file is given they are read from the cluster's
/// `kube-system/extension-apiserver-authentication` ConfigMap, as every aggregated API server does.
#[napi(object, object_to_js = false)]
pub struct ServeCustomMetricsOptions<'a> {
    /// Serves `custom.metrics.k8s.io` (v1beta1 and v1beta2) from this object.
    #[napi(ts_type = "CustomMetricsProvider")]
    pub custom: Option<Object<'a>>,
    /// Serves `external.metrics.k8s.io/v1beta1` from this object.
    #[napi(ts_type = "ExternalMetricsProvider")]
    pub external: Option<Object<'a>>,
    /// `--bind-address`: the IP address to listen on (default `0.0.0.0`; `127.0.0.1` or `::1`
    /// for loopback only).
    pub bind_address: Option<String>,
    /// `--secure-port` (default 10250; 0 picks a free port, see `port`).
    pub secure_port: Option<u32>,
    /// `--cert-dir`: where a self-signed serving certificate is written when no
    /// `tlsCertFile`/`tlsPrivateKeyFile` are given (default `apiserver.local.config/certificates`).
    pub cert_dir: Option<String>,
    /// `--tls-cert-file`: the PEM serving certificate (with `tlsPrivateKeyFile`).
    pub tls_cert_file: Option<String>,
    /// `--tls-private-key-file`: its PEM private key.
    pub tls_private_key_file: Option<String>,
    /// `--client-ca-file`: the CA that signs accepted client certificates.
    pub client_ca_file: Option<String>,
    /// `--requestheader-client-ca-file`: the CA that signs the front proxy's (aggregator's) certificate.
    pub requestheader_client_ca_file: Option<String>,
    /// `--requestheader-allowed-names`: the front proxy certificate names accepted (empty: any
    /// signed by `requestheaderClientCaFile`).
    pub requestheader_allowed_names: Option<Vec<String>>,
    /// `--requestheader-username-headers` (default `['x-remote-user']`).
    pub requestheader_username_headers: Option<Vec<String>>,
    /// `--requestheader-group-headers` (default `['x-remote-group']`).
    pub requestheader_group_headers: Option<Vec<String>>,
    /// `--requestheader-extra-headers-prefix` (default `['x-remote-extra-']`).
    pub requestheader_extra_headers_prefix: Option<Vec<String>>,
    /// `--authorization-always-allow-paths` (default `['/healthz', '/readyz', '/livez']`).
    pub authorization_always_allow_paths: Option<Vec<String>>,
    /// `--anonymous-auth` (default off: unauthenticated requests get 401).
    pub anonymous_auth: Option<bool>,
    /// Authorize every authenticated user without SubjectAccessReview (local testing only).
    pub authorization_always_allow_authenticated: Option<bool>,
    /// `--max-requests-inflight` (default 400; 0: unlimited).
    pub max_requests_inflight: Option<u32>,
    /// `--request-timeout`, as a Go duration (default `'1m0s'`).
    pub request_timeout: Option<String>,
    /// The kubeconfig of the cluster asked for TokenReviews, SubjectAccessReviews and
    /// `extension-apiserver-authentication` (absent: in-cluster, then `KUBECONFIG` /
    /// `~/.kube/config`).
    pub kubeconfig: Option<String>,
}

impl std::fmt::Debug for ServeCustomMetricsOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeCustomMetricsOptions")
            .field("custom", &self.custom.is_some())
            .field("external", &self.external.is_some())
            .field("bind_address", &self.bind_address)
            .field("secure_port", &self.secure_port)
            .finish_non_exhaustive()
    }
}

/// Serves `custom.metrics.k8s.io`. Every method may return its answer or a Promise of it, and
/// is called with `this` set to the provider object.
///
/// Errors: throw (or reject with) an `Error` whose `code` is `ErrorCode.NotFound`
/// (`'ERR_KM_NOT_FOUND'`) or `'NotFound'` to answer 404 with its message, `ErrorCode.Config`
/// (`'ERR_KM_CONFIG'`) or `'BadRequest'` to answer 400; anything else answers 500 `Internal
/// error occurred: <message>`. A call that has not answered after 10 seconds answers 504.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug)]
pub struct CustomMetricsProvider {
    /// Every metric served, for discovery (asked on every discovery request: keep it cheap).
    #[napi(ts_type = "() => Array<CustomMetricInfo> | Promise<Array<CustomMetricInfo>>")]
    pub list_metrics: (),
    /// The value of `metric` for one object (`object.namespace` is absent for cluster-scoped
    /// objects, and for a namespace's own metrics, where `object.resource` is `'namespaces'`).
    /// `metricSelector` is the request's `metricLabelSelector` (empty when none was given).
    /// Returning `null` or `undefined` answers 404.
    #[napi(
        ts_type = "(object: MetricObject, metric: string, metricSelector: LabelSelector) => Quantity | number | bigint | string | null | undefined | Promise<Quantity | number | bigint | string | null | undefined>"
    )]
    pub metric_by_name: (),
    /// The values of `metric` for the objects of `resource` in `namespace` (`null` for
    /// cluster-scoped objects) whose labels match `selector`: `{ name: value }` or
    /// `[{ name, value }]`, one per object, in the order returned.
    #[napi(
        ts_type = "(namespace: string | null, resource: string, selector: LabelSelector, metric: string, metricSelector: LabelSelector) => Record<string, Quantity | number | bigint | string> | Array<NamedMetricValue> | Promise<Record<string, Quantity | number | bigint | string> | Array<NamedMetricValue>>"
    )]
    pub metrics_by_selector: (),
}

/// Serves `external.metrics.k8s.io/v1beta1`. Every method may return its answer or a Promise of
/// it, and is called with `this` set to the provider object. Errors as for
/// `CustomMetricsProvider`.
#[napi(object, object_to_js = false, object_from_js = false)]
#[derive(Debug)]
pub struct ExternalMetricsProvider {
    /// Every external metric served, for discovery (asked on every discovery request).
    #[napi(ts_type = "() => Array<string> | Promise<Array<string>>")]
    pub list_external_metrics: (),
    /// The series of `metric` in `namespace` whose labels match `selector` (the request's
    /// `labelSelector`; filter with `selector.matches(labels)`): `[{ labels, value }]`, or one
    /// value (a single series without labels).
    #[napi(
        ts_type = "(namespace: string, metric: string, selector: LabelSelector) => Array<ExternalMetricSeries> | Quantity | number | bigint | string | Promise<Array<ExternalMetricSeries> | Quantity | number | bigint | string>"
    )]
    pub external_metric: (),
}

/// A custom metric a provider serves (an item of `listMetrics()`).
#[napi(object, object_to_js = false)]
#[derive(Debug)]
pub struct CustomMetricInfo {
    /// The plural resource of the objects it describes (`pods`, `services`, `namespaces`, `nodes`).
    pub resource: String,
    /// The metric's name.
    pub metric: String,
    /// Whether those objects are namespaced (default `true`; `false` for `nodes` and `namespaces`).
    pub namespaced: Option<bool>,
}

/// The value of a custom metric for one object, by object name (an item of `metricsBySelector()`).
#[napi(object, object_to_js = false)]
#[derive(Debug)]
pub struct NamedMetricValue {
    /// The object's name.
    pub name: String,
    /// The value: a `Quantity`, a number, a bigint or a quantity string.
    #[napi(ts_type = "Quantity | number | bigint | string")]
    pub value: QuantityLike,
}

/// One series of an external metric (an item of `externalMetric()`).
#[napi(object, object_to_js = false)]
#[derive(Debug)]
pub struct ExternalMetricSeries {
    /// The labels of the series (absent: none).
    pub labels: Option<BTreeMap<String, String>>,
    /// The value: a `Quantity`, a number, a bigint or a quantity string.
    #[napi(ts_type = "Quantity | number | bigint | string")]
    pub value: QuantityLike,
}

/// A value a provider returns: a `Quantity`, a number (through its shortest decimal form), a
/// bigint or a quantity string.
#[derive(Debug, Clone, Copy)]
pub struct QuantityLike(kubemetrics::Quantity);

impl TypeName for QuantityLike {
    fn type_name() -> &'static str {
        "Quantity | number | bigint | string"
    }

    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl ValidateNapiValue for QuantityLike {}

impl FromNapiValue for QuantityLike {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        let invalid = |why: String| Error::new(Status::InvalidArg, why);
        // SAFETY: napi hands us a live value of the current callback scope.
        let unknown = unsafe { Unknown::from_raw_unchecked(env, value) };
        let text = match unknown.get_type()? {
            ValueType::String => unsafe { String::from_napi_value(env, value) }?,
            ValueType::Number => {
                let n = unsafe { f64::from_napi_value(env, value) }?;
                if !n.is_finite() {
                    return Err(invalid(format!("{n} is not a quantity")));
                }
                n.to_string()
            }
            ValueType::BigInt => {
                let (n, lossless) = unsafe { BigInt::from_napi_value(env, value) }?.get_i128();
                if !lossless {
                    return Err(invalid("a bigint beyond 128 bits is not a quantity".into()));
                }
                n.to_string()
            }
            ValueType::Object if crate::Quantity::instance_of(&Env::from_raw(env), &unknown)? => {
                let q = unsafe { ClassInstance::<crate::Quantity>::from_napi_value(env, value) }?;
                return Ok(QuantityLike(q.inner));
            }
            other => return Err(invalid(format!("expected a Quantity, a number, a bigint or a quantity string, got {}", type_name(other)))),
        };
        kubemetrics::Quantity::parse(&text).map(QuantityLike).map_err(|e| invalid(e.message().to_string()))
    }
}

fn type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::Undefined => "undefined",
        ValueType::Null => "null",
        ValueType::Boolean => "a boolean",
        ValueType::Number => "a number",
        ValueType::String => "a string",
        ValueType::Symbol => "a symbol",
        ValueType::Object => "an object",
        ValueType::Function => "a function",
        ValueType::BigInt => "a bigint",
        _ => "an unknown value",
    }
}

type KmResult<T> = kubemetrics::Result<T>;

fn internal(message: String) -> kubemetrics::Error {
    kubemetrics::Error::new(ErrorKind::Internal, message)
}

/// Clears an exception left pending by a failed napi call (a throwing getter), so that it does
/// not surface as an uncaught exception later.
fn clear_exception(env: sys::napi_env) {
    let mut pending = false;
    // SAFETY: only called on the JavaScript thread with the environment of the current callback.
    unsafe {
        if sys::napi_is_exception_pending(env, &mut pending) == sys::Status::napi_ok && pending {
            let mut exception = std::ptr::null_mut();
            sys::napi_get_and_clear_last_exception(env, &mut exception);
        }
    }
}

/// `value[name]` when it is a string.
fn string_property(env: sys::napi_env, value: &Unknown<'_>, name: &str) -> Option<String> {
    if !matches!(value.get_type(), Ok(ValueType::Object | ValueType::Function)) {
        return None;
    }
    let found = Object::from_raw(env, value.raw()).get::<Unknown<'_>>(name);
    let found = found.inspect_err(|_| clear_exception(env)).ok().flatten()?;
    if found.get_type().ok()? != ValueType::String {
        return None;
    }
    // SAFETY: checked to be a string just above.
    unsafe { String::from_napi_value(env, found.raw()) }.ok()
}

/// What a provider threw or rejected with, as a core error: `code` `ERR_KM_NOT_FOUND` /
/// `NotFound` is 404, `ERR_KM_CONFIG` / `BadRequest` is 400, anything else 500.
fn thrown(env: sys::napi_env, value: &Unknown<'_>, method: &str) -> kubemetrics::Error {
    let message = match value.get_type() {
        // SAFETY: checked to be a string.
        Ok(ValueType::String) => unsafe { String::from_napi_value(env, value.raw()) }.unwrap_or_default(),
        Ok(t) => string_property(env, value, "message").unwrap_or_else(|| format!("{method} threw {}", type_name(t))),
        Err(_) => format!("{method} failed"),
    };
    let kind = match string_property(env, value, "code").as_deref() {
        Some("ERR_KM_NOT_FOUND" | "NotFound") => ErrorKind::NotFound,
        Some("ERR_KM_CONFIG" | "BadRequest") => ErrorKind::Config,
        _ => ErrorKind::Internal,
    };
    kubemetrics::Error::new(kind, message)
}

/// A core error about what `method` returned, as the error a provider returning the wrong shape
/// gets (500).
fn invalid(method: &str, e: &kubemetrics::Error) -> kubemetrics::Error {
    internal(format!("{method} returned an invalid value: {}", e.message()))
}

/// `T::from_napi_value`, as the error a provider returning the wrong shape gets (500).
fn convert<T: FromNapiValue>(env: sys::napi_env, value: &Unknown<'_>, method: &str) -> KmResult<T> {
    // SAFETY: a live value of the current callback scope.
    unsafe { T::from_napi_value(env, value.raw()) }.map_err(|e| {
        clear_exception(env);
        internal(format!("{method} returned an invalid value: {}", e.reason))
    })
}

/// How a call's answer is turned into the Rust result, on the JavaScript thread.
type Answer<R> = Box<dyn FnOnce(sys::napi_env, &Unknown<'_>) -> KmResult<R> + Send>;

/// The pending answer of one call: converts the settled value and sends it to the waiting request.
struct Reply<R> {
    method: &'static str,
    answer: Answer<R>,
    tx: tokio::sync::oneshot::Sender<KmResult<R>>,
}

impl<R> Reply<R> {
    fn fulfil(self, env: sys::napi_env, value: &Unknown<'_>) {
        let result = (self.answer)(env, value);
        clear_exception(env);
        // The request may have timed out (504) and dropped its receiver: nothing to do then.
        let _ = self.tx.send(result);
    }

    fn reject(self, env: sys::napi_env, reason: &Unknown<'_>) {
        let _ = self.tx.send(Err(thrown(env, reason, self.method)));
    }

    fn fail(self, error: kubemetrics::Error) {
        let _ = self.tx.send(Err(error));
    }
}

/// Settles `reply` with `value`, now, or when `value` is a Promise, once it settles.
fn settle<R: 'static>(env: sys::napi_env, value: Unknown<'_>, reply: Reply<R>) {
    if !value.is_promise().unwrap_or(false) {
        return reply.fulfil(env, &value);
    }
    let slot = Rc::new(RefCell::new(Some(reply)));
    let (on_fulfilled, on_rejected) = (slot.clone(), slot.clone());
    let promise = PromiseRaw::<Unknown<'static>>::new(env, value.raw());
    let attached = promise
        .then(move |ctx| {
            let reply = on_fulfilled.borrow_mut().take();
            if let Some(reply) = reply {
                reply.fulfil(ctx.env.raw(), &ctx.value);
            }
            Ok(())
        })
        .and_then(|chained| {
            chained.catch(move |ctx: CallbackContext<Unknown<'static>>| {
                let reply = on_rejected.borrow_mut().take();
                if let Some(reply) = reply {
                    reply.reject(ctx.env.raw(), &ctx.value);
                }
                Ok(())
            })
        });
    if let Err(e) = attached {
        clear_exception(env);
        let reply = slot.borrow_mut().take();
        if let Some(reply) = reply {
            let method = reply.method;
            reply.fail(internal(format!("cannot wait for the Promise {method} returned: {}", e.reason)));
        }
    }
}

/// One provider method: a weak threadsafe function of the method bound to its object. `T` is
/// what a call carries from the tokio thread, `A` the JavaScript arguments made from it.
struct JsMethod<T: 'static, A: 'static + JsValuesTupleIntoVec> {
    name: &'static str,
    tsfn: ThreadsafeFunction<T, Unknown<'static>, A, Status, false, true>,
}

impl<T: 'static + Send, A: 'static + JsValuesTupleIntoVec> JsMethod<T, A> {
    fn new(provider: &Object<'_>, side: &str, name: &'static str, args: fn(T) -> A) -> KmResult<JsMethod<T, A>> {
        let tsfn = with_bound(provider, side, name, |f| {
            f.build_threadsafe_function::<T>().callee_handled::<false>().weak::<true>().build_callback(move |ctx| Ok(args(ctx.value)))
        })?;
        Ok(JsMethod { name, tsfn })
    }

    /// Calls the method with `args` on the JavaScript thread and waits for its (possibly
    /// asynchronous) answer, converted by `answer`.
    async fn call<R: 'static + Send>(&self, args: T, answer: Answer<R>) -> KmResult<R> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let reply = Reply { method: self.name, answer, tx };
        let status = self.tsfn.call_with_return_value(args, ThreadsafeFunctionCallMode::NonBlocking, move |returned, env| {
            match returned {
                Ok(value) => settle(env.raw(), value, reply),
                Err(e) => {
                    // A synchronous throw: napi kept the thrown value and gives it back as it was.
                    // SAFETY: on the JavaScript thread, with the environment of this callback.
                    match unsafe { <Error as ToNapiValue>::to_napi_value(env.raw(), e) } {
                        Ok(value) => reply.reject(env.raw(), &unsafe { Unknown::from_raw_unchecked(env.raw(), value) }),
                        Err(e) => {
                            let method = reply.method;
                            reply.fail(internal(format!("{method} threw, and what it threw cannot be read: {}", e.reason)))
                        }
                    }
                }
            }
            // Never an error here: napi would raise it as an uncaught exception.
            Ok(())
        });
        if status != Status::Ok {
            return Err(internal(format!("cannot call {}: the JavaScript environment is not accepting calls ({status})", self.name)));
        }
        match rx.await {
            Ok(result) => result,
            // The reply was dropped unsent: the call was dropped by an environment shutting down,
            // or the Promise returned was garbage-collected, so it can never settle. Either way
            // no answer will come: wait for the server's provider timeout (504) like any call
            // that does not answer.
            Err(_) => std::future::pending().await,
        }
    }
}

/// `build(provider[name].bind(provider))`, or the `Config` error saying `provider[name]` is not
/// a function.
fn with_bound<R>(provider: &Object<'_>, side: &str, name: &str, build: impl FnOnce(Function<'_, (), Unknown<'static>>) -> Result<R>) -> KmResult<R> {
    let not_a_function = |what: &str| kubemetrics::Error::new(ErrorKind::Config, format!("{side}.{name} must be a function, not {what}"));
    let f = provider.get::<Unknown<'_>>(name).map_err(|e| {
        clear_exception(provider.value().env);
        not_a_function(&e.reason)
    })?;
    let Some(f) = f else { return Err(not_a_function("undefined")) };
    let t = f.get_type().map_err(|e| not_a_function(&e.reason))?;
    if t != ValueType::Function {
        return Err(not_a_function(type_name(t)));
    }
    // SAFETY: checked to be a function just above.
    let f: Function<'_, (), Unknown<'static>> = unsafe { f.cast() }.map_err(|e| not_a_function(&e.reason))?;
    let bound = f.bind(*provider).map_err(|e| not_a_function(&e.reason))?;
    build(bound).map_err(|e| internal(format!("cannot call {side}.{name} from the server: {}", e.reason)))
}

type ByNameArgs = (MetricObject, String, LabelSelector);
type BySelectorArgs = (Option<String>, String, LabelSelector, String, LabelSelector);
type ExternalArgs = (String, String, LabelSelector);

/// A provider object as the core's provider: its struct of [`JsMethod`]s and the constructor
/// that binds each one, from one list of `field: "jsName", (carried => arguments) from make;`.
macro_rules! js_provider {
    ($(#[$($doc:tt)*])* $name:ident on $side:literal { $($field:ident: $js:literal, ($t:ty => $a:ty) from $make:expr;)* }) => {
        $(#[$($doc)*])*
        struct $name {
            $($field: JsMethod<$t, $a>,)*
        }

        impl $name {
            fn new(provider: &Object<'_>) -> KmResult<$name> {
                Ok($name { $($field: JsMethod::new(provider, $side, $js, $make)?,)* })
            }
        }
    };
}

js_provider! {
    /// A `CustomMetricsProvider` object as the core's provider.
    JsCustomProvider on "custom" {
        list_metrics: "listMetrics", (() => ()) from |()| ();
        metric_by_name: "metricByName", (ByNameArgs => FnArgs<ByNameArgs>) from FnArgs::from;
        metrics_by_selector: "metricsBySelector", (BySelectorArgs => FnArgs<BySelectorArgs>) from FnArgs::from;
    }
}

impl core_custom::CustomMetricsProvider for JsCustomProvider {
    fn list_metrics(&self) -> BoxFuture<'_, KmResult<Vec<core_custom::CustomMetricInfo>>> {
        Box::pin(self.list_metrics.call(
            (),
            Box::new(|env, value| {
                let infos: Vec<CustomMetricInfo> = convert(env, value, "listMetrics")?;
                infos
                    .into_iter()
                    .map(|i| core_custom::CustomMetricInfo::new(i.resource, i.metric, i.namespaced))
                    .collect::<KmResult<_>>()
                    .map_err(|e| invalid("listMetrics", &e))
            }),
        ))
    }

    fn metric_by_name<'a>(
        &'a self,
        object: &'a core_custom::ObjectRef,
        metric: &'a str,
        metric_selector: &'a kubemetrics::selector::LabelSelector,
    ) -> BoxFuture<'a, KmResult<MetricValue>> {
        let args = (MetricObject::from(object), metric.to_string(), LabelSelector::from(metric_selector.clone()));
        Box::pin(async move {
            let value = self
                .metric_by_name
                .call(
                    args,
                    Box::new(|env, value| match value.get_type() {
                        Ok(ValueType::Undefined | ValueType::Null) => Ok(None),
                        _ => convert::<QuantityLike>(env, value, "metricByName").map(|q| Some(q.0)),
                    }),
                )
                .await?;
            core_custom::metric_value(object, metric, metric_selector, value)
        })
    }

    fn metrics_by_selector<'a>(&'a self, q: core_custom::SelectorQuery<'a>) -> BoxFuture<'a, KmResult<Vec<MetricValue>>> {
        let args = (
            q.namespace.map(str::to_string),
            q.resource.to_string(),
            LabelSelector::from(q.selector.clone()),
            q.metric.to_string(),
            LabelSelector::from(q.metric_selector.clone()),
        );
        Box::pin(async move {
            let answer = self.metrics_by_selector.call(args, Box::new(named_values)).await?;
            Ok(q.values(answer))
        })
    }
}

/// What `metricsBySelector` returned (`[{ name, value }]` or `{ name: value }`) as the core's
/// named values, in the order returned.
fn named_values(env: sys::napi_env, value: &Unknown<'_>) -> KmResult<Vec<ObjectValue>> {
    const METHOD: &str = "metricsBySelector";
    if value.is_array().unwrap_or(false) {
        let named: Vec<NamedMetricValue> = convert(env, value, METHOD)?;
        return Ok(named.into_iter().map(|v| ObjectValue::Named { name: v.name, value: v.value.0 }).collect());
    }
    if value.get_type().ok() != Some(ValueType::Object) || crate::Quantity::instance_of(&Env::from_raw(env), value).unwrap_or(false) {
        let t = value.get_type().map(type_name).unwrap_or("an unknown value");
        return Err(internal(format!("{METHOD} returned {t}: expected {{ name: value }} or [{{ name, value }}]")));
    }
    let object = Object::from_raw(env, value.raw());
    let names = Object::keys(&object).map_err(|e| internal(format!("{METHOD} returned an invalid value: {}", e.reason)))?;
    let mut named = Vec::with_capacity(names.len());
    for name in names {
        let v = object.get::<QuantityLike>(&name).map_err(|e| {
            clear_exception(env);
            internal(format!("{METHOD} returned an invalid value for {name:?}: {}", e.reason))
        })?;
        if let Some(QuantityLike(value)) = v {
            named.push(ObjectValue::Named { name, value });
        }
    }
    Ok(named)
}

js_provider! {
    /// An `ExternalMetricsProvider` object as the core's provider.
    JsExternalProvider on "external" {
        list_external_metrics: "listExternalMetrics", (() => ()) from |()| ();
        external_metric: "externalMetric", (ExternalArgs => FnArgs<ExternalArgs>) from FnArgs::from;
    }
}

impl core_custom::ExternalMetricsProvider for JsExternalProvider {
    fn list_external_metrics(&self) -> BoxFuture<'_, KmResult<Vec<String>>> {
        const METHOD: &str = "listExternalMetrics";
        Box::pin(
            self.list_external_metrics
                .call((), Box::new(|env, value| core_custom::external_metric_names(convert(env, value, METHOD)?).map_err(|e| invalid(METHOD, &e)))),
        )
    }

    fn external_metric<'a>(
        &'a self,
        namespace: &'a str,
        metric: &'a str,
        selector: &'a kubemetrics::selector::LabelSelector,
    ) -> BoxFuture<'a, KmResult<Vec<ExternalMetricValue>>> {
        let args = (namespace.to_string(), metric.to_string(), LabelSelector::from(selector.clone()));
        Box::pin(async move {
            let answer = self.external_metric.call(args, Box::new(series_values)).await?;
            Ok(core_custom::external_values(metric, answer))
        })
    }
}

/// What `externalMetric` returned (`[{ labels, value }]`, or one value: a single series without
/// labels) as the core's labelled values.
fn series_values(env: sys::napi_env, value: &Unknown<'_>) -> KmResult<Vec<SeriesValue>> {
    const METHOD: &str = "externalMetric";
    let series = if value.is_array().unwrap_or(false) {
        convert::<Vec<ExternalMetricSeries>>(env, value, METHOD)?
    } else {
        vec![ExternalMetricSeries { labels: None, value: convert(env, value, METHOD)? }]
    };
    Ok(series.into_iter().map(|s| SeriesValue::Labelled { labels: s.labels.unwrap_or_default(), value: s.value.0 }).collect())
}

/// What keeps the event loop alive while a server runs: a strong threadsafe function, never called.
type KeepAlive = ThreadsafeFunction<(), Unknown<'static>, (), Status, false, false>;

struct Running {
    server: MetricsServer,
    keep_alive: KeepAlive,
}

/// Running servers, by id: a server runs until `stop()`, even when its `CustomMetricsServer`
/// object is garbage-collected (like a listening `net.Server`).
static RUNNING: Mutex<BTreeMap<u64, Running>> = Mutex::new(BTreeMap::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn running() -> std::sync::MutexGuard<'static, BTreeMap<u64, Running>> {
    RUNNING.lock().unwrap_or_else(|e| e.into_inner())
}

fn config_error(message: String) -> kubemetrics::Error {
    kubemetrics::Error::new(ErrorKind::Config, message)
}

/// The core's `ServeConfig` from the options: unset settings keep the flags' defaults.
fn serve_config(o: &ServeCustomMetricsOptions<'_>) -> KmResult<ServeConfig> {
    let mut c = ServeConfig::default();
    if let Some(a) = &o.bind_address {
        c.bind_address = a.parse::<IpAddr>().map_err(|_| config_error(format!("bindAddress {a:?} is not an IP address")))?;
    }
    if let Some(p) = o.secure_port {
        c.secure_port = u16::try_from(p).map_err(|_| config_error(format!("securePort {p} is not a TCP port")))?;
    }
    let path = |p: &Option<String>| p.as_ref().map(PathBuf::from);
    if let Some(d) = &o.cert_dir {
        c.cert_dir = PathBuf::from(d);
    }
    c.tls_cert_file = path(&o.tls_cert_file);
    c.tls_private_key_file = path(&o.tls_private_key_file);
    c.client_ca_file = path(&o.client_ca_file);
    c.requestheader_client_ca_file = path(&o.requestheader_client_ca_file);
    for (value, field) in [
        (&o.requestheader_allowed_names, &mut c.auth.requestheader_allowed_names),
        (&o.requestheader_username_headers, &mut c.auth.username_headers),
        (&o.requestheader_group_headers, &mut c.auth.group_headers),
        (&o.requestheader_extra_headers_prefix, &mut c.auth.extra_headers_prefix),
        (&o.authorization_always_allow_paths, &mut c.auth.always_allow_paths),
    ] {
        if let Some(v) = value {
            field.clone_from(v);
        }
    }
    if let Some(a) = o.anonymous_auth {
        c.auth.anonymous = a;
    }
    if let Some(a) = o.authorization_always_allow_authenticated {
        c.auth.always_allow_authenticated = a;
    }
    if let Some(m) = o.max_requests_inflight {
        c.max_requests_inflight = m as usize;
    }
    if let Some(t) = &o.request_timeout {
        let d: GoDuration = t.parse().map_err(|_| config_error(format!("requestTimeout {t:?} is not a duration such as 60s or 1m")))?;
        if d.0 <= 0 {
            return Err(config_error(format!("requestTimeout {t:?} must be positive")));
        }
        c.request_timeout = d.to_std();
    }
    Ok(c)
}

type Providers = (Option<Arc<dyn core_custom::CustomMetricsProvider>>, Option<Arc<dyn core_custom::ExternalMetricsProvider>>, KeepAlive);

/// The core providers adapting the JavaScript objects, and the keep-alive function.
fn providers(o: &ServeCustomMetricsOptions<'_>) -> KmResult<Providers> {
    let custom = o.custom.as_ref().map(JsCustomProvider::new).transpose()?;
    let external = o.external.as_ref().map(JsExternalProvider::new).transpose()?;
    let (side, name, object) = match (&o.custom, &o.external) {
        (Some(c), _) => ("custom", "listMetrics", c),
        (None, Some(e)) => ("external", "listExternalMetrics", e),
        (None, None) => return Err(config_error("nothing to serve: give `custom`, `external` or both".into())),
    };
    let keep_alive = with_bound(object, side, name, |f| f.build_threadsafe_function::<()>().callee_handled::<false>().build_callback(|_| Ok(())))?;
    Ok((
        custom.map(|p| Arc::new(p) as Arc<dyn core_custom::CustomMetricsProvider>),
        external.map(|p| Arc::new(p) as Arc<dyn core_custom::ExternalMetricsProvider>),
        keep_alive,
    ))
}

/// Serves custom and/or external metrics from JavaScript providers over HTTPS, with the
/// authentication and authorization of `kubemetrics serve`, until `stop()`.
///
/// `options.custom` serves `custom.metrics.k8s.io` (v1beta1 and v1beta2), `options.external`
/// serves `external.metrics.k8s.io/v1beta1`; the other options are `kubemetrics serve`'s flags.
/// Providers run on the JavaScript thread; a Promise they return is awaited without blocking
/// anything, and a provider that has not answered after 10 seconds makes that request fail with
/// 504. The running server keeps the process alive until `stop()` (or `unref()`).
///
/// Resolves once the server listens; rejects with `ERR_KM_CONFIG` for invalid options or a
/// provider method that is not a function, `ERR_KM_IO` when the address cannot be bound.
///
/// ```js
/// const server = await serveCustomMetrics({
///   external: {
///     listExternalMetrics: () => ['queue_messages_ready'],
///     externalMetric: async (namespace, metric, selector) => [{ labels: { queue: 'jobs' }, value: await depth() }],
///   },
///   bindAddress: '127.0.0.1', securePort: 6443, tlsCertFile: 'tls.crt', tlsPrivateKeyFile: 'tls.key',
/// })
/// console.log(server.url) // https://127.0.0.1:6443
/// ```
#[napi(ts_return_type = "Promise<CustomMetricsServer>")]
pub fn serve_custom_metrics<'env>(env: &'env Env, options: ServeCustomMetricsOptions<'env>) -> Result<PromiseRaw<'env, CustomMetricsServer>> {
    let prepared = serve_config(&options).and_then(|config| providers(&options).map(|p| (config, p)));
    let kubeconfig = options.kubeconfig.map(PathBuf::from);
    let (config, (custom, external, keep_alive)) = match prepared {
        Ok(p) => p,
        Err(e) => return PromiseRaw::reject(env, to_js_error(env, &e)),
    };
    spawn(env, async move { kubemetrics::custom::serve(&config, kubeconfig.as_deref(), custom, external).await }, move |_, server| {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let addr = server.addr();
        running().insert(id, Running { server, keep_alive });
        Ok(CustomMetricsServer { id, addr })
    })
}

/// A running custom/external metrics server (from `serveCustomMetrics`).
#[napi]
#[derive(Debug)]
pub struct CustomMetricsServer {
    id: u64,
    addr: SocketAddr,
}

#[napi]
impl CustomMetricsServer {
    /// The IP address it listens on (`'127.0.0.1'`).
    #[napi(getter)]
    pub fn address(&self) -> String {
        self.addr.ip().to_string()
    }

    /// The port it listens on (the chosen one when `securePort` was 0).
    #[napi(getter)]
    pub fn port(&self) -> u32 {
        u32::from(self.addr.port())
    }

    /// `https://address:port` (`https://[::1]:port` for IPv6).
    #[napi(getter)]
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Stops the server: it stops accepting connections, open connections are closed, pending
    /// provider calls are abandoned, and the server no longer keeps the process alive. Stopping
    /// twice is harmless.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn stop<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        if let Some(r) = running().remove(&self.id) {
            r.server.shutdown();
            drop(r);
        }
        PromiseRaw::resolve(env, ())
    }

    /// Lets the process exit while the server runs (as `net.Server.unref()`).
    #[napi]
    pub fn unref(&self, env: Env) -> Result<()> {
        self.set_ref(&env, false)
    }

    /// Keeps the process alive while the server runs, the default (as `net.Server.ref()`).
    #[napi(js_name = "ref")]
    pub fn keep_ref(&self, env: Env) -> Result<()> {
        self.set_ref(&env, true)
    }
}

impl CustomMetricsServer {
    fn set_ref(&self, env: &Env, on: bool) -> Result<()> {
        if let Some(r) = running().get(&self.id)
            && !r.keep_alive.aborted()
        {
            {
                let raw = r.keep_alive.raw();
                // SAFETY: called on the JavaScript thread that created the function, which is
                // alive (not aborted) and is only released when removed from `RUNNING`.
                let status =
                    unsafe { if on { sys::napi_ref_threadsafe_function(env.raw(), raw) } else { sys::napi_unref_threadsafe_function(env.raw(), raw) } };
                if status != sys::Status::napi_ok {
                    return Err(to_js_error(env, &internal(format!("cannot change whether the server keeps the process alive (napi status {status})"))));
                }
            }
        }
        Ok(())
    }
}
