//! The reads of a run, once for every binding it covers: the groups, then the
//! endpoints and their interfaces for the endpoint bindings, the subnets and
//! the state tags for the hostname bindings. The reads of one kind of source
//! fail only the bindings of that kind.

use super::{Binding, Syncer};
use crate::model::{Endpoint, NetworkInterface, TargetGroup};
use crate::plan::by_id;
use crate::ports::{
    AwsError, EndpointDirectory, NameResolver, SubnetDirectory, TargetGroupTags, TargetRegistry,
};
use ipnet::IpNet;
use std::collections::{BTreeMap, BTreeSet};

/// What the run read once for all the bindings it covers. The reads of one
/// kind of source fail only the bindings of that kind.
pub(super) struct Shared {
    pub groups: BTreeMap<String, TargetGroup>,
    pub endpoints: Result<EndpointReads, String>,
    pub hostnames: Result<HostnameReads, String>,
}

#[derive(Default)]
pub(super) struct EndpointReads {
    pub endpoints: BTreeMap<String, Endpoint>,
    pub interfaces: BTreeMap<String, NetworkInterface>,
}

#[derive(Default)]
pub(super) struct HostnameReads {
    /// The subnets' ranges of the hostname bindings' VPCs, by VPC id.
    pub subnets: BTreeMap<String, Vec<IpNet>>,
    /// The hostname bindings' groups' tags, by ARN.
    pub tags: BTreeMap<String, BTreeMap<String, String>>,
}

impl<D, R, N> Syncer<D, R, N>
where
    D: EndpointDirectory + SubnetDirectory,
    R: TargetRegistry + TargetGroupTags,
    N: NameResolver,
{
    /// One `DescribeTargetGroups` for every binding; for the endpoint
    /// bindings, one `DescribeVpcEndpoints` and one `DescribeNetworkInterfaces`;
    /// for the hostname bindings, one `DescribeSubnets` and one `DescribeTags`.
    pub(super) async fn read_shared(&self, bindings: &[&Binding]) -> Result<Shared, AwsError> {
        let arns = unique(
            bindings
                .iter()
                .flat_map(|b| b.target_group_arns.iter().cloned()),
        );
        let groups = by_id(self.registry.target_groups(&arns).await?, |g| &g.arn);
        let endpoint_ids = unique(
            bindings
                .iter()
                .filter_map(|b| b.vpc_endpoint_id().map(str::to_owned)),
        );
        let hostname_arns = unique(
            bindings
                .iter()
                .filter(|b| b.vpc_endpoint_id().is_none())
                .flat_map(|b| b.target_group_arns.iter().cloned())
                .filter(|arn| groups.contains_key(arn)),
        );
        let endpoints = self.read_endpoints(&endpoint_ids).await.map_err(read_error);
        let hostnames = self
            .read_hostname_state(&hostname_arns, &groups)
            .await
            .map_err(read_error);
        Ok(Shared {
            groups,
            endpoints,
            hostnames,
        })
    }

    async fn read_endpoints(&self, endpoint_ids: &[String]) -> Result<EndpointReads, AwsError> {
        if endpoint_ids.is_empty() {
            return Ok(EndpointReads::default());
        }
        let endpoints = by_id(self.directory.endpoints(endpoint_ids).await?, |e| &e.id);
        let eni_ids = unique(
            endpoints
                .values()
                .filter(|e| e.state == "available")
                .flat_map(|e| e.network_interface_ids.iter().cloned()),
        );
        let interfaces = by_id(self.directory.network_interfaces(&eni_ids).await?, |n| {
            &n.id
        });
        Ok(EndpointReads {
            endpoints,
            interfaces,
        })
    }

    async fn read_hostname_state(
        &self,
        arns: &[String],
        groups: &BTreeMap<String, TargetGroup>,
    ) -> Result<HostnameReads, AwsError> {
        if arns.is_empty() {
            return Ok(HostnameReads::default());
        }
        let vpcs = unique(arns.iter().map(|arn| groups[arn].vpc_id.clone()));
        Ok(HostnameReads {
            subnets: self.directory.subnet_ranges(&vpcs).await?,
            tags: self.registry.tags(arns).await?,
        })
    }
}

pub(super) fn read_error(err: AwsError) -> String {
    format!("desired state unreadable: {err}")
}

fn unique(items: impl Iterator<Item = String>) -> Vec<String> {
    items.collect::<BTreeSet<_>>().into_iter().collect()
}
