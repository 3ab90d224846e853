//! The writes of a plan, and the reads just before them.

use super::{BindingReport, Syncer};
use crate::model::RegisteredTarget;
use crate::plan::TargetPlan;
use crate::ports::{
    EndpointDirectory, NameResolver, SubnetDirectory, TargetGroupTags, TargetRegistry,
};
use std::collections::BTreeSet;

impl<D, R, N> Syncer<D, R, N>
where
    D: EndpointDirectory + SubnetDirectory,
    R: TargetRegistry + TargetGroupTags,
    N: NameResolver,
{
    pub(super) async fn current_targets(&self, arn: &str) -> Result<Vec<RegisteredTarget>, String> {
        self.registry
            .targets(arn)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("target group {arn} does not exist"))
    }

    /// Registers, then deregisters, counting what was done.
    pub(super) async fn apply(
        &self,
        arn: &str,
        plan: TargetPlan,
        report: &mut BindingReport,
    ) -> Result<(), String> {
        self.registry
            .apply(arn, &plan)
            .await
            .map_err(|e| e.to_string())?;
        report.registered += plan.register.len();
        report.deregistered += plan.deregister.len();
        Ok(())
    }

    /// The endpoint's interfaces, read again just before a plan's writes (one
    /// `DescribeVpcEndpoints`); `None` when they cannot be read.
    pub(super) async fn interfaces_now(&self, endpoint_id: &str) -> Option<BTreeSet<String>> {
        match self.directory.endpoints(&[endpoint_id.to_owned()]).await {
            Ok(endpoints) => endpoints
                .into_iter()
                .find(|e| e.id == endpoint_id)
                .map(|e| e.network_interface_ids.into_iter().collect()),
            Err(err) => {
                tracing::warn!(endpoint = endpoint_id, %err, "the endpoint could not be read again; writing nothing");
                None
            }
        }
    }
}
