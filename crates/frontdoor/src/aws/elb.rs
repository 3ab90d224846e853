//! [`TargetRegistry`] on Elastic Load Balancing v2.

use super::sdk_error;
use crate::model::{RegisteredTarget, Target};
use crate::ports::{AwsError, TargetRegistry};
use aws_sdk_elasticloadbalancingv2::types::{TargetDescription, TargetHealthStateEnum};

/// [`TargetRegistry`] on Elastic Load Balancing v2.
#[derive(Debug, Clone)]
pub struct ElbTargets {
    client: aws_sdk_elasticloadbalancingv2::Client,
}

impl ElbTargets {
    pub fn new(client: aws_sdk_elasticloadbalancingv2::Client) -> Self {
        Self { client }
    }
}

fn descriptions(targets: &[Target]) -> Vec<TargetDescription> {
    targets
        .iter()
        .map(|t| {
            TargetDescription::builder()
                .id(&t.ip)
                .port(i32::from(t.port))
                .build()
        })
        .collect()
}

const TARGET_GROUP_NOT_FOUND: &str = "TargetGroupNotFound";
const INVALID_TARGET: &str = "InvalidTarget";

impl TargetRegistry for ElbTargets {
    async fn targets(
        &self,
        target_group_arn: &str,
    ) -> Result<Option<Vec<RegisteredTarget>>, AwsError> {
        let result = self
            .client
            .describe_target_health()
            .target_group_arn(target_group_arn)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeTargetHealth", e));
        let output = match result {
            Err(err) if err.has_code(TARGET_GROUP_NOT_FOUND) => return Ok(None),
            other => other?,
        };
        let targets = output
            .target_health_descriptions()
            .iter()
            .filter_map(|d| {
                let target = d.target()?;
                let port = u16::try_from(target.port()?).ok()?;
                let draining = d
                    .target_health()
                    .and_then(|h| h.state())
                    .is_some_and(|s| *s == TargetHealthStateEnum::Draining);
                Some(RegisteredTarget {
                    target: Target {
                        ip: target.id()?.to_owned(),
                        port,
                    },
                    draining,
                })
            })
            .collect();
        Ok(Some(targets))
    }

    async fn register(&self, target_group_arn: &str, targets: &[Target]) -> Result<(), AwsError> {
        if targets.is_empty() {
            return Ok(());
        }
        self.client
            .register_targets()
            .target_group_arn(target_group_arn)
            .set_targets(Some(descriptions(targets)))
            .send()
            .await
            .map(drop)
            .map_err(|e| sdk_error("RegisterTargets", e))
    }

    async fn deregister(&self, target_group_arn: &str, targets: &[Target]) -> Result<(), AwsError> {
        if targets.is_empty() {
            return Ok(());
        }
        let deregister = |batch: &[Target]| {
            self.client
                .deregister_targets()
                .target_group_arn(target_group_arn)
                .set_targets(Some(descriptions(batch)))
                .send()
        };
        let gone_or_absent =
            |err: &AwsError| err.has_code(TARGET_GROUP_NOT_FOUND) || err.has_code(INVALID_TARGET);
        match deregister(targets)
            .await
            .map_err(|e| sdk_error("DeregisterTargets", e))
        {
            Err(err) if err.has_code(INVALID_TARGET) && targets.len() > 1 => {
                // One unregistered target fails the whole batch: retry each,
                // so that the others still go.
                for target in targets {
                    if let Err(e) = deregister(std::slice::from_ref(target)).await {
                        let err = sdk_error("DeregisterTargets", e);
                        if !gone_or_absent(&err) {
                            return Err(err);
                        }
                    }
                }
                Ok(())
            }
            Err(err) if gone_or_absent(&err) => Ok(()),
            other => other.map(drop),
        }
    }
}
