//! `frontdoor plan`: target-sync's own run, with its writes recorded instead
//! of made. The reads, the planner and the deregistration check are the
//! function's, so the plan is what the next run would do now.

use super::front_door::FrontDoor;
use crate::model::{RegisteredTarget, Target, TargetGroup};
use crate::ports::{
    AwsError, EndpointDirectory, NameResolver, SubnetDirectory, TargetGroupTags, TargetRegistry,
};
use crate::sync::{Scope, SyncReport, Syncer};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;
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

/// A registry that reads through and records its writes.
pub struct DryRun<R> {
    inner: R,
    writes: Mutex<Vec<PlannedWrite>>,
}

impl<R> DryRun<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            writes: Mutex::default(),
        }
    }

    pub fn into_writes(self) -> Vec<PlannedWrite> {
        self.writes.into_inner().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, writes: impl IntoIterator<Item = PlannedWrite>) {
        self.writes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(writes);
    }
}

impl<R: TargetRegistry> TargetRegistry for DryRun<R> {
    async fn target_groups(&self, arns: &[String]) -> Result<Vec<TargetGroup>, AwsError> {
        self.inner.target_groups(arns).await
    }

    async fn targets(&self, arn: &str) -> Result<Option<Vec<RegisteredTarget>>, AwsError> {
        self.inner.targets(arn).await
    }

    async fn register(&self, arn: &str, targets: &[Target]) -> Result<(), AwsError> {
        self.record(targets.iter().map(|t| PlannedWrite::Register {
            target_group_arn: arn.to_owned(),
            ip: t.ip.clone(),
            port: t.port,
        }));
        Ok(())
    }

    async fn deregister(&self, arn: &str, targets: &[Target]) -> Result<(), AwsError> {
        self.record(targets.iter().map(|t| PlannedWrite::Deregister {
            target_group_arn: arn.to_owned(),
            ip: t.ip.clone(),
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
}

impl Plan {
    /// Nothing to write, and the binding could be read.
    pub fn in_sync(&self) -> bool {
        self.writes.is_empty() && self.run.errors() == 0
    }
}

/// Runs target-sync's reconciler on the stack's endpoint binding, writing
/// nothing.
pub async fn plan<D, R, N>(front_door: &FrontDoor, directory: D, registry: R, resolver: N) -> Plan
where
    D: EndpointDirectory + SubnetDirectory,
    R: TargetRegistry + TargetGroupTags,
    N: NameResolver,
{
    let syncer = Syncer::new(directory, DryRun::new(registry), resolver);
    let deadline = tokio::time::Instant::now() + DRY_RUN_BUDGET;
    let run = syncer
        .run(&[front_door.binding()], &Scope::All, deadline)
        .await;
    Plan {
        stack: front_door.stack.clone(),
        region: front_door.region.clone(),
        writes: syncer.into_registry().into_writes(),
        run,
    }
}
