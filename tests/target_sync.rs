//! `target-sync` against moto_server, through a recording proxy.

use frontdoor::aws::{Ec2Endpoints, ElbTargets};
use frontdoor::dns::HickoryResolver;
use frontdoor::plan::group_tags::MAX_GROUP_TAGS;
use frontdoor::plan::hostname::Grace;
use frontdoor::plan::unseen::{MAX_STATE_TAGS, state_from_tags};
use frontdoor::sync::BindingReport;
use frontdoor::sync::{Binding, Scope, Source, Syncer};
use frontdoor_tests::dns::{Answer, DnsServer};
use frontdoor_tests::moto::{Account, Vpc, moto_url};
use frontdoor_tests::proxy::Proxy;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

const WRITES: [&str; 2] = ["RegisterTargets", "DeregisterTargets"];

struct Fixture {
    account: Account,
    proxy: Proxy,
    syncer: Syncer<Ec2Endpoints, ElbTargets, HickoryResolver>,
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
            source: Source::VpcEndpointId(self.account.endpoint(&self.vpc, subnets).await),
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
    let ips = f
        .account
        .endpoint_ips(binding.vpc_endpoint_id().unwrap())
        .await;
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
            &modify_event(binding.vpc_endpoint_id().unwrap()),
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
    assert_eq!(
        f.proxy.count("DescribeTargetGroups"),
        1,
        "their families, batched"
    );
    assert_eq!(f.proxy.count("DescribeVpcEndpoints"), 1);
    assert_eq!(f.proxy.count("DescribeNetworkInterfaces"), 1);
    assert_eq!(
        f.proxy.count("DescribeTargetHealth"),
        3,
        "one per target group"
    );
    assert_eq!(f.proxy.calls().len(), 6, "{:?}", f.proxy.counts());
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
        f.account.endpoint_ips(a.vpc_endpoint_id().unwrap()).await
    );
    assert_eq!(
        f.account.ips_on(&b.target_group_arns[0], 443).await,
        f.account.endpoint_ips(b.vpc_endpoint_id().unwrap()).await
    );

    f.account
        .deregister(
            &a.target_group_arns[0],
            &f.account.endpoint_ips(a.vpc_endpoint_id().unwrap()).await[0],
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
    f.account
        .delete_endpoint(binding.vpc_endpoint_id().unwrap())
        .await;
    f.proxy.reset();

    let err = f
        .syncer
        .handle(std::slice::from_ref(&binding), "Frontdoor", &scheduled(), 0)
        .await
        .unwrap_err();
    assert_eq!(err.failed, 1);
    assert!(
        err.summary.contains(binding.vpc_endpoint_id().unwrap()),
        "{err}"
    );
    assert_eq!(f.account.targets(group).await, before, "the guard holds");
    assert_eq!(f.writes(), 0);
}

#[tokio::test]
async fn one_failing_binding_does_not_stop_the_others() {
    let f = Fixture::new().await;
    let gone = f.binding("gone", 2).await;
    let healthy = f.binding("healthy", 3).await;
    f.account
        .delete_endpoint(gone.vpc_endpoint_id().unwrap())
        .await;
    let missing_group = Binding {
        source: Source::VpcEndpointId(f.account.endpoint(&f.vpc, 1).await),
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
        f.account
            .endpoint_ips(healthy.vpc_endpoint_id().unwrap())
            .await
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
    let ips = f
        .account
        .endpoint_ips(binding.vpc_endpoint_id().unwrap())
        .await;
    f.account.register(group, "10.200.0.1", 443).await;
    // Two subnets, one interface: EC2 is still adding the second.
    f.account
        .add_subnet(binding.vpc_endpoint_id().unwrap(), &f.vpc.subnet_ids[1])
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
        .endpoint_interfaces(bindings[4].vpc_endpoint_id().unwrap())
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

// ------------------------------------------------------------ hostname bindings

const HOST: &str = "api.onprem.example";
/// Outside the test VPC's 10.0.0.0/16: on-premises addresses.
const ONPREM: [&str; 4] = [
    "192.168.10.1",
    "192.168.10.2",
    "192.168.10.3",
    "192.168.10.4",
];

/// A hostname binding to a target group, a DNS server that the test scripts,
/// and target-sync asking it, through a recording proxy.
struct OnPremises {
    account: Account,
    proxy: Proxy,
    syncer: Syncer<Ec2Endpoints, ElbTargets, HickoryResolver>,
    dns: DnsServer,
    binding: Binding,
    vpc: Vpc,
}

/// The no-flap rule counting every run, as the demo runs it: the tests make
/// their runs back to back.
const EVERY_RUN: Grace = Grace {
    runs: 3,
    interval: Duration::ZERO,
};

impl OnPremises {
    async fn new() -> Self {
        Self::with_grace(EVERY_RUN).await
    }

    async fn with_grace(grace: Grace) -> Self {
        let account = Account::new().await;
        let proxy = Proxy::start(&moto_url()).await;
        let dns = DnsServer::start().await;
        let syncer = account
            .via(&proxy.url)
            .await
            .syncer_asking(dns.addr)
            .with_grace(grace);
        let vpc = account.vpc(2).await;
        let group = account.target_group(&vpc, "onprem").await;
        Self {
            binding: Binding {
                source: Source::Hostname(HOST.into()),
                target_group_arns: vec![group],
                port: 443,
            },
            account,
            proxy,
            syncer,
            dns,
            vpc,
        }
    }

    fn group(&self) -> &str {
        &self.binding.target_group_arns[0]
    }

    /// One scheduled run; its report of the binding, failed or not.
    async fn run(&self) -> BindingReport {
        self.run_with(&self.syncer).await
    }

    /// One scheduled run by another syncer on the same account and server.
    async fn run_with(
        &self,
        syncer: &Syncer<Ec2Endpoints, ElbTargets, HickoryResolver>,
    ) -> BindingReport {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut report = syncer
            .run(std::slice::from_ref(&self.binding), &Scope::All, deadline)
            .await;
        report.bindings.remove(0)
    }

    async fn ips(&self) -> Vec<String> {
        self.account.ips_on(self.group(), 443).await
    }

    /// The group's tags.
    async fn tags(&self) -> BTreeMap<String, String> {
        self.account.tags(self.group()).await
    }

    /// The no-flap state on the group, decoded from its `frontdoor:unseen:*`
    /// tags: the held addresses' counts.
    async fn unseen(&self) -> BTreeMap<IpAddr, u32> {
        state_from_tags(&self.tags().await, 443).unseen.runs
    }

    /// The body of the first `RegisterTargets` request that reached moto.
    fn first_registration(&self) -> String {
        self.proxy
            .passed()
            .into_iter()
            .find(|p| p.action == "RegisterTargets")
            .expect("a RegisterTargets request")
            .body
    }

    fn writes(&self) -> usize {
        [
            "RegisterTargets",
            "DeregisterTargets",
            "AddTags",
            "RemoveTags",
        ]
        .iter()
        .map(|w| self.proxy.count(w))
        .sum()
    }
}

/// The group's addresses, sorted as [`strings`] sorts.
fn strings_of(mut ips: Vec<String>) -> Vec<String> {
    ips.sort();
    ips
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn strings(ips: &[&str]) -> Vec<String> {
    let mut ips: Vec<String> = ips.iter().map(|s| s.to_string()).collect();
    ips.sort();
    ips
}

#[tokio::test]
async fn a_hostname_binding_registers_its_addresses_for_all_zones_and_follows_a_changed_answer() {
    let f = OnPremises::new().await;
    f.dns.set_addresses(HOST, &ONPREM[..2]);
    let report = f.run().await;
    assert_eq!(
        (report.registered, report.skipped.clone()),
        (2, None),
        "{report:?}"
    );
    assert_eq!(f.ips().await, strings(&ONPREM[..2]));
    let registration = f.first_registration();
    assert_eq!(
        registration.matches("AvailabilityZone=all").count(),
        2,
        "outside the VPC, ELB needs the zone `all`: {}",
        registration
    );

    // The name moves: the new address goes in at once, the old ones after
    // three runs without them (FRONTDOOR_DNS_GRACE_RUNS' default).
    f.dns.set_addresses(HOST, &ONPREM[2..3]);
    let report = f.run().await;
    assert_eq!(
        (report.registered, report.deregistered, report.held),
        (1, 0, 2)
    );
    assert_eq!(f.ips().await, strings(&ONPREM[..3]));
    assert_eq!(
        f.unseen().await,
        BTreeMap::from([(ip(ONPREM[0]), 1), (ip(ONPREM[1]), 1)])
    );
    assert_eq!(f.run().await.deregistered, 0);
    let report = f.run().await;
    assert_eq!((report.deregistered, report.held), (2, 0));
    assert_eq!(f.ips().await, strings(&ONPREM[2..3]));
    assert!(
        f.unseen().await.is_empty(),
        "the state goes with the addresses"
    );
}

#[tokio::test]
async fn runs_within_the_interval_count_one_absence_and_interval_zero_counts_each_run() {
    // The template's rule: 3 runs, counted 50 s apart at least.
    let f = OnPremises::with_grace(frontdoor::dns::DEFAULT_GRACE).await;
    f.dns.set_addresses(HOST, &ONPREM[..2]);
    f.run().await;
    f.dns.set_addresses(HOST, &ONPREM[..1]);
    // A duplicate delivery and overlapping runs, all within a few seconds.
    for run in 0..4 {
        let report = f.run().await;
        assert_eq!(
            (report.deregistered, report.held),
            (0, 1),
            "run {run}: {report:?}"
        );
    }
    assert_eq!(f.unseen().await, BTreeMap::from([(ip(ONPREM[1]), 1)]));

    // With the interval 0, each run counts: the second and third absences.
    let every_run = f
        .account
        .via(&f.proxy.url)
        .await
        .syncer_asking(f.dns.addr)
        .with_grace(EVERY_RUN);
    assert_eq!(f.run_with(&every_run).await.deregistered, 0);
    assert_eq!(f.unseen().await, BTreeMap::from([(ip(ONPREM[1]), 2)]));
    assert_eq!(f.run_with(&every_run).await.deregistered, 1);
    assert_eq!(f.ips().await, strings(&ONPREM[..1]));
}

#[tokio::test]
async fn sixty_held_addresses_fit_the_state_and_the_groups_other_tags_are_untouched() {
    let f = OnPremises::new().await;
    let others = BTreeMap::from([
        ("team".to_owned(), "payments".to_owned()),
        ("cost-centre".to_owned(), "cc-17".to_owned()),
        (
            "frontdoor:stack".to_owned(),
            "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1".to_owned(),
        ),
    ]);
    f.account.tag(f.group(), &others).await;
    let all: Vec<String> = (1..=61).map(|n| format!("192.168.30.{n}")).collect();
    let all_refs: Vec<&str> = all.iter().map(String::as_str).collect();
    f.dns.set_addresses(HOST, &all_refs);
    assert_eq!(f.run().await.registered, 61);

    // The name drops 60 of them: all held, their state in a few tags.
    f.dns.set_addresses(HOST, &all_refs[..1]);
    let report = f.run().await;
    assert_eq!(
        (report.held, report.skipped.clone()),
        (60, None),
        "{report:?}"
    );
    let tags = f.tags().await;
    let state_tags = tags
        .keys()
        .filter(|k| k.starts_with("frontdoor:unseen:"))
        .count();
    assert!(state_tags <= MAX_STATE_TAGS, "{state_tags} state tags");
    assert!(
        tags.len() <= MAX_GROUP_TAGS,
        "{} tags on the group",
        tags.len()
    );
    let unseen = f.unseen().await;
    assert_eq!(unseen.len(), 60);
    assert!(unseen.values().all(|&runs| runs == 1), "{unseen:?}");
    for (key, value) in &others {
        assert_eq!(tags.get(key), Some(value), "{key} is untouched");
    }

    // The third run without them deregisters them, and the state goes.
    f.run().await;
    assert_eq!(f.run().await.deregistered, 60);
    let tags = f.tags().await;
    assert_eq!(tags, others, "only the group's own tags are left");
}

#[tokio::test]
async fn a_state_that_would_pass_elbs_tag_limit_fails_before_any_write() {
    let f = OnPremises::new().await;
    f.dns.set_addresses(HOST, &ONPREM[..2]);
    f.run().await;
    // 50 tags already: the state's first tag would be the 51st.
    let full: BTreeMap<String, String> = (0..50)
        .map(|n| (format!("team:{n}"), "v".to_owned()))
        .collect();
    f.account.tag(f.group(), &full).await;
    f.dns.set_addresses(HOST, &ONPREM[2..3]);
    f.proxy.reset();
    let report = f.run().await;
    let skipped = report.skipped.clone().unwrap_or_default();
    assert!(
        skipped.contains("over ELB's 50") && skipped.contains(f.group()),
        "{report:?}"
    );
    assert_eq!(
        f.writes(),
        0,
        "not even the new address: {:?}",
        f.proxy.counts()
    );
    assert_eq!(f.ips().await, strings(&ONPREM[..2]));
}

#[tokio::test]
async fn a_rotating_server_never_makes_an_address_flap() {
    let f = OnPremises::new().await;
    // Each answer holds one of the four addresses, in turn: a run asks three
    // times, so it sees three of them, and each address is missing from at
    // most one run in a row.
    let one_each = ONPREM.iter().map(|ip| vec![ip.parse().unwrap()]).collect();
    f.dns.set(HOST, Answer::Rotating(one_each));
    for run in 0..8 {
        let report = f.run().await;
        assert_eq!(report.deregistered, 0, "run {run}: {report:?}");
        assert!(report.skipped.is_none(), "run {run}: {report:?}");
    }
    assert_eq!(f.ips().await, strings(&ONPREM));
    assert_eq!(f.proxy.count("DeregisterTargets"), 0);
}

#[tokio::test]
async fn a_hostname_binding_in_sync_makes_no_write_and_lists_its_reads() {
    let f = OnPremises::new().await;
    f.dns.set_addresses(HOST, &ONPREM[..2]);
    f.run().await;
    f.proxy.reset();
    let asked_before = f.dns.queries(HOST);

    let report = f.run().await;
    assert_eq!((report.registered, report.unchanged), (0, 2));
    assert_eq!(f.writes(), 0, "{:?}", f.proxy.counts());
    let reads: BTreeMap<String, usize> = f.proxy.counts();
    assert_eq!(
        reads,
        BTreeMap::from([
            ("DescribeSubnets".to_owned(), 1),
            ("DescribeTags".to_owned(), 1),
            ("DescribeTargetGroups".to_owned(), 1),
            ("DescribeTargetHealth".to_owned(), 1),
        ])
    );
    assert_eq!(
        f.dns.queries(HOST) - asked_before,
        frontdoor::sync::DNS_QUERIES_PER_RUN
    );
}

#[tokio::test]
async fn no_answer_never_empties_the_group() {
    let f = OnPremises::new().await;
    f.dns.set_addresses(HOST, &ONPREM[..2]);
    f.run().await;
    let before = f.ips().await;
    f.proxy.reset();
    let failures = [
        (Answer::NxDomain, "does not exist"),
        (Answer::ServFail, "Server Failure"),
        (Answer::Addresses(Vec::new()), "no A records"),
        (Answer::Silent, "in time"),
    ];
    for (answer, reason) in failures {
        f.dns.set(HOST, answer.clone());
        // More runs than the grace: a failed answer is no evidence of absence.
        for _ in 0..4 {
            let report = f.run().await;
            let skipped = report.skipped.unwrap_or_default();
            assert!(skipped.contains(reason), "{answer:?}: {skipped}");
            if answer == Answer::Silent {
                break;
            }
        }
        assert_eq!(f.ips().await, before, "{answer:?}");
    }
    assert_eq!(f.writes(), 0, "{:?}", f.proxy.counts());
}

/// 80 on-premises addresses: their A records (16 bytes each) do not fit the
/// client's 1,232-byte EDNS payload, so the server truncates the UDP answer.
fn eighty_addresses() -> Vec<String> {
    (1..=80).map(|n| format!("192.168.20.{n}")).collect()
}

#[tokio::test]
async fn a_truncated_answer_is_asked_again_over_tcp_and_without_tcp_is_no_evidence() {
    let f = OnPremises::new().await;
    let all = eighty_addresses();
    let all_refs: Vec<&str> = all.iter().map(String::as_str).collect();
    f.dns.set_addresses(HOST, &all_refs);

    // TCP answers: the whole set is registered.
    let report = f.run().await;
    assert_eq!(
        (report.registered, report.skipped.clone()),
        (80, None),
        "{report:?}"
    );
    assert!(
        f.dns.tcp_queries(HOST) > 0,
        "the truncated answer was asked again over TCP"
    );
    assert_eq!(strings_of(f.ips().await), strings(&all_refs));

    // TCP refused: a truncated answer holds only part of the set, so it is no
    // evidence of absence, over more runs than the grace.
    f.dns.set_tcp(false);
    f.proxy.reset();
    for run in 0..5 {
        let report = f.run().await;
        let skipped = report.skipped.clone().unwrap_or_default();
        assert!(skipped.contains("truncated"), "run {run}: {report:?}");
        assert_eq!(report.deregistered, 0, "run {run}: {report:?}");
    }
    assert_eq!(strings_of(f.ips().await), strings(&all_refs));
    assert_eq!(f.writes(), 0, "{:?}", f.proxy.counts());
}

#[tokio::test]
async fn an_alias_is_followed_to_its_targets_addresses() {
    let f = OnPremises::new().await;
    // A CNAME whose target's records the server leaves out, as for a target
    // outside its zone: the client asks again for the target.
    f.dns
        .set(HOST, Answer::AliasOnly("lb.onprem.example".into()));
    f.dns.set(
        "lb.onprem.example",
        Answer::Alias("lb-1.dc.onprem.example".into()),
    );
    f.dns.set_addresses("lb-1.dc.onprem.example", &ONPREM[..2]);
    let report = f.run().await;
    assert_eq!(
        (report.registered, report.skipped.clone()),
        (2, None),
        "{report:?}"
    );
    assert_eq!(f.ips().await, strings(&ONPREM[..2]));

    // A loop is an error, and changes nothing.
    f.dns
        .set("lb-1.dc.onprem.example", Answer::Alias(HOST.into()));
    f.proxy.reset();
    let report = f.run().await;
    assert!(report.skipped.unwrap_or_default().contains("CNAME"));
    assert_eq!(f.ips().await, strings(&ONPREM[..2]));
    assert_eq!(f.writes(), 0, "{:?}", f.proxy.counts());
}

#[tokio::test]
async fn an_address_inside_the_vpc_keeps_its_zone_and_a_public_one_is_never_registered() {
    let f = OnPremises::new().await;
    // 10.0.1.0/24 is the fixture's second subnet.
    f.dns
        .set_addresses(HOST, &["10.0.1.25", "192.168.10.1", "52.94.1.1"]);
    let report = f.run().await;
    assert_eq!(report.registered, 2, "{report:?}");
    assert_eq!(report.unusable, ["52.94.1.1"]);
    assert_eq!(f.ips().await, strings(&["10.0.1.25", "192.168.10.1"]));
    let registration = f.first_registration();
    assert_eq!(
        registration.matches("AvailabilityZone=all").count(),
        1,
        "ELB refuses `all` for an address in the VPC: {}",
        registration
    );
    assert!(!f.vpc.subnet_ids.is_empty());
}

#[tokio::test]
async fn an_ipv6_group_gets_the_names_aaaa_records_only() {
    let f = OnPremises::new().await;
    let group = f.account.ipv6_target_group(&f.vpc, "onprem6").await;
    let binding = Binding {
        target_group_arns: vec![group.clone()],
        ..f.binding.clone()
    };
    f.dns
        .set_addresses(HOST, &["192.168.10.1", "fd00:10::1", "fd00:10::2"]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let report = f.syncer.run(&[binding], &Scope::All, deadline).await;
    assert_eq!(report.bindings[0].registered, 2, "{report:?}");
    assert_eq!(
        f.account.ips_on(&group, 443).await,
        strings(&["fd00:10::1", "fd00:10::2"])
    );
}

/// ELB may spell an IPv6 target otherwise than EC2 spells the interface's
/// address; both are parsed, so the same address is the same target.
#[tokio::test]
async fn an_ipv6_target_spelled_out_in_full_is_the_endpoints_address() {
    let f = Fixture::new().await;
    let endpoint = f.account.endpoint(&f.vpc, 2).await;
    let ipv6 = f.account.make_dual_stack(&endpoint).await;
    let group = f.account.ipv6_target_group(&f.vpc, "v6").await;
    for address in &ipv6 {
        let full = address.replace("::", ":0:0:0:");
        assert_ne!(&full, address);
        f.account.register(&group, &full, 443).await;
    }
    let binding = Binding {
        source: Source::VpcEndpointId(endpoint),
        target_group_arns: vec![group],
        port: 443,
    };
    let report = f
        .syncer
        .handle(std::slice::from_ref(&binding), "Frontdoor", &scheduled(), 0)
        .await
        .unwrap();
    assert_eq!(
        (report.bindings[0].unchanged, report.bindings[0].registered),
        (2, 0),
        "{report:?}"
    );
    assert_eq!(f.writes(), 0, "{:?}", f.proxy.counts());
}

#[tokio::test]
async fn a_dual_stack_endpoint_gives_an_ipv6_group_its_ipv6_addresses() {
    let f = Fixture::new().await;
    let endpoint = f.account.endpoint(&f.vpc, 2).await;
    let ipv6 = f.account.make_dual_stack(&endpoint).await;
    let group = f.account.ipv6_target_group(&f.vpc, "v6").await;
    let binding = Binding {
        source: Source::VpcEndpointId(endpoint),
        target_group_arns: vec![group.clone()],
        port: 443,
    };
    f.syncer
        .handle(std::slice::from_ref(&binding), "Frontdoor", &scheduled(), 0)
        .await
        .unwrap();
    assert_eq!(f.account.ips_on(&group, 443).await, ipv6);

    // An IPv4-only endpoint and the same kind of group: an error naming both.
    let ipv4_only = Binding {
        source: Source::VpcEndpointId(f.account.endpoint(&f.vpc, 1).await),
        target_group_arns: vec![f.account.ipv6_target_group(&f.vpc, "v6b").await],
        port: 443,
    };
    let err = f
        .syncer
        .handle(
            std::slice::from_ref(&ipv4_only),
            "Frontdoor",
            &scheduled(),
            0,
        )
        .await
        .unwrap_err();
    assert!(
        err.summary.contains(ipv4_only.vpc_endpoint_id().unwrap())
            && err.summary.contains(&ipv4_only.target_group_arns[0])
            && err.summary.contains("IPv6"),
        "{err}"
    );
    assert!(
        f.account
            .targets(&ipv4_only.target_group_arns[0])
            .await
            .is_empty()
    );
}
