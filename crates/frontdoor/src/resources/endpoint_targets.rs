//! `Custom::EndpointTargets`: the ENI private IPs of an interface VPC
//! endpoint, registered as IP targets of one to five target groups, each in
//! the address family of its `IpAddressType`.

use crate::cfn::props::{self, Properties, PropertyError};
use crate::cfn::{Context, CustomResource, Data};
use crate::model::{Endpoint, Family, NetworkInterface};
use crate::plan::{self, UnknownIps, by_id, endpoint_ips};
use crate::ports::{AwsError, EndpointDirectory, TargetRegistry};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
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

/// Why a `Custom::EndpointTargets` request failed; the `Display` is the `Reason`.
#[derive(Debug, thiserror::Error)]
pub enum EndpointTargetsError {
    #[error("VpcEndpointId: {0}.")]
    UnknownIps(#[from] UnknownIps),
    #[error(
        "VpcEndpointId {id} {unsettled} and did not settle before the deadline, so there is no complete set of IPs to register."
    )]
    NotSettled { id: String, unsettled: String },
    #[error("TargetGroupArns names {0}, which does not exist.")]
    NoTargetGroup(String),
    #[error(
        "VpcEndpointId: {unknown}; TargetGroupArns names {target_group}, whose IpAddressType is ipv6."
    )]
    NoIpv6 {
        unknown: UnknownIps,
        target_group: String,
    },
    #[error("{0}.")]
    Aws(#[from] AwsError),
}

/// The `Data` of a response: `Ips`, `IpCount` and `IP0…IPn`.
pub fn ip_data(ips: &[String]) -> Data {
    let mut data: Data = ips
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

    /// The endpoint and its interfaces, read now.
    async fn read(&self, endpoint_id: &str) -> Result<Snapshot, AwsError> {
        let endpoints = by_id(
            self.directory.endpoints(&[endpoint_id.to_owned()]).await?,
            |e| &e.id,
        );
        let eni_ids = endpoints
            .get(endpoint_id)
            .map(|e| e.network_interface_ids.clone())
            .unwrap_or_default();
        let interfaces = by_id(self.directory.network_interfaces(&eni_ids).await?, |n| {
            &n.id
        });
        Ok(Snapshot {
            endpoints,
            interfaces,
        })
    }

    /// The family of each group, by ARN; a group that does not exist is an
    /// error, before anything is written.
    async fn families(
        &self,
        arns: &[String],
    ) -> Result<Vec<(String, Family)>, EndpointTargetsError> {
        // In the properties' order: `Data` lists the first group's family.
        let found: BTreeMap<String, Family> =
            self.existing_families(arns).await?.into_iter().collect();
        arns.iter()
            .map(|arn| match found.get(arn) {
                Some(family) => Ok((arn.clone(), *family)),
                None => Err(EndpointTargetsError::NoTargetGroup(arn.clone())),
            })
            .collect()
    }

    /// Waits for the endpoint to settle (`available`, with an interface for
    /// every subnet) and returns its IPs of each family the groups ask for,
    /// ordered. A pending or transitional endpoint is waited for until the
    /// deadline: a partial `Ips` would be published as the whole.
    async fn settled_ips(
        &self,
        endpoint_id: &str,
        groups: &[(String, Family)],
        deadline: Instant,
    ) -> Result<BTreeMap<Family, Vec<IpAddr>>, EndpointTargetsError> {
        loop {
            let snapshot = self.read(endpoint_id).await?;
            let mut settled = BTreeMap::new();
            let mut unsettled = None;
            for (arn, family) in groups {
                match snapshot.ips(endpoint_id, *family) {
                    Ok(ips) if !ips.transitional => {
                        settled.insert(*family, ips.ips.clone());
                    }
                    Ok(ips) => {
                        unsettled = Some(format!(
                            "has {} network interfaces for {} subnets (EC2 is still adding interfaces)",
                            ips.interfaces.len(),
                            ips.subnets
                        ));
                    }
                    Err(UnknownIps::NotAvailable { state, .. })
                        if matches!(state.as_str(), "pending" | "pendingacceptance") =>
                    {
                        unsettled = Some(format!("is {state}"));
                    }
                    Err(unknown @ UnknownIps::NoIpv6 { .. }) => {
                        return Err(EndpointTargetsError::NoIpv6 {
                            unknown,
                            target_group: arn.clone(),
                        });
                    }
                    Err(unknown) => return Err(unknown.into()),
                }
            }
            let Some(unsettled) = unsettled else {
                return Ok(settled);
            };
            if Instant::now() + self.poll_interval + GIVE_UP_BEFORE_DEADLINE >= deadline {
                return Err(EndpointTargetsError::NotSettled {
                    id: endpoint_id.to_owned(),
                    unsettled,
                });
            }
            tracing::info!(endpoint_id, %unsettled, "waiting for the endpoint to settle");
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    /// Registers each group's family of IPs on the port, where missing.
    async fn register(
        &self,
        groups: &[(String, Family)],
        port: u16,
        ips: &BTreeMap<Family, Vec<IpAddr>>,
    ) -> Result<(), EndpointTargetsError> {
        for (arn, family) in groups {
            let current = self
                .registry
                .targets(arn)
                .await?
                .ok_or_else(|| EndpointTargetsError::NoTargetGroup(arn.clone()))?;
            let plan = plan::registration_plan(&ip_set(ips, *family), port, &current);
            self.registry.apply(arn, &plan).await?;
        }
        Ok(())
    }

    /// Deregisters exactly these IPs on the port, each group its family's; a
    /// group already gone is fine.
    async fn deregister(
        &self,
        groups: &[(String, Family)],
        port: u16,
        ips: &BTreeMap<Family, Vec<IpAddr>>,
    ) -> Result<(), EndpointTargetsError> {
        for (arn, family) in groups {
            let Some(current) = self.registry.targets(arn).await? else {
                continue;
            };
            let plan = plan::removal_plan(&ip_set(ips, *family), port, &current);
            self.registry.apply(arn, &plan).await?;
        }
        Ok(())
    }

    /// The groups' families, from a description that leaves out the groups
    /// already gone: a Delete or a cleanup has nothing to do in those.
    async fn existing_families(&self, arns: &[String]) -> Result<Vec<(String, Family)>, AwsError> {
        Ok(self
            .registry
            .target_groups(arns)
            .await?
            .into_iter()
            .map(|g| (g.arn, g.family))
            .collect())
    }
}

/// What `DescribeVpcEndpoints` and `DescribeNetworkInterfaces` returned, by id.
struct Snapshot {
    endpoints: BTreeMap<String, Endpoint>,
    interfaces: BTreeMap<String, NetworkInterface>,
}

impl Snapshot {
    fn ips(&self, endpoint_id: &str, family: Family) -> Result<plan::EndpointIps, UnknownIps> {
        endpoint_ips(endpoint_id, &self.endpoints, &self.interfaces, family)
    }
}

fn ip_set(ips: &BTreeMap<Family, Vec<IpAddr>>, family: Family) -> BTreeSet<IpAddr> {
    ips.get(&family).into_iter().flatten().cloned().collect()
}

/// The `Data` of a response: the IPs of the first group's family (IPv4 for
/// the template's group).
fn data_for(groups: &[(String, Family)], ips: &BTreeMap<Family, Vec<IpAddr>>) -> Data {
    let family = groups.first().map_or(Family::Ipv4, |(_, family)| *family);
    let ips: Vec<String> = ips
        .get(&family)
        .into_iter()
        .flatten()
        .map(IpAddr::to_string)
        .collect();
    ip_data(&ips)
}

impl<D, R> CustomResource for EndpointTargets<D, R>
where
    D: EndpointDirectory + 'static,
    R: TargetRegistry + 'static,
{
    type Properties = EndpointTargetsProps;
    type Error = EndpointTargetsError;

    fn parse(properties: &Value) -> Result<Self::Properties, PropertyError> {
        EndpointTargetsProps::parse(properties)
    }

    /// Another endpoint is another resource; other groups or another port
    /// are an Update in place.
    fn identity(properties: &Self::Properties) -> &str {
        &properties.vpc_endpoint_id
    }

    async fn create(
        &self,
        properties: &Self::Properties,
        context: &Context<'_>,
    ) -> Result<Data, EndpointTargetsError> {
        let groups = self.families(&properties.target_group_arns).await?;
        let ips = self
            .settled_ips(&properties.vpc_endpoint_id, &groups, context.deadline)
            .await?;
        self.register(&groups, properties.port, &ips).await?;
        Ok(data_for(&groups, &ips))
    }

    /// On the same endpoint: register for the new properties, then remove
    /// the endpoint's IPs from the (group, port) pairs no longer listed.
    async fn update(
        &self,
        properties: &Self::Properties,
        old: Option<&Self::Properties>,
        context: &Context<'_>,
    ) -> Result<Data, EndpointTargetsError> {
        let groups = self.families(&properties.target_group_arns).await?;
        let mut ips = self
            .settled_ips(&properties.vpc_endpoint_id, &groups, context.deadline)
            .await?;
        self.register(&groups, properties.port, &ips).await?;
        if let Some(old) = old.filter(|old| old.vpc_endpoint_id == properties.vpc_endpoint_id) {
            let dropped: Vec<String> = old
                .target_group_arns
                .iter()
                .filter(|arn| {
                    old.port != properties.port || !properties.target_group_arns.contains(arn)
                })
                .cloned()
                .collect();
            let dropped = self.existing_families(&dropped).await?;
            // A dropped group of a family the new groups do not use.
            if dropped.iter().any(|(_, family)| !ips.contains_key(family)) {
                let snapshot = self.read(&properties.vpc_endpoint_id).await?;
                for (_, family) in &dropped {
                    if let Ok(found) = snapshot.ips(&properties.vpc_endpoint_id, *family) {
                        ips.entry(*family).or_insert_with(|| found.ips.clone());
                    }
                }
            }
            self.deregister(&dropped, old.port, &ips).await?;
        }
        Ok(data_for(&groups, &ips))
    }

    /// Removes the endpoint's IPs, as the one definition reads them now.
    /// When they are unknown (the endpoint or its interfaces are gone) there
    /// is nothing that is provably ours to remove, and nothing is touched.
    async fn delete(
        &self,
        properties: &Self::Properties,
        _context: &Context<'_>,
    ) -> Result<(), EndpointTargetsError> {
        let groups = self
            .existing_families(&properties.target_group_arns)
            .await?;
        if groups.is_empty() {
            tracing::info!("the target groups are gone: nothing to deregister");
            return Ok(());
        }
        let snapshot = self.read(&properties.vpc_endpoint_id).await?;
        let mut ips = BTreeMap::new();
        for (_, family) in &groups {
            match snapshot.ips(&properties.vpc_endpoint_id, *family) {
                Ok(found) => {
                    ips.insert(*family, found.ips.clone());
                }
                Err(unknown) => {
                    tracing::info!(reason = %unknown, "the endpoint's IPs of this family are unknown: nothing of it to deregister");
                }
            }
        }
        self.deregister(&groups, properties.port, &ips).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef";

    #[test]
    fn data_lists_every_ip_in_order() {
        let data = ip_data(&["10.0.0.3".into(), "10.0.0.20".into(), "10.0.1.5".into()]);
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
}
