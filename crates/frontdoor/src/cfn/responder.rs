//! The response PUT to the `ResponseURL`, retried within the time the
//! invocation has left.

use crate::config::ConfigError;
use crate::error_chain;
use crate::tls::TlsBase;
use rustls::ClientConfig;
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;
use tokio::time::Instant;

/// The longest a single PUT attempt may take, when time allows.
const MAX_ATTEMPT: Duration = Duration::from_secs(10);
/// The connect timeout of every attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// An attempt shorter than this cannot carry a response: stop instead.
const MIN_ATTEMPT: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("PUT answered HTTP {0}")]
    Status(u16),
    #[error("PUT failed: {0}")]
    Transport(String),
    #[error("gave up after {attempts} attempts, last: {last}")]
    Exhausted {
        attempts: u32,
        last: Box<DeliveryError>,
    },
    #[error("no time left for a PUT before the Lambda deadline")]
    OutOfTime,
}

/// How the response PUT is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retries {
    /// Attempts on 5xx and connection errors.
    pub attempts: u32,
    /// The first backoff between attempts; it doubles after each, and each
    /// sleep is drawn between half of it and all of it.
    pub backoff: Duration,
}

impl Default for Retries {
    fn default() -> Self {
        Self {
            attempts: 5,
            backoff: Duration::from_millis(250),
        }
    }
}

/// Sends responses to `ResponseURL`.
#[derive(Debug, Clone)]
pub struct Responder {
    http: reqwest::Client,
    retries: Retries,
}

impl Responder {
    /// A client on the process's one set of platform roots ([`crate::tls`]):
    /// making it reads nothing from disk once the SDK's client has.
    pub fn new(retries: Retries) -> Result<Self, ConfigError> {
        let tls = TlsBase::new(Vec::new())?.client_config(None)?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(ClientConfig::clone(&tls))
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| ConfigError::HttpClient(e.to_string()))?;
        Ok(Self { http, retries })
    }

    /// PUTs the body with no `Content-Type` (one would break the pre-signed
    /// URL's signature), retrying 5xx and connection errors with jittered
    /// backoff, and finishing by `until`. Each attempt is capped so that,
    /// while attempts remain, a retry still fits in the time left: a PUT
    /// that hangs costs half the time, not all of it.
    pub async fn put(
        &self,
        url: &reqwest::Url,
        body: String,
        until: Instant,
    ) -> Result<(), DeliveryError> {
        let mut backoff = self.retries.backoff;
        let mut attempt = 1;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let attempts_left = self.retries.attempts.saturating_sub(attempt);
            let timeout = if attempts_left > 0 { left / 2 } else { left }.min(MAX_ATTEMPT);
            if timeout < MIN_ATTEMPT {
                return Err(DeliveryError::OutOfTime);
            }
            let sent = self
                .http
                .put(url.clone())
                .timeout(timeout)
                .body(body.clone())
                .send()
                .await;
            let outcome = match sent {
                Ok(resp) if resp.status().is_success() => return Ok(()),
                Ok(resp) => DeliveryError::Status(resp.status().as_u16()),
                Err(err) => DeliveryError::Transport(error_chain(&err)),
            };
            let retryable = match outcome {
                DeliveryError::Status(code) => code >= 500,
                _ => true,
            };
            if !retryable {
                return Err(outcome);
            }
            if attempt >= self.retries.attempts {
                return Err(DeliveryError::Exhausted {
                    attempts: attempt,
                    last: Box::new(outcome),
                });
            }
            tracing::warn!(attempt, error = %outcome, "response PUT failed, retrying");
            let pause = jittered(backoff).min(until.saturating_duration_since(Instant::now()) / 2);
            tokio::time::sleep(pause).await;
            backoff *= 2;
            attempt += 1;
        }
    }
}

/// A pause between half of `backoff` and all of it, so that the functions
/// of a stack answering at once do not retry in step. `RandomState` is
/// seeded from the OS; no random crate is needed for this.
fn jittered(backoff: Duration) -> Duration {
    let half = backoff / 2;
    let spread = u64::try_from(half.as_micros()).unwrap_or(u64::MAX).max(1);
    half + Duration::from_micros(RandomState::new().hash_one(Instant::now()) % spread)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_between_half_and_all_of_the_backoff() {
        let backoff = Duration::from_millis(400);
        for _ in 0..100 {
            let pause = jittered(backoff);
            assert!(pause >= backoff / 2 && pause <= backoff, "{pause:?}");
        }
    }

    #[tokio::test]
    async fn no_attempt_starts_without_time_for_it() {
        let responder = Responder::new(Retries::default()).unwrap();
        let url = reqwest::Url::parse("http://127.0.0.1:9/never").unwrap();
        let outcome = responder
            .put(&url, String::new(), Instant::now() + MIN_ATTEMPT / 2)
            .await;
        assert!(
            matches!(outcome, Err(DeliveryError::OutOfTime)),
            "{outcome:?}"
        );
    }
}
