//! A hostname binding's group: the run's DNS answer, the no-flap plan of
//! [`crate::plan::hostname`], and its writes.

use super::reads::Shared;
use super::{BindingReport, DNS_QUERIES_PER_RUN, Syncer};
use crate::model::{Family, TargetGroup};
use crate::plan::hostname::hostname_plan;
use crate::plan::unseen::{state_from_tags, state_tags, state_writes};
use crate::ports::{
    EndpointDirectory, NameResolver, SubnetDirectory, TargetGroupTags, TargetRegistry,
};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

impl<D, R, N> Syncer<D, R, N>
where
    D: EndpointDirectory + SubnetDirectory,
    R: TargetRegistry + TargetGroupTags,
    N: NameResolver,
{
    /// A hostname binding's group: the run's answer of the group's family
    /// (asked for once per binding and family), the no-flap plan, then its
    /// writes: registrations, deregistrations, and last the state, so that a
    /// failed write leaves the state of the run before (a later deregistration,
    /// never an earlier one).
    pub(super) async fn reconcile_hostname_group(
        &self,
        name: &str,
        port: u16,
        group: &TargetGroup,
        shared: &Shared,
        answers: &mut BTreeMap<Family, BTreeSet<IpAddr>>,
        report: &mut BindingReport,
    ) -> Result<(), String> {
        let reads = shared.hostnames.as_ref().map_err(Clone::clone)?;
        let answer = match answers.get(&group.family) {
            Some(answer) => answer.clone(),
            None => {
                let answer = self.resolve(name, group.family).await?;
                answers.insert(group.family, answer.clone());
                answer
            }
        };
        let ranges = reads
            .subnets
            .get(&group.vpc_id)
            .map_or(&[][..], Vec::as_slice);
        let in_vpc = |ip: IpAddr| ranges.iter().any(|range| range.contains(&ip));
        let (usable, unusable): (BTreeSet<IpAddr>, BTreeSet<IpAddr>) = answer
            .iter()
            .partition(|&&ip| in_vpc(ip) || elb_takes_outside_vpc(ip));
        for ip in &unusable {
            let ip = ip.to_string();
            if !report.unusable.contains(&ip) {
                report.unusable.push(ip);
            }
        }
        if usable.is_empty() {
            return Err(format!(
                "{name} answered only addresses that ELB cannot take as IP targets ({}); nothing changed",
                report.unusable.join(", ")
            ));
        }
        let arn = group.arn.as_str();
        let current = self.current_targets(arn).await?;
        let no_tags = BTreeMap::new();
        let tags = reads.tags.get(arn).unwrap_or(&no_tags);
        let stored = state_from_tags(tags, port);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let plan = hostname_plan(
            &usable,
            port,
            &current,
            &stored.unseen,
            self.grace,
            now,
            |ip| !in_vpc(ip),
        );
        // The state must fit before anything is written: never targets
        // written and their state lost.
        let (set_tags, remove_tags) = state_tags(&plan.unseen, port)
            .and_then(|wanted| state_writes(&stored, &wanted, tags, port))
            .map_err(|err| format!("target group {arn}: {err}"))?;
        report.unchanged += plan.targets.unchanged;
        report.held += plan.held;
        self.apply(arn, plan.targets, report).await?;
        self.registry
            .add_tags(arn, &set_tags)
            .await
            .map_err(|e| e.to_string())?;
        self.registry
            .remove_tags(arn, &remove_tags)
            .await
            .map_err(|e| e.to_string())
    }

    /// The union of [`DNS_QUERIES_PER_RUN`] answers; any failed query fails
    /// the run's answer, and a binding without an answer is left untouched.
    async fn resolve(&self, name: &str, family: Family) -> Result<BTreeSet<IpAddr>, String> {
        let mut answer = BTreeSet::new();
        for _ in 0..DNS_QUERIES_PER_RUN {
            let addresses = self
                .resolver
                .addresses(name, family)
                .await
                .map_err(|err| format!("desired state unknown: {err}; nothing changed"))?;
            answer.extend(addresses);
        }
        Ok(answer)
    }
}

/// Whether ELB takes this address as an IP target outside the group's VPC:
/// IPv4 from RFC 1918 or RFC 6598 only
/// (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-target-groups.html#target-type).
/// IPv6 is left to ELB to judge.
fn elb_takes_outside_vpc(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private() || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::super::Syncer;
    use super::super::fakes::*;
    use super::*;
    use crate::ports::DnsError;

    #[tokio::test]
    async fn dns_failures_leave_the_group_untouched_and_count_as_errors() {
        let failures = [
            DnsError::NoSuchName { name: "n".into() },
            DnsError::NoRecords {
                name: "n".into(),
                record: "A",
            },
            DnsError::ServerFailure {
                name: "n".into(),
                code: "SERVFAIL".into(),
            },
            DnsError::Timeout { name: "n".into() },
        ];
        for failure in failures {
            let registry = FakeRegistry::new(Family::Ipv4, &[("192.168.7.1", false)]);
            let syncer = Syncer::new(FakeDirectory, registry, FakeResolver(Err(failure.clone())));
            let report = run_once(&syncer, hostname()).await;
            assert!(report.skipped.is_some(), "{failure}");
            assert_eq!(syncer.registry.writes(), 0, "{failure}");
        }
    }

    #[tokio::test]
    async fn on_premises_addresses_go_to_all_zones_and_vpc_ones_do_not() {
        let registry = FakeRegistry::new(Family::Ipv4, &[]);
        let syncer = Syncer::new(
            FakeDirectory,
            registry,
            answering(&["192.168.7.1", "10.0.0.9"]),
        );
        let report = run_once(&syncer, hostname()).await;
        assert_eq!(report.registered, 2);
        let registered = syncer.registry.registered.lock().unwrap().clone();
        let zones: Vec<(String, bool)> = registered
            .iter()
            .map(|t| (t.ip.to_string(), t.all_zones))
            .collect();
        assert_eq!(
            zones,
            [("10.0.0.9".into(), false), ("192.168.7.1".into(), true)]
        );
    }

    #[tokio::test]
    async fn public_addresses_are_never_registered_and_alone_are_an_error() {
        let registry = FakeRegistry::new(Family::Ipv4, &[]);
        let syncer = Syncer::new(
            FakeDirectory,
            registry,
            answering(&["192.168.7.1", "8.8.8.8"]),
        );
        let report = run_once(&syncer, hostname()).await;
        assert_eq!(
            (report.registered, report.unusable.clone()),
            (1, vec!["8.8.8.8".to_owned()])
        );
        assert!(report.skipped.is_none());

        let registry = FakeRegistry::new(Family::Ipv4, &[("192.168.7.1", false)]);
        let syncer = Syncer::new(FakeDirectory, registry, answering(&["8.8.8.8"]));
        let report = run_once(&syncer, hostname()).await;
        assert!(report.skipped.unwrap().contains("cannot take"));
        assert_eq!(syncer.registry.writes(), 0);
    }

    #[test]
    fn elb_takes_private_and_shared_addresses_from_outside_the_vpc() {
        for (ip, takes) in [
            ("10.1.2.3", true),
            ("172.16.0.1", true),
            ("192.168.0.1", true),
            ("100.64.0.1", true),
            ("100.127.255.255", true),
            ("100.128.0.1", false),
            ("8.8.8.8", false),
            ("fd00::1", true),
        ] {
            assert_eq!(elb_takes_outside_vpc(ip.parse().unwrap()), takes, "{ip}");
        }
    }
}
