//! Fakes of the ports for target-sync's unit tests: an endpoint with two
//! ENIs, one target group that records its writes, a resolver that answers
//! every query the same way.

use super::{Binding, BindingReport, Scope, Source, Syncer};
use crate::model::{
    Endpoint, Family, NetworkInterface, RegisteredTarget, Target, TargetGroup, TargetState,
};
use crate::ports::{
    AwsError, DnsError, EndpointDirectory, NameResolver, SubnetDirectory, TargetGroupTags,
    TargetRegistry,
};
use ipnet::IpNet;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Mutex;
use tokio::time::Instant;

pub(super) const ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef";

/// An endpoint with two ENIs, IPv4 only, in a VPC whose one subnet is 10.0.0.0/24.
pub(super) struct FakeDirectory;

impl EndpointDirectory for FakeDirectory {
    async fn endpoints(&self, ids: &[String]) -> Result<Vec<Endpoint>, AwsError> {
        Ok(ids
            .iter()
            .map(|id| Endpoint {
                id: id.clone(),
                endpoint_type: "Interface".into(),
                state: "available".into(),
                subnet_ids: vec!["subnet-1".into(), "subnet-2".into()],
                network_interface_ids: vec!["eni-1".into(), "eni-2".into()],
            })
            .collect())
    }

    async fn network_interfaces(&self, ids: &[String]) -> Result<Vec<NetworkInterface>, AwsError> {
        Ok(ids
            .iter()
            .enumerate()
            .map(|(i, id)| NetworkInterface {
                id: id.clone(),
                availability_zone: "us-east-1a".into(),
                private_ip: Some(format!("10.0.0.{}", i + 1)),
                ipv6_addresses: Vec::new(),
            })
            .collect())
    }
}

impl SubnetDirectory for FakeDirectory {
    async fn subnet_ranges(
        &self,
        vpc_ids: &[String],
    ) -> Result<BTreeMap<String, Vec<IpNet>>, AwsError> {
        Ok(vpc_ids
            .iter()
            .map(|id| (id.clone(), vec!["10.0.0.0/24".parse().unwrap()]))
            .collect())
    }
}

/// One target group of a family, with a first target that is draining,
/// as only real ELB shows; it records the writes.
pub(super) struct FakeRegistry {
    pub family: Family,
    pub current: Vec<RegisteredTarget>,
    pub registered: Mutex<Vec<Target>>,
    pub deregistered: Mutex<Vec<Target>>,
    pub tagged: Mutex<BTreeMap<String, String>>,
    /// `DescribeTags` fails, as a throttled or denied call would.
    pub tags_fail: bool,
}

impl FakeRegistry {
    pub fn new(family: Family, current: &[(&str, bool)]) -> Self {
        Self {
            family,
            current: current
                .iter()
                .map(|&(ip, draining)| RegisteredTarget {
                    target: Target {
                        ip: ip.parse().unwrap(),
                        port: 443,
                        all_zones: false,
                    },
                    state: if draining {
                        TargetState::Draining
                    } else {
                        TargetState::Healthy
                    },
                })
                .collect(),
            registered: Mutex::default(),
            deregistered: Mutex::default(),
            tagged: Mutex::default(),
            tags_fail: false,
        }
    }

    pub fn writes(&self) -> usize {
        self.registered.lock().unwrap().len()
            + self.deregistered.lock().unwrap().len()
            + self.tagged.lock().unwrap().len()
    }
}

impl TargetRegistry for FakeRegistry {
    async fn target_groups(&self, arns: &[String]) -> Result<Vec<TargetGroup>, AwsError> {
        Ok(arns
            .iter()
            .map(|arn| TargetGroup {
                arn: arn.clone(),
                family: self.family,
                vpc_id: "vpc-1".into(),
            })
            .collect())
    }

    async fn targets(&self, _: &str) -> Result<Option<Vec<RegisteredTarget>>, AwsError> {
        Ok(Some(self.current.clone()))
    }

    async fn register(&self, _: &str, targets: &[Target]) -> Result<(), AwsError> {
        self.registered.lock().unwrap().extend_from_slice(targets);
        Ok(())
    }

    async fn deregister(&self, _: &str, targets: &[Target]) -> Result<(), AwsError> {
        self.deregistered.lock().unwrap().extend_from_slice(targets);
        Ok(())
    }
}

impl TargetGroupTags for FakeRegistry {
    async fn tags(
        &self,
        _: &[String],
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>, AwsError> {
        if self.tags_fail {
            return Err(AwsError {
                operation: "DescribeTags",
                code: Some("Throttling".into()),
                message: "Rate exceeded".into(),
            });
        }
        Ok(BTreeMap::new())
    }

    async fn add_tags(&self, _: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        self.tagged.lock().unwrap().extend(tags.clone());
        Ok(())
    }

    async fn remove_tags(&self, _: &str, _: &[String]) -> Result<(), AwsError> {
        Ok(())
    }
}

/// Answers every query the same way.
pub(super) struct FakeResolver(pub Result<BTreeSet<IpAddr>, DnsError>);

impl NameResolver for FakeResolver {
    async fn addresses(&self, _: &str, _: Family) -> Result<BTreeSet<IpAddr>, DnsError> {
        self.0.clone()
    }
}

pub(super) fn answering(ips: &[&str]) -> FakeResolver {
    FakeResolver(Ok(ips.iter().map(|ip| ip.parse().unwrap()).collect()))
}

pub(super) fn binding(source: Source) -> Binding {
    Binding {
        source,
        target_group_arns: vec![ARN.into()],
        port: 443,
    }
}

pub(super) async fn run_once<N: NameResolver>(
    syncer: &Syncer<FakeDirectory, FakeRegistry, N>,
    source: Source,
) -> BindingReport {
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    let mut report = syncer.run(&[binding(source)], &Scope::All, deadline).await;
    report.bindings.remove(0)
}

pub(super) fn hostname() -> Source {
    Source::Hostname("api.onprem.example".into())
}
