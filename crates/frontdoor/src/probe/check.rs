//! The probe itself: HTTPS GETs with verified certificates, attempts and timeouts,
//! one target per connect-to address (host names resolved on every run), and the
//! summary of what it saw.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::future::join_all;
use reqwest::{Client, Response, redirect, tls::TlsInfo};
use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;
use x509_parser::pem::Pem;

use super::config::{ClientCertSource, PROBE_CA_BUNDLE, ProbeConfig};
use super::identity::{ClientTls, Clock, SecretIdentity, SystemClock};
use super::resolve::{self, Target, Unresolved};
use super::summary::{
    Failure, ProbeSummary, TargetResult, count, out_of_time, summarise, unresolved_result,
};
use super::tls::client_certificate_alert;
use crate::aws::secrets::SecretsManagerStore;
use crate::config::ConfigError;
use crate::deadline::Budget;
use crate::emf::{MetricSet, MetricsWriter, Unit};
use crate::error_chain;
use crate::ports::SecretStore;
use crate::tls::TlsBase;

const SECONDS_PER_DAY: f64 = 86_400.0;
const USER_AGENT: &str = concat!("frontdoor-health-probe/", env!("CARGO_PKG_VERSION"));

/// The configured probe. The trusted roots and the client certificate are loaded
/// once; each run resolves its targets and builds its (cheap) clients on them.
pub struct Prober {
    config: ProbeConfig,
    tls: TlsBase,
    client_tls: ClientTls,
    metrics: MetricsWriter,
}

/// How long before the Lambda deadline the probe must be done: enough to
/// write one EMF line and return.
const REPORT_MARGIN: Duration = Duration::from_secs(1);

impl Prober {
    /// What the function runs: a Secrets Manager client, on the shared AWS
    /// configuration, is made only when `PROBE_CLIENT_CERT_SECRET` is set.
    pub async fn start(config: ProbeConfig) -> Result<Self, ConfigError> {
        if matches!(config.client_cert, Some(ClientCertSource::Secret(_))) {
            let sdk_config =
                crate::aws::config::load(&crate::aws::config::ClientSettings::default()).await;
            let client = aws_sdk_secretsmanager::Client::new(&sdk_config);
            Self::with_secret_store(config, SecretsManagerStore::new(client)).await
        } else {
            Self::new(config)
        }
    }

    /// Validates the configuration and loads the roots and the client
    /// certificate file. Every failure here is a fault of the configuration.
    /// `PROBE_CLIENT_CERT_SECRET` needs [`Prober::with_secret_store`].
    pub fn new(config: ProbeConfig) -> Result<Self, ConfigError> {
        let tls = Self::tls_base(&config)?;
        let client_tls = ClientTls::fixed(&tls, config.client_cert.as_ref())?;
        Ok(Self::with_tls(config, tls, client_tls))
    }

    fn with_tls(config: ProbeConfig, tls: TlsBase, client_tls: ClientTls) -> Self {
        Self {
            config,
            tls,
            client_tls,
            metrics: Box::new(MetricSet::emit),
        }
    }

    /// As [`Prober::new`], reading the client certificate of
    /// `PROBE_CLIENT_CERT_SECRET` from `store` now and every 15 minutes after.
    pub async fn with_secret_store(
        config: ProbeConfig,
        store: impl SecretStore + 'static,
    ) -> Result<Self, ConfigError> {
        Self::with_secret_store_and_clock(config, store, SystemClock).await
    }

    /// As [`Prober::with_secret_store`], on another clock (tests, which make
    /// the copy in hand old without waiting).
    pub async fn with_secret_store_and_clock(
        config: ProbeConfig,
        store: impl SecretStore + 'static,
        clock: impl Clock + 'static,
    ) -> Result<Self, ConfigError> {
        let tls = Self::tls_base(&config)?;
        let client_tls = match &config.client_cert {
            Some(ClientCertSource::Secret(secret_id)) => ClientTls::Secret(
                SecretIdentity::load(Box::new(store), Box::new(clock), secret_id.clone(), &tls)
                    .await?,
            ),
            other => ClientTls::fixed(&tls, other.as_ref())?,
        };
        Ok(Self::with_tls(config, tls, client_tls))
    }

    /// Writes the metrics elsewhere than stdout (tests).
    pub fn with_metrics_writer(mut self, metrics: MetricsWriter) -> Self {
        self.metrics = metrics;
        self
    }

    fn tls_base(config: &ProbeConfig) -> Result<TlsBase, ConfigError> {
        config.validate()?;
        let extra_roots = match &config.ca_bundle {
            Some(path) => read_ca_bundle(path)?,
            None => Vec::new(),
        };
        TlsBase::new(extra_roots).map_err(|e| ConfigError::invalid(PROBE_CA_BUNDLE, e))
    }

    /// One invocation: probes until the Lambda deadline (epoch milliseconds)
    /// less a second, writes the metrics as an EMF line on stdout (as
    /// target-sync does, from the library) and logs the outcome. It always
    /// writes its line: a probe not done in time is unhealthy, never missing
    /// data, whatever a target or Secrets Manager does.
    pub async fn run(&self, lambda_deadline_ms: u64) -> ProbeSummary {
        let budget = Budget {
            safety_margin: REPORT_MARGIN,
            ..Budget::default()
        };
        let deadline = budget.deadline(lambda_deadline_ms, SystemTime::now());
        let summary = match tokio::time::timeout_at(deadline, self.probe()).await {
            Ok(summary) => summary,
            Err(_) => summarise(&self.config, vec![out_of_time()]),
        };
        if let Err(error) = (self.metrics)(&self.metric_set(&summary)) {
            tracing::error!(%error, "cannot write the EMF metrics");
        }
        if summary.healthy {
            tracing::info!(status = ?summary.status, latency_ms = ?summary.latency_ms, "healthy");
        } else {
            tracing::warn!(status = ?summary.status, error = summary.error.as_deref().unwrap_or_default(), "unhealthy");
        }
        summary
    }

    /// Probes every target at once. An unhealthy API is a result, so this cannot fail.
    pub async fn probe(&self) -> ProbeSummary {
        let planned = resolve::targets(&self.config.connect_to, self.config.timeout).await;
        summarise(&self.config, self.probe_targets(planned).await)
    }

    /// Probes these targets at once, in order, with this run's client
    /// identity; a name that gave no address stands as its error.
    pub(super) async fn probe_targets(
        &self,
        planned: impl IntoIterator<Item = Result<Target, Unresolved>>,
    ) -> Vec<TargetResult> {
        let tls = self.client_tls.current(&self.tls).await;
        join_all(planned.into_iter().map(|planned| {
            let tls = Arc::clone(&tls);
            async move {
                match planned {
                    Ok(target) => self.probe_target(&tls, target).await,
                    Err(unresolved) => unresolved_result(unresolved),
                }
            }
        }))
        .await
    }

    pub(super) fn config(&self) -> &ProbeConfig {
        &self.config
    }

    /// The URL's host: the name clients use, sent as SNI and `Host`.
    pub(super) fn domain(&self) -> &str {
        self.config.url.host_str().unwrap_or_default()
    }

    /// The metrics of one invocation, with the dimension `Probe`.
    pub fn metric_set(&self, summary: &ProbeSummary) -> MetricSet {
        let mut metrics = MetricSet::new(&self.config.namespace)
            .dimension("Probe", &self.config.probe_name)
            .metric(
                "Healthy",
                Unit::Count,
                if summary.healthy { 1.0 } else { 0.0 },
            );
        if let Some(latency) = summary.latency_ms {
            metrics = metrics.metric("LatencyMs", Unit::Milliseconds, latency);
        }
        if let Some(days) = summary.certificate_days_remaining {
            metrics = metrics.metric("CertificateDaysRemaining", Unit::None, days);
        }
        if !self.config.connect_to.is_empty() {
            metrics = metrics
                .metric(
                    "HealthyTargets",
                    Unit::Count,
                    count(summary.healthy_targets()),
                )
                .metric("ProbedTargets", Unit::Count, count(summary.targets.len()));
        }
        metrics
    }

    async fn probe_target(&self, tls: &ClientConfig, target: Target) -> TargetResult {
        let client = match build_client(&self.config, tls, target.address) {
            Ok(client) => client,
            Err(error) => {
                return TargetResult {
                    failure: Some(Failure::Request),
                    error: Some(format!(
                        "cannot build the HTTPS client: {}",
                        error_chain(&error)
                    )),
                    ..TargetResult::empty(target)
                };
            }
        };
        let mut attempt = 1;
        loop {
            let result = self.attempt(&client, &target, attempt).await;
            if result.healthy || attempt >= self.config.attempts {
                return result;
            }
            tracing::warn!(
                name = ?target.name,
                address = ?target.address,
                attempt,
                error = result.error.as_deref().unwrap_or_default(),
                "probe attempt failed, trying again"
            );
            attempt += 1;
        }
    }

    async fn attempt(&self, client: &Client, target: &Target, attempt: u32) -> TargetResult {
        let started = Instant::now();
        let sent = client.get(self.config.url.clone()).send().await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut result = TargetResult {
            attempts: attempt,
            ..TargetResult::empty(target.clone())
        };
        match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                result.remote_address = response.remote_addr();
                result.status = Some(status);
                result.latency_ms = Some(latency_ms);
                result.certificate_days_remaining = certificate_days_remaining(&response);
                if self.config.expected_status.contains(status) {
                    result.healthy = true;
                } else {
                    result.failure = Some(Failure::UnexpectedStatus);
                    result.error = Some(format!(
                        "unexpected status {status}, expected {}",
                        self.config.expected_status
                    ));
                }
            }
            Err(error) => {
                let presented = self.config.client_cert.is_some();
                match client_certificate_alert(&error, presented) {
                    Some(why) => {
                        result.failure = Some(Failure::Connect);
                        result.error = Some(format!("{why}: {}", error_chain(&error)));
                    }
                    None => {
                        result.failure = Some(classify(&error));
                        result.error = Some(error_chain(&error));
                    }
                }
            }
        }
        result
    }
}

/// A client for one run and one target, on the TLS configuration built once:
/// building it loads nothing from disk.
fn build_client(
    config: &ProbeConfig,
    tls: &ClientConfig,
    connect_to: Option<IpAddr>,
) -> Result<Client, reqwest::Error> {
    let mut builder = Client::builder()
        .user_agent(USER_AGENT)
        .https_only(true)
        .timeout(config.timeout)
        .tls_info(true)
        .tls_backend_preconfigured(tls.clone())
        // A fresh connection per attempt, so that every attempt measures and
        // checks the whole path: TCP, TLS handshake, certificate and answer.
        .pool_max_idle_per_host(0)
        // The probe judges the URL's own answer: a redirect is a status, and
        // following it could leave the private network.
        .redirect(redirect::Policy::none())
        // Straight to the API from inside the VPC; a proxy from the environment
        // would probe the proxy instead and defeat the connect-to addresses.
        .no_proxy();
    if let (Some(address), Some(host)) = (connect_to, config.url.domain()) {
        // Port 0: the URL's port is used, as with curl's `--resolve`.
        builder = builder.resolve(host, SocketAddr::new(address, 0));
    }
    builder.build()
}

/// Reads the PEM roots, checking each parses, so that a bad bundle stops the
/// function at start-up rather than failing every probe.
fn read_ca_bundle(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let pem = std::fs::read(path).map_err(|e| {
        ConfigError::invalid(
            PROBE_CA_BUNDLE,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    let mut roots = Vec::new();
    for block in Pem::iter_from_buffer(&pem) {
        let block =
            block.map_err(|e| ConfigError::invalid(PROBE_CA_BUNDLE, format!("bad PEM: {e}")))?;
        if block.label != "CERTIFICATE" {
            continue;
        }
        block
            .parse_x509()
            .map_err(|e| ConfigError::invalid(PROBE_CA_BUNDLE, format!("bad certificate: {e}")))?;
        roots.push(CertificateDer::from(block.contents));
    }
    if roots.is_empty() {
        return Err(ConfigError::invalid(
            PROBE_CA_BUNDLE,
            format!("{} holds no PEM certificate", path.display()),
        ));
    }
    Ok(roots)
}

fn certificate_days_remaining(response: &Response) -> Option<f64> {
    let der = response.extensions().get::<TlsInfo>()?.peer_certificate()?;
    let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
    let not_after = certificate.validity().not_after.timestamp() as f64;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    Some((not_after - now) / SECONDS_PER_DAY)
}

fn classify(error: &reqwest::Error) -> Failure {
    if error.is_timeout() {
        Failure::Timeout
    } else if error.is_connect() {
        Failure::Connect
    } else {
        Failure::Request
    }
}
