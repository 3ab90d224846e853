//! Pure planners: desired state against current state gives a plan. No I/O.

use crate::model::{RegisteredTarget, Target};
use std::collections::BTreeSet;
use std::net::IpAddr;

/// The writes that bring one target group's targets on one port to the
/// desired IPs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetPlan {
    pub register: Vec<Target>,
    pub deregister: Vec<Target>,
    /// Desired targets already in place.
    pub unchanged: usize,
}

impl TargetPlan {
    pub fn is_empty(&self) -> bool {
        self.register.is_empty() && self.deregister.is_empty()
    }
}

/// The IPs present on `port`: registered and not draining. Compared as
/// addresses, never as text: an IPv6 address has many spellings.
pub fn present_on(port: u16, current: &[RegisteredTarget]) -> BTreeSet<IpAddr> {
    current
        .iter()
        .filter(|t| t.target.port == port && !t.draining())
        .map(|t| t.target.ip)
        .collect()
}

/// Converges the targets on `port` to `desired`, owning them all: register
/// what is missing (a draining target counts as missing) and deregister what
/// is not desired.
///
/// The never-empty guard: when the desired set is unknown (`None`) or empty,
/// nothing is deregistered, because an unreadable endpoint must not empty
/// the group.
pub fn sync_plan(
    desired: Option<&BTreeSet<IpAddr>>,
    port: u16,
    current: &[RegisteredTarget],
) -> TargetPlan {
    let present = present_on(port, current);
    let Some(desired) = desired.filter(|d| !d.is_empty()) else {
        return TargetPlan::default();
    };
    let target = |&ip: &IpAddr| Target {
        ip,
        port,
        all_zones: false,
    };
    TargetPlan {
        register: desired.difference(&present).map(target).collect(),
        deregister: present.difference(desired).map(target).collect(),
        unchanged: desired.intersection(&present).count(),
    }
}

/// Registers what is missing of `desired` and touches nothing else: the
/// plan of a custom resource, which shares the group with other owners.
pub fn registration_plan(
    desired: &BTreeSet<IpAddr>,
    port: u16,
    current: &[RegisteredTarget],
) -> TargetPlan {
    TargetPlan {
        deregister: Vec::new(),
        ..sync_plan(Some(desired), port, current)
    }
}

/// The writes of a plan that still stand when the endpoint has been read
/// again just before them: all of them when its interfaces are the ones the
/// plan was made from, none when they changed or cannot be read.
///
/// Runs of target-sync can overlap (an EventBridge event, the schedule, a
/// retry). A run that read the endpoint before an interface change and the
/// target group after a newer run fixed it would otherwise deregister the new
/// IPs, or register again the old ones the newer run removed. The newer run,
/// or the next scheduled one, does what is left. (Reserved concurrency 1
/// would serialize the runs instead, but it fails to deploy in accounts at
/// the minimum unreserved concurrency.)
pub fn confirmed(
    plan: TargetPlan,
    planned_from: &BTreeSet<String>,
    interfaces_now: Option<&BTreeSet<String>>,
) -> TargetPlan {
    if interfaces_now == Some(planned_from) {
        plan
    } else {
        TargetPlan {
            unchanged: plan.unchanged,
            ..TargetPlan::default()
        }
    }
}

/// Deregisters exactly these IPs on `port`, where they are registered.
pub fn removal_plan(ips: &BTreeSet<IpAddr>, port: u16, current: &[RegisteredTarget]) -> TargetPlan {
    let registered: BTreeSet<IpAddr> = current
        .iter()
        .filter(|t| t.target.port == port)
        .map(|t| t.target.ip)
        .collect();
    TargetPlan {
        register: Vec::new(),
        deregister: ips
            .intersection(&registered)
            .map(|&ip| Target {
                ip,
                port,
                all_zones: false,
            })
            .collect(),
        unchanged: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TargetState;
    use proptest::prelude::*;

    fn registered(ip: &str, port: u16, draining: bool) -> RegisteredTarget {
        RegisteredTarget {
            target: Target {
                ip: ip.parse().unwrap(),
                port,
                all_zones: false,
            },
            state: if draining {
                TargetState::Draining
            } else {
                TargetState::Healthy
            },
        }
    }

    fn set(ips: &[&str]) -> BTreeSet<IpAddr> {
        ips.iter().map(|s| s.parse().unwrap()).collect()
    }

    /// Applies a plan to the current targets, as ELB would.
    fn apply(plan: &TargetPlan, current: &[RegisteredTarget]) -> Vec<RegisteredTarget> {
        let mut after: Vec<RegisteredTarget> = current
            .iter()
            .filter(|t| !plan.deregister.contains(&t.target) && !plan.register.contains(&t.target))
            .cloned()
            .collect();
        after.extend(plan.register.iter().map(|t| RegisteredTarget {
            target: t.clone(),
            state: TargetState::Initial,
        }));
        after
    }

    #[test]
    fn drift_is_repaired_and_other_ports_are_left_alone() {
        let current = [
            registered("10.0.0.1", 443, false),
            registered("10.0.0.9", 443, false),
            registered("10.0.0.2", 8443, false),
        ];
        let plan = sync_plan(Some(&set(&["10.0.0.1", "10.0.0.2"])), 443, &current);
        assert_eq!(
            plan.register,
            [Target {
                ip: "10.0.0.2".parse().unwrap(),
                port: 443,
                all_zones: false
            }]
        );
        assert_eq!(
            plan.deregister,
            [Target {
                ip: "10.0.0.9".parse().unwrap(),
                port: 443,
                all_zones: false
            }]
        );
        assert_eq!(plan.unchanged, 1);
    }

    #[test]
    fn a_draining_desired_target_is_registered_again() {
        let plan = sync_plan(
            Some(&set(&["10.0.0.1"])),
            443,
            &[registered("10.0.0.1", 443, true)],
        );
        assert_eq!(plan.register.len(), 1);
        assert!(plan.deregister.is_empty());
    }

    #[test]
    fn removal_touches_only_the_given_ips_on_the_port() {
        let current = [
            registered("10.0.0.1", 443, false),
            registered("10.0.0.1", 8443, false),
            registered("10.0.0.3", 443, false),
        ];
        let plan = removal_plan(&set(&["10.0.0.1", "10.0.0.2"]), 443, &current);
        assert_eq!(
            plan.deregister,
            [Target {
                ip: "10.0.0.1".parse().unwrap(),
                port: 443,
                all_zones: false
            }]
        );
    }

    #[test]
    fn an_ipv6_target_is_compared_as_an_address_not_as_text() {
        let current = [registered("2600:1f18:0:1:0:0:0:10", 443, false)];
        let plan = sync_plan(Some(&set(&["2600:1f18:0:1::10"])), 443, &current);
        assert!(plan.is_empty(), "{plan:?}");
        assert_eq!(plan.unchanged, 1);
    }

    fn ips() -> impl Strategy<Value = BTreeSet<IpAddr>> {
        proptest::collection::btree_set((0u8..12).prop_map(|n| IpAddr::from([10, 0, 0, n])), 0..8)
    }

    fn currents() -> impl Strategy<Value = Vec<RegisteredTarget>> {
        proptest::collection::vec(
            (
                (0u8..12),
                prop_oneof![Just(443u16), Just(8443u16)],
                any::<bool>(),
            )
                .prop_map(|(n, port, draining)| registered(&format!("10.0.0.{n}"), port, draining)),
            0..10,
        )
        .prop_map(|mut v| {
            // ELB holds one entry per (ip, port).
            v.sort_by(|a, b| a.target.cmp(&b.target));
            v.dedup_by(|a, b| a.target == b.target);
            v
        })
    }

    /// Two target-sync runs, interleaved step by step with changes of the
    /// endpoint's interfaces. Each change gives the endpoint new interfaces
    /// with new IPs (`10.<version>.0.<n>`), as EC2 does when subnets change.
    mod interleaving {
        use super::*;

        #[derive(Debug, Clone, Copy)]
        pub enum Step {
            RunA,
            RunB,
            ChangeEndpoint,
        }

        struct World {
            version: u8,
            group: BTreeSet<IpAddr>,
            deregistered: BTreeSet<IpAddr>,
            /// IPs registered when the endpoint no longer held them.
            stale: BTreeSet<IpAddr>,
        }

        impl World {
            fn interfaces(&self) -> BTreeSet<String> {
                [format!("eni-{}", self.version)].into()
            }

            fn ips(&self) -> BTreeSet<IpAddr> {
                (1..=2)
                    .map(|n| IpAddr::from([10, self.version, 0, n]))
                    .collect()
            }
        }

        /// One run: read the endpoint, read the group and plan, read the
        /// endpoint again and register (one step: the window between the two
        /// is one API round trip), then deregister.
        #[derive(Default)]
        struct Run {
            stage: u8,
            interfaces: BTreeSet<String>,
            desired: BTreeSet<IpAddr>,
            plan: TargetPlan,
        }

        impl Run {
            fn step(&mut self, world: &mut World, confirm: bool) {
                match self.stage {
                    0 => {
                        self.interfaces = world.interfaces();
                        self.desired = world.ips();
                    }
                    1 => {
                        let current: Vec<RegisteredTarget> = world
                            .group
                            .iter()
                            .map(|ip| registered(&ip.to_string(), 443, false))
                            .collect();
                        self.plan = sync_plan(Some(&self.desired), 443, &current);
                    }
                    2 => {
                        let plan = std::mem::take(&mut self.plan);
                        self.plan = if confirm {
                            confirmed(plan, &self.interfaces, Some(&world.interfaces()))
                        } else {
                            plan
                        };
                        for target in &self.plan.register {
                            if !world.ips().contains(&target.ip) {
                                world.stale.insert(target.ip);
                            }
                            world.group.insert(target.ip);
                        }
                    }
                    3 => {
                        for target in std::mem::take(&mut self.plan.deregister) {
                            world.group.remove(&target.ip);
                            world.deregistered.insert(target.ip);
                        }
                    }
                    _ => {}
                }
                self.stage += 1;
            }
        }

        /// Runs the schedule, then both runs to the end; returns the IPs
        /// deregistered that the endpoint holds at the end, and the IPs
        /// registered when the endpoint no longer held them.
        pub fn mistakes(schedule: &[Step], confirm: bool) -> (BTreeSet<IpAddr>, BTreeSet<IpAddr>) {
            let mut world = World {
                version: 0,
                group: BTreeSet::new(),
                deregistered: BTreeSet::new(),
                stale: BTreeSet::new(),
            };
            let (mut a, mut b) = (Run::default(), Run::default());
            for step in schedule {
                match step {
                    Step::RunA => a.step(&mut world, confirm),
                    Step::RunB => b.step(&mut world, confirm),
                    Step::ChangeEndpoint => world.version += 1,
                }
            }
            for _ in 0..4 {
                a.step(&mut world, confirm);
                b.step(&mut world, confirm);
            }
            let wrongly_deregistered = world
                .deregistered
                .intersection(&world.ips())
                .copied()
                .collect();
            (wrongly_deregistered, world.stale)
        }

        pub fn schedules() -> impl Strategy<Value = Vec<Step>> {
            proptest::collection::vec(
                prop_oneof![
                    Just(Step::RunA),
                    Just(Step::RunB),
                    Just(Step::ChangeEndpoint)
                ],
                0..16,
            )
        }
    }

    #[test]
    fn without_the_re_read_an_older_run_undoes_a_newer_one() {
        use interleaving::Step::*;
        // A reads the old endpoint; it changes; B registers the new IPs; A
        // reads the group and deregisters them.
        let schedule = [
            RunA,
            ChangeEndpoint,
            RunB,
            RunB,
            RunB,
            RunB,
            RunA,
            RunA,
            RunA,
        ];
        assert_eq!(interleaving::mistakes(&schedule, false).0.len(), 2);
        assert!(interleaving::mistakes(&schedule, true).0.is_empty());
    }

    #[test]
    fn without_the_re_read_an_older_run_registers_again_what_a_newer_one_removed() {
        use interleaving::Step::*;
        // A reads the old endpoint and the empty group; it changes; B
        // registers the new IPs; A registers the old ones, gone by then.
        let schedule = [RunA, RunA, ChangeEndpoint, RunB, RunB, RunB, RunB, RunA];
        assert_eq!(interleaving::mistakes(&schedule, false).1.len(), 2);
        assert!(interleaving::mistakes(&schedule, true).1.is_empty());
    }

    proptest! {
        /// No interleaving of two runs and endpoint changes deregisters an
        /// address the endpoint holds at the end, or registers one it no
        /// longer holds.
        #[test]
        fn interleaved_runs_never_deregister_what_the_endpoint_holds(schedule in interleaving::schedules()) {
            let (wrongly_deregistered, stale) = interleaving::mistakes(&schedule, true);
            prop_assert!(wrongly_deregistered.is_empty(), "{schedule:?}");
            prop_assert!(stale.is_empty(), "{schedule:?}");
        }

        #[test]
        fn applying_the_plan_yields_the_desired_set(desired in ips(), current in currents()) {
            prop_assume!(!desired.is_empty());
            let after = apply(&sync_plan(Some(&desired), 443, &current), &current);
            prop_assert_eq!(present_on(443, &after), desired);
        }

        #[test]
        fn the_plan_never_deregisters_a_desired_target(desired in ips(), current in currents()) {
            let plan = sync_plan(Some(&desired), 443, &current);
            prop_assert!(plan.deregister.iter().all(|t| !desired.contains(&t.ip)));
            prop_assert!(plan.register.iter().chain(&plan.deregister).all(|t| t.port == 443));
        }

        #[test]
        fn an_empty_or_unreadable_desired_set_never_deregisters(current in currents()) {
            prop_assert!(sync_plan(None, 443, &current).is_empty());
            prop_assert!(sync_plan(Some(&BTreeSet::new()), 443, &current).is_empty());
        }

        #[test]
        fn the_plan_is_idempotent(desired in ips(), current in currents()) {
            let after = apply(&sync_plan(Some(&desired), 443, &current), &current);
            prop_assert!(sync_plan(Some(&desired), 443, &after).is_empty());
        }

        #[test]
        fn registration_never_deregisters(desired in ips(), current in currents()) {
            prop_assert!(registration_plan(&desired, 443, &current).deregister.is_empty());
        }
    }
}
