//! The writes of a plan, and the reads just before them.

use super::{BindingReport, Syncer};
use crate::model::{RegisteredTarget, Target};
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
        register: Vec<Target>,
        deregister: Vec<Target>,
        report: &mut BindingReport,
    ) -> Result<(), String> {
        let plan = TargetPlan {
            register,
            deregister,
            unchanged: 0,
        };
        self.registry
            .apply(arn, &plan)
            .await
            .map_err(|e| e.to_string())?;
        report.registered += plan.register.len();
        report.deregistered += plan.deregister.len();
        Ok(())
    }

    /// The endpoint's interfaces, read again just before a deregistration
    /// (one `DescribeVpcEndpoints`); `None` when they cannot be read.
    pub(super) async fn interfaces_now(&self, endpoint_id: &str) -> Option<BTreeSet<String>> {
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
