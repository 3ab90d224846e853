//! `Custom::EndpointTargets`: the ENI private IPs of an interface VPC
//! endpoint, registered as IP targets of one to five target groups.

use crate::aws::{AwsError, Endpoint, EndpointDirectory, NetworkInterface, TargetRegistry};
use crate::custom_resource::{self, CustomResource, Failure, Invocation, Request, Success};
use crate::plan::{self, TargetPlan};
use crate::props::{self, Properties, PropertyError};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

pub const MAX_TARGET_GROUPS: usize = 5;
const DEFAULT_PORT: u16 = 443;

/// The resource properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointTargetsProps {
    pub vpc_endpoint_id: String,
    pub target_group_arns: Vec<String>,
    pub port: u16,
}

impl EndpointTargetsProps {
    pub fn parse(value: &Value) -> Result<Self, PropertyError> {
        let props = Properties::new(value)?;
        let vpc_endpoint_id = props::ec2_id(
            "VpcEndpointId",
            "vpce",
            props.required_str("VpcEndpointId")?,
        )?;
        let arns = props.string_list("TargetGroupArns")?;
        if arns.is_empty() || arns.len() > MAX_TARGET_GROUPS {
            return Err(PropertyError::new(
                "TargetGroupArns",
                format!(
                    "must list 1 to {MAX_TARGET_GROUPS} target-group ARNs, got {}",
                    arns.len()
                ),
            ));
        }
        let mut target_group_arns = Vec::with_capacity(arns.len());
        for arn in arns {
            let arn = props::target_group_arn("TargetGroupArns", arn)?.to_owned();
            if !target_group_arns.contains(&arn) {
                target_group_arns.push(arn);
            }
        }
        Ok(Self {
            vpc_endpoint_id: vpc_endpoint_id.to_owned(),
            target_group_arns,
            port: props.port_or("Port", DEFAULT_PORT)?,
        })
    }
}

/// The deterministic physical id: it changes only with the endpoint.
pub fn physical_id(stack_id: &str, logical_resource_id: &str, vpc_endpoint_id: &str) -> String {
    format!(
        "{}/{logical_resource_id}/{vpc_endpoint_id}",
        custom_resource::stack_name(stack_id)
    )
}

/// Orders interfaces by Availability Zone, then IP, so that `IP0…IPn` are
/// stable across calls.
pub fn ordered_ips(interfaces: &[NetworkInterface]) -> Vec<String> {
    let mut pairs: Vec<(&str, Ipv4Addr, &str)> = interfaces
        .iter()
        .filter_map(|n| {
            let ip = n.private_ip.as_deref()?;
            Some((n.availability_zone.as_str(), ip.parse().ok()?, ip))
        })
        .collect();
    pairs.sort();
    pairs.into_iter().map(|(_, _, ip)| ip.to_owned()).collect()
}

/// The `Data` of a response: `Ips`, `IpCount` and `IP0…IPn`.
pub fn ip_data(ips: &[String]) -> BTreeMap<String, String> {
    let mut data: BTreeMap<String, String> = ips
        .iter()
        .enumerate()
        .map(|(i, ip)| (format!("IP{i}"), ip.clone()))
        .collect();
    data.insert("Ips".into(), ips.join(","));
    data.insert("IpCount".into(), ips.len().to_string());
    data
}

/// How often a pending endpoint is described again.
const POLL_INTERVAL: Duration = Duration::from_secs(5);
/// The handler stops waiting this long before its deadline, to explain why.
const GIVE_UP_BEFORE_DEADLINE: Duration = Duration::from_secs(1);

/// The handler of `Custom::EndpointTargets`.
pub struct EndpointTargets<D, R> {
    directory: D,
    registry: R,
    poll_interval: Duration,
}

impl<D: EndpointDirectory, R: TargetRegistry> EndpointTargets<D, R> {
    pub fn new(directory: D, registry: R) -> Self {
        Self {
            directory,
            registry,
            poll_interval: POLL_INTERVAL,
        }
    }

    /// Waits for the endpoint to settle (`available`, with an interface for
    /// every subnet) and returns its ENI IPs, ordered; fails if it is missing,
    /// not an interface endpoint, has no interfaces, or has not settled
    /// before the deadline: a partial `Ips` would be published as the whole.
    async fn resolve(&self, endpoint_id: &str, deadline: Instant) -> Result<Vec<String>, Failure> {
        let endpoint = loop {
            let endpoint = self.describe(endpoint_id).await?.ok_or_else(|| {
                Failure::new(format!(
                    "VpcEndpointId {endpoint_id} does not exist in this account and Region."
                ))
            })?;
            if endpoint.endpoint_type != "Interface" {
                return Err(Failure::new(format!(
                    "VpcEndpointId {endpoint_id} is a {} endpoint; it must be an Interface endpoint.",
                    endpoint.endpoint_type
                )));
            }
            // A pending endpoint, or an available one with fewer interfaces
            // than subnets (EC2 is still adding one), is waited for: its
            // interfaces are not yet the whole set.
            let unsettled = match endpoint.state.as_str() {
                "available" if !endpoint.is_transitional() => break endpoint,
                "available" => format!(
                    "has {} network interfaces for {} subnets (EC2 is still adding interfaces)",
                    endpoint.network_interface_ids.len(),
                    endpoint.subnet_ids.len()
                ),
                "pending" | "pendingacceptance" => format!("is {}", endpoint.state),
                state => {
                    return Err(Failure::new(format!(
                        "VpcEndpointId {endpoint_id} is {state}, not available, so there are no IPs to register."
                    )));
                }
            };
            if Instant::now() + self.poll_interval + GIVE_UP_BEFORE_DEADLINE >= deadline {
                return Err(Failure::new(format!(
                    "VpcEndpointId {endpoint_id} {unsettled} and did not settle before the deadline, so there is no complete set of IPs to register."
                )));
            }
            tracing::info!(endpoint_id, %unsettled, "waiting for the endpoint to settle");
            tokio::time::sleep(self.poll_interval).await;
        };
        if endpoint.network_interface_ids.is_empty() {
            return Err(Failure::new(format!(
                "VpcEndpointId {endpoint_id} has no network interfaces; give it subnets before registering its IPs."
            )));
        }
        let interfaces = self
            .directory
            .network_interfaces(&endpoint.network_interface_ids)
            .await
            .map_err(aws_failure)?;
        let ips = ordered_ips(&interfaces);
        if ips.len() != endpoint.network_interface_ids.len() {
            return Err(Failure::new(format!(
                "VpcEndpointId {endpoint_id} lists {} network interfaces but {} of them could be described with an IPv4 address.",
                endpoint.network_interface_ids.len(),
                ips.len()
            )));
        }
        Ok(ips)
    }

    async fn describe(&self, endpoint_id: &str) -> Result<Option<Endpoint>, Failure> {
        let endpoints = self
            .directory
            .endpoints(&[endpoint_id.to_owned()])
            .await
            .map_err(aws_failure)?;
        Ok(endpoints.into_iter().find(|e| e.id == endpoint_id))
    }

    /// The endpoint's current IPs for a Delete or a clean-up: `None` when the
    /// endpoint or its interfaces are gone, since then nothing is ours to find.
    async fn current_ips(&self, endpoint_id: &str) -> Result<Option<BTreeSet<String>>, Failure> {
        let Some(endpoint) = self.describe(endpoint_id).await? else {
            return Ok(None);
        };
        let interfaces = self
            .directory
            .network_interfaces(&endpoint.network_interface_ids)
            .await
            .map_err(aws_failure)?;
        let ips: BTreeSet<String> = ordered_ips(&interfaces).into_iter().collect();
        Ok((!ips.is_empty()).then_some(ips))
    }

    /// Registers the IPs on the port in every group, where missing.
    async fn register(&self, props: &EndpointTargetsProps, ips: &[String]) -> Result<(), Failure> {
        let desired: BTreeSet<String> = ips.iter().cloned().collect();
        for arn in &props.target_group_arns {
            let current = self
                .registry
                .targets(arn)
                .await
                .map_err(aws_failure)?
                .ok_or_else(|| {
                    Failure::new(format!(
                        "TargetGroupArns names {arn}, which does not exist."
                    ))
                })?;
            let plan = plan::registration_plan(&desired, props.port, &current);
            self.apply(arn, &plan).await?;
        }
        Ok(())
    }

    /// Deregisters exactly these IPs on the port; a group already gone is fine.
    async fn deregister(
        &self,
        arns: &[String],
        port: u16,
        ips: &BTreeSet<String>,
    ) -> Result<(), Failure> {
        for arn in arns {
            let Some(current) = self.registry.targets(arn).await.map_err(aws_failure)? else {
                continue;
            };
            self.apply(arn, &plan::removal_plan(ips, port, &current))
                .await?;
        }
        Ok(())
    }

    async fn apply(&self, arn: &str, plan: &TargetPlan) -> Result<(), Failure> {
        if !plan.register.is_empty() {
            tracing::info!(target_group = arn, targets = ?plan.register, "registering");
            self.registry
                .register(arn, &plan.register)
                .await
                .map_err(aws_failure)?;
        }
        if !plan.deregister.is_empty() {
            tracing::info!(target_group = arn, targets = ?plan.deregister, "deregistering");
            self.registry
                .deregister(arn, &plan.deregister)
                .await
                .map_err(aws_failure)?;
        }
        Ok(())
    }

    async fn create(
        &self,
        props: &EndpointTargetsProps,
        id: String,
        deadline: Instant,
    ) -> Result<Success, Failure> {
        let ips = self.resolve(&props.vpc_endpoint_id, deadline).await?;
        self.register(props, &ips).await?;
        Ok(Success {
            physical_resource_id: id,
            data: ip_data(&ips),
        })
    }

    /// An Update on the same endpoint: register for the new properties, then
    /// remove the endpoint's IPs from the (group, port) pairs no longer listed.
    async fn update_in_place(
        &self,
        props: &EndpointTargetsProps,
        old: Option<EndpointTargetsProps>,
        id: String,
        deadline: Instant,
    ) -> Result<Success, Failure> {
        let success = self.create(props, id, deadline).await?;
        if let Some(old) = old.filter(|old| old.vpc_endpoint_id == props.vpc_endpoint_id) {
            let dropped: Vec<String> = old
                .target_group_arns
                .iter()
                .filter(|arn| old.port != props.port || !props.target_group_arns.contains(arn))
                .cloned()
                .collect();
            if !dropped.is_empty() {
                let ips: BTreeSet<String> = ip_list(&success.data).collect();
                self.deregister(&dropped, old.port, &ips).await?;
            }
        }
        Ok(success)
    }

    async fn delete(
        &self,
        props: Result<EndpointTargetsProps, PropertyError>,
        id: String,
    ) -> Result<Success, Failure> {
        let done = Success {
            physical_resource_id: id,
            data: BTreeMap::new(),
        };
        // Properties that never parsed never created anything.
        let Ok(props) = props else {
            return Ok(done);
        };
        if let Some(ips) = self.current_ips(&props.vpc_endpoint_id).await? {
            self.deregister(&props.target_group_arns, props.port, &ips)
                .await?;
        }
        Ok(done)
    }
}

fn ip_list(data: &BTreeMap<String, String>) -> impl Iterator<Item = String> + '_ {
    data.get("Ips")
        .into_iter()
        .flat_map(|ips| ips.split(','))
        .filter(|ip| !ip.is_empty())
        .map(str::to_owned)
}

fn aws_failure(err: AwsError) -> Failure {
    Failure::new(format!("{err}."))
}

impl<D, R> CustomResource for EndpointTargets<D, R>
where
    D: EndpointDirectory + 'static,
    R: TargetRegistry + 'static,
{
    fn physical_resource_id(&self, request: &Request) -> Option<String> {
        let common = custom_resource::common(request);
        let props = EndpointTargetsProps::parse(common.properties).ok()?;
        Some(physical_id(
            common.stack_id,
            common.logical_resource_id,
            &props.vpc_endpoint_id,
        ))
    }

    async fn handle(
        &self,
        request: Arc<Request>,
        invocation: Invocation,
    ) -> Result<Success, Failure> {
        let common = custom_resource::common(&request);
        let id_for = |props: &EndpointTargetsProps| {
            physical_id(
                common.stack_id,
                common.logical_resource_id,
                &props.vpc_endpoint_id,
            )
        };
        match request.as_ref() {
            Request::Create(_) => {
                let props = EndpointTargetsProps::parse(common.properties)?;
                self.create(&props, id_for(&props), invocation.deadline)
                    .await
            }
            Request::Update(update) => {
                let props = EndpointTargetsProps::parse(common.properties)?;
                let old = EndpointTargetsProps::parse(&update.old_resource_properties).ok();
                self.update_in_place(&props, old, id_for(&props), invocation.deadline)
                    .await
            }
            Request::Delete(delete) => {
                let props = EndpointTargetsProps::parse(common.properties);
                self.delete(props, delete.physical_resource_id.clone())
                    .await
            }
            _ => Err(Failure::new("Unknown RequestType.")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef";

    fn eni(az: &str, ip: &str) -> NetworkInterface {
        NetworkInterface {
            id: format!("eni-{ip}"),
            availability_zone: az.into(),
            private_ip: Some(ip.into()),
        }
    }

    #[test]
    fn ips_are_ordered_by_zone_then_numerically() {
        let enis = [
            eni("us-east-1b", "10.0.1.5"),
            eni("us-east-1a", "10.0.0.20"),
            eni("us-east-1a", "10.0.0.3"),
        ];
        assert_eq!(ordered_ips(&enis), ["10.0.0.3", "10.0.0.20", "10.0.1.5"]);
        let data = ip_data(&ordered_ips(&enis));
        assert_eq!(data["IP0"], "10.0.0.3");
        assert_eq!(data["IP2"], "10.0.1.5");
        assert_eq!(data["IpCount"], "3");
        assert_eq!(data["Ips"], "10.0.0.3,10.0.0.20,10.0.1.5");
    }

    #[test]
    fn properties_accept_strings_and_reject_bad_input() {
        let p = EndpointTargetsProps::parse(&json!({
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f",
            "VpcEndpointId": "vpce-0123456789abcdef0",
            "TargetGroupArns": [ARN, ARN],
            "Port": "8443"
        }))
        .unwrap();
        assert_eq!(p.port, 8443);
        assert_eq!(p.target_group_arns, [ARN]);

        let cases = [
            (json!({"TargetGroupArns": [ARN]}), "VpcEndpointId"),
            (
                json!({"VpcEndpointId": "vpc-123", "TargetGroupArns": [ARN]}),
                "VpcEndpointId",
            ),
            (
                json!({"VpcEndpointId": "vpce-01234567", "TargetGroupArns": []}),
                "TargetGroupArns",
            ),
            (
                json!({"VpcEndpointId": "vpce-01234567", "TargetGroupArns": [ARN, ARN, ARN, ARN, ARN, ARN]}),
                "TargetGroupArns",
            ),
            (
                json!({"VpcEndpointId": "vpce-01234567", "TargetGroupArns": ["arn:aws:s3:::b"]}),
                "TargetGroupArns",
            ),
            (
                json!({"VpcEndpointId": "vpce-01234567", "TargetGroupArns": [ARN], "Port": "70000"}),
                "Port",
            ),
            (
                json!({"VpcEndpointId": "vpce-01234567", "TargetGroupArns": [ARN], "Port": true}),
                "Port",
            ),
        ];
        for (value, field) in cases {
            assert_eq!(
                EndpointTargetsProps::parse(&value).unwrap_err().property,
                field,
                "{value}"
            );
        }
    }

    #[test]
    fn the_physical_id_changes_only_with_the_endpoint() {
        let stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/front/1234";
        assert_eq!(
            physical_id(stack, "Targets", "vpce-1"),
            physical_id(stack, "Targets", "vpce-1")
        );
        assert_ne!(
            physical_id(stack, "Targets", "vpce-1"),
            physical_id(stack, "Targets", "vpce-2")
        );
        assert_eq!(
            physical_id(stack, "Targets", "vpce-1"),
            "front/Targets/vpce-1"
        );
    }
}
