//! `target-sync`: level-triggered drift repair of target groups.
//!
//! Each binding declares that its target groups hold, on its port, exactly
//! the addresses of its source: an endpoint's ENI IPs, or a DNS name's
//! addresses (with the no-flap rule of [`crate::plan::hostname`]). A run
//! walks:
//!
//! 1. `reads`: what every binding of the run needs, read once and batched;
//! 2. `reconcile`: each binding, group by group: its desired state (an
//!    endpoint's IPs there, a name's answer in `hostname`) against the
//!    group's current targets;
//! 3. a planner of [`crate::plan`] turns the two into a plan, with no I/O;
//! 4. `apply`: the plan's writes, and nothing else.
//!
//! A binding whose desired state cannot be read completely is skipped, never
//! emptied. The rest of the module: [`bindings`] (`FRONTDOOR_BINDINGS`),
//! [`scope`] (which bindings an event asks for), [`report`] (the summary and
//! the metrics); here, the run itself.

mod apply;
pub mod bindings;
mod hostname;
mod reads;
mod reconcile;
pub mod report;
pub mod scope;

pub use bindings::{
    BINDINGS_VAR, Binding, BindingsError, Source, bindings_from_env, parse_bindings,
};
pub use report::{BindingReport, SyncFailed, SyncReport};
pub use scope::Scope;

use crate::deadline::Budget;
use crate::emf::{MetricSet, MetricsWriter};
use crate::plan::hostname::Grace;
use crate::ports::{
    EndpointDirectory, NameResolver, SubnetDirectory, TargetGroupTags, TargetRegistry,
};
use futures_util::stream::{self, StreamExt};
use reads::read_error;
use serde_json::Value;
use std::time::SystemTime;
use tokio::time::Instant;

/// How many bindings are reconciled at once.
const CONCURRENCY: usize = 8;
/// How many times a run asks for a hostname's addresses: a rotating server
/// shows more of its set over several answers, and the union is the answer.
pub const DNS_QUERIES_PER_RUN: usize = 3;

/// Why a binding was not done: the run reached its deadline.
pub const OUT_OF_TIME: &str =
    "not done: the run reached its deadline (the Lambda deadline less its safety margin) first";

/// The reconciler.
pub struct Syncer<D, R, N> {
    directory: D,
    registry: R,
    resolver: N,
    budget: Budget,
    grace: Grace,
    metrics: MetricsWriter,
}

impl<D, R, N> Syncer<D, R, N>
where
    D: EndpointDirectory + SubnetDirectory,
    R: TargetRegistry + TargetGroupTags,
    N: NameResolver,
{
    pub fn new(directory: D, registry: R, resolver: N) -> Self {
        Self {
            directory,
            registry,
            resolver,
            budget: Budget::default(),
            grace: crate::dns::DEFAULT_GRACE,
            metrics: Box::new(MetricSet::emit),
        }
    }

    /// The safety margin before the Lambda deadline, and the budget when the
    /// deadline is unknown.
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// The no-flap rule: how many counted runs a hostname's address must be
    /// missing before it goes, and how far apart they count.
    pub fn with_grace(mut self, grace: Grace) -> Self {
        self.grace = grace;
        self
    }

    /// Writes the metrics elsewhere than stdout (tests).
    pub fn with_metrics_writer(mut self, metrics: MetricsWriter) -> Self {
        self.metrics = metrics;
        self
    }

    /// The adapters back, with what they hold (the CLI's dry run).
    pub fn into_adapters(self) -> (D, R) {
        (self.directory, self.registry)
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
        let shared = match tokio::time::timeout_at(deadline, self.read_shared(&selected)).await {
            Ok(Ok(shared)) => shared,
            Ok(Err(err)) => return skip_all(&selected, &read_error(err)),
            Err(_) => return skip_all(&selected, OUT_OF_TIME),
        };
        let shared = &shared;
        let reports = stream::iter(selected)
            .map(|binding| async move {
                if Instant::now() >= deadline {
                    return BindingReport::skipped(binding, OUT_OF_TIME);
                }
                tokio::time::timeout_at(deadline, self.reconcile(binding, shared))
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
}

fn skip_all(bindings: &[&Binding], reason: &str) -> SyncReport {
    SyncReport {
        bindings: bindings
            .iter()
            .map(|b| BindingReport::skipped(b, reason))
            .collect(),
        note: None,
    }
}

#[cfg(test)]
mod fakes;
