//! What a run saw: each target's result, and the summary the function returns
//! and logs.

use std::net::{IpAddr, SocketAddr};

use serde::Serialize;

use super::config::ProbeConfig;
use super::resolve::{Target, Unresolved};

/// Why an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// An answer came, with a status outside the expected ones.
    UnexpectedStatus,
    /// No answer within the timeout.
    Timeout,
    /// The connection or the TLS handshake failed, certificate checks included.
    Connect,
    /// Any other failure of the request.
    Request,
    /// A `PROBE_CONNECT_TO` host name gave no address.
    Resolve,
}

/// What one target (one address, or the URL's host as resolved) gave.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetResult {
    /// The `PROBE_CONNECT_TO` host name the target came from, if it was a name.
    pub name: Option<String>,
    /// The address probed, from `PROBE_CONNECT_TO` or from resolving its name;
    /// `None` when the URL's host was resolved, or the name gave no address.
    pub address: Option<IpAddr>,
    /// The peer that answered, when one did.
    pub remote_address: Option<SocketAddr>,
    pub healthy: bool,
    pub status: Option<u16>,
    /// Time to the response headers, connection and handshake included.
    pub latency_ms: Option<f64>,
    /// Days until the served leaf certificate expires.
    pub certificate_days_remaining: Option<f64>,
    /// Attempts made: the first healthy one ends the probe of the target.
    pub attempts: u32,
    pub failure: Option<Failure>,
    pub error: Option<String>,
}

/// What an invocation returns. Top-level values sum up the targets: the status of
/// the first unhealthy one (else the first), the slowest latency and the nearest
/// certificate expiry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeSummary {
    pub probe: String,
    pub url: String,
    /// True when every target is healthy.
    pub healthy: bool,
    pub status: Option<u16>,
    pub latency_ms: Option<f64>,
    pub certificate_days_remaining: Option<f64>,
    /// The unhealthy targets' errors; `None` when healthy.
    pub error: Option<String>,
    pub targets: Vec<TargetResult>,
}

impl ProbeSummary {
    pub fn healthy_targets(&self) -> usize {
        self.targets.iter().filter(|t| t.healthy).count()
    }
}

impl TargetResult {
    /// A target not probed yet.
    pub(super) fn empty(target: Target) -> Self {
        Self {
            name: target.name,
            address: target.address,
            remote_address: None,
            healthy: false,
            status: None,
            latency_ms: None,
            certificate_days_remaining: None,
            attempts: 0,
            failure: None,
            error: None,
        }
    }

    /// Where the target was, for the summary's error: `name (address)`.
    fn label(&self) -> Option<String> {
        match (&self.name, self.address) {
            (Some(name), Some(address)) => Some(format!("{name} ({address})")),
            (None, Some(address)) => Some(address.to_string()),
            // An unresolved name's error names it already.
            (_, None) => None,
        }
    }
}

pub(super) fn unresolved_result(unresolved: Unresolved) -> TargetResult {
    TargetResult {
        failure: Some(Failure::Resolve),
        error: Some(unresolved.to_string()),
        ..TargetResult::empty(Target {
            name: Some(unresolved.name),
            address: None,
        })
    }
}

/// The run reached its deadline before the probe was done: unhealthy, with
/// the reason, so that the metric is still written.
pub(super) fn out_of_time() -> TargetResult {
    TargetResult {
        failure: Some(Failure::Timeout),
        error: Some(
            "the run reached its deadline (the Lambda deadline less its safety margin) before the probe was done"
                .to_owned(),
        ),
        ..TargetResult::empty(Target {
            name: None,
            address: None,
        })
    }
}

pub(super) fn summarise(config: &ProbeConfig, targets: Vec<TargetResult>) -> ProbeSummary {
    let unhealthy: Vec<&TargetResult> = targets.iter().filter(|t| !t.healthy).collect();
    let representative = unhealthy.first().copied().or(targets.first());
    let error = (!unhealthy.is_empty()).then(|| {
        unhealthy
            .iter()
            .map(|t| {
                let error = t.error.as_deref().unwrap_or("unhealthy");
                match t.label() {
                    Some(label) => format!("{label}: {error}"),
                    None => error.to_owned(),
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    });
    ProbeSummary {
        probe: config.probe_name.clone(),
        url: config.url.to_string(),
        healthy: !targets.is_empty() && unhealthy.is_empty(),
        status: representative.and_then(|t| t.status),
        latency_ms: targets.iter().filter_map(|t| t.latency_ms).reduce(f64::max),
        certificate_days_remaining: targets
            .iter()
            .filter_map(|t| t.certificate_days_remaining)
            .reduce(f64::min),
        error,
        targets,
    }
}

/// Target counts are tiny, so the conversion to a metric value is exact.
pub(super) fn count(n: usize) -> f64 {
    n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(connect_to: &[&str]) -> ProbeConfig {
        ProbeConfig::from_lookup(|var| match var {
            "PROBE_URL" => Some("https://api.example.com/health".to_owned()),
            "PROBE_CONNECT_TO" => Some(connect_to.join(",")),
            _ => None,
        })
        .expect("valid config")
    }

    fn target(address: Option<&str>, healthy: bool, latency: f64, days: f64) -> TargetResult {
        TargetResult {
            name: None,
            address: address.map(|a| a.parse().expect("address")),
            remote_address: None,
            healthy,
            status: Some(if healthy { 200 } else { 503 }),
            latency_ms: Some(latency),
            certificate_days_remaining: Some(days),
            attempts: 1,
            failure: (!healthy).then_some(Failure::UnexpectedStatus),
            error: (!healthy).then(|| "unexpected status 503, expected 200".to_owned()),
        }
    }

    #[test]
    fn summary_takes_the_worst_of_the_targets() {
        let summary = summarise(
            &config(&["10.0.0.1", "10.0.0.2"]),
            vec![
                target(Some("10.0.0.1"), true, 20.0, 40.0),
                target(Some("10.0.0.2"), false, 35.0, 12.0),
            ],
        );
        assert!(!summary.healthy);
        assert_eq!(summary.status, Some(503));
        assert_eq!(summary.latency_ms, Some(35.0));
        assert_eq!(summary.certificate_days_remaining, Some(12.0));
        assert_eq!(
            summary.error.as_deref(),
            Some("10.0.0.2: unexpected status 503, expected 200")
        );
        assert_eq!(summary.healthy_targets(), 1);
    }

    #[test]
    fn summary_of_healthy_targets_has_no_error() {
        let summary = summarise(&config(&[]), vec![target(None, true, 20.0, 40.0)]);
        assert!(summary.healthy);
        assert_eq!(summary.status, Some(200));
        assert_eq!(summary.error, None);
        assert_eq!(summary.probe, "api.example.com");
    }

    #[test]
    fn the_error_says_which_name_an_address_came_from() {
        let mut from_name = target(Some("10.0.0.3"), false, 20.0, 40.0);
        from_name.name = Some("internal-alb.example".to_owned());
        let unresolved = unresolved_result(Unresolved {
            name: "gone.example".to_owned(),
            reason: "it has no address".to_owned(),
        });
        let summary = summarise(
            &config(&["internal-alb.example", "gone.example"]),
            vec![from_name, unresolved],
        );
        assert!(!summary.healthy);
        assert_eq!(summary.healthy_targets(), 0);
        assert_eq!(
            summary.error.as_deref(),
            Some(
                "internal-alb.example (10.0.0.3): unexpected status 503, expected 200; \
                 PROBE_CONNECT_TO: `gone.example` does not resolve: it has no address"
            )
        );
        assert_eq!(summary.targets[1].failure, Some(Failure::Resolve));
        assert_eq!(summary.targets[1].name.as_deref(), Some("gone.example"));
    }

    #[test]
    fn no_targets_is_not_healthy() {
        assert!(!summarise(&config(&[]), Vec::new()).healthy);
    }
}
