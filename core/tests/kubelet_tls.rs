//! The kubelet client over real TLS, against the simulated fleet serving HTTPS on 127.0.0.1:
//! CA verification by default, `--kubelet-certificate-authority`, `--kubelet-insecure-tls`, the
//! IP SAN check, client certificates and the bearer token, and how each failure is classified;
//! and a kubelet serving its own self-signed CA certificate, pinned as the CA (issue 17), which
//! Go's crypto/x509 accepts and webpki alone does not. Certificates are made here with rcgen
//! (kubelet CA, another CA, a client CA, kubelets' self-signed certificates).

use kubemetrics::collector::{AddressOptions, Collector, CollectorOptions, Inventory, KubeletClient, KubeletOptions, NodeTarget};
use kubemetrics::scrape::parse_metrics_resource;
use kubemetrics::server::{ScrapeErrorClass, ServerMetrics};
use kubemetrics::testkit::simulate::{Fleet, FleetConfig, FleetTls, NodeInfo};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, date_time_ymd};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// A temp dir of PEM files, removed on drop.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new() -> Pki {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!("km-kubelet-tls-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Pki { dir }
    }

    fn write(&self, name: &str, pem: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, pem).expect("write pem");
        p
    }

    /// A CA: `<name>.crt` and the issuer to sign with.
    fn ca(&self, name: &str) -> (PathBuf, CertifiedIssuer<'static, KeyPair>) {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, format!("{name} test CA"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("ca");
        (self.write(&format!("{name}.crt"), &issuer.pem()), issuer)
    }

    /// A leaf signed by `ca` for `sans` (IP addresses or DNS names): `(cert, key)` paths.
    fn leaf(&self, name: &str, ca: &CertifiedIssuer<'static, KeyPair>, sans: &[&str], usage: ExtendedKeyUsagePurpose) -> (PathBuf, PathBuf) {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, ca).expect("sign");
        (self.write(&format!("{name}.crt"), &cert.pem()), self.write(&format!("{name}.key"), &key.serialize_pem()))
    }

    /// A kubelet's self-signed serving certificate, which is also a CA (what kubelet generates
    /// without `--tls-cert-file`): `(cert, key)` paths. `tweak` changes the parameters first.
    fn self_signed_kubelet(&self, name: &str, sans: &[&str], tweak: impl FnOnce(&mut CertificateParams)) -> (PathBuf, PathBuf) {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("params");
        params.distinguished_name.push(DnType::CommonName, format!("{name}@1700000000"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyEncipherment, KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyCertSign];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        tweak(&mut params);
        let cert = params.self_signed(&key).expect("self-sign");
        (self.write(&format!("{name}.crt"), &cert.pem()), self.write(&format!("{name}.key"), &key.serialize_pem()))
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn options(f: impl FnOnce(&mut KubeletOptions)) -> KubeletOptions {
    let mut o = KubeletOptions { request_timeout: Duration::from_secs(5), ..Default::default() };
    f(&mut o);
    o
}

async fn fleet(nodes: usize, tls: FleetTls, token: Option<&str>) -> Fleet {
    let config = FleetConfig {
        nodes,
        pods_per_node: 3,
        containers_per_pod: 2,
        seed: 11,
        tls: Some(tls),
        require_token: token.map(str::to_string),
        ..Default::default()
    };
    let fleet = Fleet::start(config).await.expect("fleet");
    assert_eq!(fleet.scheme(), "https");
    fleet
}

/// Scrapes `node` and checks every container's numbers against the simulation, exactly.
async fn scrape_exact(client: &KubeletClient, node: &NodeInfo) {
    let body = client.get(&node.addr.to_string(), "/metrics/resource").await.unwrap_or_else(|f| panic!("{}: {:?}: {}", node.name, f.class, f.message));
    let scrape = parse_metrics_resource(&body, 0).expect("parses");
    assert!(scrape.issues().is_empty(), "{:?}", scrape.issues());
    assert_eq!(scrape.len(), node.pods.iter().map(|p| p.containers.len()).sum::<usize>());
    for pod in &node.pods {
        for c in &pod.containers {
            let got = scrape.container(&pod.namespace, &pod.name, &c.name).expect("container served").sample;
            assert_eq!(got.memory_bytes, c.memory_bytes);
            let start = i64::try_from(c.started.as_nanosecond()).expect("fits");
            assert_eq!(i128::from(got.cpu_ns), i128::from(c.cpu_millicores) * i128::from(got.timestamp_ns - start) / 1000);
        }
    }
}

async fn fail(client: &KubeletClient, node: &NodeInfo) -> (ScrapeErrorClass, String, Option<u16>) {
    match client.get(&node.addr.to_string(), "/metrics/resource").await {
        Ok(_) => panic!("{}: scrape succeeded", node.name),
        Err(f) => (f.class, f.message, f.status),
    }
}

#[tokio::test]
async fn serving_certificates_are_verified_by_default() {
    let pki = Pki::new();
    let (kubelet_ca, issuer) = pki.ca("kubelet-ca");
    let (other_ca, _) = pki.ca("other-ca");
    let (cert, key) = pki.leaf("kubelet", &issuer, &["127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth);
    let fleet = fleet(2, FleetTls { cert_file: cert, key_file: key, client_ca_file: None }, None).await;
    let inventory = fleet.inventory();

    // No flag: verification against the default roots, which do not hold our private CA.
    let default = KubeletClient::new(options(|_| {})).expect("client");
    assert!(!default.options().insecure_tls && default.options().certificate_authority.is_none());
    let (class, message, status) = fail(&default, &inventory[0]).await;
    assert_eq!((class, status), (ScrapeErrorClass::Tls, None), "{message}");
    assert!(message.contains("invalid peer certificate: UnknownIssuer"), "{message}");
    assert!(message.contains("--kubelet-certificate-authority"), "{message}");
    assert!(message.starts_with(&format!("GET https://{}/metrics/resource: ", inventory[0].addr)), "{message}");

    // --kubelet-certificate-authority of another CA: the same failure.
    let wrong = KubeletClient::new(options(|o| o.certificate_authority = Some(other_ca))).expect("client");
    let (class, message, _) = fail(&wrong, &inventory[1]).await;
    assert_eq!(class, ScrapeErrorClass::Tls, "{message}");
    assert!(message.contains("UnknownIssuer"), "{message}");

    // The kubelets' CA: exact numbers from every node, over one pooled connection each.
    let right = KubeletClient::new(options(|o| o.certificate_authority = Some(kubelet_ca.clone()))).expect("client");
    for node in &inventory {
        scrape_exact(&right, node).await;
        scrape_exact(&right, node).await;
    }
    // Past the keep-alive budget (the open-file limit), a connection per scrape: same answers.
    assert!(right.keep_alive_budget() > 0);
    for node in &inventory {
        for _ in 0..2 {
            let body = right.get_with(&node.addr.to_string(), "/metrics/resource", false).await.expect("scrape without keep-alive");
            assert_eq!(parse_metrics_resource(&body, 0).expect("parses").len(), node.pods.iter().map(|p| p.containers.len()).sum::<usize>());
        }
    }

    // --kubelet-insecure-tls: no verification at all.
    let insecure = KubeletClient::new(options(|o| o.insecure_tls = true)).expect("client");
    for node in &inventory {
        scrape_exact(&insecure, node).await;
    }

    // Plain HTTP to a TLS kubelet is not mistaken for a TLS failure of the certificate.
    let plain = KubeletClient::new(options(|o| o.scheme = "http".into())).expect("client");
    assert!(plain.get(&inventory[0].addr.to_string(), "/metrics/resource").await.is_err());
    fleet.shutdown().await;
}

#[tokio::test]
async fn the_certificate_must_name_the_address() {
    let pki = Pki::new();
    let (kubelet_ca, issuer) = pki.ca("kubelet-ca");
    let (cert, key) = pki.leaf("kubelet", &issuer, &["kubelet.invalid", "10.1.2.3"], ExtendedKeyUsagePurpose::ServerAuth);
    let fleet = fleet(1, FleetTls { cert_file: cert, key_file: key, client_ca_file: None }, None).await;
    let node = &fleet.inventory()[0];
    let client = KubeletClient::new(options(|o| o.certificate_authority = Some(kubelet_ca))).expect("client");
    let (class, message, _) = fail(&client, node).await;
    assert_eq!(class, ScrapeErrorClass::Tls, "{message}");
    assert!(message.contains("not valid for name") && message.contains("127.0.0.1"), "{message}");
    // --kubelet-insecure-tls skips the name check too.
    let insecure = KubeletClient::new(options(|o| o.insecure_tls = true)).expect("client");
    scrape_exact(&insecure, node).await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn client_certificates_and_the_bearer_token_authenticate() {
    let pki = Pki::new();
    let (kubelet_ca, issuer) = pki.ca("kubelet-ca");
    let (client_ca, client_issuer) = pki.ca("client-ca");
    let (_, rogue_issuer) = pki.ca("rogue-ca");
    let (cert, key) = pki.leaf("kubelet", &issuer, &["127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth);
    let client_pair = pki.leaf("metrics-server", &client_issuer, &[], ExtendedKeyUsagePurpose::ClientAuth);
    let rogue_pair = pki.leaf("rogue", &rogue_issuer, &[], ExtendedKeyUsagePurpose::ClientAuth);
    let tls = FleetTls { cert_file: cert, key_file: key, client_ca_file: Some(client_ca) };
    let fleet = fleet(1, tls, Some("s3cr3t-token")).await;
    let node = &fleet.inventory()[0];
    let with = |f: &dyn Fn(&mut KubeletOptions)| {
        KubeletClient::new(options(|o| {
            o.certificate_authority = Some(kubelet_ca.clone());
            f(o);
        }))
        .expect("client")
    };

    // Neither a client certificate nor a token: the handshake succeeds (kubelet only requests
    // client certificates) and the kubelet answers 401.
    let (class, message, status) = fail(&with(&|_| {}), node).await;
    assert_eq!((class, status), (ScrapeErrorClass::Auth, Some(401)), "{message}");
    assert!(message.starts_with(&format!("GET https://{}/metrics/resource: HTTP 401 Unauthorized (", node.addr)), "{message}");
    assert!(message.contains("--kubelet-client-certificate"), "{message}");
    // A client certificate of a CA the kubelet does not trust, or a wrong token: 401 too.
    let (class, _, status) = fail(&with(&|o| o.client_certificate = Some(rogue_pair.clone())), node).await;
    assert_eq!((class, status), (ScrapeErrorClass::Auth, Some(401)));
    let (class, _, status) = fail(&with(&|o| o.token = Some("wrong".into())), node).await;
    assert_eq!((class, status), (ScrapeErrorClass::Auth, Some(401)));

    // --kubelet-client-certificate/--kubelet-client-key of the client CA, or the token: served.
    scrape_exact(&with(&|o| o.client_certificate = Some(client_pair.clone())), node).await;
    scrape_exact(&with(&|o| o.token = Some("s3cr3t-token".into())), node).await;

    assert_eq!(fleet.requests(&node.name).expect("requests"), 5, "every request reached the kubelet once");

    // Unreadable client certificate files fail at start, naming the flag.
    let err = KubeletClient::new(options(|o| o.client_certificate = Some((client_pair.0.clone(), pki.dir.join("missing.key"))))).expect_err("missing key");
    assert!(err.to_string().contains("--kubelet-client-key"), "{err}");
    fleet.shutdown().await;
}

#[tokio::test]
async fn bad_serving_files_fail_the_fleet_start() {
    let pki = Pki::new();
    let (ca, issuer) = pki.ca("kubelet-ca");
    let (cert, key) = pki.leaf("kubelet", &issuer, &["127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth);
    let missing = pki.dir.join("missing.crt");
    for tls in [
        FleetTls { cert_file: missing.clone(), key_file: key.clone(), client_ca_file: None },
        FleetTls { cert_file: cert.clone(), key_file: ca.clone(), client_ca_file: None },
        FleetTls { cert_file: cert.clone(), key_file: key.clone(), client_ca_file: Some(missing.clone()) },
    ] {
        let config = FleetConfig { nodes: 1, tls: Some(tls.clone()), ..Default::default() };
        let err = Fleet::start(config).await.expect_err("bad TLS files");
        assert_eq!(err.kind(), kubemetrics::ErrorKind::Config, "{tls:?}: {err}");
    }
}

/// The collector counts the failures by class, as `/metrics` shows them.
#[test]
fn the_collector_counts_tls_and_auth_failures() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let pki = Pki::new();
    let (kubelet_ca, issuer) = pki.ca("kubelet-ca");
    let (other_ca, _) = pki.ca("other-ca");
    let (cert, key) = pki.leaf("kubelet", &issuer, &["127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth);
    let (_fleet, nodes) = rt.block_on(async {
        let f = fleet(1, FleetTls { cert_file: cert, key_file: key, client_ca_file: Some(kubelet_ca.clone()) }, None).await;
        let nodes = f.nodes();
        (f, nodes)
    });
    let address = AddressOptions { preferred_types: vec!["InternalIP".into()], port: 10250, use_node_status_port: true };
    let target = NodeTarget::from_node(&nodes[0], &address);
    let name = target.name.clone();
    let scrape_with = |kubelet: KubeletOptions| {
        let stats = Arc::new(ServerMetrics::default());
        let inventory = Inventory::new();
        inventory.replace_nodes([target.clone()]);
        inventory.mark_synced();
        let collector = Collector::new(CollectorOptions { kubelet, ..Default::default() }, inventory, stats.clone()).expect("collector");
        rt.block_on(collector.scrape(&target));
        stats.render()
    };
    let tls = scrape_with(options(|o| o.certificate_authority = Some(other_ca.clone())));
    assert!(tls.contains(&format!("kubemetrics_scrape_errors_total{{class=\"tls\",node=\"{name}\"}} 1")), "{tls}");
    let auth = scrape_with(options(|o| o.certificate_authority = Some(kubelet_ca.clone())));
    assert!(auth.contains(&format!("kubemetrics_scrape_errors_total{{class=\"auth\",node=\"{name}\"}} 1")), "{auth}");
}

/// Issue 17: `--kubelet-certificate-authority` pointing at the kubelet's own self-signed
/// certificate, which is also a CA. webpki alone refuses it (`CaUsedAsEndEntity`); Go's
/// crypto/x509 (metrics-server) trusts a served certificate that is itself a trust anchor.
#[tokio::test]
async fn a_pinned_self_signed_kubelet_certificate_is_trusted_like_go() {
    let pki = Pki::new();
    let (pinned, key) = pki.self_signed_kubelet("kubelet-self", &["127.0.0.1"], |_| {});
    let (other_ca, _) = pki.ca("other-ca");
    let fleet = fleet(2, FleetTls { cert_file: pinned.clone(), key_file: key, client_ca_file: None }, None).await;
    let inventory = fleet.inventory();

    // The pinned certificate alone, then in a bundle after another CA: exact numbers from every
    // node, twice over the pooled connection and once without keep-alive.
    let bundle = pki.write("bundle.crt", &(std::fs::read_to_string(&other_ca).expect("read") + &std::fs::read_to_string(&pinned).expect("read")));
    for ca in [pinned.clone(), bundle] {
        let client = KubeletClient::new(options(|o| o.certificate_authority = Some(ca.clone()))).expect("client");
        for node in &inventory {
            scrape_exact(&client, node).await;
            scrape_exact(&client, node).await;
            client.get_with(&node.addr.to_string(), "/metrics/resource", false).await.expect("scrape without keep-alive");
        }
    }

    // A CA that is not the served certificate: refused as Go refuses it (unknown authority),
    // class tls, with the hint naming the flag.
    let wrong = KubeletClient::new(options(|o| o.certificate_authority = Some(other_ca.clone()))).expect("client");
    let (class, message, status) = fail(&wrong, &inventory[0]).await;
    assert_eq!((class, status), (ScrapeErrorClass::Tls, None), "{message}");
    assert!(message.contains("invalid peer certificate: UnknownIssuer"), "{message}");
    assert!(message.contains("--kubelet-certificate-authority"), "{message}");
    // Nor is another kubelet's self-signed certificate for the same address (another key).
    let (impostor, _) = pki.self_signed_kubelet("kubelet-other", &["127.0.0.1"], |_| {});
    let impostor = KubeletClient::new(options(|o| o.certificate_authority = Some(impostor))).expect("client");
    let (class, message, _) = fail(&impostor, &inventory[1]).await;
    assert_eq!(class, ScrapeErrorClass::Tls, "{message}");
    assert!(message.contains("UnknownIssuer"), "{message}");
    // No flag: the default roots do not hold it.
    let default = KubeletClient::new(options(|_| {})).expect("client");
    let (class, message, _) = fail(&default, &inventory[0]).await;
    assert_eq!(class, ScrapeErrorClass::Tls, "{message}");
    assert_eq!(fleet.requests(&inventory[0].name).expect("requests"), 6, "refused scrapes never reach the kubelet");
    fleet.shutdown().await;
}

/// A pinned certificate is still checked as Go checks it: the address it is for, its validity
/// period and its extended key usage. Each failure is class tls.
#[tokio::test]
async fn a_pinned_certificate_must_still_name_the_address_and_be_valid() {
    let pki = Pki::new();
    type Tweak = Box<dyn FnOnce(&mut CertificateParams)>;
    let shapes: [(&str, &[&str], Tweak, &str); 4] = [
        ("wrong-name", &["kubelet.invalid", "10.1.2.3"], Box::new(|_| {}), "not valid for name"),
        (
            "expired",
            &["127.0.0.1"],
            Box::new(|p| {
                p.not_before = date_time_ymd(2020, 1, 1);
                p.not_after = date_time_ymd(2021, 1, 1);
            }),
            "certificate expired",
        ),
        (
            "not-yet-valid",
            &["127.0.0.1"],
            Box::new(|p| {
                p.not_before = date_time_ymd(2999, 1, 1);
                p.not_after = date_time_ymd(3000, 1, 1);
            }),
            "certificate not valid yet",
        ),
        ("client-only", &["127.0.0.1"], Box::new(|p| p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth]), "InvalidPurpose"),
    ];
    for (name, sans, tweak, expected) in shapes {
        let (pinned, key) = pki.self_signed_kubelet(name, sans, tweak);
        let fleet = fleet(1, FleetTls { cert_file: pinned.clone(), key_file: key, client_ca_file: None }, None).await;
        let node = &fleet.inventory()[0];
        let client = KubeletClient::new(options(|o| o.certificate_authority = Some(pinned))).expect("client");
        let (class, message, status) = fail(&client, node).await;
        assert_eq!((class, status), (ScrapeErrorClass::Tls, None), "{name}: {message}");
        assert!(message.contains(expected), "{name}: {message}");
        if name == "wrong-name" {
            assert!(message.contains("127.0.0.1") && message.contains("--kubelet-preferred-address-types"), "{message}");
        }
        // --kubelet-insecure-tls still skips every check.
        scrape_exact(&KubeletClient::new(options(|o| o.insecure_tls = true)).expect("client"), node).await;
        fleet.shutdown().await;
    }
}
