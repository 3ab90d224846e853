//! The SDK client configuration of every function, in one place.
//!
//! The SDK for Rust has a connect timeout by default (3.1 s) and nothing else:
//! no attempt timeout and no operation timeout, so a stalled call waits until
//! Lambda kills the invocation. These settings give each attempt and each
//! operation a bound, and standard-mode retries with a stated number of
//! attempts, so that a stalled first attempt is retried in seconds.
//!
//! - Timeouts: <https://docs.aws.amazon.com/sdk-for-rust/latest/dg/timeouts.html>
//!   ("It is a good practice to set timeouts for both the individual attempt
//!   and the entire request").
//! - Retries: <https://docs.aws.amazon.com/sdk-for-rust/latest/dg/retries.html>
//!   and <https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html>
//!   (standard mode: throttling, transient 5xx and timeouts are retried with
//!   jittered exponential backoff).
//!
//! The operation timeout is a fixed ceiling per call, below every function's
//! Lambda timeout. The time the invocation has left bounds the calls from
//! above: the custom-resource core and target-sync run their work under
//! `tokio::time::timeout_at(deadline)`, which cancels a call in flight when
//! the invocation's own deadline (less its margin) comes first.
//!
//! ```no_run
//! # async fn f() {
//! let config = frontdoor::aws::config::load(&frontdoor::aws::config::ClientSettings::default()).await;
//! let ec2 = aws_sdk_ec2::Client::new(&config);
//! # }
//! ```

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::Provider;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use std::time::Duration;

/// Timeouts and retries of the AWS clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSettings {
    /// Establishing a connection (the SDK's own default, stated).
    pub connect_timeout: Duration,
    /// One HTTP attempt, after which the SDK may retry. EC2 and ELB answer
    /// their Describe and Register calls in well under a second; 5 s leaves
    /// room for a slow page and still retries a stall quickly.
    pub attempt_timeout: Duration,
    /// One operation, all its attempts and backoffs included.
    pub operation_timeout: Duration,
    /// Attempts per operation in standard retry mode, the first included.
    pub max_attempts: u32,
    /// The first retry waits up to this long (jittered), doubling after.
    pub initial_backoff: Duration,
    /// No retry waits longer than this.
    pub max_backoff: Duration,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_millis(3100),
            attempt_timeout: Duration::from_secs(5),
            // 3 attempts of 5 s plus two backoffs of at most 1 s and 2 s.
            operation_timeout: Duration::from_secs(20),
            max_attempts: 3,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(20),
        }
    }
}

impl ClientSettings {
    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts.max(1))
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(self.max_backoff)
    }

    pub fn timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect_timeout)
            .operation_attempt_timeout(self.attempt_timeout)
            .operation_timeout(self.operation_timeout)
            .build()
    }

    /// The SDK's loader with these settings, for callers that add their own
    /// (an endpoint URL, a Region, credentials in tests).
    ///
    /// Its HTTPS client is the SDK's default (hyper, rustls on aws-lc, a proxy
    /// from the environment, as `default-https-client` makes it for this
    /// behaviour version), verifying against the process's one set of
    /// platform roots instead of reading them again ([`crate::tls`]).
    ///
    /// The SDK also calls the connector function once for each client it
    /// makes, STS's of the credentials chain included, with neither settings
    /// nor components, only so that certificates load early, and drops what it
    /// gets (aws-smithy-http-client's `validate_base_client_config`). The
    /// roots are loaded already, and decoding them into a connector for each
    /// client cost more at start-up than the second read of the platform
    /// that this replaces (docs/benchmarks.md): that call gets a connector
    /// that trusts nothing, and so decodes nothing. Requests get connectors
    /// with settings, one per settings, shared by the clients.
    pub fn loader(&self) -> ConfigLoader {
        let roots = crate::tls::sdk_tls_context();
        let trusting_nothing = crate::tls::sdk_tls_context_trusting_nothing();
        let https_client = Builder::new().build_with_connector_fn(move |settings, components| {
            let trust = match (settings, components) {
                (None, None) => &trusting_nothing,
                _ => &roots,
            };
            let mut connector = ConnectorBuilder::default()
                .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
                .tls_context(trust.clone());
            connector.set_connector_settings(settings.cloned());
            if let Some(components) = components {
                connector.set_sleep_impl(components.sleep_impl());
            }
            connector.set_proxy_config(Some(ProxyConfig::from_env()));
            connector.build()
        });
        aws_config::defaults(BehaviorVersion::latest())
            .http_client(https_client)
            .retry_config(self.retry_config())
            .timeout_config(self.timeout_config())
    }
}

/// The shared configuration every function builds its clients from: the
/// environment's Region and credentials, with these timeouts and retries.
pub async fn load(settings: &ClientSettings) -> SdkConfig {
    settings.loader().load().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_bound_every_attempt_and_operation() {
        let settings = ClientSettings::default();
        let timeouts = settings.timeout_config();
        assert_eq!(
            timeouts.operation_attempt_timeout(),
            Some(Duration::from_secs(5))
        );
        assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(20)));
        assert_eq!(
            timeouts.connect_timeout(),
            Some(Duration::from_millis(3100))
        );
        let retries = settings.retry_config();
        assert_eq!(retries.max_attempts(), 3);
        assert_eq!(retries.mode(), aws_config::retry::RetryMode::Standard);
        // Every attempt and backoff fits the operation timeout.
        assert!(
            settings.attempt_timeout * settings.max_attempts + Duration::from_secs(3)
                <= settings.operation_timeout
        );
    }
}
