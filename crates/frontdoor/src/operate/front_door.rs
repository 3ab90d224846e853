//! A deployed front door: the stack's outputs and parameters, typed.

use super::OperateError;
use crate::model::{FailoverRole, StackDescription};
use crate::ports::Stacks;
use crate::sync::{Binding, Source};

/// The port of target-sync's endpoint binding in the template.
pub const API_PORT: u16 = 443;

/// What the CLI needs of one Region's stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontDoor {
    pub stack: String,
    pub region: String,
    pub domain_name: String,
    pub hosted_zone_id: String,
    /// `None` for a simple record (`FailoverRole` `NONE`).
    pub failover_role: Option<FailoverRole>,
    pub vpc_endpoint_id: String,
    pub target_group_arn: String,
    /// The check the failover record follows (`HealthCheckId`).
    pub health_check_id: String,
    /// The signals' own checks under it, with `HealthSignal` `both`:
    /// (`ProbeHealthCheckId` | `PrivateHealthCheckId`, id).
    pub signal_checks: Vec<(&'static str, String)>,
    /// The security groups whose ingress the stack owns.
    pub security_groups: Vec<(&'static str, String)>,
    /// This Region's load balancer (`LoadBalancerDnsName`).
    pub load_balancer_dns_name: Option<String>,
    /// health-probe, which observes the answer inside the VPC
    /// (`ObserverFunctionName`); stacks before it have none.
    pub observer_function: Option<String>,
    /// When the stack was last created or updated.
    pub changed_at: Option<std::time::SystemTime>,
}

impl FrontDoor {
    pub fn from_stack(region: &str, stack: &StackDescription) -> Result<Self, OperateError> {
        let missing = |key: &'static str| OperateError::Missing {
            stack: stack.name.clone(),
            region: region.to_owned(),
            key,
        };
        let output =
            |key: &'static str| stack.outputs.get(key).cloned().ok_or_else(|| missing(key));
        let parameter = |key: &'static str| {
            stack
                .parameters
                .get(key)
                .cloned()
                .ok_or_else(|| missing(key))
        };
        let failover_role = match parameter("FailoverRole")?.as_str() {
            "PRIMARY" => Some(FailoverRole::Primary),
            "SECONDARY" => Some(FailoverRole::Secondary),
            _ => None,
        };
        let optional = |keys: &[&'static str]| -> Vec<(&'static str, String)> {
            keys.iter()
                .filter_map(|&key| Some((key, stack.outputs.get(key)?.clone())))
                .collect()
        };
        let health_check_id = output("HealthCheckId")?;
        let signal_checks = optional(&["ProbeHealthCheckId", "PrivateHealthCheckId"])
            .into_iter()
            .filter(|(_, id)| *id != health_check_id)
            .collect();
        Ok(Self {
            stack: stack.name.clone(),
            region: region.to_owned(),
            domain_name: parameter("DomainName")?,
            hosted_zone_id: parameter("PrivateHostedZoneId")?,
            failover_role,
            vpc_endpoint_id: output("VpcEndpointId")?,
            target_group_arn: output("TargetGroupArn")?,
            health_check_id,
            signal_checks,
            security_groups: optional(&[
                "LoadBalancerSecurityGroupId",
                "CloudFrontOriginSecurityGroupId",
            ]),
            load_balancer_dns_name: stack.outputs.get("LoadBalancerDnsName").cloned(),
            observer_function: stack.outputs.get("ObserverFunctionName").cloned(),
            changed_at: stack.changed_at,
        })
    }

    /// target-sync's endpoint binding of this stack.
    pub fn binding(&self) -> Binding {
        Binding {
            source: Source::VpcEndpointId(self.vpc_endpoint_id.clone()),
            target_group_arns: vec![self.target_group_arn.clone()],
            port: API_PORT,
        }
    }

    /// The error for a failed call about one of the stack's resources.
    pub fn error(
        &self,
        resource: impl Into<String>,
        source: crate::ports::AwsError,
    ) -> OperateError {
        OperateError::Aws {
            stack: self.stack.clone(),
            region: self.region.clone(),
            resource: resource.into(),
            source: Box::new(source),
        }
    }
}

/// Reads the stack of one Region.
pub async fn read(
    stacks: &impl Stacks,
    stack: &str,
    region: &str,
) -> Result<FrontDoor, OperateError> {
    let description = stacks
        .stack(stack)
        .await
        .map_err(|source| OperateError::Aws {
            stack: stack.to_owned(),
            region: region.to_owned(),
            resource: "the stack".to_owned(),
            source: Box::new(source),
        })?
        .ok_or_else(|| OperateError::NoSuchStack {
            stack: stack.to_owned(),
            region: region.to_owned(),
        })?;
    FrontDoor::from_stack(region, &description)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::BTreeMap;

    pub fn description(extra_outputs: &[(&str, &str)]) -> StackDescription {
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let mut outputs = map(&[
            ("VpcEndpointId", "vpce-1"),
            ("TargetGroupArn", "arn:tg"),
            ("HealthCheckId", "hc-record"),
            ("LoadBalancerSecurityGroupId", "sg-lb"),
            (
                "LoadBalancerDnsName",
                "internal-PRIMARY.eu-west-1.elb.amazonaws.com",
            ),
            ("ObserverFunctionName", "fd-health-probe"),
        ]);
        outputs.extend(map(extra_outputs));
        StackDescription {
            name: "fd".into(),
            status: "CREATE_COMPLETE".into(),
            outputs,
            parameters: map(&[
                ("DomainName", "api.example.com"),
                ("PrivateHostedZoneId", "Z1"),
                ("FailoverRole", "PRIMARY"),
            ]),
            changed_at: None,
        }
    }

    #[test]
    fn a_stack_reads_into_its_front_door() {
        let front_door = FrontDoor::from_stack(
            "eu-west-1",
            &description(&[
                ("ProbeHealthCheckId", "hc-probe"),
                ("PrivateHealthCheckId", "hc-private"),
            ]),
        )
        .unwrap();
        assert_eq!(front_door.failover_role, Some(FailoverRole::Primary));
        assert_eq!(
            front_door.signal_checks,
            vec![
                ("ProbeHealthCheckId", "hc-probe".to_string()),
                ("PrivateHealthCheckId", "hc-private".to_string())
            ]
        );
        assert_eq!(
            front_door.binding().vpc_endpoint_id(),
            Some("vpce-1"),
            "the binding target-sync has"
        );
    }

    #[test]
    fn the_signal_check_that_is_the_records_is_listed_once() {
        let front_door = FrontDoor::from_stack(
            "eu-west-1",
            &description(&[("ProbeHealthCheckId", "hc-record")]),
        )
        .unwrap();
        assert!(front_door.signal_checks.is_empty());
    }

    #[test]
    fn a_missing_output_is_named_with_the_stack_and_region() {
        let mut stack = description(&[]);
        stack.outputs.remove("TargetGroupArn");
        let err = FrontDoor::from_stack("eu-west-1", &stack).unwrap_err();
        assert_eq!(
            err.to_string(),
            "stack fd in eu-west-1: TargetGroupArn is missing (a frontdoor stack of this version has it)"
        );
    }
}
