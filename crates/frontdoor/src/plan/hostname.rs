//! A hostname binding's plan: a DNS name's addresses as the targets, without
//! flapping.
//!
//! Round-robin DNS servers often answer with a rotating subset of a name's
//! addresses, so an address missing from one run's answer may still be the
//! name's. The rule:
//! - an answered address is registered on the first run that sees it;
//! - a registered address is deregistered only once it has been missing from
//!   every answer for `grace_runs` consecutive runs.
//!
//! How many runs each registered address has been missing is the state. It
//! lives on the target group itself, as tags, because every run may be a cold
//! start and the group is the one thing each run reads anyway.

use super::targets::{TargetPlan, present_on};
use crate::model::{RegisteredTarget, Target};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// The prefix of the state tags: `frontdoor:unseen:<port>:<ip>` = runs missing.
pub const UNSEEN_TAG_PREFIX: &str = "frontdoor:unseen:";

/// The runs each registered address has been missing from the answers, by address.
pub type Unseen = BTreeMap<IpAddr, u32>;

/// The tag key that holds `ip`'s count on `port`. The port comes first: an IPv6
/// address holds colons too.
pub fn unseen_tag_key(port: u16, ip: IpAddr) -> String {
    format!("{UNSEEN_TAG_PREFIX}{port}:{ip}")
}

/// The state of `port` in a target group's tags. Tags of other ports, and
/// tags that do not parse (set by hand), are not this binding's state.
pub fn unseen_from_tags(tags: &BTreeMap<String, String>, port: u16) -> Unseen {
    let prefix = format!("{UNSEEN_TAG_PREFIX}{port}:");
    tags.iter()
        .filter_map(|(key, value)| {
            let ip = key.strip_prefix(&prefix)?.parse().ok()?;
            Some((ip, value.parse().ok()?))
        })
        .collect()
}

/// The writes of one run for one target group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostnamePlan {
    pub targets: TargetPlan,
    /// State tags to write (key → runs missing).
    pub set_tags: BTreeMap<String, String>,
    /// State tags to remove: their address was answered again, or is gone.
    pub remove_tags: Vec<String>,
    /// Registered addresses missing from the answer but kept, within grace.
    pub held: usize,
}

impl HostnamePlan {
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty() && self.set_tags.is_empty() && self.remove_tags.is_empty()
    }
}

/// The plan of one run: `answer` is the union of the run's DNS answers, of the
/// group's address family, and never empty (the caller's never-empty guard:
/// an empty or failed answer leaves the group and its state untouched).
/// `all_zones` says which addresses lie outside the target group's VPC
/// subnets, and so are registered for every Availability Zone.
pub fn hostname_plan(
    answer: &BTreeSet<IpAddr>,
    port: u16,
    current: &[RegisteredTarget],
    unseen: &Unseen,
    grace_runs: u32,
    all_zones: impl Fn(IpAddr) -> bool,
) -> HostnamePlan {
    if answer.is_empty() {
        return HostnamePlan::default();
    }
    let present = present_on(port, current);
    let target = |ip: IpAddr| Target {
        ip,
        port,
        all_zones: all_zones(ip),
    };
    let mut plan = HostnamePlan::default();
    plan.targets.register = answer.difference(&present).map(|&ip| target(ip)).collect();
    plan.targets.unchanged = answer.intersection(&present).count();
    let mut unseen_now = Unseen::new();
    for &ip in present.difference(answer) {
        let runs = unseen.get(&ip).copied().unwrap_or(0).saturating_add(1);
        if runs >= grace_runs {
            plan.targets.deregister.push(target(ip));
        } else {
            unseen_now.insert(ip, runs);
            plan.held += 1;
        }
    }
    for (&ip, &runs) in &unseen_now {
        if unseen.get(&ip) != Some(&runs) {
            plan.set_tags
                .insert(unseen_tag_key(port, ip), runs.to_string());
        }
    }
    plan.remove_tags = unseen
        .keys()
        .filter(|ip| !unseen_now.contains_key(ip))
        .map(|&ip| unseen_tag_key(port, ip))
        .collect();
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TargetState;
    use proptest::prelude::*;

    const PORT: u16 = 443;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 1, 0, last])
    }

    fn registered(ips: &BTreeSet<IpAddr>) -> Vec<RegisteredTarget> {
        ips.iter()
            .map(|ip| RegisteredTarget {
                target: Target {
                    ip: *ip,
                    port: PORT,
                    all_zones: true,
                },
                state: TargetState::Healthy,
            })
            .collect()
    }

    /// One target group and its tags, as ELB would keep them across runs.
    #[derive(Default)]
    struct Group {
        targets: BTreeSet<IpAddr>,
        tags: BTreeMap<String, String>,
    }

    impl Group {
        /// One run against this answer; returns what it deregistered.
        fn run(&mut self, answer: &BTreeSet<IpAddr>, grace: u32) -> Vec<IpAddr> {
            let unseen = unseen_from_tags(&self.tags, PORT);
            let plan = hostname_plan(
                answer,
                PORT,
                &registered(&self.targets),
                &unseen,
                grace,
                |_| true,
            );
            self.targets
                .extend(plan.targets.register.iter().map(|t| t.ip));
            let gone: Vec<IpAddr> = plan.targets.deregister.iter().map(|t| t.ip).collect();
            for ip in &gone {
                self.targets.remove(ip);
            }
            self.tags.extend(plan.set_tags);
            for key in plan.remove_tags {
                self.tags.remove(&key);
            }
            gone
        }
    }

    #[test]
    fn a_new_address_is_registered_at_once_for_all_zones() {
        let mut group = Group::default();
        group.run(&BTreeSet::from([ip(1)]), 3);
        assert_eq!(group.targets, BTreeSet::from([ip(1)]));
        let plan = hostname_plan(
            &BTreeSet::from([ip(2)]),
            PORT,
            &[],
            &Unseen::new(),
            3,
            |ip| ip == IpAddr::from([10, 1, 0, 2]),
        );
        assert!(plan.targets.register[0].all_zones);
    }

    #[test]
    fn a_missing_address_goes_after_exactly_the_grace_runs() {
        let mut group = Group::default();
        group.run(&BTreeSet::from([ip(1), ip(2)]), 3);
        let only_one = BTreeSet::from([ip(1)]);
        assert!(group.run(&only_one, 3).is_empty());
        assert_eq!(group.tags[&unseen_tag_key(PORT, ip(2))], "1");
        assert!(group.run(&only_one, 3).is_empty());
        assert_eq!(group.tags[&unseen_tag_key(PORT, ip(2))], "2");
        assert_eq!(group.run(&only_one, 3), [ip(2)]);
        assert!(group.tags.is_empty(), "the state goes with the address");
    }

    #[test]
    fn an_answered_address_clears_its_count() {
        let mut group = Group::default();
        group.run(&BTreeSet::from([ip(1), ip(2)]), 3);
        group.run(&BTreeSet::from([ip(1)]), 3);
        group.run(&BTreeSet::from([ip(1)]), 3);
        group.run(&BTreeSet::from([ip(2)]), 3);
        assert!(!group.tags.contains_key(&unseen_tag_key(PORT, ip(2))));
        assert_eq!(group.tags[&unseen_tag_key(PORT, ip(1))], "1");
        assert!(group.run(&BTreeSet::from([ip(2)]), 3).is_empty());
        assert_eq!(group.targets, BTreeSet::from([ip(1), ip(2)]));
    }

    #[test]
    fn a_settled_group_writes_nothing() {
        let answer = BTreeSet::from([ip(1), ip(2)]);
        let plan = hostname_plan(
            &answer,
            PORT,
            &registered(&answer),
            &Unseen::new(),
            3,
            |_| true,
        );
        assert!(plan.is_empty());
        assert_eq!(plan.targets.unchanged, 2);
    }

    #[test]
    fn state_of_other_ports_and_foreign_tags_is_left_alone() {
        let tags = BTreeMap::from([
            (unseen_tag_key(8443, ip(1)), "2".to_owned()),
            (
                format!("{UNSEEN_TAG_PREFIX}{PORT}:not-an-ip"),
                "1".to_owned(),
            ),
            (unseen_tag_key(PORT, ip(2)), "x".to_owned()),
            ("frontdoor:stack".to_owned(), "arn".to_owned()),
            (unseen_tag_key(PORT, ip(3)), "1".to_owned()),
        ]);
        assert_eq!(unseen_from_tags(&tags, PORT), Unseen::from([(ip(3), 1)]));
        let v6: IpAddr = "fd00::1".parse().unwrap();
        let key = unseen_tag_key(PORT, v6);
        let tags = BTreeMap::from([(key, "2".to_owned())]);
        assert_eq!(unseen_from_tags(&tags, PORT), Unseen::from([(v6, 2)]));
    }

    #[test]
    fn an_empty_answer_plans_nothing() {
        let present = BTreeSet::from([ip(1)]);
        let unseen = Unseen::from([(ip(1), 2)]);
        let plan = hostname_plan(
            &BTreeSet::new(),
            PORT,
            &registered(&present),
            &unseen,
            3,
            |_| true,
        );
        assert!(plan.is_empty());
    }

    proptest! {
        /// The no-flap rule. Answers are non-empty subsets of a fixed set of 6
        /// addresses, whatever a rotating server returns. Over any sequence:
        /// - an address is deregistered exactly when it was registered and has
        ///   been missing from the last `grace` answers in a row (so an address
        ///   that shows up at least once in every `grace` runs is never
        ///   deregistered);
        /// - every answered address is registered after the run;
        /// - the group is never empty after the first run.
        #[test]
        fn rotating_subsets_never_deregister_an_address_still_answered_within_grace(
            grace in 1u32..5,
            answers in proptest::collection::vec(
                proptest::collection::btree_set(0u8..6, 1..=6), 1..30),
        ) {
            let mut group = Group::default();
            let mut last_seen: BTreeMap<IpAddr, usize> = BTreeMap::new();
            for (run, answer) in answers.iter().enumerate() {
                let answer: BTreeSet<IpAddr> = answer.iter().map(|&n| ip(n)).collect();
                let before = group.targets.clone();
                let gone = group.run(&answer, grace);
                for &addr in &answer {
                    last_seen.insert(addr, run);
                }
                let expected: Vec<IpAddr> = before
                    .iter()
                    .copied()
                    .filter(|a| run - last_seen[a] >= grace as usize)
                    .collect();
                prop_assert_eq!(&gone, &expected, "run {}", run);
                prop_assert!(answer.is_subset(&group.targets));
                prop_assert!(!group.targets.is_empty());
            }
        }
    }
}
