//! TLS server settings given by name, as the Kubernetes API server library takes them:
//! `--tls-cipher-suites` (Go's `crypto/tls` suite names), `--tls-min-version` (`VersionTLS12`…)
//! and `--tls-curve-preferences` (numeric TLS group IDs, e.g. `23,29`), mapped onto rustls.
//!
//! Go knows more names than rustls implements (CBC, RC4, 3DES and plain-RSA suites, TLS 1.0/1.1,
//! P-521 and the post-quantum hybrid group). A name Go knows but rustls lacks is dropped with a
//! note; a name Go does not know is refused, as Go refuses it; a list left with nothing usable is
//! refused too. As in Go, TLS 1.3 suites are always enabled: the suite list restricts TLS 1.2.

use crate::error::{Error, ErrorKind, Result};
use rustls::SupportedCipherSuite;
use rustls::crypto::CryptoProvider;
use rustls::crypto::SupportedKxGroup;
use rustls::crypto::ring::{cipher_suite as cs, kx_group};

/// The TLS settings of the serving port, by the names metrics-server's flags take.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// `--tls-cipher-suites`: Go cipher suite names; empty keeps the defaults.
    pub cipher_suites: Vec<String>,
    /// `--tls-min-version`: `VersionTLS10` … `VersionTLS13`; `None` or empty is TLS 1.2.
    pub min_version: Option<String>,
    /// `--tls-curve-preferences`: TLS group IDs in decimal (`23` P-256, `24` P-384, `29` X25519);
    /// empty keeps the defaults.
    pub curve_preferences: Vec<String>,
}

/// [`TlsOptions`] resolved for rustls.
#[derive(Debug)]
pub struct ResolvedTls {
    /// The ring provider restricted to the chosen suites and key exchange groups.
    pub provider: CryptoProvider,
    /// The protocol versions to offer.
    pub versions: Vec<&'static rustls::SupportedProtocolVersion>,
    /// What was asked for but cannot be offered (names Go knows and rustls lacks), one line each.
    pub notes: Vec<String>,
}

/// How a Go cipher suite name maps onto rustls.
enum Suite {
    /// A TLS 1.2 suite rustls implements.
    Tls12(SupportedCipherSuite),
    /// A TLS 1.3 suite (always enabled, as in Go).
    Tls13,
    /// Known to Go, not implemented by rustls.
    Missing,
}

/// Every name Go's `crypto/tls` (secure and insecure lists) and the API server's legacy aliases
/// accept, with what rustls has for it.
fn suite(name: &str) -> Option<Suite> {
    Some(match name {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => Suite::Tls12(cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => Suite::Tls12(cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384),
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305" => {
            Suite::Tls12(cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256)
        }
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => Suite::Tls12(cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => Suite::Tls12(cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" | "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" => Suite::Tls12(cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256),
        "TLS_AES_128_GCM_SHA256" | "TLS_AES_256_GCM_SHA384" | "TLS_CHACHA20_POLY1305_SHA256" => Suite::Tls13,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"
        | "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"
        | "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"
        | "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"
        | "TLS_RSA_WITH_RC4_128_SHA"
        | "TLS_RSA_WITH_3DES_EDE_CBC_SHA"
        | "TLS_RSA_WITH_AES_128_CBC_SHA"
        | "TLS_RSA_WITH_AES_256_CBC_SHA"
        | "TLS_RSA_WITH_AES_128_CBC_SHA256"
        | "TLS_RSA_WITH_AES_128_GCM_SHA256"
        | "TLS_RSA_WITH_AES_256_GCM_SHA384"
        | "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"
        | "TLS_ECDHE_RSA_WITH_RC4_128_SHA"
        | "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"
        | "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"
        | "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256" => Suite::Missing,
        _ => return None,
    })
}

/// How a TLS group ID maps onto rustls: `Some(group)`, or `None` when Go knows it and rustls
/// (ring) does not. Unknown IDs are `Err`.
fn group(id: u16) -> std::result::Result<Option<&'static dyn SupportedKxGroup>, ()> {
    match id {
        23 => Ok(Some(kx_group::SECP256R1)),
        24 => Ok(Some(kx_group::SECP384R1)),
        29 => Ok(Some(kx_group::X25519)),
        // P-521, X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024.
        25 | 4588 | 4587 | 4589 => Ok(None),
        _ => Err(()),
    }
}

fn config_err(message: String) -> Error {
    Error::new(ErrorKind::Config, message)
}

impl TlsOptions {
    /// `true` when every setting is at its default.
    pub fn is_default(&self) -> bool {
        self.cipher_suites.is_empty() && self.min_version.as_deref().unwrap_or_default().is_empty() && self.curve_preferences.is_empty()
    }

    /// Checks the names and builds the rustls pieces; errors name the flag and the value.
    pub fn resolve(&self) -> Result<ResolvedTls> {
        let base = rustls::crypto::ring::default_provider();
        let mut notes = Vec::new();

        let min_tls13 = match self.min_version.as_deref().unwrap_or_default() {
            "" | "VersionTLS12" => false,
            "VersionTLS13" => true,
            v @ ("VersionTLS10" | "VersionTLS11") => {
                notes.push(format!("--tls-min-version={v}: TLS 1.0 and 1.1 are not offered (rustls implements TLS 1.2 and 1.3); the minimum is TLS 1.2"));
                false
            }
            other => {
                return Err(config_err(format!(
                    "--tls-min-version: unknown tls version {other:?} (possible values: VersionTLS10, VersionTLS11, VersionTLS12, VersionTLS13)"
                )));
            }
        };

        let mut suites: Vec<SupportedCipherSuite> = base.cipher_suites.iter().filter(|s| s.tls13().is_some()).copied().collect();
        if self.cipher_suites.is_empty() {
            suites = base.cipher_suites.clone();
        } else {
            let mut missing = Vec::new();
            for name in &self.cipher_suites {
                match suite(name) {
                    Some(Suite::Tls12(s)) => {
                        if !suites.iter().any(|have| have.suite() == s.suite()) {
                            suites.push(s);
                        }
                    }
                    Some(Suite::Tls13) => {}
                    Some(Suite::Missing) => missing.push(name.as_str()),
                    None => return Err(config_err(format!("--tls-cipher-suites: Cipher suite {name} not supported or doesn't exist"))),
                }
            }
            if !missing.is_empty() {
                notes.push(format!(
                    "--tls-cipher-suites: {} not offered (rustls implements only ECDHE suites with AES-GCM or ChaCha20-Poly1305)",
                    missing.join(", ")
                ));
            }
        }
        let has_tls12 = suites.iter().any(|s| s.tls13().is_none());
        let versions: Vec<&'static rustls::SupportedProtocolVersion> = if min_tls13 {
            vec![&rustls::version::TLS13]
        } else if !has_tls12 {
            notes.push("--tls-cipher-suites: no TLS 1.2 suite is usable, so only TLS 1.3 is offered".to_string());
            vec![&rustls::version::TLS13]
        } else {
            vec![&rustls::version::TLS13, &rustls::version::TLS12]
        };

        let mut kx_groups = base.kx_groups.clone();
        if !self.curve_preferences.is_empty() {
            kx_groups.clear();
            let mut missing = Vec::new();
            for raw in &self.curve_preferences {
                let id: u16 = raw.trim().parse().map_err(|_| {
                    config_err(format!("invalid --tls-curve-preferences value {raw:?}: a TLS group ID in decimal, between 1 and 65535, is expected"))
                })?;
                match group(id) {
                    Ok(Some(g)) => {
                        if kx_groups.iter().any(|have| have.name() == g.name()) {
                            return Err(config_err(format!("invalid --tls-curve-preferences value {raw:?}: duplicate curve ID")));
                        }
                        kx_groups.push(g);
                    }
                    Ok(None) => missing.push(raw.trim()),
                    Err(()) => return Err(config_err(format!("invalid --tls-curve-preferences value {raw:?}: curve ID not supported"))),
                }
            }
            if !missing.is_empty() {
                notes.push(format!(
                    "--tls-curve-preferences: {} not offered (rustls with ring implements 23 P-256, 24 P-384 and 29 X25519)",
                    missing.join(", ")
                ));
            }
            if kx_groups.is_empty() {
                return Err(config_err(format!(
                    "--tls-curve-preferences={}: none of these key exchange groups is available (23 P-256, 24 P-384, 29 X25519 are)",
                    self.curve_preferences.join(",")
                )));
            }
        }
        let provider = CryptoProvider { cipher_suites: suites, kx_groups, ..base };
        Ok(ResolvedTls { provider, versions, notes })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn opts(suites: &[&str], min: Option<&str>, curves: &[&str]) -> TlsOptions {
        TlsOptions {
            cipher_suites: suites.iter().map(|s| s.to_string()).collect(),
            min_version: min.map(str::to_string),
            curve_preferences: curves.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn defaults_keep_everything() {
        let r = opts(&[], None, &[]).resolve().unwrap();
        assert_eq!(r.provider.cipher_suites.len(), rustls::crypto::ring::default_provider().cipher_suites.len());
        assert_eq!(r.versions.len(), 2);
        assert!(r.notes.is_empty());
    }

    #[test]
    fn suites_restrict_tls12_and_keep_tls13() {
        let r = opts(&["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"], None, &[]).resolve().unwrap();
        let tls12: Vec<_> = r.provider.cipher_suites.iter().filter(|s| s.tls13().is_none()).map(|s| s.suite()).collect();
        assert_eq!(tls12, vec![rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, rustls::CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256]);
        assert_eq!(r.provider.cipher_suites.iter().filter(|s| s.tls13().is_some()).count(), 3);
    }

    #[test]
    fn unknown_names_are_refused_like_go() {
        let e = opts(&["TLS_NOPE"], None, &[]).resolve().unwrap_err().to_string();
        assert!(e.contains("Cipher suite TLS_NOPE not supported or doesn't exist"), "{e}");
        let e = opts(&[], Some("TLS1.2"), &[]).resolve().unwrap_err().to_string();
        assert!(e.contains("unknown tls version \"TLS1.2\""), "{e}");
        let e = opts(&[], None, &["P256"]).resolve().unwrap_err().to_string();
        assert!(e.contains("invalid --tls-curve-preferences value"), "{e}");
        let e = opts(&[], None, &["65535"]).resolve().unwrap_err().to_string();
        assert!(e.contains("not supported"), "{e}");
        let e = opts(&[], None, &["23", "23"]).resolve().unwrap_err().to_string();
        assert!(e.contains("duplicate"), "{e}");
    }

    #[test]
    fn names_go_knows_and_rustls_lacks_are_dropped_with_a_note() {
        let r = opts(&["TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"], Some("VersionTLS10"), &["25", "29"]).resolve().unwrap();
        assert_eq!(r.notes.len(), 3, "{:?}", r.notes);
        assert_eq!(r.provider.kx_groups.len(), 1);
        let e = opts(&[], None, &["25"]).resolve().unwrap_err().to_string();
        assert!(e.contains("none of these"), "{e}");
    }

    #[test]
    fn min_version_13_or_only_tls13_suites_offer_tls13_only() {
        assert_eq!(opts(&[], Some("VersionTLS13"), &[]).resolve().unwrap().versions.len(), 1);
        let r = opts(&["TLS_AES_128_GCM_SHA256"], None, &[]).resolve().unwrap();
        assert_eq!(r.versions.len(), 1);
        assert_eq!(r.notes.len(), 1);
    }
}
