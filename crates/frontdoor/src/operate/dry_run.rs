//! `frontdoor plan`: target-sync's own run, with its writes recorded instead
//! of made. The reads, the planner and the deregistration check are the
//! function's, so the plan is what the next run would do now; what the run
//! read is kept for `frontdoor status`.

use super::front_door::FrontDoor;
use crate::model::{Endpoint, NetworkInterface, RegisteredTarget, Target, TargetGroup};
use crate::ports::{
    AwsError, EndpointDirectory, NameResolver, SubnetDirectory, TargetGroupTags, TargetRegistry,
};
use crate::sync::{Scope, SyncReport, Syncer};
use ipnet::IpNet;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// How long a dry run may take: its reads retry as the functions' do.
const DRY_RUN_BUDGET: Duration = Duration::from_secs(60);

/// A write the run would have made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "action"
)]
pub enum PlannedWrite {
    Register {
        target_group_arn: String,
        ip: String,
        port: u16,
    },
    Deregister {
        target_group_arn: String,
        ip: String,
        port: u16,
    },
    Tag {
        target_group_arn: String,
        key: String,
        value: String,
    },
    Untag {
        target_group_arn: String,
        key: String,
    },
}

impl std::fmt::Display for PlannedWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlannedWrite::Register {
                target_group_arn,
                ip,
                port,
            } => {
                write!(f, "register   {ip}:{port} in {target_group_arn}")
            }
            PlannedWrite::Deregister {
                target_group_arn,
                ip,
                port,
            } => {
                write!(f, "deregister {ip}:{port} from {target_group_arn}")
            }
            PlannedWrite::Tag {
                target_group_arn,
                key,
                value,
            } => {
                write!(f, "tag        {key}={value} on {target_group_arn}")
            }
            PlannedWrite::Untag {
                target_group_arn,
                key,
            } => {
                write!(f, "untag      {key} on {target_group_arn}")
            }
        }
    }
}

/// What the run read, each item as first read: status shows it, so that
/// nothing is read twice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    pub groups: BTreeMap<String, TargetGroup>,
    /// `None`: the group does not exist.
    pub targets: BTreeMap<String, Option<Vec<RegisteredTarget>>>,
    pub endpoints: BTreeMap<String, Endpoint>,
    pub interfaces: BTreeMap<String, NetworkInterface>,
}

/// An adapter that reads through, keeps what it read, and records its
/// writes instead of making them.
pub struct DryRun<T> {
    inner: T,
    writes: Mutex<Vec<PlannedWrite>>,
    seen: Mutex<Seen>,
}

impl<T> DryRun<T> {
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            writes: Mutex::default(),
            seen: Mutex::default(),
        }
    }

    pub fn into_parts(self) -> (Vec<PlannedWrite>, Seen) {
        (
            self.writes
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner),
            self.seen
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    fn record(&self, writes: impl IntoIterator<Item = PlannedWrite>) {
        self.writes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(writes);
    }

    fn see(&self, saw: impl FnOnce(&mut Seen)) {
        saw(&mut self.seen.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// Keeps the first reading of each item: a later one (the endpoint read
/// again before deregistering) is the run's own check, not the state shown.
fn keep_first<V>(map: &mut BTreeMap<String, V>, items: impl IntoIterator<Item = (String, V)>) {
    for (key, value) in items {
        map.entry(key).or_insert(value);
    }
}

impl<D: EndpointDirectory> EndpointDirectory for DryRun<D> {
    async fn endpoints(&self, ids: &[String]) -> Result<Vec<Endpoint>, AwsError> {
        let endpoints = self.inner.endpoints(ids).await?;
        self.see(|seen| {
            keep_first(
                &mut seen.endpoints,
                endpoints.iter().map(|e| (e.id.clone(), e.clone())),
            )
        });
        Ok(endpoints)
    }

    async fn network_interfaces(&self, ids: &[String]) -> Result<Vec<NetworkInterface>, AwsError> {
        let interfaces = self.inner.network_interfaces(ids).await?;
        self.see(|seen| {
            keep_first(
                &mut seen.interfaces,
                interfaces.iter().map(|n| (n.id.clone(), n.clone())),
            )
        });
        Ok(interfaces)
    }
}

impl<D: SubnetDirectory> SubnetDirectory for DryRun<D> {
    async fn subnet_ranges(
        &self,
        vpc_ids: &[String],
    ) -> Result<BTreeMap<String, Vec<IpNet>>, AwsError> {
        self.inner.subnet_ranges(vpc_ids).await
    }
}

impl<R: TargetRegistry> TargetRegistry for DryRun<R> {
    async fn target_groups(&self, arns: &[String]) -> Result<Vec<TargetGroup>, AwsError> {
        let groups = self.inner.target_groups(arns).await?;
        self.see(|seen| {
            keep_first(
                &mut seen.groups,
                groups.iter().map(|g| (g.arn.clone(), g.clone())),
            )
        });
        Ok(groups)
    }

    async fn targets(&self, arn: &str) -> Result<Option<Vec<RegisteredTarget>>, AwsError> {
        let targets = self.inner.targets(arn).await?;
        self.see(|seen| keep_first(&mut seen.targets, [(arn.to_owned(), targets.clone())]));
        Ok(targets)
    }

    async fn register(&self, arn: &str, targets: &[Target]) -> Result<(), AwsError> {
        self.record(targets.iter().map(|t| PlannedWrite::Register {
            target_group_arn: arn.to_owned(),
            ip: t.ip.to_string(),
            port: t.port,
        }));
        Ok(())
    }

    async fn deregister(&self, arn: &str, targets: &[Target]) -> Result<(), AwsError> {
        self.record(targets.iter().map(|t| PlannedWrite::Deregister {
            target_group_arn: arn.to_owned(),
            ip: t.ip.to_string(),
            port: t.port,
        }));
        Ok(())
    }
}

impl<R: TargetGroupTags> TargetGroupTags for DryRun<R> {
    async fn tags(
        &self,
        arns: &[String],
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>, AwsError> {
        self.inner.tags(arns).await
    }

    async fn add_tags(&self, arn: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        self.record(tags.iter().map(|(key, value)| PlannedWrite::Tag {
            target_group_arn: arn.to_owned(),
            key: key.clone(),
            value: value.clone(),
        }));
        Ok(())
    }

    async fn remove_tags(&self, arn: &str, keys: &[String]) -> Result<(), AwsError> {
        self.record(keys.iter().map(|key| PlannedWrite::Untag {
            target_group_arn: arn.to_owned(),
            key: key.clone(),
        }));
        Ok(())
    }
}

/// What target-sync would do now for the stack's endpoint binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub stack: String,
    pub region: String,
    pub writes: Vec<PlannedWrite>,
    /// The run's summary; a skipped binding says why nothing can be planned.
    pub run: SyncReport,
    /// What the run read.
    #[serde(skip)]
    pub seen: Seen,
}

/// Runs target-sync's reconciler on the stack's endpoint binding, writing
/// nothing.
pub async fn plan<D, R, N>(front_door: &FrontDoor, directory: D, registry: R, resolver: N) -> Plan
where
    D: EndpointDirectory + SubnetDirectory,
    R: TargetRegistry + TargetGroupTags,
    N: NameResolver,
{
    let syncer = Syncer::new(DryRun::new(directory), DryRun::new(registry), resolver);
    let deadline = tokio::time::Instant::now() + DRY_RUN_BUDGET;
    let run = syncer
        .run(&[front_door.binding()], &Scope::All, deadline)
        .await;
    let (directory, registry) = syncer.into_adapters();
    let (_, directory_seen) = directory.into_parts();
    let (writes, mut seen) = registry.into_parts();
    seen.endpoints = directory_seen.endpoints;
    seen.interfaces = directory_seen.interfaces;
    Plan {
        stack: front_door.stack.clone(),
        region: front_door.region.clone(),
        writes,
        run,
        seen,
    }
}
