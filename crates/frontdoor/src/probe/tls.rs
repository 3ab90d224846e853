//! The probe's client certificate, and what the server's alerts say about it.
//! The trusted roots (the platform's, read once per process, plus
//! `PROBE_CA_BUNDLE`) and the client configuration are [`crate::tls`]'s.

use std::io;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::{AlertDescription, InconsistentKeys};

use super::config::ClientCertError;
use crate::config::ConfigError;
use crate::tls::TlsBase;

impl TlsBase {
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
