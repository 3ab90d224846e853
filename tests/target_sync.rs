//! `target-sync` against moto_server, through a recording proxy.

use frontdoor::aws::{Ec2Endpoints, ElbTargets};
use frontdoor::sync::{Binding, Scope, Syncer};
use frontdoor_tests::moto::{Account, Vpc, moto_url};
use frontdoor_tests::proxy::Proxy;
use serde_json::{Value, json};

const WRITES: [&str; 2] = ["RegisterTargets", "DeregisterTargets"];

struct Fixture {
    account: Account,
    proxy: Proxy,
    syncer: Syncer<Ec2Endpoints, ElbTargets>,
    vpc: Vpc,
}

impl Fixture {
    async fn new() -> Self {
        let account = Account::new().await;
        let proxy = Proxy::start(&moto_url()).await;
        let through_proxy = account.via(&proxy.url).await;
        let syncer = through_proxy.syncer();
        let vpc = account.vpc(3).await;
        Self {
            account,
            proxy,
            syncer,
            vpc,
        }
    }

    /// An endpoint, a target group, and a binding between them.
    async fn binding(&self, name: &str, subnets: usize) -> Binding {
        Binding {
            vpc_endpoint_id: self.account.endpoint(&self.vpc, subnets).await,
            target_group_arns: vec![self.account.target_group(&self.vpc, name).await],
            port: 443,
        }
    }

    fn writes(&self) -> usize {
        WRITES.iter().map(|w| self.proxy.count(w)).sum()
    }
}

fn scheduled() -> Value {
    json!({"version": "0", "id": "89d1a02d-5ec7-412e-82f5-13505f849b41", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": "2026-11-22T09:15:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/frontdoor-target-sync"], "detail": {}})
}

fn modify_event(endpoint: &str) -> Value {
    json!({"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.ec2", "account": "123456789012", "time": "2026-11-22T09:15:00Z", "region": "us-east-1",
        "resources": [], "detail": {"eventVersion": "1.09", "eventSource": "ec2.amazonaws.com",
        "eventName": "ModifyVpcEndpoint", "awsRegion": "us-east-1",
        "requestParameters": {"ModifyVpcEndpointRequest": {"VpcEndpointId": endpoint, "AddSubnetId": {"tag": 1, "content": "subnet-0123456789abcdef0"}}},
        "responseElements": {"ModifyVpcEndpointResponse": {"return": true}}, "eventType": "AwsApiCall"}})
}

#[tokio::test]
async fn drift_is_repaired_in_one_run() {
    let f = Fixture::new().await;
    let binding = f.binding("a", 3).await;
    let group = &binding.target_group_arns[0];
    let ips = f.account.endpoint_ips(&binding.vpc_endpoint_id).await;
    // One endpoint IP registered, one missing, one stale IP, and a target on another port.
    f.account.register(group, &ips[0], 443).await;
    f.account.register(group, &ips[1], 443).await;
    f.account.register(group, "10.200.0.1", 443).await;
    f.account.register(group, "10.200.0.2", 8443).await;

    let report = f
        .syncer
        .handle(
            std::slice::from_ref(&binding),
            "Frontdoor",
            &modify_event(&binding.vpc_endpoint_id),
            0,
        )
        .await
        .unwrap();
    assert_eq!(report.bindings[0].registered, 1);
    assert_eq!(report.bindings[0].deregistered, 1);
    assert_eq!(report.bindings[0].unchanged, 2);
    assert_eq!(
        f.proxy.count("DescribeVpcEndpoints"),
        2,
        "one read, and one more just before deregistering"
    );
    assert_eq!(f.account.ips_on(group, 443).await, ips);
    assert_eq!(
        f.account.ips_on(group, 8443).await,
        ["10.200.0.2"],
        "other ports are untouched"
    );
}

#[tokio::test]
async fn a_run_in_sync_makes_no_write_and_batches_its_reads() {
    let f = Fixture::new().await;
    let mut bindings = Vec::new();
    for name in ["a", "b", "c"] {
        bindings.push(f.binding(name, 2).await);
    }
    f.syncer
        .handle(&bindings, "Frontdoor", &scheduled(), 0)
        .await
        .unwrap();
    assert!(f.writes() > 0, "the first run registers");
    f.proxy.reset();

    let report = f
        .syncer
        .handle(&bindings, "Frontdoor", &scheduled(), 0)
        .await
        .unwrap();
    assert!(
        report
            .bindings
            .iter()
            .all(|b| b.registered + b.deregistered == 0 && b.unchanged == 2)
    );
    assert_eq!(f.writes(), 0, "calls: {:?}", f.proxy.counts());
    assert_eq!(f.proxy.count("DescribeVpcEndpoints"), 1);
    assert_eq!(f.proxy.count("DescribeNetworkInterfaces"), 1);
    assert_eq!(
        f.proxy.count("DescribeTargetHealth"),
        3,
        "one per target group"
    );
    assert_eq!(f.proxy.calls().len(), 5);
}

#[tokio::test]
async fn an_event_for_an_unrelated_endpoint_does_nothing_and_says_so() {
    let f = Fixture::new().await;
    let binding = f.binding("a", 2).await;
    let report = f
        .syncer
        .handle(
            std::slice::from_ref(&binding),
            "Frontdoor",
            &modify_event("vpce-0fedcba9876543210"),
            0,
        )
        .await
        .unwrap();
    assert!(report.bindings.is_empty());
    assert!(report.note.unwrap().contains("names none"));
    assert!(f.proxy.calls().is_empty(), "{:?}", f.proxy.calls());
    assert!(
        f.account
            .targets(&binding.target_group_arns[0])
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_scheduled_event_or_any_other_json_reconciles_every_binding() {
    let f = Fixture::new().await;
    let a = f.binding("a", 1).await;
    let b = f.binding("b", 2).await;
    let bindings = [a.clone(), b.clone()];
    let report = f
        .syncer
        .handle(&bindings, "Frontdoor", &scheduled(), 0)
        .await
        .unwrap();
    assert_eq!(report.bindings.len(), 2);
    assert_eq!(
        f.account.ips_on(&a.target_group_arns[0], 443).await,
        f.account.endpoint_ips(&a.vpc_endpoint_id).await
    );
    assert_eq!(
        f.account.ips_on(&b.target_group_arns[0], 443).await,
        f.account.endpoint_ips(&b.vpc_endpoint_id).await
    );

    f.account
        .deregister(
            &a.target_group_arns[0],
            &f.account.endpoint_ips(&a.vpc_endpoint_id).await[0],
            443,
        )
        .await;
    let report = f
        .syncer
        .handle(&bindings, "Frontdoor", &json!({}), 0)
        .await
        .unwrap();
    assert_eq!(
        report.bindings.iter().map(|b| b.registered).sum::<usize>(),
        1
    );
}

#[tokio::test]
async fn a_vanished_endpoint_leaves_its_group_untouched_and_fails_the_run() {
    let f = Fixture::new().await;
    let binding = f.binding("a", 2).await;
    let group = &binding.target_group_arns[0];
    f.syncer
        .handle(std::slice::from_ref(&binding), "Frontdoor", &scheduled(), 0)
        .await
        .unwrap();
    let before = f.account.targets(group).await;
    f.account.delete_endpoint(&binding.vpc_endpoint_id).await;
    f.proxy.reset();

    let err = f
        .syncer
        .handle(std::slice::from_ref(&binding), "Frontdoor", &scheduled(), 0)
        .await
        .unwrap_err();
    assert_eq!(err.failed, 1);
    assert!(err.summary.contains(&binding.vpc_endpoint_id), "{err}");
    assert_eq!(f.account.targets(group).await, before, "the guard holds");
    assert_eq!(f.writes(), 0);
}

#[tokio::test]
async fn one_failing_binding_does_not_stop_the_others() {
    let f = Fixture::new().await;
    let gone = f.binding("gone", 2).await;
    let healthy = f.binding("healthy", 3).await;
    f.account.delete_endpoint(&gone.vpc_endpoint_id).await;
    let missing_group = Binding {
        vpc_endpoint_id: f.account.endpoint(&f.vpc, 1).await,
        target_group_arns: vec![healthy.target_group_arns[0].replace("/healthy/", "/missing/")],
        port: 443,
    };
    let bindings = [gone.clone(), healthy.clone(), missing_group];
    let err = f
        .syncer
        .handle(&bindings, "Frontdoor", &scheduled(), 0)
        .await
        .unwrap_err();
    assert_eq!((err.failed, err.total), (2, 3), "{err}");
    assert!(err.summary.contains("does not exist"), "{err}");
    assert_eq!(
        f.account.ips_on(&healthy.target_group_arns[0], 443).await,
        f.account.endpoint_ips(&healthy.vpc_endpoint_id).await
    );
}

#[tokio::test]
async fn scope_reads_the_endpoint_from_a_real_cloudtrail_event() {
    let event: Value = serde_json::from_str(include_str!(
        "../events/target-sync-modify-vpc-endpoint.json"
    ))
    .unwrap();
    assert_eq!(
        Scope::of_event(&event),
        Scope::Endpoints(["vpce-0123456789abcdef0".to_owned()].into())
    );
    let scheduled: Value = serde_json::from_str(include_str!("../events/scheduled.json")).unwrap();
    assert_eq!(Scope::of_event(&scheduled), Scope::All);
}

#[tokio::test]
async fn a_transitional_endpoint_gets_its_ips_registered_and_nothing_deregistered() {
    let f = Fixture::new().await;
    let binding = f.binding("a", 1).await;
    let group = &binding.target_group_arns[0];
    let ips = f.account.endpoint_ips(&binding.vpc_endpoint_id).await;
    f.account.register(group, "10.200.0.1", 443).await;
    // Two subnets, one interface: EC2 is still adding the second.
    f.account
        .add_subnet(&binding.vpc_endpoint_id, &f.vpc.subnet_ids[1])
        .await;

    let report = f
        .syncer
        .handle(std::slice::from_ref(&binding), "Frontdoor", &scheduled(), 0)
        .await
        .unwrap();
    assert!(report.bindings[0].transitional, "{report:?}");
    assert_eq!(
        (
            report.bindings[0].registered,
            report.bindings[0].deregistered
        ),
        (1, 0)
    );
    let mut expected = ips.clone();
    expected.push("10.200.0.1".to_owned());
    expected.sort();
    assert_eq!(f.account.ips_on(group, 443).await, expected);
    assert_eq!(f.proxy.count("DeregisterTargets"), 0);
}

#[tokio::test]
async fn an_unknown_interface_costs_one_more_describe_not_one_per_interface() {
    let f = Fixture::new().await;
    let mut bindings = Vec::new();
    for i in 0..10 {
        bindings.push(f.binding(&format!("g{i}"), 3).await);
    }
    f.syncer
        .handle(&bindings, "Frontdoor", &scheduled(), 0)
        .await
        .unwrap();
    // One interface of one endpoint disappears while the endpoint still lists it.
    let stale = &f
        .account
        .endpoint_interfaces(&bindings[4].vpc_endpoint_id)
        .await[0];
    f.account.delete_interface(stale).await;
    f.proxy.reset();

    let err = f
        .syncer
        .handle(&bindings, "Frontdoor", &scheduled(), 0)
        .await
        .unwrap_err();
    assert_eq!((err.failed, err.total), (1, 10), "{err}");
    assert!(err.summary.contains(stale.as_str()), "{err}");
    assert_eq!(
        f.proxy.count("DescribeNetworkInterfaces"),
        2,
        "the batch, then the batch without the id EC2 named (the old fallback made 1 + 30)"
    );
    assert_eq!(f.writes(), 0);
}
