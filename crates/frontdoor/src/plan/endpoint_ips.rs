//! The endpoint's IPs: the one definition, which `eni-targets` and
//! `target-sync` share so that they can never disagree about an endpoint.
//!
//! An endpoint's IPs are known only when it is `available` and every network
//! interface it lists is described with an IPv4 address. Anything less is
//! unknown, and unknown never empties a target group (the never-empty guard).

use crate::model::{Endpoint, NetworkInterface};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// What an endpoint's description and its interfaces say about its IPs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointIps {
    /// The interfaces the IPs come from.
    pub interfaces: BTreeSet<String>,
    /// One per interface, ordered by Availability Zone, then numerically,
    /// so that `IP0…IPn` are stable across calls.
    pub ips: Vec<Ipv4Addr>,
    /// `available` with fewer interfaces than subnets: EC2 is still adding
    /// one, so these are not yet the whole set. Register them; deregister
    /// nothing.
    pub transitional: bool,
    /// How many subnets the endpoint is in.
    pub subnets: usize,
}

impl EndpointIps {
    /// The IPs as text, in order.
    pub fn ip_strings(&self) -> Vec<String> {
        self.ips.iter().map(Ipv4Addr::to_string).collect()
    }

    /// The IPs as a set of text, for the target planners.
    pub fn ip_set(&self) -> BTreeSet<String> {
        self.ips.iter().map(Ipv4Addr::to_string).collect()
    }
}

/// Why an endpoint's IPs are unknown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnknownIps {
    #[error("endpoint {0} does not exist in this account and Region")]
    Missing(String),
    #[error("endpoint {id} is a {kind} endpoint; it must be an Interface endpoint")]
    NotInterface { id: String, kind: String },
    #[error("endpoint {id} is {state}, not available")]
    NotAvailable { id: String, state: String },
    #[error("endpoint {0} has no network interfaces; give it subnets before registering its IPs")]
    NoInterfaces(String),
    #[error(
        "network interface {interface} of endpoint {id} could not be described with an IPv4 address"
    )]
    Undescribed { id: String, interface: String },
}

/// The one definition: the IPs of `endpoint_id`, from what `DescribeVpcEndpoints`
/// returned (by id) and what `DescribeNetworkInterfaces` returned (by id).
pub fn endpoint_ips(
    endpoint_id: &str,
    endpoints: &BTreeMap<String, Endpoint>,
    interfaces: &BTreeMap<String, NetworkInterface>,
) -> Result<EndpointIps, UnknownIps> {
    let endpoint = endpoints
        .get(endpoint_id)
        .ok_or_else(|| UnknownIps::Missing(endpoint_id.to_owned()))?;
    if endpoint.endpoint_type != "Interface" {
        return Err(UnknownIps::NotInterface {
            id: endpoint_id.to_owned(),
            kind: endpoint.endpoint_type.clone(),
        });
    }
    if endpoint.state != "available" {
        return Err(UnknownIps::NotAvailable {
            id: endpoint_id.to_owned(),
            state: endpoint.state.clone(),
        });
    }
    if endpoint.network_interface_ids.is_empty() {
        return Err(UnknownIps::NoInterfaces(endpoint_id.to_owned()));
    }
    let mut located = endpoint
        .network_interface_ids
        .iter()
        .map(|id| {
            interfaces
                .get(id)
                .and_then(|n| {
                    let ip: Ipv4Addr = n.private_ip.as_deref()?.parse().ok()?;
                    Some((n.availability_zone.as_str(), ip))
                })
                .ok_or_else(|| UnknownIps::Undescribed {
                    id: endpoint_id.to_owned(),
                    interface: id.clone(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    located.sort();
    Ok(EndpointIps {
        interfaces: endpoint.network_interface_ids.iter().cloned().collect(),
        ips: located.into_iter().map(|(_, ip)| ip).collect(),
        transitional: endpoint.is_transitional(),
        subnets: endpoint.subnet_ids.len(),
    })
}

/// Indexes what a `Describe*` call returned by id.
pub fn by_id<T>(items: Vec<T>, id: impl Fn(&T) -> &str) -> BTreeMap<String, T> {
    items
        .into_iter()
        .map(|item| (id(&item).to_owned(), item))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(state: &str, enis: &[&str], subnets: usize) -> BTreeMap<String, Endpoint> {
        by_id(
            vec![Endpoint {
                id: "vpce-1".into(),
                endpoint_type: "Interface".into(),
                state: state.into(),
                subnet_ids: (0..subnets).map(|i| format!("subnet-{i}")).collect(),
                network_interface_ids: enis.iter().map(|s| s.to_string()).collect(),
            }],
            |e| &e.id,
        )
    }

    fn interfaces(list: &[(&str, &str, Option<&str>)]) -> BTreeMap<String, NetworkInterface> {
        by_id(
            list.iter()
                .map(|(id, az, ip)| NetworkInterface {
                    id: id.to_string(),
                    availability_zone: az.to_string(),
                    private_ip: ip.map(str::to_owned),
                })
                .collect(),
            |n| &n.id,
        )
    }

    #[test]
    fn ips_are_ordered_by_zone_then_numerically() {
        let enis = interfaces(&[
            ("eni-b", "us-east-1b", Some("10.0.1.5")),
            ("eni-a2", "us-east-1a", Some("10.0.0.20")),
            ("eni-a1", "us-east-1a", Some("10.0.0.3")),
        ]);
        let ips = endpoint_ips(
            "vpce-1",
            &endpoint("available", &["eni-b", "eni-a2", "eni-a1"], 3),
            &enis,
        )
        .unwrap();
        assert_eq!(ips.ip_strings(), ["10.0.0.3", "10.0.0.20", "10.0.1.5"]);
        assert!(!ips.transitional);
    }

    #[test]
    fn anything_short_of_every_interface_described_is_unknown() {
        let enis = interfaces(&[
            ("eni-a", "us-east-1a", Some("10.0.0.1")),
            ("eni-b", "us-east-1b", None),
        ]);
        let cases = [
            (endpoint("available", &["eni-a", "eni-b"], 2), "Undescribed"),
            (endpoint("available", &["eni-a", "eni-c"], 2), "Undescribed"),
            (endpoint("pending", &["eni-a"], 1), "NotAvailable"),
            (endpoint("available", &[], 1), "NoInterfaces"),
            (BTreeMap::new(), "Missing"),
        ];
        for (endpoints, variant) in cases {
            let error = endpoint_ips("vpce-1", &endpoints, &enis).unwrap_err();
            assert!(format!("{error:?}").starts_with(variant), "{error:?}");
        }
    }

    #[test]
    fn fewer_interfaces_than_subnets_is_transitional() {
        let enis = interfaces(&[("eni-a", "us-east-1a", Some("10.0.0.1"))]);
        let ips = endpoint_ips("vpce-1", &endpoint("available", &["eni-a"], 2), &enis).unwrap();
        assert!(ips.transitional);
        assert_eq!(ips.interfaces, BTreeSet::from(["eni-a".to_owned()]));
    }
}
