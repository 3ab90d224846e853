//! A hostname binding's plan: a DNS name's addresses as the targets, without
//! flapping.
//!
//! Round-robin DNS servers often answer with a rotating subset of a name's
//! addresses, so an address missing from one run's answer may still be the
//! name's. The rule:
//! - an answered address is registered on the first run that sees it;
//! - a registered address is deregistered only once it has been missing from
//!   every answer for `grace.runs` counted runs in a row;
//! - a run counts an absence only when `grace.interval` has passed since the
//!   last counted one, so that a duplicate delivery of the schedule's event,
//!   or two runs that overlap, count one absence, not two.
//!
//! How many runs each registered address has been missing, and when the last
//! absence was counted, is the state ([`super::unseen`]). It lives on the
//! target group itself, as tags, because every run may be a cold start and
//! the group is the one thing each run reads anyway.

use super::targets::{TargetPlan, present_on};
use super::unseen::Unseen;
use crate::model::{RegisteredTarget, Target};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

/// The no-flap rule's settings: `FRONTDOOR_DNS_GRACE_RUNS` and
/// `FRONTDOOR_DNS_GRACE_INTERVAL_SECS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grace {
    /// Counted runs an address must be missing before it goes, at least 1.
    pub runs: u32,
    /// How long after a counted absence the next may be counted; zero counts
    /// every run.
    pub interval: Duration,
}

/// The writes of one run for one target group, and the state after it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostnamePlan {
    pub targets: TargetPlan,
    /// The state to store: the held addresses' counts, and when counted.
    pub unseen: Unseen,
    /// Registered addresses missing from the answer but kept, within grace.
    pub held: usize,
}

/// The plan of one run at `now` (seconds since the epoch): `answer` is the
/// union of the run's DNS answers, of the group's address family, and never
/// empty (the caller's never-empty guard: an empty or failed answer leaves
/// the group and its state untouched). `all_zones` says which addresses lie
/// outside the target group's VPC subnets, and so are registered for every
/// Availability Zone.
pub fn hostname_plan(
    answer: &BTreeSet<IpAddr>,
    port: u16,
    current: &[RegisteredTarget],
    unseen: &Unseen,
    grace: Grace,
    now: u64,
    all_zones: impl Fn(IpAddr) -> bool,
) -> HostnamePlan {
    if answer.is_empty() {
        return HostnamePlan {
            unseen: unseen.clone(),
            ..HostnamePlan::default()
        };
    }
    let present = present_on(port, current);
    let target = |ip: IpAddr| Target {
        ip,
        port,
        all_zones: all_zones(ip),
    };
    let counts = unseen
        .counted_at
        .is_none_or(|at| now.saturating_sub(at) >= grace.interval.as_secs());
    let mut plan = HostnamePlan::default();
    plan.targets.register = answer.difference(&present).map(|&ip| target(ip)).collect();
    plan.targets.unchanged = answer.intersection(&present).count();
    let mut runs = BTreeMap::new();
    for &ip in present.difference(answer) {
        let before = unseen.runs.get(&ip).copied().unwrap_or(0);
        let missing = before.saturating_add(u32::from(counts));
        if missing >= grace.runs {
            plan.targets.deregister.push(target(ip));
        } else {
            plan.held += 1;
            if missing > 0 {
                runs.insert(ip, missing);
            }
        }
    }
    let counted_at = match (runs.is_empty(), counts) {
        (true, _) => None,
        (false, true) => Some(now),
        (false, false) => unseen.counted_at,
    };
    plan.unseen = Unseen { counted_at, runs };
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TargetState;
    use proptest::prelude::*;

    const PORT: u16 = 443;
    const MINUTE: u64 = 60;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 1, 0, last])
    }

    /// The rule as the template runs it: 3 runs, counted 50 s apart at least.
    fn grace(runs: u32) -> Grace {
        Grace {
            runs,
            interval: Duration::from_secs(50),
        }
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

    /// One target group and its state, as ELB would keep them across runs.
    #[derive(Default)]
    struct Group {
        targets: BTreeSet<IpAddr>,
        unseen: Unseen,
    }

    impl Group {
        /// One run at `now` against this answer; returns what it deregistered.
        fn run_at(&mut self, answer: &BTreeSet<IpAddr>, grace: Grace, now: u64) -> Vec<IpAddr> {
            let plan = hostname_plan(
                answer,
                PORT,
                &registered(&self.targets),
                &self.unseen,
                grace,
                now,
                |_| true,
            );
            self.targets
                .extend(plan.targets.register.iter().map(|t| t.ip));
            let gone: Vec<IpAddr> = plan.targets.deregister.iter().map(|t| t.ip).collect();
            for ip in &gone {
                self.targets.remove(ip);
            }
            self.unseen = plan.unseen;
            gone
        }

        /// Runs a minute apart, as the schedule makes them.
        fn run(&mut self, answer: &BTreeSet<IpAddr>, runs: u32) -> Vec<IpAddr> {
            let now = self.unseen.counted_at.unwrap_or(0) + MINUTE;
            self.run_at(answer, grace(runs), now)
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
            &Unseen::default(),
            grace(3),
            0,
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
        assert_eq!(group.unseen.runs, BTreeMap::from([(ip(2), 1)]));
        assert!(group.run(&only_one, 3).is_empty());
        assert_eq!(group.unseen.runs, BTreeMap::from([(ip(2), 2)]));
        assert_eq!(group.run(&only_one, 3), [ip(2)]);
        assert_eq!(
            group.unseen,
            Unseen::default(),
            "the state goes with the address"
        );
    }

    #[test]
    fn an_answered_address_clears_its_count() {
        let mut group = Group::default();
        group.run(&BTreeSet::from([ip(1), ip(2)]), 3);
        group.run(&BTreeSet::from([ip(1)]), 3);
        group.run(&BTreeSet::from([ip(1)]), 3);
        group.run(&BTreeSet::from([ip(2)]), 3);
        assert_eq!(group.unseen.runs, BTreeMap::from([(ip(1), 1)]));
        assert!(group.run(&BTreeSet::from([ip(2)]), 3).is_empty());
        assert_eq!(group.targets, BTreeSet::from([ip(1), ip(2)]));
    }

    #[test]
    fn runs_within_the_interval_count_one_absence_and_interval_zero_counts_each() {
        let both = BTreeSet::from([ip(1), ip(2)]);
        let only_one = BTreeSet::from([ip(1)]);
        let mut group = Group::default();
        group.run_at(&both, grace(3), 1_000);
        // A duplicate delivery and an overlapping run, seconds apart.
        for now in [1_060, 1_061, 1_100] {
            assert!(group.run_at(&only_one, grace(3), now).is_empty());
        }
        assert_eq!(group.unseen.runs, BTreeMap::from([(ip(2), 1)]));
        assert_eq!(group.unseen.counted_at, Some(1_060));
        assert!(group.run_at(&only_one, grace(3), 1_110).is_empty());
        assert_eq!(group.run_at(&only_one, grace(3), 1_160), [ip(2)]);

        let every_run = Grace {
            runs: 3,
            interval: Duration::ZERO,
        };
        let mut group = Group::default();
        group.run_at(&both, every_run, 1_000);
        assert!(group.run_at(&only_one, every_run, 1_000).is_empty());
        assert!(group.run_at(&only_one, every_run, 1_000).is_empty());
        assert_eq!(group.run_at(&only_one, every_run, 1_000), [ip(2)]);
    }

    #[test]
    fn a_settled_group_writes_nothing() {
        let answer = BTreeSet::from([ip(1), ip(2)]);
        let plan = hostname_plan(
            &answer,
            PORT,
            &registered(&answer),
            &Unseen::default(),
            grace(3),
            0,
            |_| true,
        );
        assert!(plan.targets.is_empty());
        assert_eq!(plan.unseen, Unseen::default());
        assert_eq!(plan.targets.unchanged, 2);
    }

    #[test]
    fn an_empty_answer_plans_nothing_and_keeps_the_state() {
        let present = BTreeSet::from([ip(1)]);
        let unseen = Unseen {
            counted_at: Some(5),
            runs: BTreeMap::from([(ip(1), 2)]),
        };
        let plan = hostname_plan(
            &BTreeSet::new(),
            PORT,
            &registered(&present),
            &unseen,
            grace(3),
            1_000,
            |_| true,
        );
        assert!(plan.targets.is_empty());
        assert_eq!(plan.unseen, unseen);
    }

    proptest! {
        /// The no-flap rule, one run a minute. Answers are non-empty subsets
        /// of a fixed set of 6 addresses, whatever a rotating server returns.
        /// Over any sequence:
        /// - an address is deregistered exactly when it was registered and has
        ///   been missing from the last `grace` answers in a row (so an address
        ///   that shows up at least once in every `grace` runs is never
        ///   deregistered);
        /// - every answered address is registered after the run;
        /// - the group is never empty after the first run.
        #[test]
        fn rotating_subsets_never_deregister_an_address_still_answered_within_grace(
            runs in 1u32..5,
            answers in proptest::collection::vec(
                proptest::collection::btree_set(0u8..6, 1..=6), 1..30),
        ) {
            let mut group = Group::default();
            let mut last_seen: BTreeMap<IpAddr, usize> = BTreeMap::new();
            for (run, answer) in answers.iter().enumerate() {
                let answer: BTreeSet<IpAddr> = answer.iter().map(|&n| ip(n)).collect();
                let before = group.targets.clone();
                let gone = group.run_at(&answer, grace(runs), run as u64 * MINUTE);
                for &addr in &answer {
                    last_seen.insert(addr, run);
                }
                let expected: Vec<IpAddr> = before
                    .iter()
                    .copied()
                    .filter(|a| run - last_seen[a] >= runs as usize)
                    .collect();
                prop_assert_eq!(&gone, &expected, "run {}", run);
                prop_assert!(answer.is_subset(&group.targets));
                prop_assert!(!group.targets.is_empty());
            }
        }

        /// Runs at any times, duplicates and overlaps included (gaps from 0 to
        /// two intervals): an address is never deregistered before
        /// `grace - 1` intervals have passed since a run last answered it, so
        /// `grace` counted absences are always as far apart as the schedule
        /// makes them; every answered address is registered.
        #[test]
        fn duplicate_and_overlapping_runs_never_speed_a_deregistration(
            runs in 1u32..5,
            steps in proptest::collection::vec(
                (0u64..=100, proptest::collection::btree_set(0u8..6, 1..=6)), 1..40),
        ) {
            let mut group = Group::default();
            let mut last_seen: BTreeMap<IpAddr, u64> = BTreeMap::new();
            let mut now = 1_000;
            for (gap, answer) in &steps {
                now += gap;
                let answer: BTreeSet<IpAddr> = answer.iter().map(|&n| ip(n)).collect();
                let gone = group.run_at(&answer, grace(runs), now);
                for &addr in &answer {
                    last_seen.insert(addr, now);
                }
                for addr in &gone {
                    let earliest = last_seen[addr] + u64::from(runs - 1) * 50;
                    prop_assert!(now >= earliest,
                        "{} gone at {}, seen at {}", addr, now, last_seen[addr]);
                }
                prop_assert!(answer.is_subset(&group.targets));
            }
        }
    }
}
