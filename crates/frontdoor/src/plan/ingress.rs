//! The ingress planner: one owner's rules in one security group.
//!
//! Ownership lives on the rules themselves: every rule a `Custom::PrefixListIngress`
//! creates carries the tag [`super::Owner::tag_key`], derived from the stack id
//! and the logical id. A rule that another frontdoor resource created and that this one
//! needs too gets this owner's tag as well (co-ownership), so that a logical-id
//! rename or a move to a new stack, where the new resource is created before the
//! old one is deleted, never loses the rule. A rule without any frontdoor owner
//! tag was made by someone else: it counts as done and is never revoked.

use super::owner::OWNER_TAG_PREFIX;
use crate::model::{IngressRule, Permission};
use std::collections::BTreeSet;

/// Who holds a rule, seen from one owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    /// This owner, alone or with other frontdoor owners.
    This { shared: bool },
    /// Other frontdoor resources only.
    OtherFrontdoor,
    /// No frontdoor resource: made by hand or by other tools.
    Foreign,
}

fn holder(rule: &IngressRule, owner_key: &str) -> Holder {
    let mine = rule.tags.contains_key(owner_key);
    let others = rule
        .tags
        .keys()
        .any(|k| k.starts_with(OWNER_TAG_PREFIX) && k != owner_key);
    match (mine, others) {
        (true, shared) => Holder::This { shared },
        (false, true) => Holder::OtherFrontdoor,
        (false, false) => Holder::Foreign,
    }
}

/// The writes that bring one group to the desired rules, for one owner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngressPlan {
    /// Desired rules that no rule of the group grants yet.
    pub authorize: Vec<Permission>,
    /// This owner's rules that are desired.
    pub keep: Vec<String>,
    /// Rules of other frontdoor owners that grant a desired rule: this owner
    /// adds its tag.
    pub adopt: Vec<String>,
    /// This owner's rules no longer desired that other frontdoor owners hold
    /// too: this owner removes its tag.
    pub release: Vec<String>,
    /// This owner's rules no longer desired and held by no one else.
    pub revoke: Vec<String>,
}

impl IngressPlan {
    /// The owner's rules once the plan is applied, not counting the ones
    /// `authorize` will create.
    pub fn owned_after(&self) -> impl Iterator<Item = &String> {
        self.keep.iter().chain(&self.adopt)
    }
}

/// Plans one owner's rules in a group. A desired rule that a foreign rule
/// already grants is done and stays foreign; rules of other owners that are
/// not desired are not touched.
pub fn ingress_plan(
    desired: &[Permission],
    current: &[IngressRule],
    owner_key: &str,
) -> IngressPlan {
    let mut plan = IngressPlan::default();
    let desired: BTreeSet<&Permission> = desired.iter().collect();
    for permission in &desired {
        match current.iter().find(|rule| rule.grants(permission)) {
            None => plan.authorize.push((*permission).clone()),
            Some(rule) => match holder(rule, owner_key) {
                Holder::This { .. } => plan.keep.push(rule.id.clone()),
                Holder::OtherFrontdoor => plan.adopt.push(rule.id.clone()),
                Holder::Foreign => {}
            },
        }
    }
    for rule in current {
        if desired.iter().any(|p| rule.grants(p)) {
            continue;
        }
        match holder(rule, owner_key) {
            Holder::This { shared: true } => plan.release.push(rule.id.clone()),
            Holder::This { shared: false } => plan.revoke.push(rule.id.clone()),
            Holder::OtherFrontdoor | Holder::Foreign => {}
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Family;
    use crate::plan::fixtures::*;
    use proptest::prelude::*;

    #[test]
    fn the_plan_keeps_adds_and_revokes_only_this_owners_rules() {
        let current = [
            rule("mine-443", &pl(443), &[ME]),
            rule("mine-80", &pl(80), &[ME]),
            rule("hand-8080", &pl(8080), &[]),
            rule("other-443", &group(443), &[OTHER]),
            cidr("cidr", Family::Ipv4),
        ];
        let plan = ingress_plan(&[pl(443), group(443), pl(8443)], &current, ME);
        assert_eq!(plan.keep, ["mine-443"]);
        assert_eq!(plan.adopt, ["other-443"]);
        assert_eq!(plan.authorize, [pl(8443)]);
        assert_eq!(plan.revoke, ["mine-80"]);
        assert!(plan.release.is_empty());
    }

    #[test]
    fn a_foreign_rule_counts_as_done_and_is_never_touched() {
        let current = [rule("hand", &pl(443), &[])];
        let plan = ingress_plan(&[pl(443)], &current, ME);
        assert_eq!(plan, IngressPlan::default());
        assert_eq!(ingress_plan(&[], &current, ME), IngressPlan::default());
    }

    #[test]
    fn a_shared_rule_is_released_not_revoked() {
        let current = [
            rule("shared", &pl(443), &[ME, OTHER]),
            rule("alone", &pl(80), &[ME]),
        ];
        let plan = ingress_plan(&[], &current, ME);
        assert_eq!(plan.release, ["shared"]);
        assert_eq!(plan.revoke, ["alone"]);
    }

    #[test]
    fn a_rule_matches_on_protocol_port_and_source() {
        let mut udp = rule("udp", &pl(443), &[ME]);
        udp.protocol = "udp".into();
        let mut range = rule("range", &pl(443), &[ME]);
        range.to_port = 444;
        let plan = ingress_plan(&[pl(443)], &[udp, range], ME);
        assert_eq!(plan.authorize, [pl(443)]);
        assert_eq!(plan.revoke, ["udp", "range"]);
    }

    fn permission() -> impl Strategy<Value = Permission> {
        (prop::sample::select(vec![80u16, 443, 8443]), any::<bool>())
            .prop_map(|(port, list)| if list { pl(port) } else { group(port) })
    }

    fn owners() -> impl Strategy<Value = Vec<&'static str>> {
        prop::sample::select(vec![vec![], vec![ME], vec![OTHER], vec![ME, OTHER]])
    }

    fn group_rules() -> impl Strategy<Value = Vec<IngressRule>> {
        prop::collection::btree_map(permission(), owners(), 0..6).prop_map(|rules| {
            rules
                .into_iter()
                .enumerate()
                .map(|(i, (p, owners))| rule(&format!("r{i}"), &p, &owners))
                .collect()
        })
    }

    /// Applies a plan as EC2 would.
    fn apply(plan: &IngressPlan, current: &[IngressRule]) -> Vec<IngressRule> {
        let mut after: Vec<IngressRule> = current
            .iter()
            .filter(|r| !plan.revoke.contains(&r.id))
            .cloned()
            .collect();
        for rule in &mut after {
            if plan.release.contains(&rule.id) {
                rule.tags.remove(ME);
            }
            if plan.adopt.contains(&rule.id) {
                rule.tags.insert(ME.into(), "x".into());
            }
        }
        after.extend(
            plan.authorize
                .iter()
                .enumerate()
                .map(|(i, p)| rule(&format!("new{i}"), p, &[ME])),
        );
        after
    }

    proptest! {
        /// After the plan: every desired rule is granted once, this owner
        /// holds exactly the desired rules that are not foreign, and the
        /// rules of others are untouched. A second plan has nothing to do.
        #[test]
        fn the_plan_converges(current in group_rules(), desired in prop::collection::vec(permission(), 0..4)) {
            let plan = ingress_plan(&desired, &current, ME);
            let after = apply(&plan, &current);
            for p in &desired {
                prop_assert_eq!(after.iter().filter(|r| r.grants(p)).count(), 1);
            }
            for rule in &after {
                let wanted = desired.iter().any(|p| rule.grants(p));
                if rule.tags.contains_key(ME) {
                    prop_assert!(wanted, "{rule:?} is held but not desired");
                }
                let before = current.iter().find(|r| r.id == rule.id);
                if let Some(before) = before.filter(|b| !b.tags.contains_key(ME) && !plan.adopt.contains(&b.id)) {
                    prop_assert_eq!(before, rule, "a rule of others changed");
                }
            }
            for before in current.iter().filter(|r| !r.tags.contains_key(ME)) {
                prop_assert!(after.iter().any(|r| r.id == before.id), "a rule of others was revoked");
            }
            let again = ingress_plan(&desired, &after, ME);
            prop_assert!(again.authorize.is_empty() && again.revoke.is_empty() && again.release.is_empty() && again.adopt.is_empty());
        }
    }
}
