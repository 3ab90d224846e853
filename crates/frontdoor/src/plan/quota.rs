//! The rule-quota pre-check: what a plan would add against the group's
//! "Inbound or outbound rules per security group", before any write.

use super::ingress::IngressPlan;
use crate::model::{Family, IngressRule, Permission, PrefixList, Reference, Source};
use std::collections::BTreeMap;
use std::fmt;

/// The Service Quotas code of "Inbound or outbound rules per security group".
pub const RULES_QUOTA_CODE: &str = "L-0EA8095F";

/// The weights AWS documents for its managed prefix lists, which need not
/// equal their `MaxEntries` (nor be returned by `DescribeManagedPrefixLists`):
/// <https://docs.aws.amazon.com/vpc/latest/userguide/working-with-aws-managed-prefix-lists.html>,
/// "AWS-managed prefix list weight". `{region}` stands for one Region label.
///
/// | list | weight |
/// |---|---|
/// | `com.amazonaws.global.cloudfront.origin-facing` | 55 |
/// | `com.amazonaws.global.ipv6.cloudfront.origin-facing` | 55 |
/// | `com.amazonaws.{region}.dynamodb` | 1 |
/// | `com.amazonaws.{region}.ec2-instance-connect` | 2 |
/// | `com.amazonaws.{region}.ipv6.ec2-instance-connect` | 2 |
/// | `com.amazonaws.global.groundstation` | 5 |
/// | `com.amazonaws.{region}.route53-healthchecks` | 25 |
/// | `com.amazonaws.{region}.ipv6.route53-healthchecks` | 25 |
/// | `com.amazonaws.{region}.s3` | 1 |
/// | `com.amazonaws.{region}.s3express` | 6 |
/// | `com.amazonaws.{region}.vpc-lattice` | 10 |
/// | `com.amazonaws.{region}.ipv6.vpc-lattice` | 10 |
pub const AWS_MANAGED_WEIGHTS: [(&str, u64); 12] = [
    ("com.amazonaws.global.cloudfront.origin-facing", 55),
    ("com.amazonaws.global.ipv6.cloudfront.origin-facing", 55),
    ("com.amazonaws.{region}.dynamodb", 1),
    ("com.amazonaws.{region}.ec2-instance-connect", 2),
    ("com.amazonaws.{region}.ipv6.ec2-instance-connect", 2),
    ("com.amazonaws.global.groundstation", 5),
    ("com.amazonaws.{region}.route53-healthchecks", 25),
    ("com.amazonaws.{region}.ipv6.route53-healthchecks", 25),
    ("com.amazonaws.{region}.s3", 1),
    ("com.amazonaws.{region}.s3express", 6),
    ("com.amazonaws.{region}.vpc-lattice", 10),
    ("com.amazonaws.{region}.ipv6.vpc-lattice", 10),
];

/// What an AWS-managed list missing from [`AWS_MANAGED_WEIGHTS`] weighs: the
/// largest documented weight, or its `MaxEntries` where that is more.
pub const UNKNOWN_AWS_MANAGED_WEIGHT: u64 = 55;

/// The documented weight of an AWS-managed list, by name.
pub fn documented_weight(name: &str) -> Option<u64> {
    AWS_MANAGED_WEIGHTS
        .iter()
        .find(|(pattern, _)| match pattern.split_once("{region}") {
            None => *pattern == name,
            Some((prefix, suffix)) => name
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(suffix))
                .is_some_and(|region| !region.is_empty() && !region.contains('.')),
        })
        .map(|(_, weight)| *weight)
}

/// Whether a list is AWS's own: owner `AWS`, or a `com.amazonaws.` name.
pub fn is_aws_managed(list: &PrefixList) -> bool {
    list.owner_id
        .as_deref()
        .is_some_and(|owner| owner.eq_ignore_ascii_case("AWS"))
        || list.name.starts_with("com.amazonaws.")
}

/// Where a list's weight comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightBasis {
    /// The list's `MaxEntries`.
    MaxEntries,
    /// The entries it holds now, where EC2 gives no `MaxEntries`.
    Entries,
    /// AWS's documented weight of an AWS-managed list.
    Documented,
    /// An AWS-managed list frontdoor has no documented weight for.
    Assumed,
}

/// How much a prefix list weighs against a group's rule quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListWeight {
    pub family: Family,
    pub weight: u64,
    pub basis: WeightBasis,
}

/// Inbound rules against the quota, which EC2 enforces for IPv4 and IPv6
/// separately.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleCount {
    pub ipv4: u64,
    pub ipv6: u64,
}

impl RuleCount {
    fn add(self, other: Self) -> Self {
        Self {
            ipv4: self.ipv4 + other.ipv4,
            ipv6: self.ipv6 + other.ipv6,
        }
    }

    fn get(self, family: Family) -> u64 {
        match family {
            Family::Ipv4 => self.ipv4,
            Family::Ipv6 => self.ipv6,
        }
    }
}

/// What one rule weighs: a CIDR one rule of its family, a group reference
/// one rule of each family, a prefix-list reference its list's weight in the
/// list's family. A list that could not be described weighs one IPv4 rule.
pub fn rule_weight(source: &Source, lists: &BTreeMap<String, ListWeight>) -> RuleCount {
    let one = |family| match family {
        Family::Ipv4 => RuleCount { ipv4: 1, ipv6: 0 },
        Family::Ipv6 => RuleCount { ipv4: 0, ipv6: 1 },
    };
    match source {
        Source::Cidr(family) => one(*family),
        Source::Reference(Reference::Group(_)) => RuleCount { ipv4: 1, ipv6: 1 },
        Source::Reference(Reference::PrefixList(id)) => match lists.get(id) {
            Some(list) => match list.family {
                Family::Ipv4 => RuleCount {
                    ipv4: list.weight,
                    ipv6: 0,
                },
                Family::Ipv6 => RuleCount {
                    ipv4: 0,
                    ipv6: list.weight,
                },
            },
            None => one(Family::Ipv4),
        },
    }
}

/// What to do about a group at its rule quota.
pub const QUOTA_ADVICE: &str = "Raise the quota \"Inbound or outbound rules per security group\" (L-0EA8095F) in \
     Service Quotas and set RulesPerSecurityGroupLimit to the new value, or remove rules from the group.";

/// The pre-check's finding: the rules the plan adds would exceed the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaExceeded {
    pub security_group_id: String,
    pub family: Family,
    /// Rules that stay in the group, weighted.
    pub kept: u64,
    /// What the plan adds, e.g. `prefix list pl-… (55)`.
    pub additions: Vec<(String, u64)>,
    pub limit: u64,
}

impl fmt::Display for QuotaExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let family = match self.family {
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
        };
        let added: u64 = self.additions.iter().map(|(_, n)| n).sum();
        let parts: Vec<String> = self
            .additions
            .iter()
            .map(|(what, n)| format!("{what} weighs {n}"))
            .collect();
        write!(
            f,
            "Security group {} would hold {} inbound {family} rules, over RulesPerSecurityGroupLimit {}: it holds {} \
             (a prefix-list reference counts as its MaxEntries, an AWS-managed list as its documented weight) and this \
             resource adds {added} ({}). {QUOTA_ADVICE}",
            self.security_group_id,
            self.kept + added,
            self.limit,
            self.kept,
            parts.join(", "),
        )
    }
}

/// The pre-check: the group's inbound rules that stay (all but the ones the
/// plan revokes, so this resource's own rules never count twice) plus what
/// the plan authorizes must stay within the limit in each family.
pub fn check_quota(
    security_group_id: &str,
    current: &[IngressRule],
    plan: &IngressPlan,
    lists: &BTreeMap<String, ListWeight>,
    limit: u64,
) -> Result<(), QuotaExceeded> {
    let kept = current
        .iter()
        .filter(|rule| !plan.revoke.contains(&rule.id))
        .fold(RuleCount::default(), |sum, rule| {
            sum.add(rule_weight(&rule.source, lists))
        });
    let additions: Vec<(Permission, RuleCount)> = plan
        .authorize
        .iter()
        .map(|p| {
            (
                p.clone(),
                rule_weight(&Source::Reference(p.source.clone()), lists),
            )
        })
        .collect();
    let after = additions
        .iter()
        .fold(kept, |sum, (_, weight)| sum.add(*weight));
    for family in [Family::Ipv4, Family::Ipv6] {
        if after.get(family) > limit {
            return Err(QuotaExceeded {
                security_group_id: security_group_id.to_owned(),
                family,
                kept: kept.get(family),
                additions: additions
                    .iter()
                    .filter(|(_, weight)| weight.get(family) > 0)
                    .map(|(p, weight)| {
                        let what = match &p.source {
                            Reference::PrefixList(id) => match lists.get(id).map(|l| l.basis) {
                                Some(WeightBasis::Documented) => {
                                    format!("AWS-managed prefix list {id}, by its documented weight,")
                                }
                                Some(WeightBasis::Assumed) => format!(
                                    "AWS-managed prefix list {id}, which has no documented weight in frontdoor's table \
                                     and so counts conservatively as the largest documented weight or its MaxEntries,"
                                ),
                                _ => format!("prefix list {id}"),
                            },
                            Reference::Group(id) => format!("group {id}"),
                        };
                        (what, weight.get(family))
                    })
                    .collect(),
                limit,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::*;
    use crate::plan::ingress::ingress_plan;

    fn lists() -> BTreeMap<String, ListWeight> {
        BTreeMap::from([
            (
                "pl-1".to_owned(),
                ListWeight {
                    family: Family::Ipv4,
                    weight: 55,
                    basis: WeightBasis::MaxEntries,
                },
            ),
            (
                "pl-6".to_owned(),
                ListWeight {
                    family: Family::Ipv6,
                    weight: 40,
                    basis: WeightBasis::MaxEntries,
                },
            ),
        ])
    }

    #[test]
    fn aws_managed_lists_weigh_their_documented_weight() {
        assert_eq!(
            documented_weight("com.amazonaws.global.cloudfront.origin-facing"),
            Some(55)
        );
        assert_eq!(documented_weight("com.amazonaws.eu-west-1.s3"), Some(1));
        assert_eq!(
            documented_weight("com.amazonaws.eu-west-1.ipv6.route53-healthchecks"),
            Some(25)
        );
        assert_eq!(
            documented_weight("com.amazonaws.eu-west-1.s3express"),
            Some(6)
        );
        assert_eq!(documented_weight("com.amazonaws.eu.west.s3"), None);
        assert_eq!(
            documented_weight("com.amazonaws.eu-west-1.new-service"),
            None
        );
        let list = |name: &str, owner: Option<&str>| PrefixList {
            id: "pl-1".into(),
            name: name.into(),
            family: Family::Ipv4,
            max_entries: None,
            owner_id: owner.map(str::to_owned),
        };
        assert!(is_aws_managed(&list("anything", Some("AWS"))));
        assert!(is_aws_managed(&list("com.amazonaws.global.x", None)));
        assert!(!is_aws_managed(&list("team-list", Some("123456789012"))));
    }

    #[test]
    fn weights_follow_the_family() {
        let w = |source: Source| rule_weight(&source, &lists());
        assert_eq!(
            w(Source::Cidr(Family::Ipv4)),
            RuleCount { ipv4: 1, ipv6: 0 }
        );
        assert_eq!(
            w(Source::Cidr(Family::Ipv6)),
            RuleCount { ipv4: 0, ipv6: 1 }
        );
        assert_eq!(
            w(Source::Reference(Reference::Group("sg-1".into()))),
            RuleCount { ipv4: 1, ipv6: 1 }
        );
        assert_eq!(
            w(Source::Reference(Reference::PrefixList("pl-1".into()))),
            RuleCount { ipv4: 55, ipv6: 0 }
        );
        assert_eq!(
            w(Source::Reference(Reference::PrefixList("pl-6".into()))),
            RuleCount { ipv4: 0, ipv6: 40 }
        );
        assert_eq!(
            w(Source::Reference(Reference::PrefixList("pl-?".into()))),
            RuleCount { ipv4: 1, ipv6: 0 }
        );
    }

    #[test]
    fn the_quota_check_names_the_numbers() {
        let current: Vec<IngressRule> = (0..5)
            .map(|i| cidr(&format!("c{i}"), Family::Ipv4))
            .collect();
        let plan = ingress_plan(&[pl(443), group(443)], &current, ME);
        assert!(
            check_quota(SG, &current, &plan, &lists(), 61).is_ok(),
            "5 + 55 + 1 = 61 fits"
        );
        let err = check_quota(SG, &current, &plan, &lists(), 60).unwrap_err();
        assert_eq!((err.family, err.kept, err.limit), (Family::Ipv4, 5, 60));
        let text = err.to_string();
        for needle in [
            "would hold 61 inbound IPv4 rules",
            "RulesPerSecurityGroupLimit 60",
            "holds 5",
            "prefix list pl-1 weighs 55",
            "group sg-vo weighs 1",
            RULES_QUOTA_CODE,
        ] {
            assert!(text.contains(needle), "{text} should contain {needle}");
        }
    }

    #[test]
    fn the_quota_check_counts_families_apart_and_revoked_rules_not_at_all() {
        // IPv6 rules do not crowd out the IPv4 prefix list.
        let v6: Vec<IngressRule> = (0..30)
            .map(|i| cidr(&format!("v6-{i}"), Family::Ipv6))
            .collect();
        let plan = ingress_plan(&[pl(443)], &v6, ME);
        assert!(check_quota(SG, &v6, &plan, &lists(), 60).is_ok());
        // A port change revokes first, so the list is not counted twice.
        let mine = [rule("mine", &pl(443), &[ME])];
        let plan = ingress_plan(&[pl(8443)], &mine, ME);
        assert!(check_quota(SG, &mine, &plan, &lists(), 55).is_ok());
        // Another reference to a big list counts as its weight.
        let other = [rule("hand", &pl(80), &[])];
        let plan = ingress_plan(&[pl(443)], &other, ME);
        assert_eq!(
            check_quota(SG, &other, &plan, &lists(), 109)
                .unwrap_err()
                .kept,
            55
        );
    }
}
