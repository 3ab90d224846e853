//! `target-sync`: level-triggered drift repair of endpoint target groups.
//!
//! Each binding declares that its target groups hold, on its port, exactly
//! its endpoint's ENI IPs. A run reads the current state, diffs it against the
//! desired state and writes only the difference. Reads are batched across
//! bindings; a binding whose desired state cannot be read completely is
//! skipped, never emptied.
//!
//! - [`bindings`]: the bindings of `FRONTDOOR_BINDINGS`;
//! - [`scope`]: which bindings an event asks for;
//! - [`report`]: the run's summary and metrics;
//! - here, the reconciler.

pub mod bindings;
pub mod report;
pub mod scope;

pub use bindings::{BINDINGS_VAR, Binding, BindingsError, bindings_from_env, parse_bindings};
pub use report::{BindingReport, SyncFailed, SyncReport};
pub use scope::Scope;

use crate::deadline::Budget;
use crate::emf::MetricSet;
use crate::plan::{self, EndpointIps, TargetPlan, by_id, endpoint_ips};
use crate::ports::{AwsError, EndpointDirectory, TargetRegistry};
use futures_util::stream::{self, StreamExt};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::SystemTime;
use tokio::time::Instant;

/// How many bindings are reconciled at once.
const CONCURRENCY: usize = 8;

/// Where a run's metrics go: an EMF line on stdout in Lambda.
pub type MetricsWriter = Box<dyn Fn(&MetricSet) -> std::io::Result<()> + Send + Sync>;

/// Why a binding was not done: the run reached its deadline.
pub const OUT_OF_TIME: &str =
    "not done: the run reached its deadline (the Lambda deadline less its safety margin) first";

/// The reconciler.
pub struct Syncer<D, R> {
    directory: D,
    registry: R,
    budget: Budget,
    metrics: MetricsWriter,
}

impl<D: EndpointDirectory, R: TargetRegistry> Syncer<D, R> {
    pub fn new(directory: D, registry: R) -> Self {
        Self {
            directory,
            registry,
            budget: Budget::default(),
            metrics: Box::new(MetricSet::emit),
        }
    }

    /// The safety margin before the Lambda deadline, and the budget when the
    /// deadline is unknown.
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// Writes the metrics elsewhere than stdout (tests).
    pub fn with_metrics_writer(mut self, metrics: MetricsWriter) -> Self {
        self.metrics = metrics;
        self
    }

    /// Handles one invocation: reconciles what the event asks for until the
    /// Lambda deadline (epoch milliseconds) less the safety margin, writes the
    /// summary and the metrics, and fails if any binding failed or was not
    /// done. It returns before the deadline, whatever AWS does.
    pub async fn handle(
        &self,
        bindings: &[Binding],
        namespace: &str,
        event: &Value,
        lambda_deadline_ms: u64,
    ) -> Result<SyncReport, SyncFailed> {
        let deadline = self.budget.deadline(lambda_deadline_ms, SystemTime::now());
        let report = self.run(bindings, &Scope::of_event(event), deadline).await;
        if let Err(err) = (self.metrics)(&report.metrics(namespace)) {
            tracing::warn!(%err, "metrics could not be written");
        }
        let summary = serde_json::to_string(&report).unwrap_or_default();
        match report.errors() {
            0 => {
                tracing::info!(%summary, "run done");
                Ok(report)
            }
            failed => {
                tracing::error!(%summary, "run failed");
                Err(SyncFailed {
                    failed,
                    total: report.bindings.len(),
                    summary,
                })
            }
        }
    }

    /// Reconciles the bindings the scope covers, starting no work after the
    /// deadline and cancelling what is still in flight then: a binding not
    /// done counts as skipped.
    pub async fn run(&self, bindings: &[Binding], scope: &Scope, deadline: Instant) -> SyncReport {
        let selected: Vec<&Binding> = bindings.iter().filter(|b| scope.covers(b)).collect();
        if selected.is_empty() {
            let note = format!(
                "the event names none of the {} bindings' endpoints; nothing to do",
                bindings.len()
            );
            tracing::info!("{note}");
            return SyncReport {
                bindings: Vec::new(),
                note: Some(note),
            };
        }
        let desired = tokio::time::timeout_at(deadline, self.desired_states(&selected))
            .await
            .unwrap_or_else(|_| vec![Err(OUT_OF_TIME.to_owned()); selected.len()]);
        let reports = stream::iter(selected.into_iter().zip(desired))
            .map(|(binding, desired)| async move {
                if Instant::now() >= deadline {
                    return BindingReport::skipped(binding, OUT_OF_TIME);
                }
                tokio::time::timeout_at(deadline, self.reconcile(binding, desired))
                    .await
                    .unwrap_or_else(|_| BindingReport::skipped(binding, OUT_OF_TIME))
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
        SyncReport {
            bindings: reports,
            note: None,
        }
    }

    /// The desired IPs of each binding, read with one `DescribeVpcEndpoints`
    /// and one `DescribeNetworkInterfaces` for all of them, and defined as
    /// [`endpoint_ips`] defines them. An `Err` says why a binding's desired
    /// state is unknown.
    async fn desired_states(&self, bindings: &[&Binding]) -> Vec<Result<EndpointIps, String>> {
        let endpoint_ids: Vec<String> = unique(bindings.iter().map(|b| b.vpc_endpoint_id.clone()));
        let endpoints = match self.directory.endpoints(&endpoint_ids).await {
            Ok(found) => by_id(found, |e| &e.id),
            Err(err) => return vec![Err(read_error(&err)); bindings.len()],
        };
        let eni_ids: Vec<String> = unique(
            endpoints
                .values()
                .filter(|e| e.state == "available")
                .flat_map(|e| e.network_interface_ids.iter().cloned()),
        );
        let interfaces = match self.directory.network_interfaces(&eni_ids).await {
            Ok(found) => by_id(found, |n| &n.id),
            Err(err) => return vec![Err(read_error(&err)); bindings.len()],
        };
        bindings
            .iter()
            .map(|binding| {
                endpoint_ips(&binding.vpc_endpoint_id, &endpoints, &interfaces)
                    .map_err(|unknown| unknown.to_string())
            })
            .collect()
    }

    async fn reconcile(
        &self,
        binding: &Binding,
        desired: Result<EndpointIps, String>,
    ) -> BindingReport {
        let desired = match desired {
            Ok(desired) => desired,
            Err(reason) => {
                tracing::warn!(endpoint = %binding.vpc_endpoint_id, %reason, "binding skipped; nothing deregistered");
                return BindingReport::skipped(binding, reason);
            }
        };
        let mut report = BindingReport {
            transitional: desired.transitional,
            ..BindingReport::new(binding)
        };
        if desired.transitional {
            tracing::info!(endpoint = %binding.vpc_endpoint_id, "the endpoint has fewer interfaces than subnets: registering what it lists, deregistering nothing");
        }
        for arn in &binding.target_group_arns {
            if let Err(reason) = self
                .reconcile_group(arn, binding, &desired, &mut report)
                .await
            {
                tracing::error!(endpoint = %binding.vpc_endpoint_id, target_group = %arn, %reason, "binding failed");
                report.skipped = Some(reason);
                break;
            }
        }
        report
    }

    async fn reconcile_group(
        &self,
        arn: &str,
        binding: &Binding,
        desired: &EndpointIps,
        report: &mut BindingReport,
    ) -> Result<(), String> {
        let current = self
            .registry
            .targets(arn)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("target group {arn} does not exist"))?;
        let desired_ips = desired.ip_set();
        let plan = if desired.transitional {
            plan::registration_plan(&desired_ips, binding.port, &current)
        } else {
            plan::sync_plan(Some(&desired_ips), binding.port, &current)
        };
        // Register first, so that the group is never emptier than it must be;
        // the deregistrations wait for the endpoint to be read again.
        let TargetPlan {
            register,
            deregister,
            unchanged,
        } = plan;
        report.unchanged += unchanged;
        let registrations = TargetPlan {
            register,
            ..TargetPlan::default()
        };
        self.registry
            .apply(arn, &registrations)
            .await
            .map_err(|e| e.to_string())?;
        report.registered += registrations.register.len();
        if deregister.is_empty() {
            return Ok(());
        }
        let interfaces_now = self.interfaces_now(&binding.vpc_endpoint_id).await;
        let deregister = plan::confirmed_deregistrations(
            deregister,
            &desired.interfaces,
            interfaces_now.as_ref(),
        );
        if deregister.is_empty() {
            tracing::info!(target_group = %arn, endpoint = %binding.vpc_endpoint_id, "the endpoint's interfaces changed during the run: deregistering nothing, the next run will");
            return Ok(());
        }
        let deregistrations = TargetPlan {
            deregister,
            ..TargetPlan::default()
        };
        self.registry
            .apply(arn, &deregistrations)
            .await
            .map_err(|e| e.to_string())?;
        report.deregistered += deregistrations.deregister.len();
        Ok(())
    }

    /// The endpoint's interfaces, read again just before a deregistration
    /// (one `DescribeVpcEndpoints`); `None` when they cannot be read.
    async fn interfaces_now(&self, endpoint_id: &str) -> Option<BTreeSet<String>> {
        match self.directory.endpoints(&[endpoint_id.to_owned()]).await {
            Ok(endpoints) => endpoints
                .into_iter()
                .find(|e| e.id == endpoint_id)
                .map(|e| e.network_interface_ids.into_iter().collect()),
            Err(err) => {
                tracing::warn!(endpoint = endpoint_id, %err, "the endpoint could not be read again; deregistering nothing");
                None
            }
        }
    }
}

fn unique(items: impl Iterator<Item = String>) -> Vec<String> {
    items.collect::<BTreeSet<_>>().into_iter().collect()
}

fn read_error(err: &AwsError) -> String {
    format!("desired state unreadable: {err}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef";

    use crate::model::{Endpoint, NetworkInterface, RegisteredTarget, Target};
    use std::sync::Mutex;

    /// An endpoint with two ENIs, in memory.
    struct FakeDirectory;

    impl EndpointDirectory for FakeDirectory {
        async fn endpoints(&self, ids: &[String]) -> Result<Vec<Endpoint>, AwsError> {
            Ok(ids
                .iter()
                .map(|id| Endpoint {
                    id: id.clone(),
                    endpoint_type: "Interface".into(),
                    state: "available".into(),
                    subnet_ids: vec!["subnet-1".into(), "subnet-2".into()],
                    network_interface_ids: vec!["eni-1".into(), "eni-2".into()],
                })
                .collect())
        }

        async fn network_interfaces(
            &self,
            ids: &[String],
        ) -> Result<Vec<NetworkInterface>, AwsError> {
            Ok(ids
                .iter()
                .enumerate()
                .map(|(i, id)| NetworkInterface {
                    id: id.clone(),
                    availability_zone: "us-east-1a".into(),
                    private_ip: Some(format!("10.0.0.{}", i + 1)),
                })
                .collect())
        }
    }

    /// A target group whose first target is draining, as only real ELB shows.
    #[derive(Default)]
    struct DrainingRegistry {
        registered: Mutex<Vec<Target>>,
        deregistered: Mutex<Vec<Target>>,
    }

    impl TargetRegistry for DrainingRegistry {
        async fn targets(&self, _: &str) -> Result<Option<Vec<RegisteredTarget>>, AwsError> {
            let target = |ip: &str, draining| RegisteredTarget {
                target: Target {
                    ip: ip.into(),
                    port: 443,
                },
                draining,
            };
            Ok(Some(vec![
                target("10.0.0.1", true),
                target("10.0.0.2", false),
            ]))
        }

        async fn register(&self, _: &str, targets: &[Target]) -> Result<(), AwsError> {
            self.registered.lock().unwrap().extend_from_slice(targets);
            Ok(())
        }

        async fn deregister(&self, _: &str, targets: &[Target]) -> Result<(), AwsError> {
            self.deregistered.lock().unwrap().extend_from_slice(targets);
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_draining_target_that_is_desired_is_registered_again() {
        let syncer = Syncer::new(FakeDirectory, DrainingRegistry::default());
        let binding = Binding {
            vpc_endpoint_id: "vpce-01234567".into(),
            target_group_arns: vec![ARN.into()],
            port: 443,
        };
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        let report = syncer.run(&[binding], &Scope::All, deadline).await;
        assert_eq!(report.bindings[0].registered, 1);
        assert_eq!(
            *syncer.registry.registered.lock().unwrap(),
            [Target {
                ip: "10.0.0.1".into(),
                port: 443
            }]
        );
        assert!(syncer.registry.deregistered.lock().unwrap().is_empty());
    }
}
