//! Owners' claims on a target group (`Custom::EndpointTargets`).
//!
//! Several resources may register the same endpoint's IPs on the same port of
//! one group: a logical-id rename or a move to another stack (CloudFormation
//! creates the new resource before it deletes the old one), or two stacks that
//! share a group. So each records its claim on every group it fills, as a tag:
//! the key is its owner's ([`Owner::of_identity`] of its endpoint, so that the
//! old and the new resource of a replacement never share one), the value
//! `<vpce id>:<port> <stack name>/<logical id>`.
//!
//! The rule mirrors prefix-list-ingress's for rules: an owner that leaves a
//! group, or a port of it, deregisters its endpoint's IPs there only when no
//! other owner claims the same endpoint on the same port; otherwise it only
//! removes its tag. A claim on another endpoint never protects these IPs: two
//! endpoints never hold the same IP at once.

use super::group_tags::{self, MAX_GROUP_TAGS, MAX_VALUE_LEN};
use super::owner::{OWNER_TAG_PREFIX, Owner};
use super::targets::{TargetPlan, removal_plan};
use crate::model::RegisteredTarget;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// What an owner registered in a group: an endpoint's IPs, on a port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Claim {
    pub endpoint: String,
    pub port: u16,
}

impl Claim {
    pub fn new(endpoint: &str, port: u16) -> Self {
        Self {
            endpoint: endpoint.to_owned(),
            port,
        }
    }

    /// The tag's value: the claim first (what is read back), then who holds
    /// it, for people; cut to ELB's 255 characters.
    pub fn tag_value(&self, who: &Owner) -> String {
        format!("{}:{} {}", self.endpoint, self.port, who.tag_value())
            .chars()
            .take(MAX_VALUE_LEN)
            .collect()
    }

    /// A claim as [`Claim::tag_value`] writes it; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        let claim = value.split_whitespace().next()?;
        let (endpoint, port) = claim.rsplit_once(':')?;
        endpoint.starts_with("vpce-").then_some(())?;
        Some(Self::new(endpoint, port.parse().ok()?))
    }
}

/// The claims on a group of every owner but `key`. Owner tags whose value is
/// no claim (prefix-list-ingress's, or set by hand) claim nothing.
pub fn other_claims(tags: &BTreeMap<String, String>, key: &str) -> BTreeSet<Claim> {
    tags.iter()
        .filter(|(k, _)| k.starts_with(OWNER_TAG_PREFIX) && *k != key)
        .filter_map(|(_, value)| Claim::parse(value))
        .collect()
}

/// The deregistrations of an owner that leaves a group or one of its ports:
/// its endpoint's `ips` registered on the claim's port, unless another owner
/// claims the same endpoint and port.
pub fn release_plan(
    claim: &Claim,
    ips: &BTreeSet<IpAddr>,
    others: &BTreeSet<Claim>,
    current: &[RegisteredTarget],
) -> TargetPlan {
    if others.contains(claim) {
        return TargetPlan::default();
    }
    removal_plan(ips, claim.port, current)
}

/// Recording a claim under `key` would take the group past ELB's limit: the
/// number of tags it would then hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRoom {
    pub total: usize,
}

/// Whether a claim under `key` fits the group's tags: a key it already holds
/// takes no room.
pub fn room_for(key: &str, tags: &BTreeMap<String, String>) -> Result<(), NoRoom> {
    if tags.contains_key(key) {
        return Ok(());
    }
    let total = tags.keys().filter(|k| group_tags::counts(k)).count() + 1;
    if total > MAX_GROUP_TAGS {
        return Err(NoRoom { total });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Target, TargetState};
    use crate::plan::registration_plan;
    use proptest::prelude::*;

    const STACK: &str = "arn:aws:cloudformation:us-east-1:1:stack/front/uuid-1";

    #[test]
    fn a_claim_reads_back_from_its_value_and_other_tags_claim_nothing() {
        let who = Owner::new(STACK, "Targets");
        let claim = Claim::new("vpce-0123456789abcdef0", 8443);
        let value = claim.tag_value(&who);
        assert_eq!(value, "vpce-0123456789abcdef0:8443 front/Targets");
        assert_eq!(Claim::parse(&value), Some(claim.clone()));
        let long = Owner::new(STACK, &"L".repeat(300));
        assert_eq!(claim.tag_value(&long).chars().count(), 255);
        assert_eq!(Claim::parse(&claim.tag_value(&long)), Some(claim));
        for foreign in ["front/Ingress", "vpce-1:https x", "sg-1:443 y", ""] {
            assert_eq!(Claim::parse(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn the_old_and_new_resource_of_a_replacement_hold_their_own_keys() {
        let resource = Owner::new(STACK, "Targets");
        let old = resource.of_identity("vpce-1").tag_key();
        let new = resource.of_identity("vpce-2").tag_key();
        assert_ne!(old, new);
        assert_ne!(
            old,
            Owner::new(STACK, "Renamed").of_identity("vpce-1").tag_key()
        );
        assert!(old.starts_with(OWNER_TAG_PREFIX) && old.len() <= 127);
    }

    #[test]
    fn room_counts_every_tag_but_aws_ones_and_a_held_key_takes_none() {
        let mut tags: BTreeMap<String, String> =
            (0..49).map(|n| (format!("t{n}"), String::new())).collect();
        tags.insert("aws:cloudformation:stack-id".into(), String::new());
        assert_eq!(room_for("frontdoor:owner:1", &tags), Ok(()));
        tags.insert("t49".into(), String::new());
        assert_eq!(
            room_for("frontdoor:owner:1", &tags),
            Err(NoRoom { total: 51 })
        );
        assert_eq!(room_for("t49", &tags), Ok(()));
    }

    /// The IPs of the claim's endpoint `vpce-<n>`: disjoint, as EC2 gives them.
    fn ips_of(claim: &Claim) -> BTreeSet<IpAddr> {
        let n: u8 = claim.endpoint["vpce-".len()..].parse().unwrap();
        (1..=2).map(|last| IpAddr::from([10, n, 0, last])).collect()
    }

    /// One target group and its tags, as ELB keeps them, under owners that
    /// come and go as CloudFormation makes them.
    #[derive(Default)]
    struct Group {
        targets: BTreeSet<(IpAddr, u16)>,
        tags: BTreeMap<String, String>,
    }

    impl Group {
        fn current(&self) -> Vec<RegisteredTarget> {
            self.targets
                .iter()
                .map(|&(ip, port)| RegisteredTarget {
                    target: Target {
                        ip,
                        port,
                        all_zones: false,
                    },
                    state: TargetState::Healthy,
                })
                .collect()
        }

        fn apply(&mut self, plan: &TargetPlan) {
            for t in &plan.register {
                self.targets.insert((t.ip, t.port));
            }
            for t in &plan.deregister {
                self.targets.remove(&(t.ip, t.port));
            }
        }

        /// Create, or an Update in place: record the claim, then register.
        fn claim(&mut self, owner: &Owner, claim: &Claim) {
            let key = owner.of_identity(&claim.endpoint).tag_key();
            let before = self.tags.insert(key.clone(), claim.tag_value(owner));
            let ips = ips_of(claim);
            self.apply(&registration_plan(&ips, claim.port, &self.current()));
            // An Update to another port lets go of the old one.
            if let Some(old) = before
                .and_then(|v| Claim::parse(&v))
                .filter(|old| old != claim)
            {
                self.release_port(&key, &old);
            }
        }

        fn release_port(&mut self, key: &str, claim: &Claim) {
            let ips = ips_of(claim);
            let others = other_claims(&self.tags, key);
            self.apply(&release_plan(claim, &ips, &others, &self.current()));
        }

        /// Delete: deregister what no other owner claims, then drop the tag.
        fn release(&mut self, owner: &Owner, claim: &Claim) {
            let key = owner.of_identity(&claim.endpoint).tag_key();
            self.release_port(&key, claim);
            self.tags.remove(&key);
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        /// A resource created (or updated in place) on one endpoint and port.
        Create {
            owner: u8,
            endpoint: u8,
            port: u16,
        },
        /// A resource renamed or moved: the new one created, then the old deleted.
        Rename {
            owner: u8,
            to: u8,
        },
        Delete {
            owner: u8,
        },
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        let op = prop_oneof![
            (0u8..4, 1u8..3, prop::sample::select(vec![443u16, 8443])).prop_map(
                |(owner, endpoint, port)| Op::Create {
                    owner,
                    endpoint,
                    port
                }
            ),
            (0u8..4, 0u8..4).prop_map(|(owner, to)| Op::Rename { owner, to }),
            (0u8..4).prop_map(|owner| Op::Delete { owner }),
        ];
        prop::collection::vec(op, 1..24)
    }

    proptest! {
        /// Over creates, in-place updates, renames and deletes in any order,
        /// the group always holds every IP that a live owner claims, and once
        /// no owner is left, none of theirs.
        #[test]
        fn a_group_never_lacks_the_ips_a_live_owner_claims(ops in ops()) {
            let owner = |n: u8| Owner::new(STACK, &format!("Targets{n}"));
            let mut live: BTreeMap<u8, Claim> = BTreeMap::new();
            let mut group = Group::default();
            for op in &ops {
                match *op {
                    Op::Create { owner: n, endpoint, port } => {
                        let claim = Claim::new(&format!("vpce-{endpoint}"), port);
                        // Another endpoint is another resource: replace it.
                        if let Some(old) = live.get(&n).filter(|old| old.endpoint != claim.endpoint).cloned() {
                            group.claim(&owner(n), &claim);
                            group.release(&owner(n), &old);
                        } else {
                            group.claim(&owner(n), &claim);
                        }
                        live.insert(n, claim);
                    }
                    Op::Rename { owner: n, to } => {
                        let Some(claim) = live.get(&n).cloned() else { continue };
                        if live.contains_key(&to) { continue; }
                        group.claim(&owner(to), &claim);
                        group.release(&owner(n), &claim);
                        live.remove(&n);
                        live.insert(to, claim);
                    }
                    Op::Delete { owner: n } => {
                        if let Some(claim) = live.remove(&n) {
                            group.release(&owner(n), &claim);
                        }
                    }
                }
                for claim in live.values() {
                    for ip in ips_of(claim) {
                        prop_assert!(group.targets.contains(&(ip, claim.port)),
                            "{ip}:{} of {claim:?} missing after {op:?}", claim.port);
                    }
                }
            }
            if live.is_empty() {
                prop_assert!(group.targets.is_empty(), "{:?}", group.targets);
                prop_assert!(group.tags.is_empty(), "{:?}", group.tags);
            }
        }
    }
}
