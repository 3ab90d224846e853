//! A throw-away certificate authority and a local HTTPS server for the probe's tests.
//!
//! The server listens on 127.0.0.1 only and answers by path:
//! - `/status/{code}`: that status (with `Location: /health` for 3xx, to catch a
//!   client that follows redirects);
//! - `/hang`: accepts the request and never answers;
//! - `/flaky`: 503 the first time, 200 after;
//! - anything else: 200.
//!
//! It records the SNI name, `Host` header, method and path of every request, and
//! counts completed handshakes. [`ServerOptions`] make it require client
//! certificates from a given CA, and listen on every address of `localhost`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};

/// A certificate authority made for one test.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    pub fn new(common_name: &str) -> Self {
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("CA key");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("CA certificate");
        Self { issuer }
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for `dns_name`, valid from an hour ago for `valid_for`.
    pub fn issue(&self, dns_name: &str, valid_for: Duration) -> ServerIdentity {
        let (certificate, key, not_after) =
            self.sign(dns_name, valid_for, ExtendedKeyUsagePurpose::ServerAuth);
        ServerIdentity {
            chain: vec![certificate.der().clone()],
            key_pkcs8: key.serialize_der(),
            not_after_unix: not_after.as_secs(),
        }
    }

    /// A client certificate and its key as one PEM, as `PROBE_CLIENT_CERT_FILE`
    /// and `PROBE_CLIENT_CERT_SECRET` hold them.
    pub fn issue_client_pem(&self, common_name: &str) -> String {
        let (certificate, key, _) = self.sign(
            common_name,
            Duration::from_secs(86_400),
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        format!("{}{}", certificate.pem(), key.serialize_pem())
    }

    /// A leaf certificate for `name`, valid from an hour ago for `valid_for`.
    fn sign(
        &self,
        name: &str,
        valid_for: Duration,
        usage: ExtendedKeyUsagePurpose,
    ) -> (rcgen::Certificate, KeyPair, Duration) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970");
        // rcgen takes `time` dates; adding to its epoch avoids naming that crate.
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        let not_after = now + valid_for;
        let mut params = CertificateParams::new(vec![name.to_owned()]).expect("DNS name");
        params.distinguished_name.push(DnType::CommonName, name);
        params.not_before = epoch + (now - Duration::from_secs(3600));
        params.not_after = epoch + not_after;
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("leaf key");
        let certificate = params
            .signed_by(&key, &*self.issuer)
            .expect("leaf certificate");
        (certificate, key, not_after)
    }

    /// The CA's own certificate, as a trust anchor.
    pub fn certificate_der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    fn root_store(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots.add(self.certificate_der()).expect("CA root");
        roots
    }

    /// Writes the CA certificate to a temporary PEM file, as `PROBE_CA_BUNDLE` expects.
    pub fn bundle_file(&self) -> TempFile {
        TempFile::new("ca.pem", self.pem().as_bytes())
    }
}

/// A server's certificate chain and key.
pub struct ServerIdentity {
    chain: Vec<CertificateDer<'static>>,
    key_pkcs8: Vec<u8>,
    /// When the leaf certificate expires, in seconds since 1970 (whole seconds, as
    /// in the certificate).
    pub not_after_unix: u64,
}

/// A file that is removed when dropped: a certificate or key on disk, as the
/// probe reads them.
pub struct TempFile(tempfile::NamedTempFile);

impl TempFile {
    pub fn new(name: &str, contents: &[u8]) -> Self {
        let mut file = tempfile::Builder::new()
            .prefix("frontdoor-test-")
            .suffix(&format!("-{name}"))
            .tempfile()
            .expect("create a temporary file");
        std::io::Write::write_all(&mut file, contents).expect("write a temporary file");
        Self(file)
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

/// What the server saw of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    pub sni: Option<String>,
    pub host: Option<String>,
    pub method: String,
    pub path: String,
}

/// How a [`TestServer`] differs from the plain one.
#[derive(Default)]
pub struct ServerOptions<'a> {
    /// Require a client certificate issued by this CA (mutual TLS).
    pub client_ca: Option<&'a TestCa>,
    /// Listen, on one port, on every address `localhost` resolves to, not only
    /// on 127.0.0.1.
    pub all_localhost_addresses: bool,
}

/// A local HTTPS server, running until the test's runtime ends.
pub struct TestServer {
    /// The 127.0.0.1 address.
    pub addr: SocketAddr,
    /// Every address listened on (127.0.0.1 first).
    pub addrs: Vec<SocketAddr>,
    seen: Arc<Mutex<Vec<SeenRequest>>>,
    handshakes: Arc<AtomicU64>,
}

impl TestServer {
    pub async fn start(identity: &ServerIdentity) -> Self {
        Self::start_with(identity, ServerOptions::default()).await
    }

    pub async fn start_with(identity: &ServerIdentity, options: ServerOptions<'_>) -> Self {
        let acceptor = acceptor(identity, options.client_ca);
        let listeners = listeners(options.all_localhost_addresses).await;
        let addrs: Vec<SocketAddr> = listeners
            .iter()
            .map(|l| l.local_addr().expect("local address"))
            .collect();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handshakes = Arc::new(AtomicU64::new(0));
        let flaky_calls = Arc::new(AtomicU64::new(0));
        for listener in listeners {
            tokio::spawn(serve(
                listener,
                acceptor.clone(),
                Arc::clone(&seen),
                Arc::clone(&handshakes),
                Arc::clone(&flaky_calls),
            ));
        }
        Self {
            addr: addrs[0],
            addrs,
            seen,
            handshakes,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn requests(&self) -> Vec<SeenRequest> {
        self.seen.lock().expect("lock").clone()
    }

    /// Completed TLS handshakes, one per connection.
    pub fn handshakes(&self) -> u64 {
        self.handshakes.load(Ordering::SeqCst)
    }
}

fn acceptor(identity: &ServerIdentity, client_ca: Option<&TestCa>) -> TlsAcceptor {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key_pkcs8.clone()));
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .expect("TLS versions");
    let builder = match client_ca {
        Some(ca) => builder.with_client_cert_verifier(
            WebPkiClientVerifier::builder_with_provider(Arc::new(ca.root_store()), provider)
                .build()
                .expect("client verifier"),
        ),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(identity.chain.clone(), key)
        .expect("server certificate and key");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsAcceptor::from(Arc::new(config))
}

/// 127.0.0.1 on a free port, then, if asked, the other addresses of `localhost`
/// (such as ::1) on the same port.
async fn listeners(all_localhost_addresses: bool) -> Vec<TcpListener> {
    let first = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let port = first.local_addr().expect("local address").port();
    let mut listeners = vec![first];
    if all_localhost_addresses {
        let others = tokio::net::lookup_host(("localhost", port))
            .await
            .expect("resolve localhost")
            .filter(|addr| addr.ip() != std::net::Ipv4Addr::LOCALHOST);
        for addr in others {
            listeners.push(TcpListener::bind(addr).await.expect("bind localhost"));
        }
    }
    listeners
}

async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    server_seen: Arc<Mutex<Vec<SeenRequest>>>,
    server_handshakes: Arc<AtomicU64>,
    flaky_calls: Arc<AtomicU64>,
) {
    while let Ok((tcp, _)) = listener.accept().await {
        let acceptor = acceptor.clone();
        let seen = Arc::clone(&server_seen);
        let handshakes = Arc::clone(&server_handshakes);
        let flaky_calls = Arc::clone(&flaky_calls);
        tokio::spawn(async move {
            // A handshake that either side refuses (a certificate) ends here.
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            handshakes.fetch_add(1, Ordering::SeqCst);
            let sni = tls.get_ref().1.server_name().map(str::to_owned);
            let service = service_fn(move |request: Request<Incoming>| {
                let seen = Arc::clone(&seen);
                let flaky_calls = Arc::clone(&flaky_calls);
                let sni = sni.clone();
                async move {
                    seen.lock().expect("lock").push(SeenRequest {
                        sni,
                        host: request
                            .headers()
                            .get(header::HOST)
                            .and_then(|h| h.to_str().ok())
                            .map(str::to_owned),
                        method: request.method().to_string(),
                        path: request.uri().path().to_owned(),
                    });
                    Ok::<_, Infallible>(answer(request.uri().path(), &flaky_calls).await)
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

async fn answer(path: &str, flaky_calls: &AtomicU64) -> Response<Empty<Bytes>> {
    let status = if let Some(code) = path.strip_prefix("/status/") {
        code.parse::<u16>()
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
            .unwrap_or(StatusCode::BAD_REQUEST)
    } else if path == "/hang" {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        StatusCode::OK
    } else if path == "/flaky" && flaky_calls.fetch_add(1, Ordering::SeqCst) == 0 {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let mut response = Response::new(Empty::new());
    *response.status_mut() = status;
    if status.is_redirection() {
        response.headers_mut().insert(
            header::LOCATION,
            header::HeaderValue::from_static("/health"),
        );
    }
    response
}

/// A loopback address where nothing listens: bound, then released.
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    listener.local_addr().expect("local address")
}
