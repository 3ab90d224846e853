//! `Custom::EndpointTargets`: the ENI private IPs of an interface VPC
//! endpoint, registered as IP targets of one to five target groups, each in
//! the address family of its `IpAddressType`.
//!
//! Each resource records its claim on every group it fills (`ownership`,
//! with the rule of [`crate::plan::claims`]), so that its Delete deregisters
//! only what no other live owner still claims.

mod ownership;
mod properties;

pub use properties::{EndpointTargetsProps, MAX_TARGET_GROUPS, ip_data};

use crate::cfn::props::PropertyError;
use crate::cfn::{Context, CustomResource, Data};
use crate::model::{Endpoint, Family, NetworkInterface};
use crate::plan::claims::Claim;
use crate::plan::{self, Owner, UnknownIps, by_id, endpoint_ips};
use crate::ports::{AwsError, EndpointDirectory, TargetGroupTags, TargetRegistry};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;
use tokio::time::Instant;

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
    #[error(
        "TargetGroupArns names {target_group}, where this resource's ownership tag would be tag number {total}, over ELB's 50 per target group; nothing was changed."
    )]
    NoRoomForClaim { target_group: String, total: usize },
    #[error(
        "TargetGroupArns names {target_group}, where this resource's ownership could not be recorded ({error}); nothing was changed."
    )]
    ClaimNotRecorded {
        target_group: String,
        error: AwsError,
    },
    #[error("{0}.")]
    Aws(#[from] AwsError),
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

/// Each listed group, with its family, in the properties' order.
type Groups = [(String, Family)];
/// The endpoint's IPs of each family the groups ask for, ordered.
type Ips = BTreeMap<Family, Vec<IpAddr>>;

impl<D: EndpointDirectory, R: TargetRegistry + TargetGroupTags> EndpointTargets<D, R> {
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
        groups: &Groups,
        deadline: Instant,
    ) -> Result<Ips, EndpointTargetsError> {
        loop {
            let snapshot = self.read(endpoint_id).await?;
            let mut settled = BTreeMap::new();
            let mut unsettled = None;
            for (arn, family) in groups {
                match snapshot.ips(endpoint_id, *family) {
                    Ok(ips) if !ips.transitional => {
                        settled.insert(*family, ips.ips);
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

    /// Fills the listed groups with the endpoint's IPs on the port, for
    /// `owner`: the groups and their room for its claim are checked, the
    /// endpoint settled, the claim recorded on every group, and only then
    /// the missing targets registered. A failure before the claims changes
    /// nothing, and a claim that cannot be recorded is undone.
    async fn fill(
        &self,
        properties: &EndpointTargetsProps,
        owner: &Owner,
        deadline: Instant,
    ) -> Result<(Vec<(String, Family)>, Ips), EndpointTargetsError> {
        let groups = self.families(&properties.target_group_arns).await?;
        let claim = Claim::new(&properties.vpc_endpoint_id, properties.port);
        let tags = self.check_room(&groups, &claim, owner).await?;
        let ips = self
            .settled_ips(&properties.vpc_endpoint_id, &groups, deadline)
            .await?;
        self.record(&groups, &claim, owner, &tags).await?;
        for (arn, family) in &groups {
            let current = self
                .registry
                .targets(arn)
                .await?
                .ok_or_else(|| EndpointTargetsError::NoTargetGroup(arn.clone()))?;
            let plan = plan::registration_plan(&ip_set(&ips, *family), properties.port, &current);
            self.registry.apply(arn, &plan).await?;
        }
        Ok((groups, ips))
    }

    /// Lets go of every listed group that still exists, as the resource of
    /// `properties`: deregisters the endpoint's current IPs (as the one
    /// definition reads them) that no other owner claims, and removes its
    /// claim. When a family's IPs are unknown (the endpoint or its interfaces
    /// are gone), nothing of it is provably this resource's, and nothing of
    /// it is deregistered.
    async fn leave(
        &self,
        properties: &EndpointTargetsProps,
        owner: &Owner,
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
                    ips.insert(*family, found.ips);
                }
                Err(unknown) => {
                    tracing::info!(reason = %unknown, "the endpoint's IPs of this family are unknown: nothing of it to deregister");
                }
            }
        }
        let claim = Claim::new(&properties.vpc_endpoint_id, properties.port);
        self.release(&groups, &claim, owner, &ips, |_| true).await
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

fn ip_set(ips: &Ips, family: Family) -> BTreeSet<IpAddr> {
    ips.get(&family).into_iter().flatten().copied().collect()
}

/// The `Data` of a response: the IPs of the first group's family (IPv4 for
/// the template's group).
fn data_for(groups: &Groups, ips: &Ips) -> Data {
    let family = groups.first().map_or(Family::Ipv4, |(_, family)| *family);
    let ips: Vec<String> = ips
        .get(&family)
        .into_iter()
        .flatten()
        .map(IpAddr::to_string)
        .collect();
    ip_data(&ips)
}

fn owner(context: &Context<'_>) -> Owner {
    Owner::new(context.stack_id, context.logical_resource_id)
}

impl<D, R> CustomResource for EndpointTargets<D, R>
where
    D: EndpointDirectory + 'static,
    R: TargetRegistry + TargetGroupTags + 'static,
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
        let (groups, ips) = self
            .fill(properties, &owner(context), context.deadline)
            .await?;
        Ok(data_for(&groups, &ips))
    }

    /// On the same endpoint the claim moves: the new properties' groups are
    /// filled, then the endpoint's IPs leave the (group, port) pairs no longer
    /// listed, unless another owner claims them there. On another endpoint,
    /// CloudFormation's clean-up Delete of the old id lets go of the old one.
    async fn update(
        &self,
        properties: &Self::Properties,
        old: Option<&Self::Properties>,
        context: &Context<'_>,
    ) -> Result<Data, EndpointTargetsError> {
        let owner = owner(context);
        let (groups, mut ips) = self.fill(properties, &owner, context.deadline).await?;
        match old {
            Some(old) if old.vpc_endpoint_id == properties.vpc_endpoint_id => {
                self.move_claim(properties, old, &owner, &mut ips).await?;
            }
            // Old properties whose id CloudFormation never accepted are those
            // of a failed Update to another endpoint, now rolled back: no
            // Delete will come for that id, so let go of its groups here.
            Some(old)
                if context.physical_resource_id
                    != Some(context.physical_id_for(&old.vpc_endpoint_id).as_str()) =>
            {
                self.leave(old, &owner).await?;
            }
            _ => {}
        }
        Ok(data_for(&groups, &ips))
    }

    async fn delete(
        &self,
        properties: &Self::Properties,
        context: &Context<'_>,
    ) -> Result<(), EndpointTargetsError> {
        self.leave(properties, &owner(context)).await
    }
}
