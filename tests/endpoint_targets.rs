//! `Custom::EndpointTargets` against moto_server, with a local ResponseURL.

use frontdoor::cfn::props::PropertyError;
use frontdoor::cfn::{Context, CustomResource, Data, Settings};
use frontdoor_tests::cfn::{
    self, Events, Protocol, ResponseUrl, assert_failed_naming, assert_success, id_of, invoke,
    lambda_deadline_in,
};
use frontdoor_tests::moto::{Account, moto_url};
use frontdoor_tests::proxy::{Fault, Proxy, Rule};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn props(endpoint: &str, groups: &[&str], port: Option<&str>) -> Value {
    let mut p = json!({"VpcEndpointId": endpoint, "TargetGroupArns": groups});
    if let Some(port) = port {
        p["Port"] = json!(port);
    }
    p
}

struct Fixture {
    account: Account,
    url: ResponseUrl,
    events: Events,
    vpc: frontdoor_tests::moto::Vpc,
}

impl Fixture {
    async fn new() -> Self {
        let account = Account::new().await;
        let url = ResponseUrl::start().await;
        let events = Events::new(&url, "Custom::EndpointTargets", "EndpointTargets");
        let vpc = account.vpc(3).await;
        Self {
            account,
            url,
            events,
            vpc,
        }
    }

    async fn invoke(&self, event: Value) -> Value {
        invoke(self.account.endpoint_targets(), &self.url, event).await
    }
}

#[tokio::test]
async fn create_registers_every_eni_ip_for_one_two_and_three_subnets() {
    let f = Fixture::new().await;
    for subnets in 1..=3 {
        let endpoint = f.account.endpoint(&f.vpc, subnets).await;
        let group = f
            .account
            .target_group(&f.vpc, &format!("tg{subnets}"))
            .await;
        let ips = f.account.endpoint_ips(&endpoint).await;
        assert_eq!(ips.len(), subnets);

        let response = f
            .invoke(f.events.create(props(&endpoint, &[&group], None)))
            .await;
        assert_success(&response);
        assert_eq!(f.account.ips_on(&group, 443).await, ips);
        let data = &response["Data"];
        assert_eq!(data["IpCount"], subnets.to_string());
        let mut listed: Vec<String> = (0..subnets)
            .map(|i| data[format!("IP{i}")].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(data["Ips"], listed.join(","));
        listed.sort();
        assert_eq!(listed, ips);
        assert_eq!(
            response["PhysicalResourceId"],
            format!("frontdoor-test/EndpointTargets/{endpoint}")
        );
        assert_eq!(response["LogicalResourceId"], "EndpointTargets");
    }
}

#[tokio::test]
async fn create_accepts_the_port_as_a_string_and_registers_in_every_group() {
    let f = Fixture::new().await;
    let endpoint = f.account.endpoint(&f.vpc, 2).await;
    let a = f.account.target_group(&f.vpc, "a").await;
    let b = f.account.target_group(&f.vpc, "b").await;
    assert_success(
        &f.invoke(f.events.create(props(&endpoint, &[&a, &b], Some("8443"))))
            .await,
    );
    let ips = f.account.endpoint_ips(&endpoint).await;
    assert_eq!(f.account.ips_on(&a, 8443).await, ips);
    assert_eq!(f.account.ips_on(&b, 8443).await, ips);
    assert!(f.account.ips_on(&a, 443).await.is_empty());
}

#[tokio::test]
async fn update_in_place_moves_targets_between_groups_and_ports() {
    let f = Fixture::new().await;
    let endpoint = f.account.endpoint(&f.vpc, 3).await;
    let a = f.account.target_group(&f.vpc, "a").await;
    let b = f.account.target_group(&f.vpc, "b").await;
    let ips = f.account.endpoint_ips(&endpoint).await;
    let created = f
        .invoke(f.events.create(props(&endpoint, &[&a], None)))
        .await;
    let id = id_of(&created);

    // A new group and a new port: same endpoint, so the same id and no Delete follows.
    let updated = f
        .invoke(f.events.update(
            &id,
            props(&endpoint, &[&b], Some("8443")),
            props(&endpoint, &[&a], None),
        ))
        .await;
    assert_success(&updated);
    assert_eq!(id_of(&updated), id);
    assert_eq!(f.account.ips_on(&b, 8443).await, ips);
    assert!(
        f.account.targets(&a).await.is_empty(),
        "the old group is cleaned"
    );
    // The claim moved with the targets.
    assert!(claims(&f.account.tags(&a).await).is_empty());
    assert_eq!(
        claims(&f.account.tags(&b).await),
        [format!("{endpoint}:8443 frontdoor-test/EndpointTargets")]
    );

    // The port back to 443 in the same group.
    let updated = f
        .invoke(f.events.update(
            &id,
            props(&endpoint, &[&b], None),
            props(&endpoint, &[&b], Some("8443")),
        ))
        .await;
    assert_success(&updated);
    assert_eq!(f.account.ips_on(&b, 443).await, ips);
    assert!(
        f.account.ips_on(&b, 8443).await.is_empty(),
        "the old port is cleaned"
    );
}

/// The invariant over a sequence CloudFormation really sends: Create, an
/// Update that keeps the endpoint, an Update to another endpoint (a new id),
/// the Delete of the old id in the clean-up phase, then the final Delete.
#[tokio::test]
async fn replacement_then_cleanup_delete_keeps_exactly_the_current_ips() {
    let f = Fixture::new().await;
    let old_endpoint = f.account.endpoint(&f.vpc, 2).await;
    let new_endpoint = f.account.endpoint(&f.vpc, 3).await;
    let a = f.account.target_group(&f.vpc, "a").await;
    let b = f.account.target_group(&f.vpc, "b").await;
    let old_ips = f.account.endpoint_ips(&old_endpoint).await;
    let new_ips = f.account.endpoint_ips(&new_endpoint).await;

    let p1 = props(&old_endpoint, &[&a], None);
    let created = f.invoke(f.events.create(p1.clone())).await;
    let old_id = id_of(&created);

    let p2 = props(&old_endpoint, &[&a, &b], None);
    assert_success(&f.invoke(f.events.update(&old_id, p2.clone(), p1)).await);
    assert_eq!(f.account.ips_on(&b, 443).await, old_ips);

    let p3 = props(&new_endpoint, &[&a, &b], None);
    let replaced = f
        .invoke(f.events.update(&old_id, p3.clone(), p2.clone()))
        .await;
    assert_success(&replaced);
    let new_id = id_of(&replaced);
    assert_ne!(new_id, old_id, "another endpoint means another physical id");

    assert_success(&f.invoke(f.events.delete(&old_id, p2)).await);
    for group in [&a, &b] {
        assert_eq!(
            f.account.ips_on(group, 443).await,
            new_ips,
            "{group} holds exactly the new endpoint's IPs"
        );
    }

    assert_success(&f.invoke(f.events.delete(&new_id, p3)).await);
    for group in [&a, &b] {
        assert!(
            f.account.targets(group).await.is_empty(),
            "nothing left behind in {group}"
        );
    }
}

/// The values of the group's owner tags: the claims on it.
fn claims(tags: &BTreeMap<String, String>) -> Vec<String> {
    tags.iter()
        .filter(|(k, _)| k.starts_with("frontdoor:owner:"))
        .map(|(_, v)| v.clone())
        .collect()
}

const OTHER_STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/frontdoor-other/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9";

#[tokio::test]
async fn two_resources_sharing_a_group_leave_it_to_the_last() {
    let f = Fixture::new().await;
    let endpoint = f.account.endpoint(&f.vpc, 3).await;
    let group = f.account.target_group(&f.vpc, "shared").await;
    let ips = f.account.endpoint_ips(&endpoint).await;
    let p = props(&endpoint, &[&group], None);
    // The same endpoint in the same group, from two stacks.
    let other = f.events.in_stack(OTHER_STACK);
    let first = id_of(&f.invoke(f.events.create(p.clone())).await);
    let second = f.invoke(other.create(p.clone())).await;
    assert_success(&second);
    assert_eq!(claims(&f.account.tags(&group).await).len(), 2);

    assert_success(&f.invoke(f.events.delete(&first, p.clone())).await);
    assert_eq!(
        f.account.ips_on(&group, 443).await,
        ips,
        "the first Delete leaves every IP the other still claims"
    );
    assert_eq!(claims(&f.account.tags(&group).await).len(), 1);

    assert_success(&f.invoke(other.delete(&id_of(&second), p)).await);
    assert!(
        f.account.targets(&group).await.is_empty(),
        "the last one empties it"
    );
    assert!(
        f.account.tags(&group).await.is_empty(),
        "and leaves no claim"
    );
}

#[tokio::test]
async fn a_rename_never_empties_the_group() {
    let f = Fixture::new().await;
    let endpoint = f.account.endpoint(&f.vpc, 2).await;
    let group = f.account.target_group(&f.vpc, "a").await;
    let ips = f.account.endpoint_ips(&endpoint).await;
    let p = props(&endpoint, &[&group], None);
    let old = id_of(&f.invoke(f.events.create(p.clone())).await);

    // A logical-id rename: CloudFormation creates the new resource, which
    // finds every IP registered already, then deletes the old one.
    let renamed = f.events.renamed("FrontDoorTargets");
    let new = f.invoke(renamed.create(p.clone())).await;
    assert_success(&new);
    assert_success(&f.invoke(f.events.delete(&old, p.clone())).await);
    assert_eq!(f.account.ips_on(&group, 443).await, ips);
    assert_eq!(
        claims(&f.account.tags(&group).await),
        [format!("{endpoint}:443 frontdoor-test/FrontDoorTargets")]
    );

    assert_success(&f.invoke(renamed.delete(&id_of(&new), p)).await);
    assert!(f.account.targets(&group).await.is_empty());
}

#[tokio::test]
async fn ownership_that_cannot_be_recorded_fails_and_changes_nothing() {
    let f = Fixture::new().await;
    let endpoint = f.account.endpoint(&f.vpc, 2).await;
    let roomy = f.account.target_group(&f.vpc, "roomy").await;
    let full = f.account.target_group(&f.vpc, "full").await;
    let fifty: BTreeMap<String, String> = (0..50)
        .map(|n| (format!("team:{n}"), "v".to_owned()))
        .collect();
    f.account.tag(&full, &fifty).await;
    let response = f
        .invoke(f.events.create(props(&endpoint, &[&roomy, &full], None)))
        .await;
    assert_failed_naming(
        &response,
        &[
            "TargetGroupArns",
            &full,
            "over ELB's 50",
            "nothing was changed",
        ],
    );
    for group in [&roomy, &full] {
        assert!(f.account.targets(group).await.is_empty(), "{group}");
        assert!(claims(&f.account.tags(group).await).is_empty(), "{group}");
    }

    // ELB refuses the second group's tag (here, a policy that does not allow
    // it): the first group's claim is undone, and nothing is registered.
    let proxy = Proxy::start(&moto_url()).await;
    proxy.inject(Rule::on("AddTags", Fault::Latency(Duration::ZERO)).first(1));
    proxy.inject(Rule::on("AddTags", Fault::Error("AccessDenied")));
    let through = f.account.via(&proxy.url).await;
    let other = f.account.target_group(&f.vpc, "other").await;
    let response = invoke(
        through.endpoint_targets(),
        &f.url,
        f.events.create(props(&endpoint, &[&roomy, &other], None)),
    )
    .await;
    assert_failed_naming(&response, &[&other, "AccessDenied", "nothing was changed"]);
    for group in [&roomy, &other] {
        assert!(f.account.targets(group).await.is_empty(), "{group}");
        assert!(claims(&f.account.tags(group).await).is_empty(), "{group}");
    }
    assert_eq!(proxy.count("RegisterTargets"), 0);
}

#[tokio::test]
async fn delete_touches_only_this_resources_ips_on_its_port() {
    let f = Fixture::new().await;
    let endpoint = f.account.endpoint(&f.vpc, 2).await;
    let group = f.account.target_group(&f.vpc, "a").await;
    let ips = f.account.endpoint_ips(&endpoint).await;
    let p = props(&endpoint, &[&group], None);
    let created = f.invoke(f.events.create(p.clone())).await;
    f.account.register(&group, "10.9.9.9", 443).await;
    f.account.register(&group, &ips[0], 9443).await;

    assert_success(&f.invoke(f.events.delete(&id_of(&created), p)).await);
    let mut untouched = vec!["10.9.9.9:443".to_owned(), format!("{}:9443", ips[0])];
    untouched.sort();
    assert_eq!(f.account.targets(&group).await, untouched);
}

#[tokio::test]
async fn delete_succeeds_when_the_group_or_the_endpoint_is_gone() {
    let f = Fixture::new().await;
    let endpoint = f.account.endpoint(&f.vpc, 2).await;
    let group = f.account.target_group(&f.vpc, "a").await;
    let p = props(&endpoint, &[&group], None);
    let id = id_of(&f.invoke(f.events.create(p.clone())).await);
    f.account.delete_target_group(&group).await;
    assert_success(&f.invoke(f.events.delete(&id, p)).await);

    let other = f.account.target_group(&f.vpc, "b").await;
    let p = props(&endpoint, &[&other], None);
    let id = id_of(&f.invoke(f.events.create(p.clone())).await);
    f.account.delete_endpoint(&endpoint).await;
    f.account.register(&other, "10.9.9.9", 443).await;
    let response = f.invoke(f.events.delete(&id, p)).await;
    assert_success(&response);
    assert_eq!(response["PhysicalResourceId"], id);
    assert!(
        f.account
            .targets(&other)
            .await
            .contains(&"10.9.9.9:443".to_owned())
    );
}

#[tokio::test]
async fn delete_after_a_failed_create_succeeds_and_touches_nothing() {
    let f = Fixture::new().await;
    let endpoint = f.account.endpoint(&f.vpc, 2).await;
    let group = f.account.target_group(&f.vpc, "a").await;
    f.account.register(&group, "10.9.9.9", 443).await;

    // Invalid properties: nothing is created, the Delete of its id does nothing.
    let bad = json!({"VpcEndpointId": endpoint, "TargetGroupArns": [group], "Port": "https"});
    let failed = f.invoke(f.events.create(bad.clone())).await;
    assert_failed_naming(&failed, &["Port"]);
    let deleted = f.invoke(f.events.delete(&id_of(&failed), bad)).await;
    assert_success(&deleted);
    assert_eq!(deleted["PhysicalResourceId"], failed["PhysicalResourceId"]);

    // A target group that does not exist.
    let missing = group.replace("/a/", "/gone/");
    let p = props(&endpoint, &[&missing], None);
    let failed = f.invoke(f.events.create(p.clone())).await;
    assert_failed_naming(&failed, &["TargetGroupArns"]);
    assert_success(&f.invoke(f.events.delete(&id_of(&failed), p)).await);
    assert_eq!(f.account.targets(&group).await, ["10.9.9.9:443"]);
}

#[tokio::test]
async fn invalid_properties_fail_with_the_property_named() {
    let f = Fixture::new().await;
    let endpoint = f.account.endpoint(&f.vpc, 1).await;
    let group = f.account.target_group(&f.vpc, "a").await;
    let cases = [
        (json!({"TargetGroupArns": [group]}), "VpcEndpointId"),
        (
            json!({"VpcEndpointId": "vpc-12345678", "TargetGroupArns": [group]}),
            "VpcEndpointId",
        ),
        (
            json!({"VpcEndpointId": endpoint, "TargetGroupArns": []}),
            "TargetGroupArns",
        ),
        (
            json!({"VpcEndpointId": endpoint, "TargetGroupArns": ["arn:aws:sqs:us-east-1:123456789012:q"]}),
            "TargetGroupArns",
        ),
        (
            json!({"VpcEndpointId": endpoint, "TargetGroupArns": [group], "Port": "0"}),
            "Port",
        ),
        (
            json!({"VpcEndpointId": "vpce-0123456789abcdef0", "TargetGroupArns": [group]}),
            "vpce-0123456789abcdef0",
        ),
    ];
    for (p, field) in cases {
        assert_failed_naming(&f.invoke(f.events.create(p)).await, &[field]);
    }
    assert!(f.account.targets(&group).await.is_empty());
}

#[tokio::test]
async fn an_endpoint_without_interfaces_fails_and_registers_nothing() {
    let f = Fixture::new().await;
    let endpoint = f.account.endpoint(&f.vpc, 0).await;
    let group = f.account.target_group(&f.vpc, "a").await;
    let response = f
        .invoke(f.events.create(props(&endpoint, &[&group], None)))
        .await;
    assert_failed_naming(&response, &["no network interfaces"]);
    assert!(f.account.targets(&group).await.is_empty());
}

#[tokio::test]
async fn a_malformed_request_is_answered_failed() {
    let f = Fixture::new().await;
    let mut event = f.events.create(json!({}));
    event["RequestType"] = json!("create");
    assert_failed_naming(&f.invoke(event).await, &["RequestType"]);

    let mut event = f.events.create(json!({}));
    event.as_object_mut().unwrap().remove("LogicalResourceId");
    assert_failed_naming(&f.invoke(event).await, &["LogicalResourceId"]);

    let mut event = f.events.create(json!({}));
    event.as_object_mut().unwrap().remove("ResponseURL");
    // Unanswerable, however often retried: no error for Lambda to retry.
    let unanswered = Protocol::default()
        .run(f.account.endpoint_targets(), cfn::lambda_event(event))
        .await
        .unwrap();
    assert!(
        unanswered["Unanswered"]
            .as_str()
            .is_some_and(|why| why.contains("ResponseURL")),
        "{unanswered}"
    );
}

#[tokio::test]
async fn a_response_url_that_fails_twice_then_accepts_gets_one_response() {
    let account = Account::new().await;
    let url = ResponseUrl::failing_first(2).await;
    let events = Events::new(&url, "Custom::EndpointTargets", "EndpointTargets");
    let vpc = account.vpc(1).await;
    let endpoint = account.endpoint(&vpc, 1).await;
    let group = account.target_group(&vpc, "a").await;
    let response = invoke(
        account.endpoint_targets(),
        &url,
        events.create(props(&endpoint, &[&group], None)),
    )
    .await;
    assert_success(&response);
    assert_eq!(url.attempts(), 3);
}

#[tokio::test]
async fn a_hanging_ec2_gets_one_failed_response_before_the_deadline() {
    let url = ResponseUrl::start().await;
    let events = Events::new(&url, "Custom::EndpointTargets", "EndpointTargets");
    let stalled = Account::at(&cfn::stalled_endpoint().await).await;
    let budget = Duration::from_secs(3);
    let protocol = Protocol::with_fallback(budget);
    let started = Instant::now();
    let event = events.create(props(
        "vpce-0123456789abcdef0",
        &["arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/a/0123456789abcdef"],
        None,
    ));
    protocol
        .run(stalled.endpoint_targets(), cfn::lambda_event(event))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_failed_naming(&url.only(), &["Timed out"]);
    assert!(
        elapsed >= budget && elapsed < budget + Duration::from_secs(2),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn a_deadline_from_the_context_is_honoured() {
    let url = ResponseUrl::start().await;
    let events = Events::new(&url, "Custom::EndpointTargets", "EndpointTargets");
    let stalled = Account::at(&cfn::stalled_endpoint().await).await;
    let protocol = Protocol::with_margin(Duration::from_secs(1));
    let mut event = cfn::lambda_event(events.create(props(
        "vpce-0123456789abcdef0",
        &["arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/a/0123456789abcdef"],
        None,
    )));
    event.context.deadline = lambda_deadline_in(Duration::from_secs(3));
    let started = Instant::now();
    protocol
        .run(stalled.endpoint_targets(), event)
        .await
        .unwrap();
    assert_failed_naming(&url.only(), &["Timed out"]);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answered {:?} after start",
        started.elapsed()
    );
}

/// The response PUT is bounded by the Lambda deadline. EC2 accepts
/// connections and never answers, so the handler runs into its own deadline
/// (9 s less the 5 s safety margin); the first PUT then hangs and the second
/// is accepted. With the production settings, exactly one FAILED must land
/// before the Lambda deadline. On fb7db50 none did: each attempt could take
/// 10 s, and Lambda ends the invocation at its deadline.
#[tokio::test]
async fn a_hanging_response_put_is_retried_within_the_lambda_deadline() {
    let url = ResponseUrl::with_faults(vec![Fault::Hang]).await;
    let events = Events::new(&url, "Custom::EndpointTargets", "EndpointTargets");
    let stalled = Account::at(&cfn::stalled_endpoint().await).await;
    let deadline = Duration::from_secs(9);
    let mut event = cfn::lambda_event(events.create(props(
        "vpce-0123456789abcdef0",
        &["arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/a/0123456789abcdef"],
        None,
    )));
    event.context.deadline = lambda_deadline_in(deadline);
    let started = Instant::now();
    // Lambda stops the function at its deadline, whatever it is doing.
    let ended = tokio::time::timeout(
        deadline,
        Protocol::new(Settings::default()).run(stalled.endpoint_targets(), event),
    )
    .await;
    assert!(ended.is_ok(), "still running at the Lambda deadline");
    assert_failed_naming(&url.only(), &["Timed out"]);
    assert_eq!(url.attempts(), 2, "one hung PUT, then one that landed");
    assert!(started.elapsed() < deadline, "{:?}", started.elapsed());
}

/// A resource that panics: the guard still answers.
struct Panicking;

impl CustomResource for Panicking {
    type Properties = ();
    type Error = std::io::Error;

    fn parse(_: &Value) -> Result<(), PropertyError> {
        Ok(())
    }

    fn identity(_: &()) -> &str {
        "panicking"
    }

    async fn create(&self, _: &(), _: &Context<'_>) -> Result<Data, std::io::Error> {
        panic!("boom")
    }

    async fn update(
        &self,
        _: &(),
        _: Option<&()>,
        _: &Context<'_>,
    ) -> Result<Data, std::io::Error> {
        panic!("boom")
    }

    async fn delete(&self, _: &(), _: &Context<'_>) -> Result<(), std::io::Error> {
        panic!("boom")
    }
}

#[tokio::test]
async fn a_panic_in_the_handler_is_answered_failed() {
    let url = ResponseUrl::start().await;
    let events = Events::new(&url, "Custom::Anything", "Thing");
    let response = invoke(Arc::new(Panicking), &url, events.create(json!({}))).await;
    assert_failed_naming(&response, &["panicked (boom)"]);
    assert!(
        response["PhysicalResourceId"]
            .as_str()
            .is_some_and(|id| id.ends_with("/Thing/panicking")),
        "the id of its properties, for the Delete to come: {response}"
    );
}

#[tokio::test]
async fn create_waits_for_a_transitional_endpoint_and_fails_before_the_deadline() {
    let f = Fixture::new().await;
    let endpoint = f.account.endpoint(&f.vpc, 1).await;
    let group = f.account.target_group(&f.vpc, "a").await;
    // Two subnets, one interface: moto never adds the second, so it stays
    // transitional, as a real endpoint is for a while.
    f.account.add_subnet(&endpoint, &f.vpc.subnet_ids[1]).await;
    let protocol = Protocol::with_margin(Duration::from_secs(1));
    let mut event = cfn::lambda_event(f.events.create(props(&endpoint, &[&group], None)));
    let deadline = Duration::from_secs(9);
    event.context.deadline = lambda_deadline_in(deadline);
    let started = Instant::now();
    protocol
        .run(f.account.endpoint_targets(), event)
        .await
        .unwrap();
    assert!(started.elapsed() < deadline, "{:?}", started.elapsed());
    assert!(
        started.elapsed() > Duration::from_secs(4),
        "it waited: {:?}",
        started.elapsed()
    );
    let response = f.url.only();
    assert_failed_naming(&response, &["1 network interfaces for 2 subnets"]);
    assert!(
        f.account.targets(&group).await.is_empty(),
        "no partial set registered"
    );
}

#[tokio::test]
async fn an_ipv6_group_gets_a_dual_stack_endpoints_ipv6_addresses_and_an_ipv4_group_its_ipv4_ones()
{
    let f = Fixture::new().await;
    let endpoint = f.account.endpoint(&f.vpc, 2).await;
    let ipv6 = f.account.make_dual_stack(&endpoint).await;
    let v6 = f.account.ipv6_target_group(&f.vpc, "v6").await;
    let v4 = f.account.target_group(&f.vpc, "v4").await;

    let response = f
        .invoke(f.events.create(props(&endpoint, &[&v6, &v4], None)))
        .await;
    assert_success(&response);
    assert_eq!(f.account.ips_on(&v6, 443).await, ipv6);
    assert_eq!(
        f.account.ips_on(&v4, 443).await,
        f.account.endpoint_ips(&endpoint).await
    );
    assert_eq!(
        response["Data"]["IpCount"], "2",
        "Data lists the first group's family"
    );
    assert!(response["Data"]["IP0"].as_str().unwrap().contains(':'));

    let deleted = f
        .invoke(
            f.events
                .delete(&id_of(&response), props(&endpoint, &[&v6, &v4], None)),
        )
        .await;
    assert_success(&deleted);
    assert!(f.account.targets(&v6).await.is_empty());
    assert!(f.account.targets(&v4).await.is_empty());
}

#[tokio::test]
async fn an_ipv4_only_endpoint_with_an_ipv6_group_fails_naming_both_and_registers_nothing() {
    let f = Fixture::new().await;
    let endpoint = f.account.endpoint(&f.vpc, 2).await;
    let v6 = f.account.ipv6_target_group(&f.vpc, "v6").await;
    let v4 = f.account.target_group(&f.vpc, "v4").await;
    let response = f
        .invoke(f.events.create(props(&endpoint, &[&v4, &v6], None)))
        .await;
    assert_failed_naming(&response, &[&endpoint, &v6, "IPv6"]);
    assert!(
        f.account.targets(&v4).await.is_empty(),
        "no partial success"
    );
}
