//! [`TargetRegistry`] on Elastic Load Balancing v2.

use super::sdk_error;
use crate::model::{Family, RegisteredTarget, Target, TargetGroup, TargetState};
use crate::ports::{AwsError, TargetRegistry};
use aws_sdk_elasticloadbalancingv2::types::{
    TargetDescription, TargetGroupIpAddressTypeEnum, TargetHealthStateEnum,
};

/// [`TargetRegistry`] on Elastic Load Balancing v2.
#[derive(Debug, Clone)]
pub struct ElbTargets {
    client: aws_sdk_elasticloadbalancingv2::Client,
}

impl ElbTargets {
    pub fn new(client: aws_sdk_elasticloadbalancingv2::Client) -> Self {
        Self { client }
    }

    pub(super) fn client(&self) -> &aws_sdk_elasticloadbalancingv2::Client {
        &self.client
    }
}

impl ElbTargets {
    async fn describe_target_groups(&self, arns: &[String]) -> Result<Vec<TargetGroup>, AwsError> {
        if arns.is_empty() {
            return Ok(Vec::new());
        }
        let output = self
            .client
            .describe_target_groups()
            .set_target_group_arns(Some(arns.to_vec()))
            .send()
            .await
            .map_err(|e| sdk_error("DescribeTargetGroups", e))?;
        Ok(output
            .target_groups()
            .iter()
            .map(|g| TargetGroup {
                arn: g.target_group_arn().unwrap_or_default().to_owned(),
                family: match g.ip_address_type() {
                    Some(TargetGroupIpAddressTypeEnum::Ipv6) => Family::Ipv6,
                    _ => Family::Ipv4,
                },
                vpc_id: g.vpc_id().unwrap_or_default().to_owned(),
            })
            .collect())
    }
}

/// The Availability Zone that ELB requires for an address outside the target
/// group's VPC, and refuses for one inside
/// (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetDescription.html).
const ALL_ZONES: &str = "all";

fn descriptions(targets: &[Target]) -> Vec<TargetDescription> {
    targets
        .iter()
        .map(|t| {
            TargetDescription::builder()
                .id(t.ip.to_string())
                .port(i32::from(t.port))
                .set_availability_zone(t.all_zones.then(|| ALL_ZONES.to_owned()))
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
                let state = d
                    .target_health()
                    .and_then(|h| h.state())
                    .map_or(TargetState::Unknown, target_state);
                // An id that is not an address (an instance) is no IP target of ours.
                Some(RegisteredTarget {
                    target: Target {
                        ip: target.id()?.parse().ok()?,
                        port,
                        all_zones: target.availability_zone() == Some(ALL_ZONES),
                    },
                    state,
                })
            })
            .collect();
        Ok(Some(targets))
    }

    async fn target_groups(&self, arns: &[String]) -> Result<Vec<TargetGroup>, AwsError> {
        match self.describe_target_groups(arns).await {
            // One unknown ARN fails the whole call: then ask for each, so
            // that the others are still found.
            Err(err) if err.has_code(TARGET_GROUP_NOT_FOUND) && arns.len() > 1 => {
                let mut found = Vec::new();
                for arn in arns {
                    match self.describe_target_groups(std::slice::from_ref(arn)).await {
                        Err(err) if err.has_code(TARGET_GROUP_NOT_FOUND) => {}
                        other => found.extend(other?),
                    }
                }
                Ok(found)
            }
            Err(err) if err.has_code(TARGET_GROUP_NOT_FOUND) => Ok(Vec::new()),
            other => other,
        }
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

fn target_state(state: &TargetHealthStateEnum) -> TargetState {
    match state {
        TargetHealthStateEnum::Initial => TargetState::Initial,
        TargetHealthStateEnum::Healthy => TargetState::Healthy,
        TargetHealthStateEnum::Unhealthy | TargetHealthStateEnum::UnhealthyDraining => {
            TargetState::Unhealthy
        }
        TargetHealthStateEnum::Unused => TargetState::Unused,
        TargetHealthStateEnum::Draining => TargetState::Draining,
        TargetHealthStateEnum::Unavailable => TargetState::Unavailable,
        _ => TargetState::Unknown,
    }
}
