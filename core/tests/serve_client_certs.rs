//! `kubemetrics serve` and client certificates, as Kubernetes API servers treat them (issue 17):
//! the TLS handshake only requests a certificate, so a client presenting one no configured CA
//! vouches for still connects and may authenticate with a bearer token; certificates are
//! verified by the authenticator (client CA, front-proxy CA with allowed names), and every
//! refusal of unauthenticated or unauthorised requests stays. Real certificates (rcgen), a real
//! HTTPS server on 127.0.0.1, a real HTTPS client (hyper + rustls), and the loopback API server
//! answering TokenReview and SubjectAccessReview.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use kubemetrics::server::{AuthOptions, MetricsServer, ServerMetrics, ServerOptions, ServingCert, StaticProvider};
use kubemetrics::testkit::loopback_api::{ClusterState, LoopbackApiServer};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, date_time_ymd,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// A temp dir for the serving pair, removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ca(name: &str, parent: Option<&CertifiedIssuer<'static, KeyPair>>) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name.push(DnType::CommonName, format!("{name} test CA"));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let key = KeyPair::generate().expect("key");
    match parent {
        None => CertifiedIssuer::self_signed(params, key).expect("ca"),
        Some(parent) => CertifiedIssuer::signed_by(params, key, parent).expect("intermediate"),
    }
}

/// A client certificate (CN, O values) signed by `issuer`: its DER and its key.
struct ClientCert {
    cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

fn client_cert(issuer: &CertifiedIssuer<'static, KeyPair>, cn: &str, orgs: &[&str], tweak: impl FnOnce(&mut CertificateParams)) -> ClientCert {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name = DistinguishedName::new();
    if !cn.is_empty() {
        params.distinguished_name.push(DnType::CommonName, cn);
    }
    for o in orgs {
        params.distinguished_name.push(DnType::OrganizationName, *o);
    }
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    tweak(&mut params);
    let cert = params.signed_by(&key, issuer).expect("sign");
    ClientCert { cert: cert.der().clone(), key: PrivatePkcs8KeyDer::from(key.serialize_der()) }
}

/// Everything a test talks to.
struct Setup {
    _dir: TempDir,
    _api: LoopbackApiServer,
    server: MetricsServer,
    serving_ca: CertificateDer<'static>,
}

const NODES: &str = "/apis/metrics.k8s.io/v1beta1/nodes";

impl Setup {
    async fn start(client_ca: &CertifiedIssuer<'static, KeyPair>, front_proxy_ca: &CertifiedIssuer<'static, KeyPair>) -> Setup {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!("km-serve-client-certs-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let dir = TempDir(dir);
        let serving_ca = ca("serving", None);
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_string(), "metrics-server.kube-system.svc".to_string()]).expect("params");
        params.distinguished_name.push(DnType::CommonName, "metrics-server");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let serving = params.signed_by(&key, &serving_ca).expect("sign");
        let (cert, key_file) = (dir.0.join("serving.crt"), dir.0.join("serving.key"));
        std::fs::write(&cert, serving.pem()).expect("write");
        std::fs::write(&key_file, key.serialize_pem()).expect("write");

        let mut state = ClusterState::default();
        state.tokens.insert("alice-token".into(), ("alice".into(), vec!["team-a".into()]));
        state.tokens.insert("bob-token".into(), ("bob".into(), vec![]));
        state.authorized_users = vec!["alice".into()];
        let api = LoopbackApiServer::start(state).await.expect("loopback API");
        let kube = kube::Client::try_from(kube::Config::new(api.url().parse().expect("url"))).expect("kube client");

        let auth = AuthOptions {
            client_ca: vec![client_ca.der().clone()],
            requestheader_ca: vec![front_proxy_ca.der().clone()],
            requestheader_allowed_names: vec!["front-proxy-client".into()],
            username_headers: vec!["X-Remote-User".into()],
            group_headers: vec!["X-Remote-Group".into()],
            extra_headers_prefix: vec!["X-Remote-Extra-".into()],
            ..Default::default()
        };
        let options = ServerOptions {
            address: "127.0.0.1:0".parse().expect("address"),
            serving: ServingCert::Files { cert, key: key_file },
            auth,
            max_requests_inflight: 0,
            request_timeout: Duration::from_secs(10),
            tls: Default::default(),
            http: Default::default(),
        };
        let server = MetricsServer::start(options, Arc::new(StaticProvider::default()), Arc::new(ServerMetrics::default()), Some(kube)).await.expect("serve");
        Setup { _dir: dir, _api: api, server, serving_ca: serving_ca.der().clone() }
    }

    /// GETs `path` presenting `chain` (first the client's own certificate) with `key`, and
    /// `headers`: the status and body, or the connection error (a refused handshake).
    async fn get(
        &self,
        path: &str,
        cert: Option<(&[&CertificateDer<'static>], &PrivatePkcs8KeyDer<'static>)>,
        headers: &[(&str, &str)],
    ) -> Result<(u16, String), String> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.serving_ca.clone()).expect("serving CA");
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots);
        let tls = match cert {
            Some((chain, key)) => {
                builder.with_client_auth_cert(chain.iter().map(|c| (*c).clone()).collect(), PrivateKeyDer::Pkcs8(key.clone_key())).expect("client certificate")
            }
            None => builder.with_no_client_auth(),
        };
        let connector = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_only().enable_http1().build();
        let client: HttpClient<_, Empty<Bytes>> = HttpClient::builder(TokioExecutor::new()).build(connector);
        let mut req = http::Request::get(format!("https://127.0.0.1:{}{path}", self.server.addr().port()));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = client.request(req.body(Empty::new()).expect("request")).await.map_err(|e| format!("{e:?}"))?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

fn status(r: Result<(u16, String), String>) -> u16 {
    match r {
        Ok((status, _)) => status,
        Err(e) => panic!("no answer (refused during the handshake?): {e}"),
    }
}

#[tokio::test]
async fn an_unverifiable_client_certificate_does_not_stop_a_valid_token() {
    let (client_ca, front_proxy_ca, other_ca) = (ca("client", None), ca("front-proxy", None), ca("other", None));
    let setup = Setup::start(&client_ca, &front_proxy_ca).await;
    // A certificate of a CA the server does not know, claiming system:masters.
    let stranger = client_cert(&other_ca, "stranger", &["system:masters"], |_| {});
    let stranger_cert = Some((&[&stranger.cert][..], &stranger.key));

    // The handshake completes; the bearer token authenticates (alice is authorized), the
    // certificate is ignored.
    let (code, body) = setup.get(NODES, stranger_cert, &[("Authorization", "Bearer alice-token")]).await.expect("handshake completes");
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"kind\":\"NodeMetricsList\""), "{body}");
    // The certificate's claims count for nothing: bob's token is still bob, and forbidden.
    let (code, body) = setup.get(NODES, stranger_cert, &[("Authorization", "Bearer bob-token")]).await.expect("handshake completes");
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("User \\\"bob\\\" cannot list resource \\\"nodes\\\""), "{body}");
    // The certificate alone, or with a refused token: 401, not system:masters.
    assert_eq!(status(setup.get(NODES, stranger_cert, &[]).await), 401);
    assert_eq!(status(setup.get("/apis", stranger_cert, &[]).await), 401);
    assert_eq!(status(setup.get(NODES, stranger_cert, &[("Authorization", "Bearer forged")]).await), 401);
    // Front-proxy headers with an unverifiable certificate are not trusted.
    assert_eq!(status(setup.get(NODES, stranger_cert, &[("X-Remote-User", "alice")]).await), 401);
    // Neither certificate nor token: 401 as before.
    assert_eq!(status(setup.get(NODES, None, &[]).await), 401);
    assert_eq!(status(setup.get(NODES, None, &[("Authorization", "Bearer alice-token")]).await), 200);
}

#[tokio::test]
async fn client_and_front_proxy_certificates_are_verified_by_the_authenticator() {
    let (client_ca, front_proxy_ca) = (ca("client", None), ca("front-proxy", None));
    let setup = Setup::start(&client_ca, &front_proxy_ca).await;
    let admin = client_cert(&client_ca, "carol", &["system:masters"], |_| {});
    let dave = client_cert(&client_ca, "dave", &["team-d"], |_| {});
    let proxy = client_cert(&front_proxy_ca, "front-proxy-client", &[], |_| {});
    let evil = client_cert(&front_proxy_ca, "evil-proxy", &[], |_| {});
    let with = |c: &ClientCert| -> (Vec<CertificateDer<'static>>, PrivatePkcs8KeyDer<'static>) { (vec![c.cert.clone()], c.key.clone_key()) };
    macro_rules! get {
        ($path:expr, $cert:expr, $headers:expr) => {{
            let (chain, key) = with($cert);
            let chain: Vec<&CertificateDer<'static>> = chain.iter().collect();
            setup.get($path, Some((&chain, &key)), $headers).await
        }};
    }

    // Client CA: CN is the user, O the groups.
    assert_eq!(status(get!(NODES, &admin, &[])), 200);
    assert_eq!(status(get!(NODES, &admin, &[("Authorization", "Bearer forged")])), 200, "the first way that identifies the client wins");
    let (code, body) = get!(NODES, &dave, &[]).expect("answer");
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("User \\\"dave\\\""), "{body}");
    assert_eq!(status(get!("/apis", &dave, &[])), 200, "authenticated users read discovery");

    // Front proxy with an allowed CN: the headers say who the user is.
    assert_eq!(status(get!(NODES, &proxy, &[("X-Remote-User", "alice")])), 200);
    let (code, body) = get!(NODES, &proxy, &[("X-Remote-User", "bob")]).expect("answer");
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("User \\\"bob\\\""), "{body}");
    assert_eq!(status(get!(NODES, &proxy, &[("X-Remote-User", "bob"), ("X-Remote-Group", "system:masters")])), 200);
    // ... without a user header it proves nothing by itself.
    assert_eq!(status(get!(NODES, &proxy, &[])), 401);
    // A front-proxy certificate whose CN is not allowed: its headers are not trusted.
    assert_eq!(status(get!(NODES, &evil, &[("X-Remote-User", "alice")])), 401);
    assert_eq!(status(get!(NODES, &evil, &[("X-Remote-User", "alice"), ("X-Remote-Group", "system:masters")])), 401);
    // ... and a valid token next to it authenticates the token's user, never the header's.
    let (code, body) = get!(NODES, &evil, &[("X-Remote-User", "alice"), ("Authorization", "Bearer bob-token")]).expect("answer");
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("User \\\"bob\\\""), "{body}");
    // A client-CA certificate is no front-proxy certificate.
    let (code, body) = get!(NODES, &dave, &[("X-Remote-User", "alice")]).expect("answer");
    assert_eq!(code, 403, "dave, not alice: {body}");
}

#[tokio::test]
async fn chains_validity_and_usage_are_checked_per_request() {
    let (client_ca, front_proxy_ca) = (ca("client", None), ca("front-proxy", None));
    let setup = Setup::start(&client_ca, &front_proxy_ca).await;
    // Through an intermediate CA the client sends along: accepted; without it: unknown issuer.
    let intermediate = ca("client-intermediate", Some(&client_ca));
    let erin = client_cert(&intermediate, "erin", &["system:masters"], |_| {});
    assert_eq!(status(setup.get(NODES, Some((&[&erin.cert, intermediate.der()][..], &erin.key)), &[]).await), 200);
    assert_eq!(status(setup.get(NODES, Some((&[&erin.cert][..], &erin.key)), &[]).await), 401);
    // Expired, not yet valid, or not for client authentication: 401, or the token's user.
    let expired = client_cert(&client_ca, "carol", &["system:masters"], |p| {
        p.not_before = date_time_ymd(2020, 1, 1);
        p.not_after = date_time_ymd(2021, 1, 1);
    });
    let early = client_cert(&client_ca, "carol", &["system:masters"], |p| {
        p.not_before = date_time_ymd(2999, 1, 1);
        p.not_after = date_time_ymd(3000, 1, 1);
    });
    let server_only = client_cert(&client_ca, "carol", &["system:masters"], |p| p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth]);
    for bad in [&expired, &early, &server_only] {
        let chain = Some((&[&bad.cert][..], &bad.key));
        assert_eq!(status(setup.get(NODES, chain, &[]).await), 401);
        assert_eq!(status(setup.get(NODES, chain, &[("Authorization", "Bearer bob-token")]).await), 403);
    }
    // A client-CA certificate without a CN names nobody.
    let nameless = client_cert(&client_ca, "", &["system:masters"], |_| {});
    assert_eq!(status(setup.get(NODES, Some((&[&nameless.cert][..], &nameless.key)), &[]).await), 401);
}
