//! The trust of every TLS client in a process: the platform's root
//! certificates, read once and shared.
//!
//! A function has up to three TLS clients: the AWS SDK's HTTPS client, the
//! response PUT to CloudFormation's `ResponseURL`, and the health probe's.
//! Left to their defaults, the SDK and reqwest (through
//! rustls-platform-verifier) each read the platform's roots with
//! rustls-native-certs, so a custom-resource function read the system trust
//! store twice before its first event. Here the roots are read once per
//! process, on first use, and handed to each client through its own hook:
//! the SDK's [`TlsContext`], and rustls's [`ClientConfig`] for reqwest.
//!
//! Verification is unchanged: the same source (rustls-native-certs, which
//! honours `SSL_CERT_FILE` and `SSL_CERT_DIR`), the same rule for a platform
//! certificate that is not a valid trust anchor (skipped, as both crates skip
//! it), and rustls's WebPKI verifier, which checks the chain and the name in
//! full. The probe adds its private CA roots to the platform's.

use std::sync::{Arc, LazyLock};

use aws_smithy_http_client::tls::{TlsContext, TrustStore};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rustls::client::{VerifierBuilderError, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{ClientConfig, RootCertStore};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("a root certificate is not a valid trust anchor: {0}")]
    Root(#[source] rustls::Error),
    #[error("no root certificate to verify servers with: {0}")]
    Verifier(#[from] VerifierBuilderError),
    #[error("cannot build the TLS configuration: {0}")]
    Config(#[source] rustls::Error),
}

/// The platform's root certificates, as read once.
struct PlatformRoots {
    /// Those that are valid trust anchors, in the order read: the SDK's
    /// trust store is given exactly these.
    certificates: Vec<CertificateDer<'static>>,
    store: Arc<RootCertStore>,
}

static PLATFORM_ROOTS: LazyLock<PlatformRoots> = LazyLock::new(PlatformRoots::load);

impl PlatformRoots {
    fn load() -> Self {
        let loaded = rustls_native_certs::load_native_certs();
        for error in &loaded.errors {
            tracing::warn!(%error, "a platform root certificate could not be read");
        }
        Self::from_certificates(loaded.certs)
    }

    fn from_certificates(candidates: Vec<CertificateDer<'static>>) -> Self {
        let mut store = RootCertStore::empty();
        let read = candidates.len();
        let mut certificates = Vec::with_capacity(read);
        for certificate in candidates {
            // The test of `add_parsable_certificates`, one by one, so that the
            // SDK, which refuses an unparsable certificate of its trust store
            // by panicking, is given only those that passed it.
            if store.add(certificate.clone()).is_ok() {
                certificates.push(certificate);
            }
        }
        let skipped = read - certificates.len();
        if skipped > 0 {
            tracing::warn!(
                skipped,
                "platform root certificates that are not valid trust anchors were skipped"
            );
        }
        Self {
            certificates,
            store: Arc::new(store),
        }
    }
}

/// The platform's roots for the AWS SDK's HTTPS client, as its trust store
/// with its own read of the platform turned off. The store takes PEM.
pub fn sdk_tls_context() -> TlsContext {
    let roots = &PLATFORM_ROOTS.certificates;
    let mut trust_store = TrustStore::empty();
    if !roots.is_empty() {
        trust_store = trust_store.with_pem_certificate(pem(roots));
    }
    sdk_context(trust_store)
}

/// A trust store for the SDK that trusts nothing: a connector built on it
/// refuses every server, and costs no decoding.
pub fn sdk_tls_context_trusting_nothing() -> TlsContext {
    sdk_context(TrustStore::empty())
}

fn sdk_context(trust_store: TrustStore) -> TlsContext {
    // `build` cannot fail in aws-smithy-http-client 1.x; were it to, the
    // SDK's default context is the same roots, read again.
    TlsContext::builder()
        .with_trust_store(trust_store)
        .build()
        .unwrap_or_default()
}

fn pem(certificates: &[CertificateDer<'_>]) -> Vec<u8> {
    let mut pem = Vec::new();
    for certificate in certificates {
        pem.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
        pem.extend_from_slice(STANDARD.encode(certificate).as_bytes());
        pem.extend_from_slice(b"\n-----END CERTIFICATE-----\n");
    }
    pem
}

/// The crypto provider and the server-certificate verifier of a reqwest
/// client, on the platform's roots and any extra ones.
pub struct TlsBase {
    pub(crate) provider: Arc<CryptoProvider>,
    verifier: Arc<WebPkiServerVerifier>,
}

impl TlsBase {
    /// Verifies against the platform's roots, plus `extra_roots`, each of
    /// which must be a valid trust anchor.
    pub fn new(extra_roots: Vec<CertificateDer<'static>>) -> Result<Self, TlsError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let platform = &PLATFORM_ROOTS.store;
        let roots = if extra_roots.is_empty() {
            Arc::clone(platform)
        } else {
            let mut store = RootCertStore::clone(platform);
            for root in extra_roots {
                store.add(root).map_err(TlsError::Root)?;
            }
            Arc::new(store)
        };
        let verifier =
            WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider)).build()?;
        Ok(Self { provider, verifier })
    }

    /// A client configuration on this verifier, for reqwest's
    /// `tls_backend_preconfigured`, presenting `identity` when the server asks
    /// for a client certificate.
    pub fn client_config(
        &self,
        identity: Option<Arc<CertifiedKey>>,
    ) -> Result<Arc<ClientConfig>, TlsError> {
        let builder = ClientConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            // `dangerous()` is only rustls's door to a verifier built apart;
            // this one is rustls's own WebPKI verifier.
            .dangerous()
            .with_custom_certificate_verifier(Arc::clone(&self.verifier) as _);
        let mut config = match identity {
            Some(key) => builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(key))),
            // A server that asks for a certificate then refuses the handshake
            // with an alert, which the probe explains.
            None => builder.with_no_client_auth(),
        };
        // HTTP/1.1 only, as reqwest offers without its http2 feature.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;

    fn certificate(name: &str) -> CertificateDer<'static> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().der().clone()
    }

    #[test]
    fn the_sdk_is_given_every_valid_root_and_only_those() {
        let valid = [certificate("a.example"), certificate("b.example")];
        let not_a_certificate = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x01]);
        let roots = PlatformRoots::from_certificates(vec![
            valid[0].clone(),
            not_a_certificate,
            valid[1].clone(),
        ]);
        assert_eq!(roots.certificates, valid);
        assert_eq!(roots.store.len(), 2);
        let read_back = CertificateDer::pem_slice_iter(&pem(&roots.certificates))
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        assert_eq!(read_back, valid);
    }

    #[test]
    fn an_extra_root_that_is_not_a_trust_anchor_is_refused() {
        let not_a_certificate = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x01]);
        let error = TlsBase::new(vec![not_a_certificate]).err().unwrap();
        assert!(matches!(error, TlsError::Root(_)), "{error}");
    }
}
