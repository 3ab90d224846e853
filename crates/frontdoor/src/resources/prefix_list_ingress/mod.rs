//! `Custom::PrefixListIngress`: opens the team's security group to CloudFront,
//! from the origin-facing prefix list and from the `CloudFront-VPCOrigins-Service-SG`
//! group of a VPC, and removes exactly its own rules again.
//!
//! Ownership lives on the rules themselves: every rule this resource creates
//! carries the tag [`Owner::tag_key`], which is derived from the stack id and
//! the logical id. A rule that another frontdoor resource created and that
//! this one needs too gets this resource's tag as well (co-ownership), so that
//! a logical-id rename or a move to a new stack, where the new resource is
//! created before the old one is deleted, never loses the rule. A rule
//! without any frontdoor owner tag was made by someone else: it counts as
//! done and is never revoked.

use crate::aws::AwsError;
use crate::aws::security_groups::{
    Authorized, Family, IngressRule, Permission, PrefixList, Reference, SecurityGroupRules, Source,
    VPC_ORIGINS_GROUP_NAME,
};
use crate::custom_resource::{self, CustomResource, Failure, Invocation, Request, Success};
use crate::props::{self, Properties, PropertyError, quote};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

pub const DEFAULT_PREFIX_LIST_NAME: &str = "com.amazonaws.global.cloudfront.origin-facing";
const DEFAULT_PORT: u16 = 443;
/// EC2's default of "Inbound or outbound rules per security group".
const DEFAULT_RULES_LIMIT: u64 = 60;
/// The largest value the quota can be raised to.
const MAX_RULES_LIMIT: u64 = 1000;
/// The Service Quotas code of "Inbound or outbound rules per security group".
pub const RULES_QUOTA_CODE: &str = "L-0EA8095F";
/// Every owner tag of a rule starts with this.
pub const OWNER_TAG_PREFIX: &str = "frontdoor:owner:";

/// Where the prefix list comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrefixListRef {
    Named(String),
    Id(String),
}

/// The resource properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixListIngressProps {
    pub security_group_id: String,
    pub port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
    /// `None` when `AllowPrefixList` is false.
    pub prefix_list: Option<PrefixListRef>,
    /// The VPC whose VPC Origins group to admit; `None` when `AllowVpcOrigin` is false.
    pub vpc_origin_vpc_id: Option<String>,
    pub rules_limit: u64,
}

impl PrefixListIngressProps {
    pub fn parse(value: &Value) -> Result<Self, PropertyError> {
        let props = Properties::new(value)?;
        let security_group_id = props::ec2_id(
            "SecurityGroupId",
            "sg",
            props.required_str("SecurityGroupId")?,
        )?;
        let protocol = match props
            .optional_str("Protocol")?
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("tcp" | "6") => "tcp",
            Some("udp" | "17") => "udp",
            Some(other) => {
                return Err(PropertyError::new(
                    "Protocol",
                    format!("must be tcp or udp, got {}", quote(other)),
                ));
            }
        };
        let prefix_list = if props.bool_or("AllowPrefixList", true)? {
            Some(match props.optional_str("PrefixListId")? {
                Some(id) => PrefixListRef::Id(props::ec2_id("PrefixListId", "pl", id)?.to_owned()),
                None => PrefixListRef::Named(
                    props
                        .optional_str("PrefixListName")?
                        .unwrap_or(DEFAULT_PREFIX_LIST_NAME)
                        .to_owned(),
                ),
            })
        } else {
            None
        };
        let vpc_origin_vpc_id = if props.bool_or("AllowVpcOrigin", false)? {
            let vpc_id = props.optional_str("VpcId")?.ok_or_else(|| {
                PropertyError::new("VpcId", "is required when AllowVpcOrigin is true")
            })?;
            Some(props::ec2_id("VpcId", "vpc", vpc_id)?.to_owned())
        } else {
            None
        };
        Ok(Self {
            security_group_id: security_group_id.to_owned(),
            port: props.port_or("Port", DEFAULT_PORT)?,
            protocol: protocol.to_owned(),
            prefix_list,
            vpc_origin_vpc_id,
            rules_limit: props
                .number_in("RulesPerSecurityGroupLimit", 1, MAX_RULES_LIMIT)?
                .unwrap_or(DEFAULT_RULES_LIMIT),
        })
    }
}

/// The deterministic physical id: it changes only with the security group,
/// so that an Update within one group converges in place.
pub fn physical_id(stack_id: &str, logical_resource_id: &str, security_group_id: &str) -> String {
    format!(
        "{}/{logical_resource_id}/{security_group_id}",
        custom_resource::stack_name(stack_id)
    )
}

/// One logical resource of one stack, as the owner of rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    stack_id: String,
    logical_resource_id: String,
}

impl Owner {
    pub fn new(stack_id: &str, logical_resource_id: &str) -> Self {
        Self {
            stack_id: stack_id.to_owned(),
            logical_resource_id: logical_resource_id.to_owned(),
        }
    }

    /// `frontdoor:owner:<16 hex digits>`, a stable hash of the stack id (unique
    /// per stack, even after a stack of the same name was deleted) and the
    /// logical id; both in full would exceed EC2's 128-character key limit.
    pub fn tag_key(&self) -> String {
        format!(
            "{OWNER_TAG_PREFIX}{:016x}",
            fnv1a(&format!("{}/{}", self.stack_id, self.logical_resource_id))
        )
    }

    /// The tag's value, for people: `<stack-name>/<LogicalResourceId>`.
    fn tag_value(&self) -> String {
        let value = format!(
            "{}/{}",
            custom_resource::stack_name(&self.stack_id),
            self.logical_resource_id
        );
        value.chars().take(256).collect()
    }

    fn tags(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(self.tag_key(), self.tag_value())])
    }

    /// `frontdoor <stack-name>/<LogicalResourceId>`, within EC2's 255
    /// characters and its character set. For people only: EC2 may drop it.
    pub fn description(&self) -> String {
        let allowed = |c: &char| c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(*c);
        format!("frontdoor {}", self.tag_value())
            .chars()
            .filter(allowed)
            .take(255)
            .collect()
    }
}

/// 64-bit FNV-1a: tiny, and stable across Rust versions, unlike std's hasher.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

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
const QUOTA_ADVICE: &str = "Raise the quota \"Inbound or outbound rules per security group\" (L-0EA8095F) in \
     Service Quotas and set RulesPerSecurityGroupLimit to the new value, or remove rules from the group.";

/// EC2's error when an authorize would exceed the group's rule quota.
const RULES_LIMIT_EXCEEDED: &str = "RulesPerSecurityGroupLimitExceeded";

/// The same `Reason` as the pre-check's, for when EC2 itself refuses an
/// authorize for the quota (the limit property was set too high).
fn rules_limit_failure(group_id: &str, permission: &Permission, limit: u64) -> Failure {
    let source = match &permission.source {
        Reference::PrefixList(id) => format!("prefix list {id}"),
        Reference::Group(id) => format!("group {id}"),
    };
    Failure::new(format!(
        "Security group {group_id} would hold more inbound rules than its quota allows: EC2 refused the rule from \
         {source} on {}/{} ({RULES_LIMIT_EXCEEDED}), although RulesPerSecurityGroupLimit {limit} let it pass the \
         pre-check. {QUOTA_ADVICE}",
        permission.protocol, permission.port
    ))
}

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

/// The handler of `Custom::PrefixListIngress`.
pub struct PrefixListIngress<S> {
    groups: S,
}

impl<S: SecurityGroupRules> PrefixListIngress<S> {
    pub fn new(groups: S) -> Self {
        Self { groups }
    }

    async fn resolve_prefix_list(&self, reference: &PrefixListRef) -> Result<PrefixList, Failure> {
        match reference {
            PrefixListRef::Id(id) => self.groups.prefix_list(id).await.map_err(aws_failure)?.ok_or_else(|| {
                Failure::new(format!("PrefixListId {id} does not exist in this account and Region."))
            }),
            PrefixListRef::Named(name) => {
                self.groups.prefix_list_named(name).await.map_err(aws_failure)?.ok_or_else(|| {
                    Failure::new(format!(
                        "PrefixListName {} names no managed prefix list in this account and Region.",
                        quote(name)
                    ))
                })
            }
        }
    }

    /// A list's weight: an AWS-managed list's documented weight (or, for one
    /// not in the table, a conservative one); else its MaxEntries; where EC2
    /// gives none, the number of entries it holds now.
    async fn weight(&self, list: &PrefixList) -> Result<ListWeight, Failure> {
        let (weight, basis) = if is_aws_managed(list) {
            match documented_weight(&list.name) {
                Some(weight) => (weight, WeightBasis::Documented),
                None => (
                    UNKNOWN_AWS_MANAGED_WEIGHT.max(list.max_entries.map_or(0, u64::from)),
                    WeightBasis::Assumed,
                ),
            }
        } else if let Some(max) = list.max_entries {
            (u64::from(max), WeightBasis::MaxEntries)
        } else {
            let entries = self
                .groups
                .prefix_list_entry_count(&list.id)
                .await
                .map_err(aws_failure)?;
            (u64::from(entries), WeightBasis::Entries)
        };
        Ok(ListWeight {
            family: list.family,
            weight,
            basis,
        })
    }

    /// Fails before any write when the plan would exceed the rule quota.
    async fn pre_check(
        &self,
        props: &PrefixListIngressProps,
        current: &[IngressRule],
        plan: &IngressPlan,
        resolved: Option<&PrefixList>,
    ) -> Result<(), Failure> {
        let mut lists = BTreeMap::new();
        if let Some(list) = resolved {
            lists.insert(list.id.clone(), self.weight(list).await?);
        }
        let referenced: BTreeSet<&str> = current
            .iter()
            .filter_map(|rule| match &rule.source {
                Source::Reference(Reference::PrefixList(id)) => Some(id.as_str()),
                _ => None,
            })
            .collect();
        for id in referenced {
            if lists.contains_key(id) {
                continue;
            }
            if let Some(list) = self.groups.prefix_list(id).await.map_err(aws_failure)? {
                lists.insert(id.to_owned(), self.weight(&list).await?);
            }
        }
        check_quota(
            &props.security_group_id,
            current,
            plan,
            &lists,
            props.rules_limit,
        )
        .map_err(Failure::new)
    }

    /// Brings the group to the rules the properties ask for: looks up and
    /// checks everything first, then revokes (so a port change never counts
    /// the prefix list twice against the quota), then authorizes.
    async fn converge(
        &self,
        props: &PrefixListIngressProps,
        owner: &Owner,
        id: String,
    ) -> Result<Success, Failure> {
        let group_id = &props.security_group_id;
        let group = self
            .groups
            .security_group(group_id)
            .await
            .map_err(aws_failure)?
            .ok_or_else(|| {
                Failure::new(format!(
                    "SecurityGroupId {group_id} does not exist in this account and Region."
                ))
            })?;
        if group.name == VPC_ORIGINS_GROUP_NAME {
            return Err(Failure::new(format!(
                "SecurityGroupId {group_id} is CloudFront's own {VPC_ORIGINS_GROUP_NAME}; give the group of your load balancer instead."
            )));
        }
        let prefix_list = match &props.prefix_list {
            Some(reference) => Some(self.resolve_prefix_list(reference).await?),
            None => None,
        };
        let vpc_origin_group = match &props.vpc_origin_vpc_id {
            Some(vpc_id) => Some(
                self.vpc_origin_group(vpc_id, group.vpc_id.as_deref(), group_id)
                    .await?,
            ),
            None => None,
        };

        let permission = |source| Permission {
            protocol: props.protocol.clone(),
            port: props.port,
            source,
        };
        let desired: Vec<Permission> = prefix_list
            .iter()
            .map(|l| permission(Reference::PrefixList(l.id.clone())))
            .chain(
                vpc_origin_group
                    .iter()
                    .map(|g| permission(Reference::Group(g.clone()))),
            )
            .collect();
        let current = self
            .groups
            .ingress_rules(group_id)
            .await
            .map_err(aws_failure)?;
        let plan = ingress_plan(&desired, &current, &owner.tag_key());
        if !plan.authorize.is_empty() {
            self.pre_check(props, &current, &plan, prefix_list.as_ref())
                .await?;
        }
        let created = self
            .apply(group_id, &plan, owner, Some(props.rules_limit))
            .await?;

        let mut rule_ids: Vec<String> = plan.owned_after().cloned().chain(created).collect();
        rule_ids.sort();
        let mut data = BTreeMap::from([("SecurityGroupRuleIds".to_owned(), rule_ids.join(","))]);
        if let Some(list) = prefix_list {
            data.insert("PrefixListId".into(), list.id);
        }
        if let Some(group) = vpc_origin_group {
            data.insert("VpcOriginSecurityGroupId".into(), group);
        }
        Ok(Success {
            physical_resource_id: id,
            data,
        })
    }

    async fn vpc_origin_group(
        &self,
        vpc_id: &str,
        group_vpc: Option<&str>,
        group_id: &str,
    ) -> Result<String, Failure> {
        if let Some(group_vpc) = group_vpc.filter(|v| *v != vpc_id) {
            return Err(Failure::new(format!(
                "VpcId {vpc_id} is not the VPC of SecurityGroupId {group_id}, which is in {group_vpc}; the VPC origin must be in the group's VPC."
            )));
        }
        self.groups.vpc_origin_group(vpc_id).await.map_err(aws_failure)?.ok_or_else(|| {
            Failure::new(format!(
                "VpcId {vpc_id} has no {VPC_ORIGINS_GROUP_NAME} group yet: no CloudFront VPC origin exists in that VPC. \
                 Create the VPC origin first: give this resource a DependsOn on the AWS::CloudFront::VpcOrigin."
            ))
        })
    }

    /// Applies a plan; returns the ids of the rules it created. `rules_limit`
    /// is the limit the plan's authorizations were checked against.
    async fn apply(
        &self,
        group_id: &str,
        plan: &IngressPlan,
        owner: &Owner,
        rules_limit: Option<u64>,
    ) -> Result<Vec<String>, Failure> {
        let key = owner.tag_key();
        if !plan.revoke.is_empty() {
            tracing::info!(group_id, rules = ?plan.revoke, "revoking");
            self.groups
                .revoke(group_id, &plan.revoke)
                .await
                .map_err(aws_failure)?;
        }
        for rule_id in &plan.release {
            tracing::info!(
                group_id,
                rule_id,
                "releasing a rule that other frontdoor resources still hold"
            );
            self.groups
                .untag_rule(rule_id, &key)
                .await
                .map_err(aws_failure)?;
        }
        for rule_id in &plan.adopt {
            tracing::info!(
                group_id,
                rule_id,
                "co-owning a rule of another frontdoor resource"
            );
            self.groups
                .tag_rule(rule_id, &key, &owner.tag_value())
                .await
                .map_err(aws_failure)?;
        }
        let mut created = Vec::new();
        for permission in &plan.authorize {
            tracing::info!(group_id, ?permission, "authorizing");
            match self
                .groups
                .authorize(group_id, permission, &owner.description(), &owner.tags())
                .await
                .map_err(|err| match rules_limit {
                    Some(limit) if err.has_code(RULES_LIMIT_EXCEEDED) => {
                        rules_limit_failure(group_id, permission, limit)
                    }
                    _ => aws_failure(err),
                })? {
                Authorized::Created(ids) => created.extend(ids),
                // Made by someone else meanwhile: done, and not ours.
                Authorized::AlreadyExists => {
                    tracing::info!(group_id, ?permission, "the rule already exists")
                }
            }
        }
        Ok(created)
    }

    /// Lets go of every rule this owner holds in the group: revokes the ones
    /// no one else holds. A group already gone has none.
    async fn release_all(&self, group_id: &str, owner: &Owner) -> Result<(), Failure> {
        let current = self
            .groups
            .ingress_rules(group_id)
            .await
            .map_err(aws_failure)?;
        self.apply(
            group_id,
            &ingress_plan(&[], &current, &owner.tag_key()),
            owner,
            None,
        )
        .await
        .map(drop)
    }
}

fn aws_failure(err: AwsError) -> Failure {
    Failure::new(format!("{err}."))
}

impl<S: SecurityGroupRules + 'static> CustomResource for PrefixListIngress<S> {
    fn physical_resource_id(&self, request: &Request) -> Option<String> {
        let common = custom_resource::common(request);
        let props = PrefixListIngressProps::parse(common.properties).ok()?;
        Some(physical_id(
            common.stack_id,
            common.logical_resource_id,
            &props.security_group_id,
        ))
    }

    async fn handle(
        &self,
        request: Arc<Request>,
        _invocation: Invocation,
    ) -> Result<Success, Failure> {
        let common = custom_resource::common(&request);
        let owner = Owner::new(common.stack_id, common.logical_resource_id);
        let id_for = |props: &PrefixListIngressProps| {
            physical_id(
                common.stack_id,
                common.logical_resource_id,
                &props.security_group_id,
            )
        };
        match request.as_ref() {
            Request::Create(_) => {
                let props = PrefixListIngressProps::parse(common.properties)?;
                self.converge(&props, &owner, id_for(&props)).await
            }
            Request::Update(update) => {
                let props = PrefixListIngressProps::parse(common.properties)?;
                let success = self.converge(&props, &owner, id_for(&props)).await?;
                // Old properties whose id CloudFormation never accepted are
                // those of a failed Update to another group, now rolled back:
                // no Delete will come for that id, so clean its group here.
                if let Ok(old) = PrefixListIngressProps::parse(&update.old_resource_properties)
                    && old.security_group_id != props.security_group_id
                    && id_for(&old) != update.physical_resource_id
                {
                    self.release_all(&old.security_group_id, &owner).await?;
                }
                Ok(success)
            }
            Request::Delete(delete) => {
                // Properties that never parsed never created anything.
                if let Ok(props) = PrefixListIngressProps::parse(common.properties) {
                    self.release_all(&props.security_group_id, &owner).await?;
                }
                Ok(Success {
                    physical_resource_id: delete.physical_resource_id.clone(),
                    data: BTreeMap::new(),
                })
            }
            _ => Err(Failure::new("Unknown RequestType.")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const SG: &str = "sg-0123456789abcdef0";
    const ME: &str = "frontdoor:owner:me";
    const OTHER: &str = "frontdoor:owner:other";

    fn pl(port: u16) -> Permission {
        Permission {
            protocol: "tcp".into(),
            port,
            source: Reference::PrefixList("pl-1".into()),
        }
    }

    fn group(port: u16) -> Permission {
        Permission {
            protocol: "tcp".into(),
            port,
            source: Reference::Group("sg-vo".into()),
        }
    }

    fn rule(id: &str, permission: &Permission, owners: &[&str]) -> IngressRule {
        IngressRule {
            id: id.into(),
            protocol: permission.protocol.clone(),
            from_port: i32::from(permission.port),
            to_port: i32::from(permission.port),
            source: Source::Reference(permission.source.clone()),
            tags: owners
                .iter()
                .map(|k| (k.to_string(), "x".to_owned()))
                .collect(),
        }
    }

    fn cidr(id: &str, family: Family) -> IngressRule {
        IngressRule {
            id: id.into(),
            protocol: "tcp".into(),
            from_port: 80,
            to_port: 80,
            source: Source::Cidr(family),
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn properties_have_defaults_and_accept_strings() {
        let p = PrefixListIngressProps::parse(
            &json!({"ServiceToken": "arn:aws:lambda:x", "SecurityGroupId": SG}),
        )
        .unwrap();
        assert_eq!(p.port, 443);
        assert_eq!(p.protocol, "tcp");
        assert_eq!(
            p.prefix_list,
            Some(PrefixListRef::Named(DEFAULT_PREFIX_LIST_NAME.into()))
        );
        assert_eq!(p.vpc_origin_vpc_id, None);
        assert_eq!(p.rules_limit, 60);

        let p = PrefixListIngressProps::parse(&json!({
            "SecurityGroupId": SG, "Port": "8443", "Protocol": "UDP", "AllowPrefixList": "false",
            "AllowVpcOrigin": "TRUE", "VpcId": "vpc-01234567", "RulesPerSecurityGroupLimit": "120"
        }))
        .unwrap();
        assert_eq!(
            (p.port, p.protocol.as_str(), p.rules_limit),
            (8443, "udp", 120)
        );
        assert_eq!(p.prefix_list, None);
        assert_eq!(p.vpc_origin_vpc_id.as_deref(), Some("vpc-01234567"));

        let p = PrefixListIngressProps::parse(&json!({
            "SecurityGroupId": SG, "PrefixListId": "pl-01234567", "PrefixListName": "ignored", "VpcId": "not-checked"
        }))
        .unwrap();
        assert_eq!(p.prefix_list, Some(PrefixListRef::Id("pl-01234567".into())));
        assert_eq!(
            p.vpc_origin_vpc_id, None,
            "VpcId matters only with AllowVpcOrigin"
        );
    }

    #[test]
    fn bad_properties_name_the_property() {
        let cases = [
            (json!({}), "SecurityGroupId"),
            (
                json!({"SecurityGroupId": "vpc-01234567"}),
                "SecurityGroupId",
            ),
            (json!({"SecurityGroupId": SG, "Port": "0"}), "Port"),
            (
                json!({"SecurityGroupId": SG, "Protocol": "icmp"}),
                "Protocol",
            ),
            (
                json!({"SecurityGroupId": SG, "AllowPrefixList": "yes"}),
                "AllowPrefixList",
            ),
            (
                json!({"SecurityGroupId": SG, "PrefixListId": "sg-01234567"}),
                "PrefixListId",
            ),
            (
                json!({"SecurityGroupId": SG, "AllowVpcOrigin": "true"}),
                "VpcId",
            ),
            (
                json!({"SecurityGroupId": SG, "AllowVpcOrigin": true, "VpcId": "sg-01234567"}),
                "VpcId",
            ),
            (
                json!({"SecurityGroupId": SG, "RulesPerSecurityGroupLimit": "0"}),
                "RulesPerSecurityGroupLimit",
            ),
            (
                json!({"SecurityGroupId": SG, "RulesPerSecurityGroupLimit": "1001"}),
                "RulesPerSecurityGroupLimit",
            ),
        ];
        for (value, property) in cases {
            assert_eq!(
                PrefixListIngressProps::parse(&value).unwrap_err().property,
                property,
                "{value}"
            );
        }
    }

    #[test]
    fn the_physical_id_changes_only_with_the_group() {
        let stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/front/1234";
        assert_eq!(
            physical_id(stack, "Ingress", SG),
            format!("front/Ingress/{SG}")
        );
        assert_ne!(
            physical_id(stack, "Ingress", SG),
            physical_id(stack, "Ingress", "sg-01234567")
        );
    }

    #[test]
    fn owners_are_told_apart_by_stack_id_and_logical_id() {
        let a = Owner::new(
            "arn:aws:cloudformation:us-east-1:1:stack/front/uuid-1",
            "Ingress",
        );
        let again = Owner::new(
            "arn:aws:cloudformation:us-east-1:1:stack/front/uuid-1",
            "Ingress",
        );
        let recreated = Owner::new(
            "arn:aws:cloudformation:us-east-1:1:stack/front/uuid-2",
            "Ingress",
        );
        let renamed = Owner::new(
            "arn:aws:cloudformation:us-east-1:1:stack/front/uuid-1",
            "Ingress2",
        );
        assert_eq!(a.tag_key(), again.tag_key());
        assert_ne!(a.tag_key(), recreated.tag_key());
        assert_ne!(a.tag_key(), renamed.tag_key());
        // A fixed value: the key must never change between versions.
        assert_eq!(
            a.tag_key(),
            format!(
                "frontdoor:owner:{:016x}",
                fnv1a("arn:aws:cloudformation:us-east-1:1:stack/front/uuid-1/Ingress")
            )
        );
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(a.description(), "frontdoor front/Ingress");
        let long = Owner::new(
            &format!(
                "arn:aws:cloudformation:us-east-1:1:stack/{}/u",
                "s".repeat(128)
            ),
            &"L".repeat(255),
        );
        assert!(long.description().len() <= 255 && long.tag_value().len() <= 256);
        assert!(long.tag_key().len() <= 128);
    }

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
        assert_eq!(documented_weight(DEFAULT_PREFIX_LIST_NAME), Some(55));
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
