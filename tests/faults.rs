//! Faults and throttling: the functions against moto_server through the
//! fault-injecting proxy, with a `ResponseURL` stand-in that fails as S3 may.
//!
//! The promises held here:
//! - a custom resource under 20% throttling on every action answers SUCCESS
//!   for each request type, and its invariant holds;
//! - a dead EC2 endpoint (hanging, or resetting every connection) still gets
//!   exactly one FAILED response, before the Lambda deadline;
//! - a `ResponseURL` that fails three times, then accepts, gets one response;
//! - target-sync under 30% random faults, over 200 seeded runs, never
//!   deregisters a target the endpoint still has, never empties a target
//!   group, and converges in one run once the faults stop;
//! - target-sync with 200 bindings finishes within its Lambda timeout at the
//!   default concurrency, with the batched number of calls.
//!
//! Every fault schedule is drawn from a fixed seed (`FAULTS_SEED` overrides
//! it), so a failure can be replayed.

use aws_sdk_ec2::config::retry::RetryPartition;
use aws_sdk_elasticloadbalancingv2::types::TargetDescription;
use frontdoor::aws::config::ClientSettings;
use frontdoor::aws::security_groups::VPC_ORIGINS_GROUP_NAME;
use frontdoor::cfn::CustomResource;
use frontdoor::resources::prefix_list_ingress::DEFAULT_PREFIX_LIST_NAME;
use frontdoor::sync::{self, Binding, Scope, Source};
use frontdoor_tests::cfn::{
    self, Events, Protocol, ResponseUrl, assert_success, id_of, invoke, lambda_deadline_in,
};
use frontdoor_tests::moto::{Account, moto_url};
use frontdoor_tests::proxy::{Draws, Fault, Proxy, Rule};
use futures_util::future::join_all;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The seed of every fault schedule in this file.
fn seed() -> u64 {
    std::env::var("FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_122)
}

static PARTITION: AtomicU64 = AtomicU64::new(0);

/// The account's clients through `endpoint`, on the functions' own client
/// settings scaled down: `attempts` attempts of at most `attempt_timeout`,
/// short backoffs, and a retry quota of their own (the SDK shares one per
/// service across the process by default, and this file drains it on purpose).
async fn tuned(
    account: &Account,
    endpoint: &str,
    attempts: u32,
    attempt_timeout: Duration,
) -> Account {
    let settings = ClientSettings {
        max_attempts: attempts,
        attempt_timeout,
        operation_timeout: attempt_timeout * attempts + Duration::from_secs(1),
        initial_backoff: Duration::from_millis(2),
        max_backoff: Duration::from_millis(20),
        ..ClientSettings::default()
    };
    let via = account.via(endpoint).await;
    let partition = format!("faults-{}", PARTITION.fetch_add(1, Ordering::Relaxed));
    Account {
        ec2: aws_sdk_ec2::Client::from_conf(
            via.ec2
                .config()
                .to_builder()
                .retry_config(settings.retry_config())
                .timeout_config(settings.timeout_config())
                .retry_partition(RetryPartition::new(partition.clone()))
                .build(),
        ),
        elb: aws_sdk_elasticloadbalancingv2::Client::from_conf(
            via.elb
                .config()
                .to_builder()
                .retry_config(settings.retry_config())
                .timeout_config(settings.timeout_config())
                .retry_partition(
                    aws_sdk_elasticloadbalancingv2::config::retry::RetryPartition::new(partition),
                )
                .build(),
        ),
        ..via
    }
}

/// A run deadline far enough away not to matter.
fn a_minute_from_now() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(60)
}

fn protocol() -> Protocol {
    Protocol::default()
}

fn targets_props(endpoint: &str, groups: &[&str], port: &str) -> Value {
    json!({"VpcEndpointId": endpoint, "TargetGroupArns": groups, "Port": port})
}

/// The services that throttled, from the actions the proxy throttled.
fn throttled_services(proxy: &Proxy) -> BTreeSet<&'static str> {
    proxy
        .faults()
        .iter()
        .filter(|(_, fault)| fault == "Throttle")
        .map(|(action, _)| match action.as_str() {
            "DescribeTargetHealth" | "RegisterTargets" | "DeregisterTargets" => "elb",
            _ => "ec2",
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Custom resources under 20% throttling on every action.

#[tokio::test]
async fn eni_targets_under_throttling_answers_success_and_keeps_the_invariant() {
    let account = Account::new().await;
    let proxy = Proxy::with_seed(&moto_url(), seed()).await;
    proxy.inject(Rule::every(Fault::Throttle).with_probability(0.2));
    let through = tuned(&account, &proxy.url, 10, Duration::from_secs(10)).await;
    let url = ResponseUrl::start().await;
    let events = Events::new(&url, "Custom::EndpointTargets", "EndpointTargets");
    let vpc = account.vpc(3).await;
    let old_endpoint = account.endpoint(&vpc, 2).await;
    let new_endpoint = account.endpoint(&vpc, 3).await;
    let a = account.target_group(&vpc, "a").await;
    let b = account.target_group(&vpc, "b").await;
    let old_ips = account.endpoint_ips(&old_endpoint).await;
    let new_ips = account.endpoint_ips(&new_endpoint).await;
    let run = |event| invoke(through.endpoint_targets(), &url, event);

    // Create.
    let p1 = targets_props(&old_endpoint, &[&a], "443");
    let created = run(events.create(p1.clone())).await;
    assert_success(&created);
    let old_id = id_of(&created);
    assert_eq!(account.ips_on(&a, 443).await, old_ips);

    // Update in place: another group and another port.
    let p2 = targets_props(&old_endpoint, &[&a, &b], "8443");
    assert_success(&run(events.update(&old_id, p2.clone(), p1)).await);
    for group in [&a, &b] {
        assert_eq!(account.ips_on(group, 8443).await, old_ips);
        assert!(account.ips_on(group, 443).await.is_empty());
    }

    // Update to another endpoint, then the clean-up Delete of the old id.
    let p3 = targets_props(&new_endpoint, &[&a, &b], "8443");
    let replaced = run(events.update(&old_id, p3.clone(), p2.clone())).await;
    assert_success(&replaced);
    let new_id = id_of(&replaced);
    assert_ne!(new_id, old_id);
    assert_success(&run(events.delete(&old_id, p2)).await);
    for group in [&a, &b] {
        assert_eq!(account.ips_on(group, 8443).await, new_ips, "{group}");
    }

    // The final Delete leaves nothing behind.
    assert_success(&run(events.delete(&new_id, p3)).await);
    for group in [&a, &b] {
        assert!(account.targets(group).await.is_empty(), "{group}");
    }
    assert_eq!(
        throttled_services(&proxy),
        BTreeSet::from(["ec2", "elb"]),
        "both services must have throttled: {:?}",
        proxy.faults()
    );
}

#[tokio::test]
async fn prefix_list_ingress_under_throttling_answers_success_and_keeps_the_invariant() {
    let account = Account::new().await;
    let proxy = Proxy::with_seed(&moto_url(), seed() + 1).await;
    proxy.inject(Rule::every(Fault::Throttle).with_probability(0.2));
    let through = tuned(&account, &proxy.url, 10, Duration::from_secs(10)).await;
    let url = ResponseUrl::start().await;
    let events = Events::new(&url, "Custom::PrefixListIngress", "AlbIngress");
    let vpc = account.vpc(1).await;
    let first = account.security_group(&vpc, "alb").await;
    let second = account.security_group(&vpc, "alb2").await;
    let origins = account.security_group(&vpc, VPC_ORIGINS_GROUP_NAME).await;
    let list = account.prefix_list_id(DEFAULT_PREFIX_LIST_NAME).await;
    let rules = |port: u16, with_origin: bool| {
        let mut set = BTreeSet::from([format!("tcp/{port}/{list}")]);
        if with_origin {
            set.insert(format!("tcp/{port}/{origins}"));
        }
        set
    };
    let run = |event| invoke(through.prefix_list_ingress(), &url, event);

    let p1 = json!({"SecurityGroupId": first});
    let created = run(events.create(p1.clone())).await;
    assert_success(&created);
    let old_id = id_of(&created);
    assert_eq!(account.grants(&first).await, rules(443, false));

    let p2 = json!({"SecurityGroupId": first, "Port": "8443", "AllowVpcOrigin": "true", "VpcId": vpc.vpc_id});
    assert_success(&run(events.update(&old_id, p2.clone(), p1)).await);
    assert_eq!(account.grants(&first).await, rules(8443, true));

    let p3 = json!({"SecurityGroupId": second, "Port": "8443", "AllowVpcOrigin": "true", "VpcId": vpc.vpc_id});
    let replaced = run(events.update(&old_id, p3.clone(), p2.clone())).await;
    assert_success(&replaced);
    let new_id = id_of(&replaced);
    assert_ne!(new_id, old_id);
    assert_success(&run(events.delete(&old_id, p2)).await);
    assert!(account.grants(&first).await.is_empty());
    assert_eq!(account.grants(&second).await, rules(8443, true));

    assert_success(&run(events.delete(&new_id, p3)).await);
    assert!(account.grants(&second).await.is_empty());
    assert!(
        !proxy.faults().is_empty(),
        "EC2 must have throttled: {:?}",
        proxy.counts()
    );
}

// ---------------------------------------------------------------------------
// A dead EC2 endpoint: one FAILED response before the deadline.

/// The three request types for one resource.
fn each_request_type(events: &Events, props: Value) -> [Value; 3] {
    [
        events.create(props.clone()),
        events.update("frontdoor-test/Thing/x", props.clone(), props.clone()),
        events.delete("frontdoor-test/Thing/x", props),
    ]
}

/// Runs the event with a Lambda deadline `deadline` from now and checks that
/// exactly one FAILED response landed before that deadline.
async fn answers_failed_before_the_deadline<R: CustomResource>(
    resource: Arc<R>,
    url: &ResponseUrl,
    event: Value,
    deadline: Duration,
) {
    let protocol = Protocol::with_margin(Duration::from_secs(1));
    let mut lambda_event = cfn::lambda_event(event);
    lambda_event.context.deadline = lambda_deadline_in(deadline);
    let started = Instant::now();
    protocol.run(resource, lambda_event).await.unwrap();
    let elapsed = started.elapsed();
    let response = url.only();
    assert_eq!(response["Status"], "FAILED", "{response}");
    assert!(
        !response["Reason"].as_str().unwrap_or_default().is_empty(),
        "{response}"
    );
    assert!(elapsed < deadline, "answered after {elapsed:?}");
}

async fn dead_ec2_scenario(fault: Fault) {
    let account = Account::new().await;
    let proxy = Proxy::with_seed(&moto_url(), seed()).await;
    proxy.inject(Rule::service("ec2", fault));
    // The product's own client configuration: no test tuning.
    let through = account.via(&proxy.url).await;
    let vpc = account.vpc(1).await;
    let group = account.target_group(&vpc, "a").await;
    let sg = account.security_group(&vpc, "alb").await;
    let deadline = Duration::from_secs(4);
    let mut runs = Vec::new();
    for (resource_type, props) in [
        (
            "Custom::EndpointTargets",
            targets_props("vpce-0123456789abcdef0", &[&group], "443"),
        ),
        ("Custom::PrefixListIngress", json!({"SecurityGroupId": sg})),
    ] {
        for (i, event) in each_request_type(
            &Events::new(&ResponseUrl::start().await, resource_type, "Thing"),
            props,
        )
        .into_iter()
        .enumerate()
        {
            let url = ResponseUrl::start().await;
            let mut event = event;
            event["ResponseURL"] = json!(url.url);
            let through = through.clone();
            runs.push(tokio::spawn(async move {
                if resource_type == "Custom::EndpointTargets" {
                    answers_failed_before_the_deadline(
                        through.endpoint_targets(),
                        &url,
                        event,
                        deadline,
                    )
                    .await;
                } else {
                    answers_failed_before_the_deadline(
                        through.prefix_list_ingress(),
                        &url,
                        event,
                        deadline,
                    )
                    .await;
                }
                i
            }));
        }
    }
    for run in runs {
        run.await.unwrap();
    }
    // Only ELB's reads pass: the groups and, for eni-targets, their claims.
    assert!(
        proxy
            .calls()
            .iter()
            .all(|action| action.contains("Target") || action == "DescribeTags"),
        "no EC2 call may pass: {:?}",
        proxy.calls()
    );
    assert!(!proxy.faults().is_empty());
}

#[tokio::test]
async fn a_hanging_ec2_gets_one_failed_response_per_request_before_the_deadline() {
    dead_ec2_scenario(Fault::Hang).await;
}

#[tokio::test]
async fn an_ec2_that_resets_every_connection_gets_one_failed_response_per_request() {
    dead_ec2_scenario(Fault::Reset).await;
}

// ---------------------------------------------------------------------------
// A ResponseURL that fails three times, then accepts.

/// Create, Update and Delete, each answered through a `ResponseURL` that
/// throttles, resets, then answers 500 before it accepts.
async fn through_a_flaky_response_url(account: &Account, resource_type: &str, props: Value) {
    let mut id = String::new();
    for request_type in ["Create", "Update", "Delete"] {
        let url =
            ResponseUrl::with_faults(vec![Fault::Throttle, Fault::Reset, Fault::Status(500)]).await;
        let events = Events::new(&url, resource_type, "Thing");
        let event = match request_type {
            "Create" => events.create(props.clone()),
            "Update" => events.update(&id, props.clone(), props.clone()),
            _ => events.delete(&id, props.clone()),
        };
        let event = cfn::lambda_event(event);
        let result = if resource_type == "Custom::EndpointTargets" {
            protocol().run(account.endpoint_targets(), event).await
        } else {
            protocol().run(account.prefix_list_ingress(), event).await
        };
        result.unwrap();
        let response = url.only();
        assert_success(&response);
        assert_eq!(
            url.attempts(),
            4,
            "{request_type}: three failures, then one"
        );
        assert_eq!(url.faults(), ["Throttle", "Reset", "Status500"]);
        id = id_of(&response);
    }
}

#[tokio::test]
async fn a_response_url_failing_three_times_then_accepting_gets_exactly_one_response() {
    let account = Account::new().await;
    let vpc = account.vpc(2).await;
    let endpoint = account.endpoint(&vpc, 2).await;
    let group = account.target_group(&vpc, "a").await;
    let sg = account.security_group(&vpc, "alb").await;
    tokio::join!(
        through_a_flaky_response_url(
            &account,
            "Custom::EndpointTargets",
            targets_props(&endpoint, &[&group], "443"),
        ),
        through_a_flaky_response_url(
            &account,
            "Custom::PrefixListIngress",
            json!({"SecurityGroupId": sg}),
        ),
    );
    assert!(account.targets(&group).await.is_empty());
    assert!(account.grants(&sg).await.is_empty());
}

#[tokio::test]
async fn a_response_url_that_hangs_once_is_retried_and_gets_one_response() {
    let url = ResponseUrl::with_faults(vec![
        Fault::Hang,
        Fault::Latency(Duration::from_millis(300)),
    ])
    .await;
    let events = Events::new(&url, "Custom::EndpointTargets", "Targets");
    // Properties that fail before any AWS call: the answer is FAILED, and must land once.
    let event = events.create(json!({"VpcEndpointId": "nope"}));
    let started = Instant::now();
    protocol()
        .run(
            Account::new().await.endpoint_targets(),
            cfn::lambda_event(event),
        )
        .await
        .unwrap();
    let response = url.only();
    assert_eq!(response["Status"], "FAILED");
    assert!(
        response["Reason"]
            .as_str()
            .unwrap()
            .contains("VpcEndpointId")
    );
    assert_eq!(url.attempts(), 2);
    assert!(started.elapsed() < Duration::from_secs(30));
}

// ---------------------------------------------------------------------------
// target-sync under 30% random faults, over 200 seeded runs.

const RUNS: u64 = 200;
const OTHER_PORT: u16 = 9000;

/// A target as `ip:port`.
type Targets = BTreeSet<String>;

/// The endpoints, groups and bindings the runs work on, made once.
struct SyncWorld {
    account: Account,
    bindings: Vec<Binding>,
    /// The endpoint IPs of the bindings that can be reconciled, by index.
    desired: BTreeMap<usize, BTreeSet<String>>,
    /// The groups of the bindings the never-empty guard must skip.
    guarded: BTreeSet<String>,
}

impl SyncWorld {
    async fn new(account: Account) -> Self {
        let vpc = account.vpc(3).await;
        let mut bindings = Vec::new();
        let mut desired = BTreeMap::new();
        let good = [
            (1, vec!["one"], 443),
            (2, vec!["two-a", "two-b"], 443),
            (3, vec!["three"], 8443),
        ];
        for (subnets, groups, port) in good {
            let endpoint = account.endpoint(&vpc, subnets).await;
            let mut arns = Vec::new();
            for name in groups {
                arns.push(account.target_group(&vpc, name).await);
            }
            desired.insert(
                bindings.len(),
                account.endpoint_ips(&endpoint).await.into_iter().collect(),
            );
            bindings.push(Binding {
                source: Source::VpcEndpointId(endpoint),
                target_group_arns: arns,
                port,
            });
        }
        // Two bindings the never-empty guard must skip: an endpoint that was
        // deleted and one without interfaces. Their groups hold targets.
        let deleted = account.endpoint(&vpc, 2).await;
        account.delete_endpoint(&deleted).await;
        let empty = account.endpoint(&vpc, 0).await;
        let mut guarded = BTreeSet::new();
        for (endpoint, name) in [(deleted, "deleted"), (empty, "empty")] {
            let arn = account.target_group(&vpc, name).await;
            account.register(&arn, "10.210.0.1", 443).await;
            guarded.insert(arn.clone());
            bindings.push(Binding {
                source: Source::VpcEndpointId(endpoint),
                target_group_arns: vec![arn],
                port: 443,
            });
        }
        Self {
            account,
            bindings,
            desired,
            guarded,
        }
    }

    /// The good bindings' groups, with their port and desired IPs.
    fn groups(&self) -> Vec<(&str, u16, &BTreeSet<String>)> {
        self.desired
            .iter()
            .flat_map(|(i, ips)| {
                let b = &self.bindings[*i];
                b.target_group_arns
                    .iter()
                    .map(move |arn| (arn.as_str(), b.port, ips))
            })
            .collect()
    }

    /// The targets of every good group.
    async fn good_targets(&self) -> BTreeMap<String, Targets> {
        let mut all = BTreeMap::new();
        for (arn, _, _) in self.groups() {
            all.insert(
                arn.to_owned(),
                self.account.targets(arn).await.into_iter().collect(),
            );
        }
        all
    }

    /// Puts a random drift into every good group, which holds `known` now:
    /// some endpoint IPs missing, some stale IPs present, and sometimes a
    /// target on another port, which is not the binding's. Some groups hold
    /// only stale IPs. Returns what the groups hold then.
    async fn drift(
        &self,
        draws: &mut Draws,
        known: &BTreeMap<String, Targets>,
    ) -> BTreeMap<String, Targets> {
        let mut drifted = BTreeMap::new();
        for (arn, port, ips) in self.groups() {
            let mut wanted = Targets::new();
            for ip in ips {
                if draws.unit() < 0.5 {
                    wanted.insert(format!("{ip}:{port}"));
                }
            }
            for n in 1..=3 {
                if draws.unit() < 0.4 {
                    wanted.insert(format!("10.200.0.{n}:{port}"));
                }
            }
            if draws.unit() < 0.5 {
                wanted.insert(format!("10.201.0.1:{OTHER_PORT}"));
            }
            let current = &known[arn];
            self.write(arn, current.difference(&wanted), false).await;
            self.write(arn, wanted.difference(current), true).await;
            drifted.insert(arn.to_owned(), wanted);
        }
        drifted
    }

    async fn write<'a>(
        &self,
        arn: &str,
        targets: impl Iterator<Item = &'a String>,
        register: bool,
    ) {
        let targets: Vec<TargetDescription> = targets
            .map(|t| {
                let (ip, port) = split(t);
                TargetDescription::builder()
                    .id(ip)
                    .port(i32::from(port))
                    .build()
            })
            .collect();
        if targets.is_empty() {
            return;
        }
        let elb = &self.account.elb;
        if register {
            elb.register_targets()
                .target_group_arn(arn)
                .set_targets(Some(targets))
                .send()
                .await
                .unwrap();
        } else {
            elb.deregister_targets()
                .target_group_arn(arn)
                .set_targets(Some(targets))
                .send()
                .await
                .unwrap();
        }
    }
}

fn split(target: &str) -> (&str, u16) {
    let (ip, port) = target.rsplit_once(':').unwrap();
    (ip, port.parse().unwrap())
}

fn on_port(targets: &Targets, port: u16) -> Targets {
    targets
        .iter()
        .filter(|t| split(t).1 == port)
        .cloned()
        .collect()
}

fn off_port(targets: &Targets, port: u16) -> Targets {
    targets
        .iter()
        .filter(|t| split(t).1 != port)
        .cloned()
        .collect()
}

/// The writes that reached moto, as (action, group, ip, port).
fn writes(proxy: &Proxy) -> Vec<(String, String, String, u16)> {
    let mut out = Vec::new();
    for passed in proxy.passed() {
        if !matches!(
            passed.action.as_str(),
            "RegisterTargets" | "DeregisterTargets"
        ) {
            continue;
        }
        let fields: BTreeMap<String, String> = form_urlencoded::parse(passed.body.as_bytes())
            .into_owned()
            .collect();
        let arn = fields.get("TargetGroupArn").cloned().unwrap_or_default();
        for n in 1.. {
            let Some(ip) = fields.get(&format!("Targets.member.{n}.Id")) else {
                break;
            };
            let port = fields
                .get(&format!("Targets.member.{n}.Port"))
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            out.push((passed.action.clone(), arn.clone(), ip.clone(), port));
        }
    }
    out
}

fn random_event(draws: &mut Draws, bindings: &[Binding]) -> Value {
    match draws.next_u64() % 4 {
        0 => json!({}),
        1 => serde_json::from_str(include_str!("../events/scheduled.json")).unwrap(),
        2 => {
            let binding = &bindings[(draws.next_u64() % bindings.len() as u64) as usize];
            modify_event(binding.vpc_endpoint_id().unwrap())
        }
        _ => modify_event("vpce-0fedcba9876543210"),
    }
}

fn modify_event(endpoint: &str) -> Value {
    let mut event: Value = serde_json::from_str(include_str!(
        "../events/target-sync-modify-vpc-endpoint.json"
    ))
    .unwrap();
    event["detail"]["requestParameters"] =
        json!({"ModifyVpcEndpointRequest": {"VpcEndpointId": endpoint}});
    event
}

#[tokio::test]
async fn target_sync_under_random_faults_never_loses_a_target_and_converges_once_they_stop() {
    let account = Account::new().await;
    let proxy = Proxy::with_seed(&moto_url(), seed()).await;
    // Under faults: one attempt in even runs, so that every fault reaches
    // the product, and the SDK's default three in odd runs; short backoffs,
    // and a short per-attempt timeout, so that a hang costs little.
    let mut faulty = Vec::new();
    for attempts in [1, 3] {
        let through = tuned(&account, &proxy.url, attempts, Duration::from_millis(200)).await;
        faulty.push(through.syncer());
    }
    // After the faults: the product's own client configuration.
    let plain = account.via(&proxy.url).await;
    let clean = plain.syncer();
    let world = SyncWorld::new(account).await;
    let mut known = world.good_targets().await;
    let (mut failed_runs, mut deregistrations) = (0, 0);
    let started = Instant::now();
    for run in 0..RUNS {
        let mut draws = Draws::new(seed(), "run", run);
        let before = world.drift(&mut draws, &known).await;
        let scope = Scope::of_event(&random_event(&mut draws, &world.bindings));

        proxy.reset();
        proxy.inject(Rule::every(Fault::mix()).with_probability(0.3));
        let report = faulty[(run % 2) as usize]
            .run(&world.bindings, &scope, a_minute_from_now())
            .await;
        proxy.clear_faults();
        // Runs in which the faults made a good binding fail.
        failed_runs += usize::from(report.bindings.iter().any(|b| {
            b.skipped.is_some()
                && world
                    .desired
                    .keys()
                    .any(|i| world.bindings[*i].source == b.source)
        }));
        let context = format!("seed {} run {run}, faults {:?}", seed(), proxy.faults());

        // Never a write to a guarded group; never a deregistration of a
        // target the endpoint still has.
        for (action, arn, ip, port) in writes(&proxy) {
            assert!(
                !world.guarded.contains(&arn),
                "{action} {ip}:{port} in {arn}, whose endpoint cannot be read: {context}"
            );
            let owner = world
                .bindings
                .iter()
                .position(|b| b.target_group_arns.contains(&arn))
                .expect("a write to a group of no binding");
            assert_eq!(port, world.bindings[owner].port, "another port: {context}");
            if action == "DeregisterTargets" {
                deregistrations += 1;
                assert!(
                    !world.desired[&owner].contains(&ip),
                    "deregistered {ip}:{port}, an IP the endpoint still has, from {arn}: {context}"
                );
            }
        }
        // Never an emptied group, no desired target lost, other ports untouched.
        let after = world.good_targets().await;
        for (arn, port, ips) in world.groups() {
            let (was, now) = (on_port(&before[arn], port), on_port(&after[arn], port));
            assert!(
                was.is_empty() || !now.is_empty(),
                "{arn} was emptied: {was:?} -> {now:?}, {context}"
            );
            for ip in ips {
                let target = format!("{ip}:{port}");
                assert!(
                    !was.contains(&target) || now.contains(&target),
                    "{target} was lost from {arn}: {context}"
                );
            }
            assert_eq!(
                off_port(&before[arn], port),
                off_port(&after[arn], port),
                "targets on other ports were touched: {context}"
            );
        }

        // Once the faults stop, one run converges.
        let report = clean
            .run(&world.bindings, &Scope::All, a_minute_from_now())
            .await;
        for (i, b) in report.bindings.iter().enumerate() {
            assert_eq!(
                b.skipped.is_some(),
                !world.desired.contains_key(&i),
                "binding {i}: {b:?}, {context}"
            );
        }
        known = world.good_targets().await;
        for (arn, port, ips) in world.groups() {
            let wanted: Targets = ips.iter().map(|ip| format!("{ip}:{port}")).collect();
            assert_eq!(
                on_port(&known[arn], port),
                wanted,
                "{arn} did not converge: {context}"
            );
            assert_eq!(off_port(&known[arn], port), off_port(&before[arn], port));
        }
    }
    for arn in &world.guarded {
        assert_eq!(world.account.targets(arn).await, ["10.210.0.1:443"]);
    }
    assert!(
        failed_runs > RUNS as usize / 5 && deregistrations > RUNS as usize,
        "the faults must have bitten: {failed_runs} failed runs, {deregistrations} deregistrations"
    );
    eprintln!(
        "{RUNS} runs under 30% faults in {:?}: {failed_runs} with a good binding failed, {deregistrations} targets deregistered under faults",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------
// target-sync with 200 bindings.

/// The function's Lambda timeout in template.yaml.
fn target_sync_timeout() -> Duration {
    let template = include_str!("../template.yaml");
    let after = template
        .split("Binary: target-sync")
        .nth(1)
        .expect("template.yaml has a target-sync function");
    let seconds = after
        .lines()
        .find_map(|line| line.trim().strip_prefix("Timeout:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("the target-sync function has a Timeout");
    Duration::from_secs(seconds)
}

#[tokio::test]
async fn target_sync_with_200_bindings_finishes_within_its_timeout_with_batched_calls() {
    const BINDINGS: usize = 200;
    let account = Account::new().await;
    let vpc = account.vpc(1).await;
    let mut bindings = Vec::with_capacity(BINDINGS);
    for chunk in (0..BINDINGS).collect::<Vec<_>>().chunks(20) {
        let made = join_all(chunk.iter().map(|i| {
            let (account, vpc) = (&account, &vpc);
            async move {
                Binding {
                    source: Source::VpcEndpointId(account.endpoint(vpc, 1).await),
                    target_group_arns: vec![account.target_group(vpc, &format!("tg{i}")).await],
                    port: 443,
                }
            }
        }))
        .await;
        bindings.extend(made);
    }
    // As FRONTDOOR_BINDINGS would give them.
    let bindings = sync::parse_bindings(&serde_json::to_string(&bindings).unwrap()).unwrap();
    let proxy = Proxy::start(&moto_url()).await;
    let through = account.via(&proxy.url).await;
    let syncer = through.syncer();
    let timeout = target_sync_timeout();
    let reads = BTreeMap::from([
        ("DescribeTargetGroups".to_owned(), 1),
        ("DescribeVpcEndpoints".to_owned(), 1),
        ("DescribeNetworkInterfaces".to_owned(), 1),
        ("DescribeTargetHealth".to_owned(), BINDINGS),
    ]);

    // The first run registers every IP: one RegisterTargets per group, each
    // after one more DescribeVpcEndpoints (its endpoint read again just before).
    let started = Instant::now();
    let report = syncer
        .handle(&bindings, "Bench", &json!({}), 0)
        .await
        .unwrap();
    let first = started.elapsed();
    assert_eq!(
        report.bindings.iter().map(|b| b.registered).sum::<usize>(),
        BINDINGS
    );
    let mut expected = reads.clone();
    expected.insert("RegisterTargets".to_owned(), BINDINGS);
    expected.insert("DescribeVpcEndpoints".to_owned(), 1 + BINDINGS);
    assert_eq!(proxy.counts(), expected);

    // A run in sync: the reads only, no write.
    proxy.reset();
    let started = Instant::now();
    let report = syncer
        .handle(&bindings, "Bench", &json!({}), 0)
        .await
        .unwrap();
    let second = started.elapsed();
    assert!(
        report
            .bindings
            .iter()
            .all(|b| b.unchanged == 1 && b.registered + b.deregistered == 0)
    );
    assert_eq!(
        proxy.counts(),
        reads,
        "1 + 1 + one DescribeTargetHealth per group, no write"
    );
    assert!(
        first < timeout && second < timeout,
        "{first:?} and {second:?} against a timeout of {timeout:?}"
    );
}

// ---------------------------------------------------------------------------
// A stalled EC2, on the functions' own client settings.

/// Longer than any deadline here: a call that stalls this long never answers in time.
const STALL: Duration = Duration::from_secs(40);

#[tokio::test]
async fn a_stalled_first_ec2_call_is_retried_and_a_create_succeeds_well_before_the_deadline() {
    let account = Account::new().await;
    let proxy = Proxy::start(&moto_url()).await;
    proxy.inject(Rule::on("DescribeVpcEndpoints", Fault::Latency(STALL)).first(1));
    let through = account.via(&proxy.url).await;
    let vpc = account.vpc(2).await;
    let endpoint = account.endpoint(&vpc, 2).await;
    let group = account.target_group(&vpc, "a").await;
    let url = ResponseUrl::start().await;
    let events = Events::new(&url, "Custom::EndpointTargets", "Targets");
    let mut event = cfn::lambda_event(events.create(targets_props(&endpoint, &[&group], "443")));
    event.context.deadline = lambda_deadline_in(Duration::from_secs(30));

    let started = Instant::now();
    protocol()
        .run(through.endpoint_targets(), event)
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_success(&url.only());
    assert_eq!(
        account.ips_on(&group, 443).await,
        account.endpoint_ips(&endpoint).await
    );
    assert_eq!(
        proxy.faults(),
        [("DescribeVpcEndpoints".to_owned(), "Latency".to_owned())]
    );
    // One attempt timeout (5 s), a backoff, and the calls themselves.
    assert!(
        elapsed < Duration::from_secs(12),
        "answered after {elapsed:?}"
    );
}

#[tokio::test]
async fn a_stalled_ec2_makes_target_sync_fail_before_its_deadline_with_its_metrics_written() {
    let account = Account::new().await;
    let vpc = account.vpc(2).await;
    let bindings = vec![
        Binding {
            source: Source::VpcEndpointId(account.endpoint(&vpc, 2).await),
            target_group_arns: vec![account.target_group(&vpc, "a").await],
            port: 443,
        },
        Binding {
            source: Source::VpcEndpointId(account.endpoint(&vpc, 1).await),
            target_group_arns: vec![account.target_group(&vpc, "b").await],
            port: 443,
        },
    ];
    let proxy = Proxy::start(&moto_url()).await;
    proxy.inject(Rule::service("ec2", Fault::Latency(STALL)));
    let through = account.via(&proxy.url).await;
    let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
    let written = Arc::clone(&lines);
    let syncer = through.syncer().with_metrics_writer(Box::new(move |set| {
        written.lock().unwrap().push(set.to_json_line(0));
        Ok(())
    }));
    let deadline = Duration::from_secs(12);

    let started = Instant::now();
    let err = syncer
        .handle(
            &bindings,
            "Frontdoor",
            &json!({}),
            lambda_deadline_in(deadline),
        )
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed < deadline, "returned after {elapsed:?}");
    assert_eq!((err.failed, err.total), (2, 2), "{err}");
    assert!(err.summary.contains(sync::OUT_OF_TIME), "{err}");
    let lines = lines.lock().unwrap();
    assert_eq!(lines.len(), 1, "one EMF line: {lines:?}");
    let metrics: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(metrics["SyncErrors"], 2.0, "{metrics}");
    assert_eq!(
        proxy.calls(),
        ["DescribeTargetGroups"],
        "the groups' families were read, and nothing written without the desired state"
    );
}

#[tokio::test]
async fn a_rules_limit_error_from_ec2_gets_the_clear_reason() {
    let account = Account::new().await;
    let proxy = Proxy::start(&moto_url()).await;
    // moto never sends it: the proxy answers in EC2's real error shape.
    proxy.inject(Rule::on(
        "AuthorizeSecurityGroupIngress",
        Fault::Error("RulesPerSecurityGroupLimitExceeded"),
    ));
    let through = account.via(&proxy.url).await;
    let vpc = account.vpc(1).await;
    let sg = account.security_group(&vpc, "alb").await;
    let url = ResponseUrl::start().await;
    let events = Events::new(&url, "Custom::PrefixListIngress", "AlbIngress");
    let response = invoke(
        through.prefix_list_ingress(),
        &url,
        events.create(json!({"SecurityGroupId": sg})),
    )
    .await;
    assert_eq!(response["Status"], "FAILED", "{response}");
    let reason = response["Reason"].as_str().unwrap();
    for needle in [
        &format!("Security group {sg} would hold more inbound rules"),
        "RulesPerSecurityGroupLimitExceeded",
        "RulesPerSecurityGroupLimit 60",
        "L-0EA8095F",
    ] {
        assert!(reason.contains(needle), "{reason:?} should name {needle}");
    }
}
