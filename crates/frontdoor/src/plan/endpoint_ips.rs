//! The endpoint's IPs: the one definition, which `eni-targets` and
//! `target-sync` share so that they can never disagree about an endpoint.
//!
//! An endpoint's IPs are known only when it is `available` and every network
//! interface it lists is described with an address of the family asked for:
//! its primary IPv4 address for an `ipv4` target group, its IPv6 address for
//! an `ipv6` one (a dual-stack endpoint has both). Anything less is unknown,
//! and unknown never empties a target group (the never-empty guard).

use crate::model::{Endpoint, Family, NetworkInterface};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// What an endpoint's description and its interfaces say about its IPs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointIps {
    /// The interfaces the IPs come from.
    pub interfaces: BTreeSet<String>,
    /// One per interface, ordered by Availability Zone, then numerically,
    /// so that `IP0…IPn` are stable across calls.
    pub ips: Vec<IpAddr>,
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
        self.ips.iter().map(IpAddr::to_string).collect()
    }

    /// The IPs as a set, for the target planners.
    pub fn ip_set(&self) -> BTreeSet<IpAddr> {
        self.ips.iter().copied().collect()
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
    #[error(
        "network interface {interface} of endpoint {id} has no IPv6 address; an ipv6 target group needs a dual-stack endpoint"
    )]
    NoIpv6 { id: String, interface: String },
}

/// The one definition: the IPs of `endpoint_id` of one family, from what
/// `DescribeVpcEndpoints` returned (by id) and what `DescribeNetworkInterfaces`
/// returned (by id).
pub fn endpoint_ips(
    endpoint_id: &str,
    endpoints: &BTreeMap<String, Endpoint>,
    interfaces: &BTreeMap<String, NetworkInterface>,
    family: Family,
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
            let undescribed = || UnknownIps::Undescribed {
                id: endpoint_id.to_owned(),
                interface: id.clone(),
            };
            let interface = interfaces.get(id).ok_or_else(undescribed)?;
            let ip = match family {
                Family::Ipv4 => interface
                    .private_ip
                    .as_deref()
                    .and_then(|ip| ip.parse::<std::net::Ipv4Addr>().ok())
                    .map(IpAddr::V4)
                    .ok_or_else(undescribed)?,
                // One per interface, as for IPv4: the lowest, so that a run is stable.
                Family::Ipv6 => interface
                    .ipv6_addresses
                    .iter()
                    .filter_map(|ip| ip.parse::<std::net::Ipv6Addr>().ok())
                    .min()
                    .map(IpAddr::V6)
                    .ok_or_else(|| UnknownIps::NoIpv6 {
                        id: endpoint_id.to_owned(),
                        interface: id.clone(),
                    })?,
            };
            Ok((interface.availability_zone.as_str(), ip))
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
                    ipv6_addresses: Vec::new(),
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
            Family::Ipv4,
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
            let error = endpoint_ips("vpce-1", &endpoints, &enis, Family::Ipv4).unwrap_err();
            assert!(format!("{error:?}").starts_with(variant), "{error:?}");
        }
    }

    #[test]
    fn fewer_interfaces_than_subnets_is_transitional() {
        let enis = interfaces(&[("eni-a", "us-east-1a", Some("10.0.0.1"))]);
        let ips = endpoint_ips(
            "vpce-1",
            &endpoint("available", &["eni-a"], 2),
            &enis,
            Family::Ipv4,
        )
        .unwrap();
        assert!(ips.transitional);
        assert_eq!(ips.interfaces, BTreeSet::from(["eni-a".to_owned()]));
    }

    #[test]
    fn an_ipv6_group_gets_each_interfaces_ipv6_address_or_a_clear_error() {
        let mut enis = interfaces(&[
            ("eni-a", "us-east-1a", Some("10.0.0.1")),
            ("eni-b", "us-east-1b", Some("10.0.1.1")),
        ]);
        let endpoints = endpoint("available", &["eni-a", "eni-b"], 2);
        let error = endpoint_ips("vpce-1", &endpoints, &enis, Family::Ipv6).unwrap_err();
        assert!(error.to_string().contains("has no IPv6 address"), "{error}");
        enis.get_mut("eni-a").unwrap().ipv6_addresses =
            vec!["2600:1f18::9".into(), "2600:1f18::5".into()];
        enis.get_mut("eni-b").unwrap().ipv6_addresses = vec!["2600:1f18:0:1::7".into()];
        let ips = endpoint_ips("vpce-1", &endpoints, &enis, Family::Ipv6).unwrap();
        assert_eq!(ips.ip_strings(), ["2600:1f18::5", "2600:1f18:0:1::7"]);
        let ips = endpoint_ips("vpce-1", &endpoints, &enis, Family::Ipv4).unwrap();
        assert_eq!(ips.ip_strings(), ["10.0.0.1", "10.0.1.1"]);
    }
}
