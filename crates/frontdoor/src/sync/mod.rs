//! `target-sync`: level-triggered drift repair of target groups.
//!
//! Each binding declares that its target groups hold, on its port, exactly
//! the addresses of its source: an endpoint's ENI IPs, or a DNS name's
//! addresses (with the no-flap rule of [`plan::hostname`]). A run reads the
//! current state, diffs it against the desired state and writes only the
//! difference. Reads are batched across bindings; a binding whose desired
//! state cannot be read completely is skipped, never emptied.
//!
//! - [`bindings`]: the bindings of `FRONTDOOR_BINDINGS`;
//! - [`scope`]: which bindings an event asks for;
//! - [`report`]: the run's summary and metrics;
//! - here, the reconciler.

pub mod bindings;
pub mod report;
pub mod scope;

pub use bindings::{
    BINDINGS_VAR, Binding, BindingsError, Source, bindings_from_env, parse_bindings,
};
pub use report::{BindingReport, SyncFailed, SyncReport};
pub use scope::Scope;

use crate::deadline::Budget;
use crate::emf::MetricSet;
use crate::model::{Endpoint, Family, NetworkInterface, RegisteredTarget, Target, TargetGroup};
use crate::plan::hostname::{hostname_plan, unseen_from_tags};
use crate::plan::{self, TargetPlan, by_id, endpoint_ips};
use crate::ports::{
    AwsError, EndpointDirectory, NameResolver, SubnetDirectory, TargetGroupTags, TargetRegistry,
};
use futures_util::stream::{self, StreamExt};
use ipnet::IpNet;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::SystemTime;
use tokio::time::Instant;

/// How many bindings are reconciled at once.
const CONCURRENCY: usize = 8;
/// How many times a run asks for a hostname's addresses: a rotating server
/// shows more of its set over several answers, and the union is the answer.
pub const DNS_QUERIES_PER_RUN: usize = 3;

/// Where a run's metrics go: an EMF line on stdout in Lambda.
pub type MetricsWriter = Box<dyn Fn(&MetricSet) -> std::io::Result<()> + Send + Sync>;

/// Why a binding was not done: the run reached its deadline.
pub const OUT_OF_TIME: &str =
    "not done: the run reached its deadline (the Lambda deadline less its safety margin) first";

/// The reconciler.
pub struct Syncer<D, R, N> {
    directory: D,
    registry: R,
    resolver: N,
    budget: Budget,
    grace_runs: u32,
    metrics: MetricsWriter,
}

/// What the run read once for all the bindings it covers. The reads of one
/// kind of source fail only the bindings of that kind.
struct Shared {
    groups: BTreeMap<String, TargetGroup>,
    endpoints: Result<EndpointReads, String>,
    hostnames: Result<HostnameReads, String>,
}

#[derive(Default)]
struct EndpointReads {
    endpoints: BTreeMap<String, Endpoint>,
    interfaces: BTreeMap<String, NetworkInterface>,
}

#[derive(Default)]
struct HostnameReads {
    /// The subnets' ranges of the hostname bindings' VPCs, by VPC id.
    subnets: BTreeMap<String, Vec<IpNet>>,
    /// The hostname bindings' groups' tags, by ARN.
    tags: BTreeMap<String, BTreeMap<String, String>>,
}

impl<D, R, N> Syncer<D, R, N>
where
    D: EndpointDirectory + SubnetDirectory,
    R: TargetRegistry + TargetGroupTags,
    N: NameResolver,
{
    pub fn new(directory: D, registry: R, resolver: N) -> Self {
        Self {
            directory,
            registry,
            resolver,
            budget: Budget::default(),
            grace_runs: crate::dns::DEFAULT_GRACE_RUNS,
            metrics: Box::new(MetricSet::emit),
        }
    }

    /// The safety margin before the Lambda deadline, and the budget when the
    /// deadline is unknown.
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// How many runs a hostname's address must be missing before it goes.
    pub fn with_grace_runs(mut self, grace_runs: u32) -> Self {
        self.grace_runs = grace_runs;
        self
    }

    /// Writes the metrics elsewhere than stdout (tests).
    pub fn with_metrics_writer(mut self, metrics: MetricsWriter) -> Self {
        self.metrics = metrics;
        self
    }

    /// The adapters back, with what they hold (the CLI's dry run).
    pub fn into_adapters(self) -> (D, R) {
        (self.directory, self.registry)
    }

    /// Handles one invocation: reconciles what the event asks for until the
    /// Lambda deadline (epoch milliseconds) less the safety margin, writes the
    /// summary and the metrics, and fails if any binding failed or was not
    /// done. It returns before the deadline, whatever AWS does.
    pub async fn handle(
        &self,
        bindings: &[Binding],
        namespace: &str,
        event: &Value,
        lambda_deadline_ms: u64,
    ) -> Result<SyncReport, SyncFailed> {
        let deadline = self.budget.deadline(lambda_deadline_ms, SystemTime::now());
        let report = self.run(bindings, &Scope::of_event(event), deadline).await;
        if let Err(err) = (self.metrics)(&report.metrics(namespace)) {
            tracing::warn!(%err, "metrics could not be written");
        }
        let summary = serde_json::to_string(&report).unwrap_or_default();
        match report.errors() {
            0 => {
                tracing::info!(%summary, "run done");
                Ok(report)
            }
            failed => {
                tracing::error!(%summary, "run failed");
                Err(SyncFailed {
                    failed,
                    total: report.bindings.len(),
                    summary,
                })
            }
        }
    }

    /// Reconciles the bindings the scope covers, starting no work after the
    /// deadline and cancelling what is still in flight then: a binding not
    /// done counts as skipped.
    pub async fn run(&self, bindings: &[Binding], scope: &Scope, deadline: Instant) -> SyncReport {
        let selected: Vec<&Binding> = bindings.iter().filter(|b| scope.covers(b)).collect();
        if selected.is_empty() {
            let note = format!(
                "the event names none of the {} bindings' endpoints; nothing to do",
                bindings.len()
            );
            tracing::info!("{note}");
            return SyncReport {
                bindings: Vec::new(),
                note: Some(note),
            };
        }
        let shared = match tokio::time::timeout_at(deadline, self.read_shared(&selected)).await {
            Ok(Ok(shared)) => shared,
            Ok(Err(err)) => return skip_all(&selected, &read_error(err)),
            Err(_) => return skip_all(&selected, OUT_OF_TIME),
        };
        let shared = &shared;
        let reports = stream::iter(selected)
            .map(|binding| async move {
                if Instant::now() >= deadline {
                    return BindingReport::skipped(binding, OUT_OF_TIME);
                }
                tokio::time::timeout_at(deadline, self.reconcile(binding, shared))
                    .await
                    .unwrap_or_else(|_| BindingReport::skipped(binding, OUT_OF_TIME))
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
        SyncReport {
            bindings: reports,
            note: None,
        }
    }

    /// One `DescribeTargetGroups` for every binding; for the endpoint
    /// bindings, one `DescribeVpcEndpoints` and one `DescribeNetworkInterfaces`;
    /// for the hostname bindings, one `DescribeSubnets` and one `DescribeTags`.
    async fn read_shared(&self, bindings: &[&Binding]) -> Result<Shared, AwsError> {
        let arns = unique(
            bindings
                .iter()
                .flat_map(|b| b.target_group_arns.iter().cloned()),
        );
        let groups = by_id(self.registry.target_groups(&arns).await?, |g| &g.arn);
        let endpoint_ids = unique(
            bindings
                .iter()
                .filter_map(|b| b.vpc_endpoint_id().map(str::to_owned)),
        );
        let hostname_arns = unique(
            bindings
                .iter()
                .filter(|b| b.vpc_endpoint_id().is_none())
                .flat_map(|b| b.target_group_arns.iter().cloned())
                .filter(|arn| groups.contains_key(arn)),
        );
        let endpoints = self.read_endpoints(&endpoint_ids).await.map_err(read_error);
        let hostnames = self
            .read_hostname_state(&hostname_arns, &groups)
            .await
            .map_err(read_error);
        Ok(Shared {
            groups,
            endpoints,
            hostnames,
        })
    }

    async fn read_endpoints(&self, endpoint_ids: &[String]) -> Result<EndpointReads, AwsError> {
        if endpoint_ids.is_empty() {
            return Ok(EndpointReads::default());
        }
        let endpoints = by_id(self.directory.endpoints(endpoint_ids).await?, |e| &e.id);
        let eni_ids = unique(
            endpoints
                .values()
                .filter(|e| e.state == "available")
                .flat_map(|e| e.network_interface_ids.iter().cloned()),
        );
        let interfaces = by_id(self.directory.network_interfaces(&eni_ids).await?, |n| {
            &n.id
        });
        Ok(EndpointReads {
            endpoints,
            interfaces,
        })
    }

    async fn read_hostname_state(
        &self,
        arns: &[String],
        groups: &BTreeMap<String, TargetGroup>,
    ) -> Result<HostnameReads, AwsError> {
        if arns.is_empty() {
            return Ok(HostnameReads::default());
        }
        let vpcs = unique(arns.iter().map(|arn| groups[arn].vpc_id.clone()));
        Ok(HostnameReads {
            subnets: self.directory.subnet_ranges(&vpcs).await?,
            tags: self.registry.tags(arns).await?,
        })
    }

    async fn reconcile(&self, binding: &Binding, shared: &Shared) -> BindingReport {
        let mut report = BindingReport::new(binding);
        let mut answers: BTreeMap<Family, BTreeSet<IpAddr>> = BTreeMap::new();
        for arn in &binding.target_group_arns {
            let outcome = match shared.groups.get(arn) {
                None => Err(format!("target group {arn} does not exist")),
                Some(group) => match &binding.source {
                    Source::VpcEndpointId(id) => {
                        self.reconcile_endpoint_group(id, binding.port, group, shared, &mut report)
                            .await
                    }
                    Source::Hostname(name) => {
                        self.reconcile_hostname_group(
                            name,
                            binding.port,
                            group,
                            shared,
                            &mut answers,
                            &mut report,
                        )
                        .await
                    }
                },
            };
            if let Err(reason) = outcome {
                tracing::error!(source = %binding.source, target_group = %arn, %reason, "binding skipped or failed; nothing deregistered after the failure");
                report.skipped = Some(reason);
                break;
            }
        }
        report
    }

    async fn reconcile_endpoint_group(
        &self,
        endpoint_id: &str,
        port: u16,
        group: &TargetGroup,
        shared: &Shared,
        report: &mut BindingReport,
    ) -> Result<(), String> {
        let reads = shared.endpoints.as_ref().map_err(Clone::clone)?;
        let desired = endpoint_ips(
            endpoint_id,
            &reads.endpoints,
            &reads.interfaces,
            group.family,
        )
        .map_err(|unknown| match group.family {
            Family::Ipv6 => format!("{unknown} (target group {} is ipv6)", group.arn),
            Family::Ipv4 => unknown.to_string(),
        })?;
        if desired.transitional {
            report.transitional = true;
            tracing::info!(
                endpoint = endpoint_id,
                "the endpoint has fewer interfaces than subnets: registering what it lists, deregistering nothing"
            );
        }
        let arn = group.arn.as_str();
        let current = self.current_targets(arn).await?;
        let desired_ips = desired.ip_set();
        let plan = if desired.transitional {
            plan::registration_plan(&desired_ips, port, &current)
        } else {
            plan::sync_plan(Some(&desired_ips), port, &current)
        };
        // Register first, so that the group is never emptier than it must be;
        // the deregistrations wait for the endpoint to be read again.
        let TargetPlan {
            register,
            deregister,
            unchanged,
        } = plan;
        report.unchanged += unchanged;
        self.apply(arn, register, Vec::new(), report).await?;
        if deregister.is_empty() {
            return Ok(());
        }
        let interfaces_now = self.interfaces_now(endpoint_id).await;
        let deregister = plan::confirmed_deregistrations(
            deregister,
            &desired.interfaces,
            interfaces_now.as_ref(),
        );
        if deregister.is_empty() {
            tracing::info!(
                target_group = arn,
                endpoint = endpoint_id,
                "the endpoint's interfaces changed during the run: deregistering nothing, the next run will"
            );
            return Ok(());
        }
        self.apply(arn, Vec::new(), deregister, report).await
    }

    /// A hostname binding's group: the run's answer of the group's family
    /// (asked for once per binding and family), the no-flap plan, then its
    /// writes: registrations, deregistrations, and last the state, so that a
    /// failed write leaves the state of the run before (a later deregistration,
    /// never an earlier one).
    async fn reconcile_hostname_group(
        &self,
        name: &str,
        port: u16,
        group: &TargetGroup,
        shared: &Shared,
        answers: &mut BTreeMap<Family, BTreeSet<IpAddr>>,
        report: &mut BindingReport,
    ) -> Result<(), String> {
        let reads = shared.hostnames.as_ref().map_err(Clone::clone)?;
        let answer = match answers.get(&group.family) {
            Some(answer) => answer.clone(),
            None => {
                let answer = self.resolve(name, group.family).await?;
                answers.insert(group.family, answer.clone());
                answer
            }
        };
        let ranges = reads
            .subnets
            .get(&group.vpc_id)
            .map_or(&[][..], Vec::as_slice);
        let in_vpc = |ip: IpAddr| ranges.iter().any(|range| range.contains(&ip));
        let (usable, unusable): (BTreeSet<IpAddr>, BTreeSet<IpAddr>) = answer
            .iter()
            .partition(|&&ip| in_vpc(ip) || elb_takes_outside_vpc(ip));
        for ip in &unusable {
            let ip = ip.to_string();
            if !report.unusable.contains(&ip) {
                report.unusable.push(ip);
            }
        }
        if usable.is_empty() {
            return Err(format!(
                "{name} answered only addresses that ELB cannot take as IP targets ({}); nothing changed",
                report.unusable.join(", ")
            ));
        }
        let arn = group.arn.as_str();
        let current = self.current_targets(arn).await?;
        let no_tags = BTreeMap::new();
        let unseen = unseen_from_tags(reads.tags.get(arn).unwrap_or(&no_tags), port);
        let plan = hostname_plan(&usable, port, &current, &unseen, self.grace_runs, |ip| {
            !in_vpc(ip)
        });
        report.unchanged += plan.targets.unchanged;
        report.held += plan.held;
        self.apply(arn, plan.targets.register, plan.targets.deregister, report)
            .await?;
        self.registry
            .add_tags(arn, &plan.set_tags)
            .await
            .map_err(|e| e.to_string())?;
        self.registry
            .remove_tags(arn, &plan.remove_tags)
            .await
            .map_err(|e| e.to_string())
    }

    /// The union of [`DNS_QUERIES_PER_RUN`] answers; any failed query fails
    /// the run's answer, and a binding without an answer is left untouched.
    async fn resolve(&self, name: &str, family: Family) -> Result<BTreeSet<IpAddr>, String> {
        let mut answer = BTreeSet::new();
        for _ in 0..DNS_QUERIES_PER_RUN {
            let addresses = self
                .resolver
                .addresses(name, family)
                .await
                .map_err(|err| format!("desired state unknown: {err}; nothing changed"))?;
            answer.extend(addresses);
        }
        Ok(answer)
    }

    async fn current_targets(&self, arn: &str) -> Result<Vec<RegisteredTarget>, String> {
        self.registry
            .targets(arn)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("target group {arn} does not exist"))
    }

    /// Registers, then deregisters, counting what was done.
    async fn apply(
        &self,
        arn: &str,
        register: Vec<Target>,
        deregister: Vec<Target>,
        report: &mut BindingReport,
    ) -> Result<(), String> {
        let plan = TargetPlan {
            register,
            deregister,
            unchanged: 0,
        };
        self.registry
            .apply(arn, &plan)
            .await
            .map_err(|e| e.to_string())?;
        report.registered += plan.register.len();
        report.deregistered += plan.deregister.len();
        Ok(())
    }

    /// The endpoint's interfaces, read again just before a deregistration
    /// (one `DescribeVpcEndpoints`); `None` when they cannot be read.
    async fn interfaces_now(&self, endpoint_id: &str) -> Option<BTreeSet<String>> {
        match self.directory.endpoints(&[endpoint_id.to_owned()]).await {
            Ok(endpoints) => endpoints
                .into_iter()
                .find(|e| e.id == endpoint_id)
                .map(|e| e.network_interface_ids.into_iter().collect()),
            Err(err) => {
                tracing::warn!(endpoint = endpoint_id, %err, "the endpoint could not be read again; deregistering nothing");
                None
            }
        }
    }
}

/// Whether ELB takes this address as an IP target outside the group's VPC:
/// IPv4 from RFC 1918 or RFC 6598 only
/// (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-target-groups.html#target-type).
/// IPv6 is left to ELB to judge.
fn elb_takes_outside_vpc(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private() || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(_) => true,
    }
}

fn read_error(err: AwsError) -> String {
    format!("desired state unreadable: {err}")
}

fn skip_all(bindings: &[&Binding], reason: &str) -> SyncReport {
    SyncReport {
        bindings: bindings
            .iter()
            .map(|b| BindingReport::skipped(b, reason))
            .collect(),
        note: None,
    }
}

fn unique(items: impl Iterator<Item = String>) -> Vec<String> {
    items.collect::<BTreeSet<_>>().into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TargetState;
    use crate::ports::DnsError;
    use std::sync::Mutex;

    const ARN: &str =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef";

    /// An endpoint with two ENIs, IPv4 only, in a VPC whose one subnet is 10.0.0.0/24.
    struct FakeDirectory;

    impl EndpointDirectory for FakeDirectory {
        async fn endpoints(&self, ids: &[String]) -> Result<Vec<Endpoint>, AwsError> {
            Ok(ids
                .iter()
                .map(|id| Endpoint {
                    id: id.clone(),
                    endpoint_type: "Interface".into(),
                    state: "available".into(),
                    subnet_ids: vec!["subnet-1".into(), "subnet-2".into()],
                    network_interface_ids: vec!["eni-1".into(), "eni-2".into()],
                })
                .collect())
        }

        async fn network_interfaces(
            &self,
            ids: &[String],
        ) -> Result<Vec<NetworkInterface>, AwsError> {
            Ok(ids
                .iter()
                .enumerate()
                .map(|(i, id)| NetworkInterface {
                    id: id.clone(),
                    availability_zone: "us-east-1a".into(),
                    private_ip: Some(format!("10.0.0.{}", i + 1)),
                    ipv6_addresses: Vec::new(),
                })
                .collect())
        }
    }

    impl SubnetDirectory for FakeDirectory {
        async fn subnet_ranges(
            &self,
            vpc_ids: &[String],
        ) -> Result<BTreeMap<String, Vec<IpNet>>, AwsError> {
            Ok(vpc_ids
                .iter()
                .map(|id| (id.clone(), vec!["10.0.0.0/24".parse().unwrap()]))
                .collect())
        }
    }

    /// One target group of a family, with a first target that is draining,
    /// as only real ELB shows; it records the writes.
    struct FakeRegistry {
        family: Family,
        current: Vec<RegisteredTarget>,
        registered: Mutex<Vec<Target>>,
        deregistered: Mutex<Vec<Target>>,
        tagged: Mutex<BTreeMap<String, String>>,
        /// `DescribeTags` fails, as a throttled or denied call would.
        tags_fail: bool,
    }

    impl FakeRegistry {
        fn new(family: Family, current: &[(&str, bool)]) -> Self {
            Self {
                family,
                current: current
                    .iter()
                    .map(|&(ip, draining)| RegisteredTarget {
                        target: Target {
                            ip: ip.into(),
                            port: 443,
                            all_zones: false,
                        },
                        state: if draining {
                            TargetState::Draining
                        } else {
                            TargetState::Healthy
                        },
                    })
                    .collect(),
                registered: Mutex::default(),
                deregistered: Mutex::default(),
                tagged: Mutex::default(),
                tags_fail: false,
            }
        }

        fn writes(&self) -> usize {
            self.registered.lock().unwrap().len()
                + self.deregistered.lock().unwrap().len()
                + self.tagged.lock().unwrap().len()
        }
    }

    impl TargetRegistry for FakeRegistry {
        async fn target_groups(&self, arns: &[String]) -> Result<Vec<TargetGroup>, AwsError> {
            Ok(arns
                .iter()
                .map(|arn| TargetGroup {
                    arn: arn.clone(),
                    family: self.family,
                    vpc_id: "vpc-1".into(),
                })
                .collect())
        }

        async fn targets(&self, _: &str) -> Result<Option<Vec<RegisteredTarget>>, AwsError> {
            Ok(Some(self.current.clone()))
        }

        async fn register(&self, _: &str, targets: &[Target]) -> Result<(), AwsError> {
            self.registered.lock().unwrap().extend_from_slice(targets);
            Ok(())
        }

        async fn deregister(&self, _: &str, targets: &[Target]) -> Result<(), AwsError> {
            self.deregistered.lock().unwrap().extend_from_slice(targets);
            Ok(())
        }
    }

    impl TargetGroupTags for FakeRegistry {
        async fn tags(
            &self,
            _: &[String],
        ) -> Result<BTreeMap<String, BTreeMap<String, String>>, AwsError> {
            if self.tags_fail {
                return Err(AwsError {
                    operation: "DescribeTags",
                    code: Some("Throttling".into()),
                    message: "Rate exceeded".into(),
                });
            }
            Ok(BTreeMap::new())
        }

        async fn add_tags(&self, _: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
            self.tagged.lock().unwrap().extend(tags.clone());
            Ok(())
        }

        async fn remove_tags(&self, _: &str, _: &[String]) -> Result<(), AwsError> {
            Ok(())
        }
    }

    /// Answers every query the same way.
    struct FakeResolver(Result<BTreeSet<IpAddr>, DnsError>);

    impl NameResolver for FakeResolver {
        async fn addresses(&self, _: &str, _: Family) -> Result<BTreeSet<IpAddr>, DnsError> {
            self.0.clone()
        }
    }

    fn answering(ips: &[&str]) -> FakeResolver {
        FakeResolver(Ok(ips.iter().map(|ip| ip.parse().unwrap()).collect()))
    }

    fn binding(source: Source) -> Binding {
        Binding {
            source,
            target_group_arns: vec![ARN.into()],
            port: 443,
        }
    }

    async fn run_once<N: NameResolver>(
        syncer: &Syncer<FakeDirectory, FakeRegistry, N>,
        source: Source,
    ) -> BindingReport {
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        let mut report = syncer.run(&[binding(source)], &Scope::All, deadline).await;
        report.bindings.remove(0)
    }

    fn hostname() -> Source {
        Source::Hostname("api.onprem.example".into())
    }

    #[tokio::test]
    async fn a_draining_target_that_is_desired_is_registered_again() {
        let registry = FakeRegistry::new(Family::Ipv4, &[("10.0.0.1", true), ("10.0.0.2", false)]);
        let syncer = Syncer::new(FakeDirectory, registry, answering(&[]));
        let report = run_once(&syncer, Source::VpcEndpointId("vpce-01234567".into())).await;
        assert_eq!(report.registered, 1);
        assert_eq!(
            *syncer.registry.registered.lock().unwrap(),
            [Target {
                ip: "10.0.0.1".into(),
                port: 443,
                all_zones: false,
            }]
        );
        assert!(syncer.registry.deregistered.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_ipv6_group_and_an_ipv4_only_endpoint_is_an_error_naming_both() {
        let registry = FakeRegistry::new(Family::Ipv6, &[]);
        let syncer = Syncer::new(FakeDirectory, registry, answering(&[]));
        let report = run_once(&syncer, Source::VpcEndpointId("vpce-01234567".into())).await;
        let reason = report.skipped.unwrap();
        assert!(
            reason.contains("vpce-01234567") && reason.contains(ARN),
            "{reason}"
        );
        assert_eq!(syncer.registry.writes(), 0);
    }

    #[tokio::test]
    async fn dns_failures_leave_the_group_untouched_and_count_as_errors() {
        let failures = [
            DnsError::NoSuchName { name: "n".into() },
            DnsError::NoRecords {
                name: "n".into(),
                record: "A",
            },
            DnsError::ServerFailure {
                name: "n".into(),
                code: "SERVFAIL".into(),
            },
            DnsError::Timeout { name: "n".into() },
        ];
        for failure in failures {
            let registry = FakeRegistry::new(Family::Ipv4, &[("192.168.7.1", false)]);
            let syncer = Syncer::new(FakeDirectory, registry, FakeResolver(Err(failure.clone())));
            let report = run_once(&syncer, hostname()).await;
            assert!(report.skipped.is_some(), "{failure}");
            assert_eq!(syncer.registry.writes(), 0, "{failure}");
        }
    }

    #[tokio::test]
    async fn on_premises_addresses_go_to_all_zones_and_vpc_ones_do_not() {
        let registry = FakeRegistry::new(Family::Ipv4, &[]);
        let syncer = Syncer::new(
            FakeDirectory,
            registry,
            answering(&["192.168.7.1", "10.0.0.9"]),
        );
        let report = run_once(&syncer, hostname()).await;
        assert_eq!(report.registered, 2);
        let registered = syncer.registry.registered.lock().unwrap().clone();
        let zones: Vec<(&str, bool)> = registered
            .iter()
            .map(|t| (t.ip.as_str(), t.all_zones))
            .collect();
        assert_eq!(zones, [("10.0.0.9", false), ("192.168.7.1", true)]);
    }

    #[tokio::test]
    async fn public_addresses_are_never_registered_and_alone_are_an_error() {
        let registry = FakeRegistry::new(Family::Ipv4, &[]);
        let syncer = Syncer::new(
            FakeDirectory,
            registry,
            answering(&["192.168.7.1", "8.8.8.8"]),
        );
        let report = run_once(&syncer, hostname()).await;
        assert_eq!(
            (report.registered, report.unusable.clone()),
            (1, vec!["8.8.8.8".to_owned()])
        );
        assert!(report.skipped.is_none());

        let registry = FakeRegistry::new(Family::Ipv4, &[("192.168.7.1", false)]);
        let syncer = Syncer::new(FakeDirectory, registry, answering(&["8.8.8.8"]));
        let report = run_once(&syncer, hostname()).await;
        assert!(report.skipped.unwrap().contains("cannot take"));
        assert_eq!(syncer.registry.writes(), 0);
    }

    #[tokio::test]
    async fn a_failed_read_of_one_kind_of_source_fails_only_its_bindings() {
        let registry = FakeRegistry {
            tags_fail: true,
            ..FakeRegistry::new(Family::Ipv4, &[])
        };
        let syncer = Syncer::new(FakeDirectory, registry, answering(&["192.168.7.1"]));
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        let bindings = [
            binding(Source::VpcEndpointId("vpce-01234567".into())),
            Binding {
                target_group_arns: vec![ARN.replace("/tg/", "/onprem/")],
                ..binding(hostname())
            },
        ];
        let report = syncer.run(&bindings, &Scope::All, deadline).await;
        assert_eq!(report.bindings[0].skipped, None);
        assert_eq!(report.bindings[0].registered, 2);
        let reason = report.bindings[1].skipped.clone().unwrap();
        assert!(reason.contains("DescribeTags"), "{reason}");
    }

    #[test]
    fn elb_takes_private_and_shared_addresses_from_outside_the_vpc() {
        for (ip, takes) in [
            ("10.1.2.3", true),
            ("172.16.0.1", true),
            ("192.168.0.1", true),
            ("100.64.0.1", true),
            ("100.127.255.255", true),
            ("100.128.0.1", false),
            ("8.8.8.8", false),
            ("fd00::1", true),
        ] {
            assert_eq!(elb_takes_outside_vpc(ip.parse().unwrap()), takes, "{ip}");
        }
    }
}
