//! Pure planners: desired state against current state gives a plan. No I/O.

use crate::aws::{RegisteredTarget, Target};
use std::collections::BTreeSet;

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

/// The IPs present on `port`: registered and not draining.
pub fn present_on(port: u16, current: &[RegisteredTarget]) -> BTreeSet<&str> {
    current
        .iter()
        .filter(|t| t.target.port == port && !t.draining)
        .map(|t| t.target.ip.as_str())
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
    desired: Option<&BTreeSet<String>>,
    port: u16,
    current: &[RegisteredTarget],
) -> TargetPlan {
    let present = present_on(port, current);
    let Some(desired) = desired.filter(|d| !d.is_empty()) else {
        return TargetPlan::default();
    };
    let target = |ip: &str| Target {
        ip: ip.to_owned(),
        port,
    };
    TargetPlan {
        register: desired
            .iter()
            .filter(|ip| !present.contains(ip.as_str()))
            .map(|ip| target(ip))
            .collect(),
        deregister: present
            .iter()
            .filter(|ip| !desired.contains(**ip))
            .map(|ip| target(ip))
            .collect(),
        unchanged: desired
            .iter()
            .filter(|ip| present.contains(ip.as_str()))
            .count(),
    }
}

/// Registers what is missing of `desired` and touches nothing else: the
/// plan of a custom resource, which shares the group with other owners.
pub fn registration_plan(
    desired: &BTreeSet<String>,
    port: u16,
    current: &[RegisteredTarget],
) -> TargetPlan {
    TargetPlan {
        deregister: Vec::new(),
        ..sync_plan(Some(desired), port, current)
    }
}

/// Deregisters exactly these IPs on `port`, where they are registered.
pub fn removal_plan(ips: &BTreeSet<String>, port: u16, current: &[RegisteredTarget]) -> TargetPlan {
    let registered: BTreeSet<&str> = current
        .iter()
        .filter(|t| t.target.port == port)
        .map(|t| t.target.ip.as_str())
        .collect();
    TargetPlan {
        register: Vec::new(),
        deregister: ips
            .iter()
            .filter(|ip| registered.contains(ip.as_str()))
            .map(|ip| Target {
                ip: ip.clone(),
                port,
            })
            .collect(),
        unchanged: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn registered(ip: &str, port: u16, draining: bool) -> RegisteredTarget {
        RegisteredTarget {
            target: Target {
                ip: ip.into(),
                port,
            },
            draining,
        }
    }

    fn set(ips: &[&str]) -> BTreeSet<String> {
        ips.iter().map(|s| s.to_string()).collect()
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
            draining: false,
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
                ip: "10.0.0.2".into(),
                port: 443
            }]
        );
        assert_eq!(
            plan.deregister,
            [Target {
                ip: "10.0.0.9".into(),
                port: 443
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
                ip: "10.0.0.1".into(),
                port: 443
            }]
        );
    }

    fn ips() -> impl Strategy<Value = BTreeSet<String>> {
        proptest::collection::btree_set((0u8..12).prop_map(|n| format!("10.0.0.{n}")), 0..8)
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

    proptest! {
        #[test]
        fn applying_the_plan_yields_the_desired_set(desired in ips(), current in currents()) {
            prop_assume!(!desired.is_empty());
            let after = apply(&sync_plan(Some(&desired), 443, &current), &current);
            let present: BTreeSet<String> = present_on(443, &after).into_iter().map(str::to_owned).collect();
            prop_assert_eq!(present, desired);
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
