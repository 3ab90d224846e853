//! The probe's TLS set-up: the trusted roots are loaded once, at initialisation,
//! and a client configuration (with the client certificate, when there is one)
//! is made from them; every run then builds its cheap HTTPS clients on it.
//!
//! Verification is always on: the verifier is the platform's WebPKI verifier,
//! the same one reqwest uses by default.

use std::io;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{AlertDescription, ClientConfig, InconsistentKeys};
use rustls_platform_verifier::Verifier;

use super::config::ClientCertError;
use crate::config::ConfigError;

/// The crypto provider and the server-certificate verifier, built once.
pub(crate) struct TlsBase {
    provider: Arc<CryptoProvider>,
    verifier: Arc<Verifier>,
}

impl TlsBase {
    /// Loads the system's roots, plus `extra_roots`, once.
    pub(crate) fn new(
        extra_roots: Vec<CertificateDer<'static>>,
        roots_var: &'static str,
    ) -> Result<Self, ConfigError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = Verifier::new_with_extra_roots(extra_roots, Arc::clone(&provider))
            .map_err(|e| ConfigError::invalid(roots_var, e))?;
        Ok(Self {
            provider,
            verifier: Arc::new(verifier),
        })
    }

    /// A client configuration on the shared verifier, presenting `identity` when
    /// the server asks for a client certificate.
    pub(crate) fn client_config(
        &self,
        identity: Option<Arc<CertifiedKey>>,
    ) -> Result<Arc<ClientConfig>, ConfigError> {
        let builder = ClientConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| ConfigError::HttpClient(e.to_string()))?
            // `dangerous()` is only rustls's door to a custom verifier; this one
            // checks chains and names in full.
            .dangerous()
            .with_custom_certificate_verifier(Arc::clone(&self.verifier) as _);
        let mut config = match identity {
            Some(key) => builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(key))),
            // A server that asks for a certificate then refuses the handshake with
            // an alert, which `client_certificate_alert` explains.
            None => builder.with_no_client_auth(),
        };
        // HTTP/1.1 only, as reqwest offers without its http2 feature.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// Parses a client certificate chain and its private key from one PEM, and
    /// checks that the key is the certificate's. Errors name `var`.
    pub(crate) fn identity(
        &self,
        var: &'static str,
        pem: &[u8],
    ) -> Result<Arc<CertifiedKey>, ConfigError> {
        let fail = |error| ConfigError::ClientCertificate { var, error };
        let chain = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| fail(ClientCertError::MalformedPem))?;
        if chain.is_empty() {
            return Err(fail(ClientCertError::NoCertificate));
        }
        for certificate in &chain {
            x509_parser::parse_x509_certificate(certificate)
                .map_err(|e| fail(ClientCertError::BadCertificate(e.to_string())))?;
        }
        let key = PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => fail(ClientCertError::NoPrivateKey),
            // Other PEM errors may quote the key's text: say nothing more.
            _ => fail(ClientCertError::MalformedPem),
        })?;
        CertifiedKey::from_der(chain, key, &self.provider)
            .map(Arc::new)
            .map_err(|e| match e {
                rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch) => {
                    fail(ClientCertError::KeyMismatch)
                }
                other => fail(ClientCertError::BadKey(other.to_string())),
            })
    }
}

/// Explains a TLS alert from the server that is about the client certificate.
///
/// The alert is the one signal that survives every TLS version: with TLS 1.3 the
/// client finishes its side of the handshake before the server judges its
/// certificate, so the refusal arrives as an alert on the first read, not as a
/// connect error.
pub(crate) fn client_certificate_alert(
    error: &(dyn std::error::Error + 'static),
    presented: bool,
) -> Option<String> {
    let alert = received_alert(error)?;
    let name = format!("{alert:?}");
    match (alert, presented) {
        (AlertDescription::CertificateRequired, false) => Some(format!(
            "the server requires a client certificate and none is configured (TLS alert {name})"
        )),
        (AlertDescription::HandshakeFailure, false) => Some(format!(
            "the handshake failed (TLS alert {name}); the server may require a client certificate, and none is configured"
        )),
        (
            AlertDescription::CertificateRequired
            | AlertDescription::HandshakeFailure
            | AlertDescription::BadCertificate
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateRevoked
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnknownCA
            | AlertDescription::AccessDenied
            | AlertDescription::DecryptError,
            true,
        ) => Some(format!(
            "the server refused the client certificate (TLS alert {name})"
        )),
        _ => None,
    }
}

/// The alert the server sent, found in the error's causes. `io::Error` skips
/// its inner error in `source()`, so it is opened with `get_ref` instead.
fn received_alert(error: &(dyn std::error::Error + 'static)) -> Option<AlertDescription> {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(rustls::Error::AlertReceived(alert)) = current.downcast_ref::<rustls::Error>() {
            return Some(*alert);
        }
        next = match current.downcast_ref::<io::Error>() {
            Some(io_error) => io_error
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
    }
    None
}
