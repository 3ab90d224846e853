//! The `frontdoor` binary against moto_server: a small CloudFormation stack
//! that holds a front door's outputs and parameters, over a real endpoint,
//! target group, security group, health checks and failover records.
//!
//! The CLI runs as a process with the standard `AWS_ENDPOINT_URL`, so it
//! uses moto's default account; each test makes its own stack, zone and
//! checks. moto's `GetHealthCheckStatus` is canned (every checker reports
//! success), so an unhealthy Region is made here the way a drill makes one:
//! an inverted check. moto cannot run functions, so each Region's observer
//! is `frontdoor_tests::observer`, a stand-in behind Lambda's own `Invoke`
//! API. The drill's timing and every restore path are tested on a scripted
//! Route 53 in `frontdoor::operate::drill`.

use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, HealthCheckConfig, HealthCheckType,
    HostedZoneConfig, ResourceRecordSet, ResourceRecordSetFailover, RrType, Vpc as ZoneVpc,
    VpcRegion,
};
use frontdoor_tests::moto::{Account, REGION, moto_url, sdk_config};
use frontdoor_tests::observer;
use frontdoor_tests::proxy::{Fault, Proxy, Rule};
use serde_json::Value;
use std::process::Output;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// moto's account when a request names none: the one the CLI process uses.
const DEFAULT_ACCOUNT: &str = "123456789012";
const PEER_REGION: &str = "eu-west-1";

static NEXT: AtomicU32 = AtomicU32::new(0);

/// One Region's deployed front door, PRIMARY, with a SECONDARY peer record.
struct Deployed {
    account: Account,
    route53: aws_sdk_route53::Client,
    stack: String,
    target_group_arn: String,
    endpoint_ips: Vec<String>,
    health_check_id: String,
    peer_health_check_id: String,
    /// The load balancer's group and its one ingress rule.
    group: String,
    client_rule: String,
}

async fn health_check(route53: &aws_sdk_route53::Client, name: &str) -> String {
    route53
        .create_health_check()
        .caller_reference(name)
        .health_check_config(
            HealthCheckConfig::builder()
                .r#type(HealthCheckType::Https)
                .fully_qualified_domain_name(format!("{name}.internal.example"))
                .port(443)
                .resource_path("/ping")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .health_check
        .unwrap()
        .id
}

/// A load balancer's DNS name in a Region, as the failover records alias it.
fn load_balancer(region: &str) -> String {
    format!("internal-fd.{region}.elb.amazonaws.com")
}

fn failover_record(
    name: &str,
    role: ResourceRecordSetFailover,
    region: &str,
    check: &str,
) -> Change {
    Change::builder()
        .action(ChangeAction::Create)
        .resource_record_set(
            ResourceRecordSet::builder()
                .name(name)
                .r#type(RrType::A)
                .set_identifier(format!("{}-{region}", role.as_str()))
                .failover(role)
                .health_check_id(check)
                .alias_target(
                    AliasTarget::builder()
                        .hosted_zone_id("Z35SXDOTRQ7X7K")
                        .dns_name(load_balancer(region))
                        .evaluate_target_health(false)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

impl Deployed {
    /// A stack whose observer sees the answer move when its check is inverted.
    async fn new() -> Self {
        Self::observed("moves").await
    }

    /// A stack whose observer behaves as `mode` says (`frontdoor_tests::observer`).
    async fn observed(mode: &str) -> Self {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("fd{}-{n}", std::process::id());
        let account = Account::with_id(&moto_url(), DEFAULT_ACCOUNT.into()).await;
        let config = sdk_config(&moto_url()).await;
        let route53 = aws_sdk_route53::Client::new(&config);
        let cloudformation = aws_sdk_cloudformation::Client::new(&config);

        let vpc = account.vpc(2).await;
        let endpoint = account.endpoint(&vpc, 2).await;
        let target_group_arn = account.target_group(&vpc, &name).await;
        let endpoint_ips = account.endpoint_ips(&endpoint).await;
        for ip in &endpoint_ips {
            account.register(&target_group_arn, ip, 443).await;
        }
        let group = account.security_group(&vpc, &name).await;
        let client_rule = account.allow_cidr(&group, "10.0.0.0/8", 443).await;

        let domain = format!("{name}.internal.example");
        let zone = route53
            .create_hosted_zone()
            .name(&domain)
            .caller_reference(&name)
            .vpc(
                ZoneVpc::builder()
                    .vpc_region(VpcRegion::UsEast1)
                    .vpc_id(&vpc.vpc_id)
                    .build(),
            )
            .hosted_zone_config(HostedZoneConfig::builder().private_zone(true).build())
            .send()
            .await
            .unwrap()
            .hosted_zone
            .unwrap()
            .id;
        let zone_id = zone.trim_start_matches("/hostedzone/").to_owned();
        let health_check_id = health_check(&route53, &format!("{name}-own")).await;
        let peer_health_check_id = health_check(&route53, &format!("{name}-peer")).await;
        route53
            .change_resource_record_sets()
            .hosted_zone_id(&zone_id)
            .change_batch(
                ChangeBatch::builder()
                    .changes(failover_record(
                        &domain,
                        ResourceRecordSetFailover::Primary,
                        REGION,
                        &health_check_id,
                    ))
                    .changes(failover_record(
                        &domain,
                        ResourceRecordSetFailover::Secondary,
                        PEER_REGION,
                        &peer_health_check_id,
                    ))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();

        // The outputs and parameters a frontdoor stack has, on a stand-in resource.
        let template = serde_json::json!({
            "Parameters": {
                "DomainName": {"Type": "String"},
                "PrivateHostedZoneId": {"Type": "String"},
                "FailoverRole": {"Type": "String"},
            },
            "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
            "Outputs": {
                "VpcEndpointId": {"Value": endpoint},
                "TargetGroupArn": {"Value": target_group_arn},
                "HealthCheckId": {"Value": health_check_id},
                "LoadBalancerSecurityGroupId": {"Value": group},
                "LoadBalancerDnsName": {"Value": load_balancer(REGION)},
                "ObserverFunctionName": {"Value": observer::function_name(mode, &health_check_id)},
            },
        });
        let parameter = |key: &str, value: &str| {
            aws_sdk_cloudformation::types::Parameter::builder()
                .parameter_key(key)
                .parameter_value(value)
                .build()
        };
        cloudformation
            .create_stack()
            .stack_name(&name)
            .template_body(template.to_string())
            .parameters(parameter("DomainName", &domain))
            .parameters(parameter("PrivateHostedZoneId", &zone_id))
            .parameters(parameter("FailoverRole", "PRIMARY"))
            .send()
            .await
            .unwrap();
        Self {
            account,
            route53,
            stack: name,
            target_group_arn,
            endpoint_ips,
            health_check_id,
            peer_health_check_id,
            group,
            client_rule,
        }
    }

    async fn invert(&self, id: &str, inverted: bool) {
        self.route53
            .update_health_check()
            .health_check_id(id)
            .inverted(inverted)
            .send()
            .await
            .unwrap();
    }

    async fn inverted(&self, id: &str) -> bool {
        self.route53
            .get_health_check()
            .health_check_id(id)
            .send()
            .await
            .unwrap()
            .health_check
            .and_then(|c| c.health_check_config)
            .and_then(|c| c.inverted)
            .unwrap_or(false)
    }
}

/// Runs the built `frontdoor` against `endpoint` (moto, or a proxy).
/// (A blocking child on tokio's blocking pool: every command ends within
/// its own limits, the drill's `--minutes 1` the longest.)
async fn frontdoor_at(endpoint: &str, args: &[&str]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_frontdoor"));
    command
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ENDPOINT_URL_LAMBDA", observer::endpoint(PEER_REGION))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION);
    tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("frontdoor runs")
}

async fn frontdoor(args: &[&str]) -> Output {
    frontdoor_at(&moto_url(), args).await
}

/// `drill` of the stack in REGION with a 1-minute limit, then `more`.
fn drill_args<'a>(stack: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "drill",
        "--stack",
        stack,
        "--region",
        REGION,
        "--minutes",
        "1",
    ];
    args.extend_from_slice(more);
    args
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

async fn status(deployed: &Deployed) -> (i32, Value) {
    let output = frontdoor(&[
        "status",
        "--stack",
        &deployed.stack,
        "--region",
        REGION,
        "--json",
    ])
    .await;
    (output.status.code().unwrap(), json(&output))
}

#[tokio::test]
async fn status_of_a_whole_stack_exits_0() {
    let deployed = Deployed::new().await;
    let (code, status) = status(&deployed).await;
    assert_eq!(code, 0, "{status:#}");
    assert_eq!(status["verdict"], "whole");
    let region = &status["regions"][0];
    let mut ips: Vec<&str> = region["endpointIps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    ips.sort();
    let mut expected: Vec<&str> = deployed.endpoint_ips.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(ips, expected);
    assert_eq!(region["targets"].as_array().unwrap().len(), 2);
    assert_eq!(region["drift"], serde_json::json!([]));
    assert_eq!(region["healthChecks"][0]["health"], "healthy");
    assert_eq!(region["failover"]["serving"]["region"], REGION);
    assert_eq!(
        region["ingress"][0]["rules"].as_array().unwrap().len(),
        1,
        "the group's one rule"
    );

    let text = frontdoor(&["status", "--stack", &deployed.stack, "--region", REGION]).await;
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.starts_with(&format!("stack {}: WHOLE", deployed.stack)),
        "{text}"
    );
}

#[tokio::test]
async fn a_drifted_stack_exits_1_and_plan_shows_the_repair_without_making_it() {
    let deployed = Deployed::new().await;
    let missing = deployed.endpoint_ips[0].clone();
    deployed
        .account
        .deregister(&deployed.target_group_arn, &missing, 443)
        .await;

    let (code, status) = status(&deployed).await;
    assert_eq!(code, 1, "{status:#}");
    assert_eq!(status["verdict"], "drift");
    let drift = &status["regions"][0]["drift"];
    assert_eq!(
        drift,
        &serde_json::json!([{
            "action": "register",
            "targetGroupArn": deployed.target_group_arn,
            "ip": missing,
            "port": 443,
        }])
    );

    let plan = frontdoor(&["plan", "--stack", &deployed.stack, "--region", REGION]).await;
    assert_eq!(plan.status.code(), Some(1));
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(
        text.contains(&format!("would register   {missing}:443")),
        "{text}"
    );
    assert!(
        !deployed
            .account
            .ips_on(&deployed.target_group_arn, 443)
            .await
            .contains(&missing),
        "plan wrote nothing"
    );
}

#[tokio::test]
async fn a_load_balancer_group_without_ingress_is_drift() {
    let deployed = Deployed::new().await;
    deployed
        .account
        .revoke_rule(&deployed.group, &deployed.client_rule)
        .await;
    let (code, status) = status(&deployed).await;
    assert_eq!(code, 1, "{status:#}");
    assert_eq!(
        status["regions"][0]["problems"],
        serde_json::json!([format!(
            "security group {} (LoadBalancerSecurityGroupId) has no ingress rule",
            deployed.group
        )])
    );
}

#[tokio::test]
async fn plan_of_a_stack_in_sync_exits_0_and_a_missing_stack_exits_3() {
    let deployed = Deployed::new().await;
    let plan = frontdoor(&["plan", "--stack", &deployed.stack, "--json"]).await;
    assert_eq!(plan.status.code(), Some(0));
    assert_eq!(json(&plan)["writes"], serde_json::json!([]));

    let missing = frontdoor(&["status", "--stack", "no-such-stack", "--region", REGION]).await;
    assert_eq!(missing.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr).trim(),
        format!("frontdoor: stack no-such-stack in {REGION}: no such stack")
    );
}

#[tokio::test]
async fn an_unhealthy_region_exits_2_and_the_peer_serves() {
    let deployed = Deployed::new().await;
    deployed.invert(&deployed.health_check_id, true).await;
    let (code, status) = status(&deployed).await;
    assert_eq!(code, 2, "{status:#}");
    assert_eq!(status["verdict"], "unhealthy");
    let region = &status["regions"][0];
    assert_eq!(region["healthChecks"][0]["health"], "unhealthy");
    assert_eq!(region["healthChecks"][0]["inverted"], true);
    assert_eq!(region["failover"]["serving"]["region"], PEER_REGION);
}

#[tokio::test]
async fn status_shows_the_answer_inside_the_vpc_and_a_disagreement_is_a_finding() {
    let deployed = Deployed::observed("stays").await;
    let (_, before) = status(&deployed).await;
    let observed = &before["regions"][0]["observed"];
    assert_eq!(observed["loadBalancer"], REGION, "{before:#}");
    assert_eq!(
        observed["addresses"],
        serde_json::json!([observer::OWN_ADDRESS])
    );

    // Route 53's API now says the peer serves; the VPC's answer did not move.
    deployed.invert(&deployed.health_check_id, true).await;
    let (code, after) = status(&deployed).await;
    assert_eq!(code, 2, "{after:#}");
    let problems = after["regions"][0]["problems"].to_string();
    assert!(
        problems.contains(&format!(
            "answers {REGION}'s, but by Route 53's API {PEER_REGION} serves"
        )),
        "{problems}"
    );
    let text = frontdoor(&["status", "--stack", &deployed.stack, "--region", REGION]).await;
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&format!(
            "answer    inside the VPC: api.internal.example answers [{}], {REGION}'s load balancer",
            observer::OWN_ADDRESS
        )),
        "{text}"
    );
}

#[tokio::test]
async fn a_missing_health_check_reads_unknown_and_unhealthy() {
    let deployed = Deployed::new().await;
    deployed
        .route53
        .delete_health_check()
        .health_check_id(&deployed.health_check_id)
        .send()
        .await
        .unwrap();
    let (code, status) = status(&deployed).await;
    assert_eq!(code, 2, "{status:#}");
    let check = &status["regions"][0]["healthChecks"][0];
    assert_eq!(check["health"], "unknown");
    assert_eq!(check["checkType"], Value::Null, "not found");
    assert_eq!(
        status["regions"][0]["failover"]["serving"],
        Value::Null,
        "who serves is unknown too"
    );
}

#[tokio::test]
async fn a_drill_inverts_the_check_then_restores_it() {
    let deployed = Deployed::new().await;
    let output = frontdoor(&drill_args(&deployed.stack, &["--yes", "--json"])).await;
    let report = json(&output);
    assert_eq!(output.status.code(), Some(0), "{report:#}");
    assert_eq!(report["ending"], "failedOver");
    assert_eq!(report["restore"], "restored");
    assert_eq!(report["otherRegion"], PEER_REGION);
    for step in [
        "invertedAfterS",
        "unhealthyAfterS",
        "answerMovedAfterS",
        "requestServedAfterS",
        "restoredAfterS",
        "answerBackAfterS",
    ] {
        assert!(report["timeline"][step].is_u64(), "{step}: {report:#}");
    }
    assert!(!deployed.inverted(&deployed.health_check_id).await);
}

#[tokio::test]
async fn a_drill_whose_answer_never_moves_times_out_and_restores() {
    // Route 53's API calls the check unhealthy, and the other record is the
    // one its rules choose; only the answer inside the VPC does not move.
    let deployed = Deployed::observed("stays").await;
    let output = frontdoor(&drill_args(&deployed.stack, &["--yes", "--json"])).await;
    let report = json(&output);
    assert_eq!(output.status.code(), Some(1), "{report:#}");
    assert_eq!(report["ending"], "timedOut");
    assert_eq!(report["restore"], "restored");
    assert!(report["timeline"]["unhealthyAfterS"].is_u64(), "{report:#}");
    assert!(
        report["timeline"]["answerMovedAfterS"].is_null(),
        "{report:#}"
    );
    assert!(!deployed.inverted(&deployed.health_check_id).await);
}

/// A drill waiting for an answer that never moves, stopped by `signal`:
/// the check is restored before the CLI exits.
async fn a_signal_during_the_wait_restores(signal: &str) {
    let deployed = Deployed::observed("stays").await;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_frontdoor"));
    command
        .args(drill_args(&deployed.stack, &["--yes", "--json"]))
        .env("AWS_ENDPOINT_URL", moto_url())
        .env("AWS_ENDPOINT_URL_LAMBDA", observer::endpoint(PEER_REGION))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().expect("frontdoor runs");
    let pid = child.id().to_string();
    while !deployed.inverted(&deployed.health_check_id).await {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sent = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -{signal}");
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let report = json(&output);
    assert_eq!(output.status.code(), Some(1), "{signal}: {report:#}");
    assert_eq!(report["ending"], "interrupted");
    assert_eq!(report["restore"], "restored");
    assert!(
        !deployed.inverted(&deployed.health_check_id).await,
        "{signal}: restored"
    );
}

#[tokio::test]
async fn sigterm_during_the_wait_restores_the_check() {
    a_signal_during_the_wait_restores("TERM").await;
}

#[tokio::test]
async fn sighup_during_the_wait_restores_the_check() {
    a_signal_during_the_wait_restores("HUP").await;
}

#[tokio::test]
async fn a_drill_restores_the_check_after_an_injected_error() {
    let deployed = Deployed::new().await;
    let proxy = Proxy::start(&moto_url()).await;
    let check_path = format!("/2013-04-01/healthcheck/{}", deployed.health_check_id);
    let drill = {
        let url = proxy.url.clone();
        let stack = deployed.stack.clone();
        tokio::spawn(
            async move { frontdoor_at(&url, &drill_args(&stack, &["--yes", "--json"])).await },
        )
    };
    // The preflight reads the check (GET) and the invert writes it (POST),
    // both on its path: after those two, every status read fails.
    while proxy.count(&check_path) < 2 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        deployed.inverted(&deployed.health_check_id).await,
        "the drill inverted the check"
    );
    proxy.inject(Rule::on(
        &format!("{check_path}/status"),
        Fault::Status(500),
    ));
    let output = drill.await.unwrap();
    let report = json(&output);
    assert_eq!(output.status.code(), Some(1), "{report:#}");
    assert_eq!(report["restore"], "restored");
    let error = report["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!(
            "stack {} in {REGION}: the Route 53 health checks: GetHealthCheckStatus failed",
            deployed.stack
        )),
        "{error}"
    );
    assert!(
        !deployed.inverted(&deployed.health_check_id).await,
        "restored"
    );
}

#[tokio::test]
async fn a_drill_refuses_while_the_peer_is_unhealthy_or_without_yes() {
    let deployed = Deployed::new().await;
    deployed.invert(&deployed.peer_health_check_id, true).await;
    let output = frontdoor(&drill_args(&deployed.stack, &["--yes"])).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("the other Region ({PEER_REGION}) is unhealthy")),
        "{stderr}"
    );
    assert!(
        !deployed.inverted(&deployed.health_check_id).await,
        "nothing changed"
    );

    deployed.invert(&deployed.peer_health_check_id, false).await;
    let unconfirmed = frontdoor(&drill_args(&deployed.stack, &[])).await;
    assert_eq!(unconfirmed.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unconfirmed.stderr).contains("add --yes"));
    assert!(!deployed.inverted(&deployed.health_check_id).await);
}
