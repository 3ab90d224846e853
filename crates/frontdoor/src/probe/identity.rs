//! The client certificate the probe presents (mutual TLS), from a file read once
//! or from a Secrets Manager secret read again once the copy in hand is
//! [`SECRET_MAX_AGE`] old, so that a rotated certificate is picked up without a
//! redeploy. A read again has [`SECRET_REFRESH_TIMEOUT`] of its own, and after a
//! failure waits (`retry_after`) while the copy in hand keeps serving: a slow
//! or failing Secrets Manager never costs the probe its run.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustls::ClientConfig;

use super::config::{
    ClientCertError, ClientCertSource, PROBE_CLIENT_CERT_FILE, PROBE_CLIENT_CERT_SECRET,
};
use crate::config::ConfigError;
use crate::ports::SecretStore;
use crate::tls::TlsBase;

/// How old the secret's copy may grow before it is read again.
pub const SECRET_MAX_AGE: Duration = Duration::from_secs(15 * 60);
/// The most a read again may take: well within a run, whatever the SDK's own
/// timeouts (20 s an operation).
pub const SECRET_REFRESH_TIMEOUT: Duration = Duration::from_secs(3);
/// After a failed read again, the next waits a minute, doubling after each
/// failure, up to [`SECRET_MAX_AGE`].
const FIRST_RETRY: Duration = Duration::from_secs(60);

/// How long after its `failures`-th failure in a row a read again waits.
fn retry_after(failures: u32) -> Duration {
    FIRST_RETRY
        .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1)))
        .min(SECRET_MAX_AGE)
}

/// The time, behind a port so that the refresh rule is tested without waiting.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

/// The monotonic clock, as a function runs it.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// The TLS client configuration of each run.
pub(crate) enum ClientTls {
    /// No client certificate, or one from a file: fixed at initialisation.
    Fixed(Arc<ClientConfig>),
    Secret(SecretIdentity),
}

impl ClientTls {
    /// Without a client certificate, or with one from a file.
    pub(crate) fn fixed(
        base: &TlsBase,
        source: Option<&ClientCertSource>,
    ) -> Result<Self, ConfigError> {
        let identity = match source {
            None => None,
            Some(ClientCertSource::File(path)) => {
                Some(base.identity(PROBE_CLIENT_CERT_FILE, &read_pem(path)?)?)
            }
            Some(ClientCertSource::Secret(_)) => {
                return Err(ConfigError::invalid(
                    PROBE_CLIENT_CERT_SECRET,
                    "needs a Secrets Manager client (Prober::start or Prober::with_secret_store)",
                ));
            }
        };
        Ok(Self::Fixed(base.client_config(identity)?))
    }

    /// The configuration for this run, after a refresh of the secret if due.
    pub(crate) async fn current(&self, base: &TlsBase) -> Arc<ClientConfig> {
        match self {
            Self::Fixed(config) => Arc::clone(config),
            Self::Secret(secret) => secret.current(base).await,
        }
    }
}

fn read_pem(path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| ConfigError::ClientCertificate {
        var: PROBE_CLIENT_CERT_FILE,
        error: ClientCertError::Read {
            path: path.to_owned(),
            reason: e.to_string(),
        },
    })
}

/// The client certificate from a secret, with the time its copy was read.
pub(crate) struct SecretIdentity {
    store: Box<dyn SecretStore>,
    clock: Box<dyn Clock>,
    secret_id: String,
    held: Mutex<Held>,
}

struct Held {
    config: Arc<ClientConfig>,
    /// When the copy in hand is due for a read again: its age, or the wait
    /// after failed reads.
    due: Instant,
    /// Failed reads again in a row.
    failures: u32,
}

impl SecretIdentity {
    /// Reads the secret once: a failure here fails the initialisation.
    pub(crate) async fn load(
        store: Box<dyn SecretStore>,
        clock: Box<dyn Clock>,
        secret_id: String,
        base: &TlsBase,
    ) -> Result<Self, ConfigError> {
        let config = read_secret(store.as_ref(), &secret_id, base).await?;
        let held = Mutex::new(Held {
            config,
            due: clock.now() + SECRET_MAX_AGE,
            failures: 0,
        });
        Ok(Self {
            store,
            clock,
            secret_id,
            held,
        })
    }

    /// The configuration in hand, read again first if it is due: once it is
    /// [`SECRET_MAX_AGE`] old, within [`SECRET_REFRESH_TIMEOUT`]. A failed or
    /// late read keeps the old copy, with a warning, and the next read waits
    /// `retry_after` the failures: a blip at Secrets Manager, or a stalled
    /// endpoint, must neither make the API look unhealthy while the
    /// certificate in hand still works nor cost every run its wait.
    pub(crate) async fn current(&self, base: &TlsBase) -> Arc<ClientConfig> {
        let now = self.clock.now();
        let (config, due, failures) = {
            let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
            (Arc::clone(&held.config), held.due, held.failures)
        };
        if now < due {
            return config;
        }
        let read = read_secret(self.store.as_ref(), &self.secret_id, base);
        let error = match tokio::time::timeout(SECRET_REFRESH_TIMEOUT, read).await {
            Ok(Ok(fresh)) => {
                let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
                *held = Held {
                    config: Arc::clone(&fresh),
                    due: now + SECRET_MAX_AGE,
                    failures: 0,
                };
                return fresh;
            }
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!("no answer within {SECRET_REFRESH_TIMEOUT:?}"),
        };
        let failures = failures.saturating_add(1);
        let wait = retry_after(failures);
        tracing::warn!(%error, ?wait, "cannot refresh the client certificate; keeping the copy in hand");
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.due = now + wait;
        held.failures = failures;
        config
    }
}

async fn read_secret(
    store: &dyn SecretStore,
    secret_id: &str,
    base: &TlsBase,
) -> Result<Arc<ClientConfig>, ConfigError> {
    let pem = store
        .secret_string(secret_id)
        .await
        .map_err(|e| ConfigError::ClientCertificate {
            var: PROBE_CLIENT_CERT_SECRET,
            error: ClientCertError::Fetch(e),
        })?;
    let identity = base.identity(PROBE_CLIENT_CERT_SECRET, pem.as_bytes())?;
    Ok(base.client_config(Some(identity))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::AwsError;
    use futures_util::future::BoxFuture;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A certificate and its key, as one PEM.
    fn identity_pem() -> String {
        let issued = rcgen::generate_simple_self_signed(vec!["probe.example".to_owned()])
            .expect("certificate");
        format!(
            "{}{}",
            issued.cert.pem(),
            issued.signing_key.serialize_pem()
        )
    }

    fn base() -> TlsBase {
        TlsBase::new(Vec::new()).expect("system roots")
    }

    /// A secret whose value the test changes, and which can fail or stall
    /// (never answer) on demand.
    #[derive(Default)]
    struct FakeStore {
        pem: Mutex<String>,
        failing: Mutex<bool>,
        stalled: Mutex<bool>,
        reads: AtomicUsize,
    }

    impl SecretStore for Arc<FakeStore> {
        fn secret_string<'a>(
            &'a self,
            secret_id: &'a str,
        ) -> BoxFuture<'a, Result<String, AwsError>> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            assert_eq!(secret_id, "probe-cert");
            if *self.stalled.lock().expect("lock") {
                return Box::pin(std::future::pending());
            }
            let answer = if *self.failing.lock().expect("lock") {
                Err(AwsError {
                    operation: "GetSecretValue",
                    code: Some("InternalServiceError".to_owned()),
                    message: "try again".to_owned(),
                })
            } else {
                Ok(self.pem.lock().expect("lock").clone())
            };
            Box::pin(async move { answer })
        }
    }

    /// A clock that moves only when the test says so.
    struct FakeClock {
        start: Instant,
        elapsed: Mutex<Duration>,
    }

    impl Clock for Arc<FakeClock> {
        fn now(&self) -> Instant {
            self.start + *self.elapsed.lock().expect("lock")
        }
    }

    impl FakeClock {
        fn advance_to(&self, elapsed: Duration) {
            *self.elapsed.lock().expect("lock") = elapsed;
        }
    }

    /// A valid secret, read once at initialisation, on a fake clock at zero.
    async fn secret_read_at_initialisation()
    -> (TlsBase, Arc<FakeStore>, Arc<FakeClock>, SecretIdentity) {
        let base = base();
        let store = Arc::new(FakeStore::default());
        *store.pem.lock().expect("lock") = identity_pem();
        let clock = Arc::new(FakeClock {
            start: Instant::now(),
            elapsed: Mutex::new(Duration::ZERO),
        });
        let secret = SecretIdentity::load(
            Box::new(Arc::clone(&store)),
            Box::new(Arc::clone(&clock)),
            "probe-cert".to_owned(),
            &base,
        )
        .await
        .expect("read at initialisation");
        (base, store, clock, secret)
    }

    fn error_of(pem: &str) -> ClientCertError {
        match base().identity(PROBE_CLIENT_CERT_FILE, pem.as_bytes()) {
            Err(ConfigError::ClientCertificate { var, error }) => {
                assert_eq!(var, PROBE_CLIENT_CERT_FILE);
                error
            }
            other => panic!("expected a client-certificate error, got {other:?}"),
        }
    }

    #[test]
    fn a_pem_with_certificate_and_key_is_an_identity() {
        assert!(
            base()
                .identity(PROBE_CLIENT_CERT_FILE, identity_pem().as_bytes())
                .is_ok()
        );
    }

    #[test]
    fn a_pem_without_a_key_is_refused() {
        let issued = rcgen::generate_simple_self_signed(vec!["p".to_owned()]).expect("cert");
        assert!(matches!(
            error_of(&issued.cert.pem()),
            ClientCertError::NoPrivateKey
        ));
    }

    #[test]
    fn a_pem_without_a_certificate_is_refused() {
        let issued = rcgen::generate_simple_self_signed(vec!["p".to_owned()]).expect("cert");
        let key = issued.signing_key.serialize_pem();
        assert!(matches!(error_of(&key), ClientCertError::NoCertificate));
        assert!(matches!(error_of(""), ClientCertError::NoCertificate));
    }

    #[test]
    fn a_key_of_another_certificate_is_refused_without_showing_it() {
        let one = rcgen::generate_simple_self_signed(vec!["one".to_owned()]).expect("cert");
        let other = rcgen::generate_simple_self_signed(vec!["other".to_owned()]).expect("cert");
        let key = other.signing_key.serialize_pem();
        let pem = format!("{}{key}", one.cert.pem());
        let error = error_of(&pem);
        assert!(matches!(error, ClientCertError::KeyMismatch), "{error}");
        let message = ConfigError::ClientCertificate {
            var: PROBE_CLIENT_CERT_SECRET,
            error,
        }
        .to_string();
        assert_eq!(
            message,
            "PROBE_CLIENT_CERT_SECRET: the private key does not match the certificate"
        );
        let key_body = key.lines().nth(1).expect("base64 line");
        assert!(!message.contains(key_body));
    }

    #[test]
    fn a_missing_file_names_its_variable() {
        let source = ClientCertSource::File("/nonexistent/probe.pem".into());
        let error = ClientTls::fixed(&base(), Some(&source))
            .err()
            .expect("missing file");
        assert_eq!(error.var(), Some(PROBE_CLIENT_CERT_FILE));
        assert!(
            error.to_string().contains("/nonexistent/probe.pem"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn the_secret_is_read_again_once_its_copy_is_15_minutes_old() {
        let (base, store, clock, secret) = secret_read_at_initialisation().await;
        assert_eq!(store.reads.load(Ordering::SeqCst), 1);
        let first = secret.current(&base).await;

        // Younger than 15 minutes: the copy in hand, no read.
        clock.advance_to(SECRET_MAX_AGE - Duration::from_secs(1));
        let same = secret.current(&base).await;
        assert!(Arc::ptr_eq(&first, &same));
        assert_eq!(store.reads.load(Ordering::SeqCst), 1);

        // 15 minutes old: read again, and the rotated certificate is used.
        *store.pem.lock().expect("lock") = identity_pem();
        clock.advance_to(SECRET_MAX_AGE);
        let rotated = secret.current(&base).await;
        assert_eq!(store.reads.load(Ordering::SeqCst), 2);
        assert!(!Arc::ptr_eq(&first, &rotated));

        // The new copy's age counts from its own read.
        clock.advance_to(SECRET_MAX_AGE * 2 - Duration::from_secs(1));
        assert!(Arc::ptr_eq(&rotated, &secret.current(&base).await));
        assert_eq!(store.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_the_copy_in_hand_and_backs_off() {
        let (base, store, clock, secret) = secret_read_at_initialisation().await;
        let first = secret.current(&base).await;
        let reads = || store.reads.load(Ordering::SeqCst);

        *store.failing.lock().expect("lock") = true;
        clock.advance_to(SECRET_MAX_AGE);
        assert!(Arc::ptr_eq(&first, &secret.current(&base).await));
        assert_eq!(reads(), 2);
        // The next read waits a minute: the runs in between use the copy.
        clock.advance_to(SECRET_MAX_AGE + Duration::from_secs(59));
        assert!(Arc::ptr_eq(&first, &secret.current(&base).await));
        assert_eq!(reads(), 2);

        // A rotation to a bad PEM is refused the same way; the wait doubles.
        *store.failing.lock().expect("lock") = false;
        *store.pem.lock().expect("lock") = "not a certificate".to_owned();
        clock.advance_to(SECRET_MAX_AGE + Duration::from_secs(60));
        assert!(Arc::ptr_eq(&first, &secret.current(&base).await));
        assert_eq!(reads(), 3);
        *store.pem.lock().expect("lock") = identity_pem();
        clock.advance_to(SECRET_MAX_AGE + Duration::from_secs(179));
        assert!(Arc::ptr_eq(&first, &secret.current(&base).await));
        assert_eq!(reads(), 3);

        clock.advance_to(SECRET_MAX_AGE + Duration::from_secs(180));
        assert!(!Arc::ptr_eq(&first, &secret.current(&base).await));
        assert_eq!(reads(), 4);
        assert_eq!(
            retry_after(20),
            SECRET_MAX_AGE,
            "the wait never passes the copy's age"
        );
    }

    #[tokio::test]
    async fn a_stalled_refresh_gives_up_within_its_timeout_and_keeps_the_copy_in_hand() {
        let (base, store, clock, secret) = secret_read_at_initialisation().await;
        let first = secret.current(&base).await;
        *store.stalled.lock().expect("lock") = true;
        clock.advance_to(SECRET_MAX_AGE);
        let started = std::time::Instant::now();
        let current = tokio::time::timeout(SECRET_REFRESH_TIMEOUT * 3, secret.current(&base))
            .await
            .expect("the refresh gives up on its own");
        assert!(Arc::ptr_eq(&first, &current));
        assert!(started.elapsed() < SECRET_REFRESH_TIMEOUT + Duration::from_secs(1));
        // Backing off: the next run does not wait again.
        let started = std::time::Instant::now();
        assert!(Arc::ptr_eq(&first, &secret.current(&base).await));
        assert!(started.elapsed() < Duration::from_millis(100));
    }

    #[tokio::test]
    async fn a_secret_that_cannot_be_read_at_initialisation_names_its_variable() {
        let store = Arc::new(FakeStore::default());
        *store.failing.lock().expect("lock") = true;
        let error = SecretIdentity::load(
            Box::new(store),
            Box::new(SystemClock),
            "probe-cert".to_owned(),
            &base(),
        )
        .await
        .err()
        .expect("unreadable secret");
        assert_eq!(error.var(), Some(PROBE_CLIENT_CERT_SECRET));
        assert!(
            error.to_string().contains("InternalServiceError"),
            "{error}"
        );
    }
}
