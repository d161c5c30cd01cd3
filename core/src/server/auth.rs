//! Delegated authentication and authorization, as Kubernetes aggregated API servers do it:
//! front-proxy client certificates (requestheader CA, allowed names, `X-Remote-*` headers),
//! client-CA certificates (CN = user, O = groups), bearer tokens through `TokenReview`, and
//! authorization through `SubjectAccessReview`; both reviews cached briefly.
//!
//! Client certificates are verified here, not during the TLS handshake (which only requests
//! them): like the union of authenticators of Kubernetes API servers, each way (front proxy,
//! client CA, bearer token) is tried in turn, the first that identifies the client wins, and a
//! way that fails (a certificate no configured CA vouches for, a refused token) only makes the
//! request unauthenticated (401) when no other way succeeds.

use super::tls;
use crate::error::{Error, ErrorKind, Result};
use http::HeaderMap;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls_pki_types::{CertificateDer, UnixTime};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// User name (`system:anonymous` when unauthenticated).
    pub name: String,
    /// Groups.
    pub groups: Vec<String>,
    /// Extra attributes (from `X-Remote-Extra-*` or the token review).
    pub extra: BTreeMap<String, Vec<String>>,
}

impl User {
    fn anonymous() -> User {
        User { name: "system:anonymous".into(), groups: vec!["system:unauthenticated".into()], extra: BTreeMap::new() }
    }

    /// `true` for the anonymous user.
    pub fn is_anonymous(&self) -> bool {
        self.name == "system:anonymous"
    }
}

/// What a request asks to do, for authorization.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Attributes {
    /// A resource request (`get`/`list`/`watch` on `nodes` or `pods` of an API group).
    Resource {
        /// Verb.
        verb: String,
        /// API group.
        group: String,
        /// API version.
        version: String,
        /// Resource (`nodes`, `pods`).
        resource: String,
        /// Namespace, empty when cluster-wide.
        namespace: String,
        /// Object name, empty for lists.
        name: String,
    },
    /// Any other path (`/apis`, `/openapi/v2`, `/metrics`).
    NonResource {
        /// Verb (`get`).
        verb: String,
        /// Path.
        path: String,
    },
}

/// Authentication and authorization settings (metrics-server's flags).
#[derive(Debug, Clone, Default)]
pub struct AuthOptions {
    /// `--client-ca-file`: CAs of user client certificates.
    pub client_ca: Vec<CertificateDer<'static>>,
    /// `--requestheader-client-ca-file`: CA of the front proxy (kube-apiserver's aggregator).
    pub requestheader_ca: Vec<CertificateDer<'static>>,
    /// `--requestheader-allowed-names`: allowed CNs of front-proxy certificates (empty: any).
    pub requestheader_allowed_names: Vec<String>,
    /// `--requestheader-username-headers`.
    pub username_headers: Vec<String>,
    /// `--requestheader-group-headers`.
    pub group_headers: Vec<String>,
    /// `--requestheader-extra-headers-prefix`.
    pub extra_headers_prefix: Vec<String>,
    /// `--authorization-always-allow-paths`.
    pub always_allow_paths: Vec<String>,
    /// Allow anonymous requests to reach authorization (`--anonymous-auth`); off by default.
    pub anonymous: bool,
    /// Authorize every authenticated user without asking the API server (tests, local use).
    pub always_allow_authenticated: bool,
}

/// The outcome of authentication + authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow(User),
    /// 401: no acceptable credentials.
    Unauthenticated(String),
    /// 403: authenticated but not allowed; the message says who and what.
    Forbidden(String),
}

/// Paths every authenticated user may read (the `system:discovery` role of Kubernetes).
fn is_discovery(path: &str) -> bool {
    matches!(path, "/apis" | "/apis/" | "/version" | "/version/")
        || path.starts_with("/openapi/")
        || path.strip_prefix("/apis/").is_some_and(|rest| rest.trim_end_matches('/').split('/').count() <= 2)
}

/// Caches review answers for a short time (allowed and denied alike).
struct Cache<K, V> {
    ttl: Duration,
    /// When the answer was had, the answer, and whether a refresh of it is under way.
    entries: Mutex<HashMap<K, (Instant, V, bool)>>,
}

/// SubjectAccessReview answers, by user, groups and what was asked.
type Reviews = Cache<(String, Vec<String>, Attributes), bool>;

/// What a [`Cache`] holds for a key.
#[derive(Debug, PartialEq)]
enum Cached<V> {
    /// An answer to use.
    Fresh(V),
    /// An answer to use, past half its life: the caller refreshes it in the background (only
    /// one caller is told so), and requests keep being answered from it meanwhile.
    RefreshDue(V),
    /// Nothing usable: ask, and wait for the answer.
    Missing,
}

impl<K: std::hash::Hash + Eq, V: Clone> Cache<K, V> {
    fn new(ttl: Duration) -> Self {
        Cache { ttl, entries: Mutex::new(HashMap::new()) }
    }
    fn get(&self, k: &K) -> Option<V> {
        let map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.get(k).filter(|(at, _, _)| at.elapsed() < self.ttl).map(|(_, v, _)| v.clone())
    }
    /// The answer for `k`, and whether it is time to refresh it (never older than the TTL).
    fn lookup(&self, k: &K) -> Cached<V> {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match map.get_mut(k) {
            Some((at, v, refreshing)) if at.elapsed() < self.ttl => {
                if at.elapsed() >= self.ttl / 2 && !*refreshing {
                    *refreshing = true;
                    Cached::RefreshDue(v.clone())
                } else {
                    Cached::Fresh(v.clone())
                }
            }
            _ => Cached::Missing,
        }
    }
    fn put(&self, k: K, v: V) {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            let ttl = self.ttl;
            map.retain(|_, (at, _, _)| at.elapsed() < ttl);
        }
        map.insert(k, (Instant::now(), v, false));
    }
}

/// What a client certificate chain proves, whatever the request's headers.
#[derive(Debug, Clone)]
struct CertVerdict {
    /// Verified against the requestheader CA with an allowed CN (`Ok`), or why not (`Err`);
    /// `None` when no requestheader CA is configured.
    front_proxy: Option<std::result::Result<(), String>>,
    /// Verified against the client CA: the user (none for an empty CN, as Kubernetes does), or
    /// why not; `None` when no client CA is configured.
    client: Option<std::result::Result<Option<User>, String>>,
    /// When this verdict must be recomputed: at the latest when a certificate of the chain expires.
    valid_until: Instant,
}

/// A verifier of client certificate chains against `cas` (`None` when there is none).
fn chain_verifier(cas: &[CertificateDer<'static>]) -> Option<Arc<dyn ClientCertVerifier>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(cas.iter().cloned());
    if roots.is_empty() {
        return None;
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::new(rustls::crypto::ring::default_provider())).build().ok()
}

/// The earliest expiry of the chain's certificates, as an instant (`None` when unreadable).
fn chain_expiry(chain: &[CertificateDer<'static>], now: UnixTime) -> Option<Instant> {
    let mut left = u64::MAX;
    for cert in chain {
        let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
        let not_after = u64::try_from(parsed.validity().not_after.timestamp()).unwrap_or(0);
        left = left.min(not_after.saturating_sub(now.as_secs()));
    }
    Instant::now().checked_add(Duration::from_secs(left))
}

/// Authenticates and authorizes requests.
pub struct Authenticator {
    options: AuthOptions,
    requestheader: Option<Arc<dyn ClientCertVerifier>>,
    client_ca: Option<Arc<dyn ClientCertVerifier>>,
    kube: Option<kube::Client>,
    /// The client for SubjectAccessReview when it differs from `kube` (`--authorization-kubeconfig`).
    authorization_kube: Option<kube::Client>,
    tokens: Cache<String, Option<User>>,
    reviews: Arc<Reviews>,
    certs: Cache<Vec<CertificateDer<'static>>, CertVerdict>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").field("options", &self.options).finish()
    }
}

impl Authenticator {
    /// `kube` is the client used for TokenReview and SubjectAccessReview (`None`: tokens are
    /// refused, and only `always_allow_authenticated` authorizes). CA certificates webpki cannot
    /// read vouch for nothing (the serving TLS configuration refuses them at start).
    pub fn new(options: AuthOptions, kube: Option<kube::Client>) -> Authenticator {
        Authenticator {
            requestheader: chain_verifier(&options.requestheader_ca),
            client_ca: chain_verifier(&options.client_ca),
            options,
            kube,
            authorization_kube: None,
            tokens: Cache::new(Duration::from_secs(10)),
            reviews: Arc::new(Cache::new(Duration::from_secs(10))),
            certs: Cache::new(Duration::from_secs(10)),
        }
    }

    /// Sends SubjectAccessReviews through `kube` instead of the TokenReview client (the API
    /// server library's `--authorization-kubeconfig`); `None` keeps the TokenReview client.
    pub fn with_authorization_client(mut self, kube: Option<kube::Client>) -> Authenticator {
        self.authorization_kube = kube;
        self
    }

    /// The client CA and requestheader CA certificates: named to clients when the TLS layer asks
    /// for a certificate (which it does not verify: [`decide`](Self::decide) does).
    pub fn client_cas(&self) -> Vec<CertificateDer<'static>> {
        self.options.client_ca.iter().chain(&self.options.requestheader_ca).cloned().collect()
    }

    /// Decides on one request. `peer_chain` is the certificate chain the client presented in the
    /// TLS handshake (its own certificate first; empty when it presented none), unverified.
    pub async fn decide(&self, peer_chain: &[CertificateDer<'static>], headers: &HeaderMap, attributes: &Attributes) -> Decision {
        let path_allowed = match attributes {
            Attributes::NonResource { path, .. } => {
                self.options.always_allow_paths.iter().any(|p| p == path || (p.ends_with('*') && path.starts_with(p.trim_end_matches('*'))))
            }
            _ => false,
        };
        let user = match self.authenticate(peer_chain, headers).await {
            Ok(Some(user)) => user,
            Ok(None) if path_allowed => return Decision::Allow(User::anonymous()),
            Ok(None) if self.options.anonymous => User::anonymous(),
            Ok(None) => return Decision::Unauthenticated("Unauthorized".into()),
            Err(e) => return Decision::Unauthenticated(e.to_string()),
        };
        if path_allowed || user.groups.iter().any(|g| g == "system:masters") {
            return Decision::Allow(user);
        }
        if let Attributes::NonResource { path, .. } = attributes
            && !user.is_anonymous()
            && is_discovery(path)
        {
            return Decision::Allow(user);
        }
        if self.options.always_allow_authenticated && !user.is_anonymous() {
            return Decision::Allow(user);
        }
        match self.authorize(&user, attributes).await {
            Ok(true) => Decision::Allow(user),
            Ok(false) => Decision::Forbidden(forbidden_message(&user, attributes)),
            Err(e) => Decision::Forbidden(format!("{}: {e}", forbidden_message(&user, attributes))),
        }
    }

    /// Front proxy, then client CA, then bearer token, as Kubernetes API servers chain them: the
    /// first that identifies the client wins; `Ok(None)` when none was tried, `Err` with every
    /// reason when some were tried and none succeeded.
    async fn authenticate(&self, peer_chain: &[CertificateDer<'static>], headers: &HeaderMap) -> Result<Option<User>> {
        let mut refusals = Vec::new();
        if !peer_chain.is_empty() {
            let verdict = self.verify_chain(peer_chain);
            match verdict.front_proxy {
                Some(Ok(())) => {
                    if let Some(user) = self.user_from_headers(headers) {
                        return Ok(Some(user));
                    }
                }
                Some(Err(why)) => refusals.push(why),
                None => {}
            }
            match verdict.client {
                Some(Ok(Some(user))) => return Ok(Some(user)),
                Some(Ok(None)) | None => {}
                Some(Err(why)) => refusals.push(why),
            }
        }
        if let Some(token) = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")) {
            match self.review_token(token.trim()).await {
                Ok(Some(user)) => return Ok(Some(user)),
                Ok(None) => refusals.push("invalid bearer token".to_string()),
                Err(e) => refusals.push(e.to_string()),
            }
        }
        if refusals.is_empty() { Ok(None) } else { Err(Error::new(ErrorKind::Auth, refusals.join("; "))) }
    }

    /// Verifies a presented chain against the requestheader CA and the client CA (cached for a
    /// few seconds, never past the expiry of one of its certificates).
    fn verify_chain(&self, chain: &[CertificateDer<'static>]) -> CertVerdict {
        let key = chain.to_vec();
        if let Some(verdict) = self.certs.get(&key).filter(|v| Instant::now() < v.valid_until) {
            return verdict;
        }
        let now = UnixTime::now();
        let Some((leaf, intermediates)) = chain.split_first() else {
            return CertVerdict { front_proxy: None, client: None, valid_until: Instant::now() };
        };
        let (cn, orgs) = tls::subject(leaf).map(|(cn, orgs, _)| (cn, orgs)).unwrap_or_default();
        let front_proxy = self.requestheader.as_ref().map(|verifier| {
            verifier.verify_client_cert(leaf, intermediates, now).map_err(|e| format!("front-proxy client certificate: {e}"))?;
            let allowed = &self.options.requestheader_allowed_names;
            if !allowed.is_empty() && !allowed.contains(&cn) {
                return Err(format!("client certificate CN {cn:?} is not an allowed front-proxy name"));
            }
            Ok(())
        });
        let client = self.client_ca.as_ref().map(|verifier| {
            verifier.verify_client_cert(leaf, intermediates, now).map_err(|e| format!("client certificate: {e}"))?;
            Ok((!cn.is_empty()).then(|| User { name: cn.clone(), groups: orgs.clone(), extra: BTreeMap::new() }))
        });
        let verdict = CertVerdict { front_proxy, client, valid_until: chain_expiry(chain, now).unwrap_or_else(Instant::now) };
        self.certs.put(key, verdict.clone());
        verdict
    }

    fn user_from_headers(&self, headers: &HeaderMap) -> Option<User> {
        let name = self.options.username_headers.iter().find_map(|h| headers.get(h.as_str()).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty()))?;
        let groups =
            self.options.group_headers.iter().flat_map(|h| headers.get_all(h.as_str()).iter().filter_map(|v| v.to_str().ok().map(str::to_string))).collect();
        let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in headers {
            for prefix in &self.options.extra_headers_prefix {
                if let Some(key) = k.as_str().strip_prefix(&prefix.to_ascii_lowercase())
                    && let Ok(v) = v.to_str()
                {
                    extra.entry(crate::server::http::percent_decode(key)).or_default().push(v.to_string());
                }
            }
        }
        Some(User { name: name.to_string(), groups, extra })
    }

    async fn review_token(&self, token: &str) -> Result<Option<User>> {
        if let Some(cached) = self.tokens.get(&token.to_string()) {
            return Ok(cached);
        }
        let Some(kube) = &self.kube else {
            return Err(Error::new(ErrorKind::Auth, "bearer tokens need a Kubernetes API server to review them"));
        };
        let body = serde_json::json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}});
        let answer: serde_json::Value = post(kube, "/apis/authentication.k8s.io/v1/tokenreviews", &body).await?;
        let status = &answer["status"];
        let user = if status["authenticated"].as_bool() == Some(true) {
            let u = &status["user"];
            let strings = |v: &serde_json::Value| v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default();
            let extra = u["extra"].as_object().map(|m| m.iter().map(|(k, v)| (k.clone(), strings(v))).collect()).unwrap_or_default();
            Some(User { name: u["username"].as_str().unwrap_or_default().to_string(), groups: strings(&u["groups"]), extra })
        } else {
            None
        };
        self.tokens.put(token.to_string(), user.clone());
        Ok(user)
    }

    /// Asks the API server (a `SubjectAccessReview`) whether `user` may do what `attributes` say;
    /// answers are cached for 10 s, as kube-apiserver's delegating authorizer does, and an answer
    /// used often is refreshed in the background once past half its life, so that requests do
    /// not wait for a review every 10 s.
    async fn authorize(&self, user: &User, attributes: &Attributes) -> Result<bool> {
        let key = (user.name.clone(), user.groups.clone(), attributes.clone());
        let kube = self.authorization_kube.as_ref().or(self.kube.as_ref());
        match self.reviews.lookup(&key) {
            Cached::Fresh(allowed) => return Ok(allowed),
            Cached::RefreshDue(allowed) => {
                if let (Some(kube), Ok(rt)) = (kube, tokio::runtime::Handle::try_current()) {
                    let (kube, reviews, body) = (kube.clone(), self.reviews.clone(), review_body(user, attributes));
                    rt.spawn(async move {
                        // A failed refresh leaves the answer to expire: the next request asks again.
                        if let Ok(allowed) = review(&kube, &body).await {
                            reviews.put(key, allowed);
                        }
                    });
                }
                return Ok(allowed);
            }
            Cached::Missing => {}
        }
        let Some(kube) = kube else {
            return Ok(false);
        };
        let allowed = review(kube, &review_body(user, attributes)).await?;
        self.reviews.put(key, allowed);
        Ok(allowed)
    }
}

/// The `SubjectAccessReview` asking whether `user` may do what `attributes` say.
fn review_body(user: &User, attributes: &Attributes) -> serde_json::Value {
    let mut spec = serde_json::json!({"user": user.name, "groups": user.groups, "extra": user.extra});
    match attributes {
        Attributes::Resource { verb, group, version, resource, namespace, name } => {
            spec["resourceAttributes"] =
                serde_json::json!({"verb": verb, "group": group, "version": version, "resource": resource, "namespace": namespace, "name": name});
        }
        Attributes::NonResource { verb, path } => spec["nonResourceAttributes"] = serde_json::json!({"verb": verb, "path": path}),
    }
    serde_json::json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec})
}

/// Sends a `SubjectAccessReview`: whether it allowed.
async fn review(kube: &kube::Client, body: &serde_json::Value) -> Result<bool> {
    let answer: serde_json::Value = post(kube, "/apis/authorization.k8s.io/v1/subjectaccessreviews", body).await?;
    Ok(answer["status"]["allowed"].as_bool() == Some(true))
}

async fn post(kube: &kube::Client, path: &str, body: &serde_json::Value) -> Result<serde_json::Value> {
    let req = http::Request::post(path)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(body).unwrap_or_default())
        .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?;
    let text = tokio::time::timeout(Duration::from_secs(10), kube.request_text(req))
        .await
        .map_err(|_| Error::new(ErrorKind::Io, format!("POST {path}: no answer within 10s")))?
        .map_err(|e| Error::new(ErrorKind::Api, format!("POST {path}: {e}")))?;
    serde_json::from_str(&text).map_err(|e| Error::new(ErrorKind::Api, format!("POST {path}: {e}")))
}

/// kube-apiserver's wording for a refused request.
pub fn forbidden_message(user: &User, attributes: &Attributes) -> String {
    match attributes {
        Attributes::Resource { verb, group, resource, namespace, .. } => {
            let scope = if namespace.is_empty() { "at the cluster scope".to_string() } else { format!("in the namespace \"{namespace}\"") };
            format!("{resource}.{group} is forbidden: User \"{}\" cannot {verb} resource \"{resource}\" in API group \"{group}\" {scope}", user.name)
        }
        Attributes::NonResource { verb, path } => format!("forbidden: User \"{}\" cannot {verb} path \"{path}\"", user.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_answer_is_refreshed_once_past_half_its_life_and_never_used_past_it() {
        let cache: Cache<&str, bool> = Cache::new(Duration::from_secs(1));
        assert_eq!(cache.lookup(&"k"), Cached::Missing);
        cache.put("k", true);
        assert_eq!(cache.lookup(&"k"), Cached::Fresh(true));
        std::thread::sleep(Duration::from_millis(550));
        assert_eq!(cache.lookup(&"k"), Cached::RefreshDue(true), "past half its life");
        assert_eq!(cache.lookup(&"k"), Cached::Fresh(true), "one caller refreshes");
        cache.put("k", false);
        assert_eq!(cache.lookup(&"k"), Cached::Fresh(false), "the refreshed answer");
        std::thread::sleep(Duration::from_millis(1010));
        assert_eq!(cache.lookup(&"k"), Cached::Missing, "never past the TTL");
        assert_eq!(cache.get(&"k"), None);
    }
}
