//! `Custom::PrefixListIngress` against moto_server, with a local ResponseURL.

use aws_sdk_ec2::types::SecurityGroupRule;
use frontdoor::aws::security_groups::{Ec2SecurityGroups, VPC_ORIGINS_GROUP_NAME};
use frontdoor::model::{Authorized, Permission, Reference};
use frontdoor::plan::Owner;
use frontdoor::ports::SecurityGroupRules;
use frontdoor::resources::prefix_list_ingress::DEFAULT_PREFIX_LIST_NAME;
use frontdoor_tests::cfn::{
    Events, ResponseUrl, STACK_ID, assert_failed_naming, assert_success, id_of, invoke,
};
use frontdoor_tests::moto::{Account, Vpc, shape};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

const LOGICAL_ID: &str = "AlbIngress";

fn shapes(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

struct Fixture {
    account: Account,
    url: ResponseUrl,
    events: Events,
    vpc: Vpc,
    /// The ALB's group.
    group: String,
    prefix_list: String,
    owner_key: String,
}

impl Fixture {
    async fn new() -> Self {
        Self::for_logical_id(LOGICAL_ID).await
    }

    async fn for_logical_id(logical_id: &str) -> Self {
        let account = Account::new().await;
        let url = ResponseUrl::start().await;
        let events = Events::new(&url, "Custom::PrefixListIngress", logical_id);
        let vpc = account.vpc(1).await;
        let group = account.security_group(&vpc, "alb").await;
        let prefix_list = account.prefix_list_id(DEFAULT_PREFIX_LIST_NAME).await;
        Self {
            account,
            url,
            events,
            vpc,
            group,
            prefix_list,
            owner_key: Owner::new(STACK_ID, logical_id).tag_key(),
        }
    }

    async fn invoke(&self, event: Value) -> Value {
        invoke(self.account.prefix_list_ingress(), &self.url, event).await
    }

    /// What the group's inbound rules grant.
    async fn grants(&self, group: &str) -> BTreeSet<String> {
        self.account.grants(group).await
    }

    /// Fails the test unless the ALB's group holds no inbound rule.
    async fn assert_no_rule_in_the_group(&self, why: &str) {
        assert_eq!(self.grants(&self.group).await, BTreeSet::new(), "{why}");
    }

    /// This resource's rules in the group.
    async fn owned_rules(&self, group: &str) -> Vec<SecurityGroupRule> {
        self.account
            .inbound_rules(group)
            .await
            .into_iter()
            .filter(|r| {
                r.tags()
                    .iter()
                    .any(|t| t.key() == Some(self.owner_key.as_str()))
            })
            .collect()
    }

    /// What this resource's rules in the group grant.
    async fn owned(&self, group: &str) -> BTreeSet<String> {
        self.owned_rules(group).await.iter().map(shape).collect()
    }

    async fn owned_ids(&self, group: &str) -> String {
        let mut ids: Vec<String> = self
            .owned_rules(group)
            .await
            .iter()
            .filter_map(|r| r.security_group_rule_id().map(str::to_owned))
            .collect();
        ids.sort();
        ids.join(",")
    }

    async fn vpc_origin_group(&self) -> String {
        self.account
            .security_group(&self.vpc, VPC_ORIGINS_GROUP_NAME)
            .await
    }

    fn pl(&self, port: u16) -> String {
        format!("tcp/{port}/{}", self.prefix_list)
    }
}

fn props(group: &str) -> Value {
    json!({ "SecurityGroupId": group })
}

fn both(group: &str, vpc: &Vpc) -> Value {
    json!({ "SecurityGroupId": group, "AllowVpcOrigin": "true", "VpcId": vpc.vpc_id })
}

#[tokio::test]
async fn create_with_the_prefix_list_opens_port_443_and_tags_the_rule() {
    let f = Fixture::new().await;
    let response = f.invoke(f.events.create(props(&f.group))).await;
    assert_success(&response);
    assert_eq!(
        id_of(&response),
        format!("frontdoor-test/{LOGICAL_ID}/{}", f.group)
    );
    assert_eq!(f.grants(&f.group).await, shapes(&[&f.pl(443)]));
    assert_eq!(f.owned(&f.group).await, shapes(&[&f.pl(443)]));
    let data = &response["Data"];
    assert_eq!(data["PrefixListId"], f.prefix_list);
    assert_eq!(data["SecurityGroupRuleIds"], f.owned_ids(&f.group).await);
    assert!(data.get("VpcOriginSecurityGroupId").is_none(), "{data}");
}

#[tokio::test]
async fn create_with_both_sources_opens_the_port_to_both() {
    let f = Fixture::new().await;
    let vo = f.vpc_origin_group().await;
    let mut p = both(&f.group, &f.vpc);
    p["Port"] = json!("8443");
    let response = f.invoke(f.events.create(p)).await;
    assert_success(&response);
    let expected = shapes(&[&f.pl(8443), &format!("tcp/8443/{vo}")]);
    assert_eq!(f.owned(&f.group).await, expected);
    assert_eq!(
        f.grants(&vo).await,
        BTreeSet::new(),
        "CloudFront's own group is never written"
    );
    let data = &response["Data"];
    assert_eq!(data["VpcOriginSecurityGroupId"], vo);
    assert_eq!(data["PrefixListId"], f.prefix_list);
    let ids = data["SecurityGroupRuleIds"].as_str().unwrap();
    assert_eq!(ids.split(',').count(), 2);
    assert_eq!(
        ids,
        f.owned_ids(&f.group).await,
        "sorted and comma-separated"
    );
}

#[tokio::test]
async fn a_hand_made_rule_counts_as_done_and_survives_delete() {
    let f = Fixture::new().await;
    let hand = f
        .account
        .allow_prefix_list(&f.group, &f.prefix_list, 443)
        .await;
    let p = props(&f.group);
    let response = f.invoke(f.events.create(p.clone())).await;
    assert_success(&response);
    assert_eq!(
        response["Data"]["SecurityGroupRuleIds"], "",
        "the hand-made rule is not this resource's"
    );
    assert_eq!(f.owned(&f.group).await, BTreeSet::new());

    assert_success(&f.invoke(f.events.delete(&id_of(&response), p)).await);
    let rules = f.account.inbound_rules(&f.group).await;
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].security_group_rule_id(), Some(hand.as_str()));
}

#[tokio::test]
async fn update_of_the_port_converges_in_place() {
    let f = Fixture::new().await;
    let hand = f.account.allow_cidr(&f.group, "10.1.0.0/16", 443).await;
    let old = props(&f.group);
    let created = f.invoke(f.events.create(old.clone())).await;
    let id = id_of(&created);

    let mut new = old.clone();
    new["Port"] = json!(8443);
    let updated = f.invoke(f.events.update(&id, new, old)).await;
    assert_success(&updated);
    assert_eq!(
        id_of(&updated),
        id,
        "same group, same id: no Delete follows"
    );
    assert_eq!(f.owned(&f.group).await, shapes(&[&f.pl(8443)]));
    assert_eq!(
        f.grants(&f.group).await,
        shapes(&[&f.pl(8443), "tcp/443/10.1.0.0/16"]),
        "the old port is closed, the hand-made rule {hand} stays"
    );
}

#[tokio::test]
async fn an_update_that_keeps_a_rule_keeps_that_very_rule() {
    let f = Fixture::new().await;
    let vo = f.vpc_origin_group().await;
    let p1 = props(&f.group);
    let created = f.invoke(f.events.create(p1.clone())).await;
    let id = id_of(&created);
    let pl_rule = created["Data"]["SecurityGroupRuleIds"]
        .as_str()
        .unwrap()
        .to_owned();

    let p2 = both(&f.group, &f.vpc);
    let updated = f.invoke(f.events.update(&id, p2.clone(), p1.clone())).await;
    assert_success(&updated);
    assert_eq!(id_of(&updated), id);
    assert_eq!(
        f.owned(&f.group).await,
        shapes(&[&f.pl(443), &format!("tcp/443/{vo}")])
    );
    let ids = updated["Data"]["SecurityGroupRuleIds"].as_str().unwrap();
    assert!(
        ids.split(',').any(|i| i == pl_rule),
        "{pl_rule} was kept, not recreated: {ids}"
    );

    // And off again: only the group rule goes.
    let back = f.invoke(f.events.update(&id, p1, p2)).await;
    assert_success(&back);
    assert_eq!(back["Data"]["SecurityGroupRuleIds"], pl_rule);
    assert_eq!(f.grants(&f.group).await, shapes(&[&f.pl(443)]));
}

#[tokio::test]
async fn an_update_to_another_group_replaces_and_the_cleanup_delete_leaves_the_new_group_alone() {
    let f = Fixture::new().await;
    let new_group = f.account.security_group(&f.vpc, "alb-2").await;
    let old = props(&f.group);
    let created = f.invoke(f.events.create(old.clone())).await;
    let old_id = id_of(&created);

    let new = props(&new_group);
    let replaced = f
        .invoke(f.events.update(&old_id, new.clone(), old.clone()))
        .await;
    assert_success(&replaced);
    let new_id = id_of(&replaced);
    assert_ne!(new_id, old_id, "another group means another physical id");
    assert_eq!(f.owned(&new_group).await, shapes(&[&f.pl(443)]));
    assert_eq!(
        f.owned(&f.group).await,
        shapes(&[&f.pl(443)]),
        "the old group waits for its Delete"
    );

    assert_success(&f.invoke(f.events.delete(&old_id, old)).await);
    assert_eq!(f.grants(&f.group).await, BTreeSet::new());
    assert_eq!(f.owned(&new_group).await, shapes(&[&f.pl(443)]));
    assert_eq!(
        replaced["Data"]["SecurityGroupRuleIds"],
        f.owned_ids(&new_group).await
    );
}

#[tokio::test]
async fn the_rollback_of_a_failed_update_to_another_group_cleans_that_group() {
    let f = Fixture::new().await;
    let other = f.account.security_group(&f.vpc, "alb-2").await;
    let p_a = props(&f.group);
    let id_a = id_of(&f.invoke(f.events.create(p_a.clone())).await);
    // What a failed Update to the other group may leave: a rule of this
    // resource there, while CloudFormation keeps the old id.
    let leftover = f
        .account
        .allow_prefix_list(&other, &f.prefix_list, 443)
        .await;
    f.account
        .tag_rule(&leftover, &f.owner_key, "leftover")
        .await;
    let hand = f.account.allow_cidr(&other, "10.1.0.0/16", 443).await;

    let rollback = f.invoke(f.events.update(&id_a, p_a, props(&other))).await;
    assert_success(&rollback);
    assert_eq!(id_of(&rollback), id_a);
    assert_eq!(
        f.grants(&other).await,
        shapes(&["tcp/443/10.1.0.0/16"]),
        "only {hand} is left"
    );
    assert_eq!(f.owned(&f.group).await, shapes(&[&f.pl(443)]));
}

#[tokio::test]
async fn delete_revokes_exactly_its_rules_and_tolerates_what_is_gone() {
    let f = Fixture::new().await;
    let vo = f.vpc_origin_group().await;
    f.account.allow_cidr(&f.group, "10.1.0.0/16", 443).await;
    f.account
        .allow_prefix_list(&f.group, &f.prefix_list, 80)
        .await;
    let mut p = both(&f.group, &f.vpc);
    // Two references to the CloudFront list weigh 110.
    p["RulesPerSecurityGroupLimit"] = json!("120");
    let created = f.invoke(f.events.create(p.clone())).await;
    assert_success(&created);
    // Someone already revoked one of its rules by hand.
    let first = created["Data"]["SecurityGroupRuleIds"]
        .as_str()
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_owned();
    f.account.revoke_rule(&f.group, &first).await;

    let deleted = f.invoke(f.events.delete(&id_of(&created), p.clone())).await;
    assert_success(&deleted);
    assert_eq!(id_of(&deleted), id_of(&created));
    assert_eq!(
        f.grants(&f.group).await,
        shapes(&["tcp/443/10.1.0.0/16", &f.pl(80)])
    );
    assert_eq!(f.grants(&vo).await, BTreeSet::new());

    // A second Delete, and a Delete after the group itself is gone.
    assert_success(&f.invoke(f.events.delete(&id_of(&created), p.clone())).await);
    let gone = f.account.security_group(&f.vpc, "gone").await;
    let p = props(&gone);
    let created = f.invoke(f.events.create(p.clone())).await;
    f.account.delete_security_group(&gone).await;
    assert_success(&f.invoke(f.events.delete(&id_of(&created), p)).await);
}

#[tokio::test]
async fn delete_after_a_failed_create_succeeds_and_touches_nothing() {
    let f = Fixture::new().await;
    f.account
        .allow_prefix_list(&f.group, &f.prefix_list, 443)
        .await;
    let before = f.grants(&f.group).await;

    // Properties that do not parse: nothing is created, the Delete does nothing.
    let bad = json!({"SecurityGroupId": f.group, "Port": "https"});
    let failed = f.invoke(f.events.create(bad.clone())).await;
    assert_failed_naming(&failed, &["Port"]);
    let deleted = f.invoke(f.events.delete(&id_of(&failed), bad)).await;
    assert_success(&deleted);
    assert_eq!(id_of(&deleted), id_of(&failed));

    // Valid properties, but no VPC origin yet: the Delete of its id succeeds.
    let p = json!({"SecurityGroupId": f.group, "Port": 8443, "AllowVpcOrigin": true, "VpcId": f.vpc.vpc_id});
    let failed = f.invoke(f.events.create(p.clone())).await;
    assert_failed_naming(&failed, &["DependsOn"]);
    assert_eq!(
        id_of(&failed),
        format!("frontdoor-test/{LOGICAL_ID}/{}", f.group)
    );
    assert_success(&f.invoke(f.events.delete(&id_of(&failed), p)).await);
    assert_eq!(f.grants(&f.group).await, before);
}

#[tokio::test]
async fn a_missing_vpc_origins_group_fails_before_any_write() {
    let f = Fixture::new().await;
    let response = f.invoke(f.events.create(both(&f.group, &f.vpc))).await;
    assert_failed_naming(
        &response,
        &[
            &f.vpc.vpc_id,
            VPC_ORIGINS_GROUP_NAME,
            "no CloudFront VPC origin exists",
            "DependsOn",
        ],
    );
    f.assert_no_rule_in_the_group("not even the prefix-list rule")
        .await;
}

#[tokio::test]
async fn an_unknown_prefix_list_fails_with_its_name() {
    let f = Fixture::new().await;
    let p = json!({"SecurityGroupId": f.group, "PrefixListName": "com.example.nothing"});
    assert_failed_naming(
        &f.invoke(f.events.create(p)).await,
        &["PrefixListName", "com.example.nothing"],
    );
    let p = json!({"SecurityGroupId": f.group, "PrefixListId": "pl-0123456789abcdef0"});
    assert_failed_naming(
        &f.invoke(f.events.create(p)).await,
        &["PrefixListId", "pl-0123456789abcdef0"],
    );
    assert_eq!(f.grants(&f.group).await, BTreeSet::new());
}

#[tokio::test]
async fn a_prefix_list_id_skips_the_name_look_up() {
    let f = Fixture::new().await;
    let p = json!({"SecurityGroupId": f.group, "PrefixListId": f.prefix_list, "PrefixListName": "com.example.nothing"});
    let response = f.invoke(f.events.create(p)).await;
    assert_success(&response);
    assert_eq!(response["Data"]["PrefixListId"], f.prefix_list);
    assert_eq!(f.owned(&f.group).await, shapes(&[&f.pl(443)]));
}

#[tokio::test]
async fn invalid_or_wrong_targets_fail_naming_what_is_wrong() {
    let f = Fixture::new().await;
    let vo = f.vpc_origin_group().await;
    let other_vpc = f.account.vpc(0).await;
    let cases = [
        (
            json!({"SecurityGroupId": f.group, "AllowVpcOrigin": "true"}),
            vec!["VpcId"],
        ),
        (
            json!({"SecurityGroupId": f.group, "Protocol": "icmp"}),
            vec!["Protocol"],
        ),
        (
            json!({"SecurityGroupId": "sg-0123456789abcdef0"}),
            vec!["sg-0123456789abcdef0", "does not exist"],
        ),
        (
            json!({"SecurityGroupId": vo}),
            vec![VPC_ORIGINS_GROUP_NAME, "load balancer"],
        ),
        (
            both(&f.group, &other_vpc),
            vec![other_vpc.vpc_id.as_str(), f.vpc.vpc_id.as_str()],
        ),
    ];
    for (p, needles) in cases {
        assert_failed_naming(&f.invoke(f.events.create(p)).await, &needles);
    }
    assert_eq!(f.grants(&f.group).await, BTreeSet::new());
    assert_eq!(f.grants(&vo).await, BTreeSet::new());
}

#[tokio::test]
async fn the_quota_pre_check_fails_with_the_numbers_and_never_counts_its_own_rules_twice() {
    let f = Fixture::new().await;
    // The CloudFront list weighs its documented 55, whatever moto's entries.
    let weight = 55;
    f.account.allow_cidr(&f.group, "10.1.0.0/16", 443).await;
    let limited = |limit: u64| json!({"SecurityGroupId": f.group, "RulesPerSecurityGroupLimit": limit.to_string()});

    let failed = f.invoke(f.events.create(limited(weight))).await;
    let total = (weight + 1).to_string();
    let weighs = format!("weighs {weight}");
    let limit = format!("RulesPerSecurityGroupLimit {weight}");
    assert_failed_naming(
        &failed,
        &[
            &total,
            &limit,
            &weighs,
            "L-0EA8095F",
            "Inbound or outbound rules per security group",
        ],
    );
    assert_eq!(f.owned(&f.group).await, BTreeSet::new(), "nothing written");

    // Exactly at the limit fits.
    let created = f.invoke(f.events.create(limited(weight + 1))).await;
    assert_success(&created);
    let id = id_of(&created);

    // A port change at the same limit: its own rule goes first, so fits.
    let mut moved = limited(weight + 1);
    moved["Port"] = json!("8443");
    let updated = f
        .invoke(f.events.update(&id, moved.clone(), limited(weight + 1)))
        .await;
    assert_success(&updated);
    assert_eq!(f.owned(&f.group).await, shapes(&[&f.pl(8443)]));

    // Another reference to the list weighs as much as the list.
    let g2 = f.account.security_group(&f.vpc, "alb-2").await;
    f.account.allow_prefix_list(&g2, &f.prefix_list, 80).await;
    let p =
        json!({"SecurityGroupId": g2, "RulesPerSecurityGroupLimit": (2 * weight - 1).to_string()});
    let failed = f.invoke(f.events.create(p)).await;
    assert_failed_naming(&failed, &[&format!("it holds {weight}")]);
}

#[tokio::test]
async fn the_cloudfront_list_counts_55_whatever_its_entry_count() {
    let f = Fixture::new().await;
    let entries = f.account.prefix_list_entry_count(&f.prefix_list).await;
    assert_ne!(
        entries, 55,
        "moto's list must differ from the weight for this test to mean anything"
    );
    for i in 0..10 {
        f.account
            .allow_cidr(&f.group, &format!("10.{i}.0.0/16"), 443)
            .await;
    }
    // 10 + 55 = 65 > 60: real EC2 would refuse the authorize.
    let failed = f
        .invoke(
            f.events
                .create(json!({"SecurityGroupId": f.group, "RulesPerSecurityGroupLimit": "60"})),
        )
        .await;
    assert_failed_naming(
        &failed,
        &[
            "would hold 65",
            "it holds 10",
            "weighs 55",
            "documented weight",
            "L-0EA8095F",
        ],
    );
    assert_eq!(f.owned(&f.group).await, BTreeSet::new(), "nothing written");
    assert_success(
        &f.invoke(
            f.events
                .create(json!({"SecurityGroupId": f.group, "RulesPerSecurityGroupLimit": "65"})),
        )
        .await,
    );
}

#[tokio::test]
async fn turning_both_sources_off_closes_the_group_and_keeps_the_resource() {
    let f = Fixture::new().await;
    f.vpc_origin_group().await;
    let p1 = both(&f.group, &f.vpc);
    let id = id_of(&f.invoke(f.events.create(p1.clone())).await);
    let off = json!({"SecurityGroupId": f.group, "AllowPrefixList": "false"});
    let updated = f.invoke(f.events.update(&id, off, p1)).await;
    assert_success(&updated);
    assert_eq!(updated["Data"]["SecurityGroupRuleIds"], "");
    assert_eq!(f.grants(&f.group).await, BTreeSet::new());
}

/// A new resource that needs a rule an old one created (a renamed logical
/// id, or a move to a new stack) co-owns it: the old one's Delete, which
/// CloudFormation sends after the new one exists, leaves it in place.
#[tokio::test]
async fn a_rule_shared_with_another_frontdoor_resource_outlives_the_first_delete() {
    let f = Fixture::for_logical_id("OldName").await;
    let p = props(&f.group);
    let old_id = id_of(&f.invoke(f.events.create(p.clone())).await);
    let renamed = Events::new(&f.url, "Custom::PrefixListIngress", "NewName");
    let created = f.invoke(renamed.create(p.clone())).await;
    assert_success(&created);
    assert_eq!(
        created["Data"]["SecurityGroupRuleIds"],
        f.owned_ids(&f.group).await,
        "adopted"
    );

    assert_success(&f.invoke(f.events.delete(&old_id, p.clone())).await);
    assert_eq!(
        f.grants(&f.group).await,
        shapes(&[&f.pl(443)]),
        "the new resource still needs it"
    );
    assert_eq!(
        f.owned(&f.group).await,
        BTreeSet::new(),
        "the old owner let go"
    );

    assert_success(&f.invoke(renamed.delete(&id_of(&created), p)).await);
    f.assert_no_rule_in_the_group("the last owner revokes it")
        .await;
}

/// The invariant over a sequence CloudFormation really sends: after each
/// step the groups hold exactly what the current properties ask for, plus
/// the hand-made rules, and nothing of this resource at the end.
#[tokio::test]
async fn a_sequence_of_events_keeps_exactly_the_rules_the_properties_ask_for() {
    let f = Fixture::new().await;
    let vo = f.vpc_origin_group().await;
    let g2 = f.account.security_group(&f.vpc, "alb-2").await;
    f.account.allow_cidr(&f.group, "10.1.0.0/16", 443).await;
    f.account.allow_prefix_list(&g2, &f.prefix_list, 443).await;
    let hand_1 = "tcp/443/10.1.0.0/16".to_owned();
    let hand_2 = f.pl(443);
    let vo_rule = |port: u16| format!("tcp/{port}/{vo}");

    let p1 = props(&f.group);
    let id1 = id_of(&f.invoke(f.events.create(p1.clone())).await);
    assert_eq!(f.grants(&f.group).await, shapes(&[&hand_1, &f.pl(443)]));

    let p2 = json!({"SecurityGroupId": f.group, "Port": "8443", "AllowVpcOrigin": "true", "VpcId": f.vpc.vpc_id});
    let r2 = f.invoke(f.events.update(&id1, p2.clone(), p1)).await;
    assert_success(&r2);
    assert_eq!(id_of(&r2), id1);
    assert_eq!(
        f.grants(&f.group).await,
        shapes(&[&hand_1, &f.pl(8443), &vo_rule(8443)])
    );

    let p3 = json!({"SecurityGroupId": g2, "AllowVpcOrigin": "true", "VpcId": f.vpc.vpc_id});
    let r3 = f
        .invoke(f.events.update(&id1, p3.clone(), p2.clone()))
        .await;
    assert_success(&r3);
    let id3 = id_of(&r3);
    assert_ne!(id3, id1);
    assert_success(&f.invoke(f.events.delete(&id1, p2)).await);
    assert_eq!(f.grants(&f.group).await, shapes(&[&hand_1]));
    assert_eq!(
        f.grants(&g2).await,
        shapes(&[&hand_2, &vo_rule(443)]),
        "the hand-made prefix-list rule serves"
    );
    assert_eq!(f.owned(&g2).await, shapes(&[&vo_rule(443)]));

    assert_success(&f.invoke(f.events.delete(&id3, p3)).await);
    assert_eq!(f.grants(&f.group).await, shapes(&[&hand_1]));
    assert_eq!(f.grants(&g2).await, shapes(&[&hand_2]));
    assert_eq!(f.grants(&vo).await, BTreeSet::new());
}

/// A rule made meanwhile by someone else answers `InvalidPermission.Duplicate`:
/// the adapter reports it as done, not as an error.
#[tokio::test]
async fn the_adapter_reports_a_duplicate_as_already_existing() {
    let f = Fixture::new().await;
    let groups = Ec2SecurityGroups::new(f.account.ec2.clone());
    f.account
        .allow_prefix_list(&f.group, &f.prefix_list, 443)
        .await;
    let permission = Permission {
        protocol: "tcp".into(),
        port: 443,
        source: Reference::PrefixList(f.prefix_list.clone()),
    };
    let outcome = groups
        .authorize(&f.group, &permission, "frontdoor x/Y", &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(outcome, Authorized::AlreadyExists);
}

/// EC2 fails a whole revoke when one id is missing; the adapter still
/// revokes the others.
#[tokio::test]
async fn the_adapter_revokes_the_rules_that_exist_when_one_is_gone() {
    let f = Fixture::new().await;
    let groups = Ec2SecurityGroups::new(f.account.ec2.clone());
    let a = f.account.allow_cidr(&f.group, "10.1.0.0/16", 443).await;
    let b = f.account.allow_cidr(&f.group, "10.2.0.0/16", 443).await;
    f.account.revoke_rule(&f.group, &a).await;
    groups.revoke(&f.group, &[a, b]).await.unwrap();
    assert_eq!(f.grants(&f.group).await, BTreeSet::new());
    groups
        .revoke(
            "sg-0123456789abcdef0",
            &["sgr-0123456789abcdef0".to_owned()],
        )
        .await
        .unwrap();
}
