//! What a run did: the summary of each binding, and the run's metrics.

use super::bindings::{Binding, Source};
use crate::emf::{MetricSet, Unit};
use serde::Serialize;

/// What happened to one binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BindingReport {
    /// `vpcEndpointId` or `hostname`, as in the binding.
    #[serde(flatten)]
    pub source: Source,
    pub port: u16,
    pub registered: usize,
    pub deregistered: usize,
    pub unchanged: usize,
    /// A hostname binding's registered addresses that the answers left out,
    /// kept until they have been missing for the grace runs.
    #[serde(skip_serializing_if = "is_zero")]
    pub held: usize,
    /// Answered addresses that ELB cannot take as IP targets: outside the
    /// VPC's subnets and not private (RFC 1918) or shared (RFC 6598).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unusable: Vec<String>,
    /// The endpoint had fewer interfaces than subnets: what it lists was
    /// registered, and nothing deregistered.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub transitional: bool,
    /// Why the binding was skipped or failed; a skipped binding counts as an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

impl BindingReport {
    pub(super) fn new(binding: &Binding) -> Self {
        Self {
            source: binding.source.clone(),
            port: binding.port,
            registered: 0,
            deregistered: 0,
            unchanged: 0,
            held: 0,
            unusable: Vec::new(),
            transitional: false,
            skipped: None,
        }
    }

    pub(super) fn skipped(binding: &Binding, reason: impl Into<String>) -> Self {
        Self {
            skipped: Some(reason.into()),
            ..Self::new(binding)
        }
    }

    fn out_of_sync(&self) -> bool {
        self.registered + self.deregistered > 0
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The summary of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    pub bindings: Vec<BindingReport>,
    /// Set when an event named none of the bindings' endpoints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl SyncReport {
    pub fn errors(&self) -> usize {
        self.bindings.iter().filter(|b| b.skipped.is_some()).count()
    }

    /// The run's metrics, without dimensions.
    pub fn metrics(&self, namespace: &str) -> MetricSet {
        let sum =
            |f: fn(&BindingReport) -> usize| self.bindings.iter().map(f).sum::<usize>() as f64;
        MetricSet::new(namespace)
            .metric("TargetsRegistered", Unit::Count, sum(|b| b.registered))
            .metric("TargetsDeregistered", Unit::Count, sum(|b| b.deregistered))
            .metric(
                "BindingsOutOfSync",
                Unit::Count,
                sum(|b| usize::from(b.out_of_sync())),
            )
            .metric("SyncErrors", Unit::Count, self.errors() as f64)
    }
}

/// A run in which some bindings failed, were skipped, or were not done before
/// the deadline. It is returned as the invocation's error, after the summary
/// and the EMF line were written, so that Lambda's `Errors` metric sees it.
/// EventBridge's `RetryPolicy` does not retry it: that covers only delivery to
/// Lambda. Lambda's own asynchronous retries would (twice, 1 and 2 minutes
/// later), which the template turns off for this function; the 5-minute
/// schedule is the retry.
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} bindings could not be reconciled: {summary}")]
pub struct SyncFailed {
    pub failed: usize,
    pub total: usize,
    pub summary: String,
}

impl From<SyncFailed> for lambda_runtime::Diagnostic {
    fn from(err: SyncFailed) -> Self {
        Self {
            error_type: "SyncFailed".to_owned(),
            error_message: err.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn metrics_sum_the_bindings() {
        let base = BindingReport::new(&Binding {
            source: Source::Hostname("api.onprem.example".into()),
            target_group_arns: Vec::new(),
            port: 443,
        });
        let report = SyncReport {
            bindings: vec![
                BindingReport {
                    registered: 2,
                    deregistered: 1,
                    ..base.clone()
                },
                BindingReport {
                    skipped: Some("gone".into()),
                    ..base.clone()
                },
                BindingReport {
                    unchanged: 3,
                    held: 1,
                    ..base
                },
            ],
            note: None,
        };
        let line: Value = serde_json::from_str(&report.metrics("Ns").to_json_line(1)).unwrap();
        assert_eq!(line["TargetsRegistered"], 2.0);
        assert_eq!(line["TargetsDeregistered"], 1.0);
        assert_eq!(line["BindingsOutOfSync"], 1.0);
        assert_eq!(line["SyncErrors"], 1.0);
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Ns");
    }
}
