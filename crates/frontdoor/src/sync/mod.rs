//! `target-sync`: level-triggered drift repair of endpoint target groups.
//!
//! Each binding declares that its target groups hold, on its port, exactly
//! its endpoint's ENI IPs. A run reads the current state, diffs it against the
//! desired state and writes only the difference. Reads are batched across
//! bindings; a binding whose desired state cannot be read completely is
//! skipped, never emptied.

use crate::aws::{AwsError, Endpoint, EndpointDirectory, NetworkInterface, TargetRegistry};
use crate::deadline::Budget;
use crate::emf::{MetricSet, Unit};
use crate::plan;
use crate::props;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;
use tokio::time::Instant;

/// The environment variable that holds the bindings.
pub const BINDINGS_VAR: &str = "FRONTDOOR_BINDINGS";
/// How many bindings are reconciled at once.
pub const DEFAULT_CONCURRENCY: usize = 8;
const DEFAULT_PORT: u16 = 443;

/// One binding: these target groups hold, on this port, this endpoint's IPs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    pub vpc_endpoint_id: String,
    pub target_group_arns: Vec<String>,
    pub port: u16,
}

/// Invalid `FRONTDOOR_BINDINGS`, naming the binding and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{BINDINGS_VAR} is not set")]
    Missing,
    #[error("{BINDINGS_VAR} is not a JSON array of bindings: {0}")]
    NotAnArray(String),
    #[error("{BINDINGS_VAR}[{index}].{field}: {problem}")]
    Binding {
        index: usize,
        field: String,
        problem: String,
    },
}

const FIELDS: [&str; 3] = ["vpcEndpointId", "targetGroupArns", "port"];

/// Reads the bindings from `FRONTDOOR_BINDINGS`.
pub fn bindings_from_env() -> Result<Vec<Binding>, ConfigError> {
    parse_bindings(&std::env::var(BINDINGS_VAR).map_err(|_| ConfigError::Missing)?)
}

/// Parses and checks every binding; one bad binding rejects them all, so
/// that no run acts on half a configuration.
pub fn parse_bindings(text: &str) -> Result<Vec<Binding>, ConfigError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| ConfigError::NotAnArray(e.to_string()))?;
    let Value::Array(items) = value else {
        return Err(ConfigError::NotAnArray(
            "the top level is not an array".into(),
        ));
    };
    if items.is_empty() {
        return Err(ConfigError::NotAnArray(
            "the array is empty; list at least one binding".into(),
        ));
    }
    let bindings = items
        .iter()
        .enumerate()
        .map(|(index, item)| parse_binding(index, item))
        .collect::<Result<Vec<_>, _>>()?;
    let mut seen = BTreeSet::new();
    for (index, binding) in bindings.iter().enumerate() {
        for arn in &binding.target_group_arns {
            if !seen.insert((arn.as_str(), binding.port)) {
                return Err(ConfigError::Binding {
                    index,
                    field: "targetGroupArns".into(),
                    problem: format!(
                        "{arn} on port {} is already owned by another binding",
                        binding.port
                    ),
                });
            }
        }
    }
    Ok(bindings)
}

fn parse_binding(index: usize, item: &Value) -> Result<Binding, ConfigError> {
    let error = |field: &str, problem: String| ConfigError::Binding {
        index,
        field: field.to_owned(),
        problem,
    };
    let Value::Object(map) = item else {
        return Err(error("", "must be an object".into()));
    };
    if let Some(unknown) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(error(
            &props::excerpt(unknown),
            format!("is not a field; the fields are {}", FIELDS.join(", ")),
        ));
    }
    // The same checks as the custom resource's properties, with the JSON names.
    let properties = props::Properties::new(item).map_err(|e| error("", e.problem))?;
    let rename = |e: props::PropertyError| error(&e.property, e.problem);
    let endpoint = properties.required_str("vpcEndpointId").map_err(rename)?;
    let endpoint = props::ec2_id("vpcEndpointId", "vpce", endpoint).map_err(rename)?;
    let arns = match map.get("targetGroupArns") {
        Some(Value::Array(_)) => properties.string_list("targetGroupArns").map_err(rename)?,
        _ => {
            return Err(error(
                "targetGroupArns",
                "must be a list of target-group ARNs".into(),
            ));
        }
    };
    if arns.is_empty() {
        return Err(error(
            "targetGroupArns",
            "must list at least one target-group ARN".into(),
        ));
    }
    let mut target_group_arns: Vec<String> = Vec::with_capacity(arns.len());
    for arn in arns {
        let arn = props::target_group_arn("targetGroupArns", arn).map_err(rename)?;
        if !target_group_arns.iter().any(|a| a == arn) {
            target_group_arns.push(arn.to_owned());
        }
    }
    Ok(Binding {
        vpc_endpoint_id: endpoint.to_owned(),
        target_group_arns,
        port: properties.port_or("port", DEFAULT_PORT).map_err(rename)?,
    })
}

/// Which bindings an event asks to reconcile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A schedule, or any event not recognised: every binding.
    All,
    /// A CloudTrail API call about these endpoints.
    Endpoints(BTreeSet<String>),
}

const ENDPOINT_EVENTS: [&str; 3] = [
    "CreateVpcEndpoint",
    "ModifyVpcEndpoint",
    "DeleteVpcEndpoints",
];

impl Scope {
    /// Reads the scope from any JSON.
    pub fn of_event(event: &Value) -> Self {
        let Ok(event) = serde_json::from_value::<EventBridgeEvent<Value>>(event.clone()) else {
            return Scope::All;
        };
        let is_endpoint_call = event.detail_type == "AWS API Call via CloudTrail"
            && event.source == "aws.ec2"
            && event
                .detail
                .get("eventName")
                .and_then(Value::as_str)
                .is_some_and(|name| ENDPOINT_EVENTS.contains(&name));
        if !is_endpoint_call {
            return Scope::All;
        }
        // Only the call's parameters and response name its subject: the
        // top-level `vpcEndpointId` of a CloudTrail record is the endpoint the
        // call came through. EC2 wraps newer parameters (e.g.
        // `ModifyVpcEndpointRequest.VpcEndpointId`), so search the whole tree.
        let mut ids = BTreeSet::new();
        for part in ["requestParameters", "responseElements"] {
            if let Some(value) = event.detail.get(part) {
                collect_endpoint_ids(value, &mut ids);
            }
        }
        Scope::Endpoints(ids)
    }

    fn covers(&self, binding: &Binding) -> bool {
        match self {
            Scope::All => true,
            Scope::Endpoints(ids) => ids.contains(&binding.vpc_endpoint_id),
        }
    }
}

fn collect_endpoint_ids(value: &Value, ids: &mut BTreeSet<String>) {
    match value {
        Value::String(s) if props::ec2_id("", "vpce", s).is_ok() => {
            ids.insert(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|v| collect_endpoint_ids(v, ids)),
        Value::Object(map) => map.values().for_each(|v| collect_endpoint_ids(v, ids)),
        _ => {}
    }
}

/// What happened to one binding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BindingReport {
    pub vpc_endpoint_id: String,
    pub port: u16,
    pub registered: usize,
    pub deregistered: usize,
    pub unchanged: usize,
    /// The endpoint had fewer interfaces than subnets: what it lists was
    /// registered, and nothing deregistered.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub transitional: bool,
    /// Why the binding was skipped or failed; a skipped binding counts as an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

impl BindingReport {
    fn new(binding: &Binding) -> Self {
        Self {
            vpc_endpoint_id: binding.vpc_endpoint_id.clone(),
            port: binding.port,
            ..Self::default()
        }
    }

    fn skipped(binding: &Binding, reason: impl Into<String>) -> Self {
        Self {
            skipped: Some(reason.into()),
            ..Self::new(binding)
        }
    }

    fn out_of_sync(&self) -> bool {
        self.registered + self.deregistered > 0
    }
}

/// The summary of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    pub bindings: Vec<BindingReport>,
    /// Set when an event named none of the bindings' endpoints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl SyncReport {
    pub fn errors(&self) -> usize {
        self.bindings.iter().filter(|b| b.skipped.is_some()).count()
    }

    /// The run's metrics, without dimensions.
    pub fn metrics(&self, namespace: &str) -> MetricSet {
        let sum =
            |f: fn(&BindingReport) -> usize| self.bindings.iter().map(f).sum::<usize>() as f64;
        MetricSet::new(namespace)
            .metric("TargetsRegistered", Unit::Count, sum(|b| b.registered))
            .metric("TargetsDeregistered", Unit::Count, sum(|b| b.deregistered))
            .metric(
                "BindingsOutOfSync",
                Unit::Count,
                sum(|b| usize::from(b.out_of_sync())),
            )
            .metric("SyncErrors", Unit::Count, self.errors() as f64)
    }
}

/// A run in which some bindings failed, were skipped, or were not done before
/// the deadline. It is returned as the invocation's error, after the summary
/// and the EMF line were written, so that Lambda's `Errors` metric sees it.
/// EventBridge's `RetryPolicy` does not retry it: that covers only delivery to
/// Lambda. Lambda's own asynchronous retries would (twice, 1 and 2 minutes
/// later), which the template turns off for this function; the 5-minute
/// schedule is the retry.
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} bindings could not be reconciled: {summary}")]
pub struct SyncFailed {
    pub failed: usize,
    pub total: usize,
    pub summary: String,
}

impl From<SyncFailed> for lambda_runtime::Diagnostic {
    fn from(err: SyncFailed) -> Self {
        Self {
            error_type: "SyncFailed".to_owned(),
            error_message: err.to_string(),
        }
    }
}

/// Where a run's metrics go: an EMF line on stdout in Lambda.
pub type MetricsWriter = Box<dyn Fn(&MetricSet) -> std::io::Result<()> + Send + Sync>;

/// Why a binding was not done: the run reached its deadline.
pub const OUT_OF_TIME: &str =
    "not done: the run reached its deadline (the Lambda deadline less its safety margin) first";

/// The reconciler.
pub struct Syncer<D, R> {
    directory: D,
    registry: R,
    concurrency: usize,
    budget: Budget,
    metrics: MetricsWriter,
}

impl<D: EndpointDirectory, R: TargetRegistry> Syncer<D, R> {
    pub fn new(directory: D, registry: R) -> Self {
        Self {
            directory,
            registry,
            concurrency: DEFAULT_CONCURRENCY,
            budget: Budget::default(),
            metrics: Box::new(MetricSet::emit),
        }
    }

    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// The safety margin before the Lambda deadline, and the budget when the
    /// deadline is unknown.
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// Writes the metrics elsewhere than stdout (tests).
    pub fn with_metrics_writer(mut self, metrics: MetricsWriter) -> Self {
        self.metrics = metrics;
        self
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
        let desired = tokio::time::timeout_at(deadline, self.desired_states(&selected))
            .await
            .unwrap_or_else(|_| vec![Err(OUT_OF_TIME.to_owned()); selected.len()]);
        let reports = stream::iter(selected.into_iter().zip(desired))
            .map(|(binding, desired)| async move {
                if Instant::now() >= deadline {
                    return BindingReport::skipped(binding, OUT_OF_TIME);
                }
                tokio::time::timeout_at(deadline, self.reconcile(binding, desired))
                    .await
                    .unwrap_or_else(|_| BindingReport::skipped(binding, OUT_OF_TIME))
            })
            .buffered(self.concurrency)
            .collect()
            .await;
        SyncReport {
            bindings: reports,
            note: None,
        }
    }

    /// The desired IPs of each binding, read with one `DescribeVpcEndpoints`
    /// and one `DescribeNetworkInterfaces` for all of them. An `Err` says why
    /// a binding's desired state is unknown.
    async fn desired_states(&self, bindings: &[&Binding]) -> Vec<Result<Desired, String>> {
        let endpoint_ids: Vec<String> = unique(bindings.iter().map(|b| b.vpc_endpoint_id.clone()));
        let endpoints: BTreeMap<String, Endpoint> =
            match self.directory.endpoints(&endpoint_ids).await {
                Ok(found) => found.into_iter().map(|e| (e.id.clone(), e)).collect(),
                Err(err) => return vec![Err(read_error(&err)); bindings.len()],
            };
        let eni_ids: Vec<String> = unique(
            endpoints
                .values()
                .filter(|e| e.state == "available")
                .flat_map(|e| e.network_interface_ids.iter().cloned()),
        );
        let interfaces: BTreeMap<String, NetworkInterface> =
            match self.directory.network_interfaces(&eni_ids).await {
                Ok(found) => found.into_iter().map(|n| (n.id.clone(), n)).collect(),
                Err(err) => return vec![Err(read_error(&err)); bindings.len()],
            };
        bindings
            .iter()
            .map(|binding| desired_ips(&binding.vpc_endpoint_id, &endpoints, &interfaces))
            .collect()
    }

    async fn reconcile(
        &self,
        binding: &Binding,
        desired: Result<Desired, String>,
    ) -> BindingReport {
        let desired = match desired {
            Ok(desired) => desired,
            Err(reason) => {
                tracing::warn!(endpoint = %binding.vpc_endpoint_id, %reason, "binding skipped; nothing deregistered");
                return BindingReport::skipped(binding, reason);
            }
        };
        let mut report = BindingReport {
            transitional: desired.transitional,
            ..BindingReport::new(binding)
        };
        if desired.transitional {
            tracing::info!(endpoint = %binding.vpc_endpoint_id, "the endpoint has fewer interfaces than subnets: registering what it lists, deregistering nothing");
        }
        for arn in &binding.target_group_arns {
            if let Err(reason) = self
                .reconcile_group(arn, binding, &desired, &mut report)
                .await
            {
                tracing::error!(endpoint = %binding.vpc_endpoint_id, target_group = %arn, %reason, "binding failed");
                report.skipped = Some(reason);
                break;
            }
        }
        report
    }

    async fn reconcile_group(
        &self,
        arn: &str,
        binding: &Binding,
        desired: &Desired,
        report: &mut BindingReport,
    ) -> Result<(), String> {
        let current = self
            .registry
            .targets(arn)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("target group {arn} does not exist"))?;
        let plan = if desired.transitional {
            plan::registration_plan(&desired.ips, binding.port, &current)
        } else {
            plan::sync_plan(Some(&desired.ips), binding.port, &current)
        };
        report.unchanged += plan.unchanged;
        // Register first, so that the group is never emptier than it must be.
        if !plan.register.is_empty() {
            tracing::info!(target_group = %arn, targets = ?plan.register, "registering");
            self.registry
                .register(arn, &plan.register)
                .await
                .map_err(|e| e.to_string())?;
            report.registered += plan.register.len();
        }
        if plan.deregister.is_empty() {
            return Ok(());
        }
        let interfaces_now = self.interfaces_now(&binding.vpc_endpoint_id).await;
        let deregister = plan::confirmed_deregistrations(
            plan.deregister,
            &desired.interfaces,
            interfaces_now.as_ref(),
        );
        if deregister.is_empty() {
            tracing::info!(target_group = %arn, endpoint = %binding.vpc_endpoint_id, "the endpoint's interfaces changed during the run: deregistering nothing, the next run will");
            return Ok(());
        }
        tracing::info!(target_group = %arn, targets = ?deregister, "deregistering");
        self.registry
            .deregister(arn, &deregister)
            .await
            .map_err(|e| e.to_string())?;
        report.deregistered += deregister.len();
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

/// What a binding's endpoint asks for, as read at the start of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Desired {
    /// The endpoint's interfaces the IPs come from.
    interfaces: BTreeSet<String>,
    ips: BTreeSet<String>,
    /// Fewer interfaces than subnets: register only.
    transitional: bool,
}

fn unique(items: impl Iterator<Item = String>) -> Vec<String> {
    items.collect::<BTreeSet<_>>().into_iter().collect()
}

fn read_error(err: &AwsError) -> String {
    format!("desired state unreadable: {err}")
}

/// The never-empty guard: the endpoint must be available and every one of
/// its ENIs described with an IP, or the desired state is unknown.
fn desired_ips(
    endpoint_id: &str,
    endpoints: &BTreeMap<String, Endpoint>,
    interfaces: &BTreeMap<String, NetworkInterface>,
) -> Result<Desired, String> {
    let endpoint = endpoints
        .get(endpoint_id)
        .ok_or_else(|| format!("endpoint {endpoint_id} does not exist"))?;
    if endpoint.state != "available" {
        return Err(format!(
            "endpoint {endpoint_id} is {}, not available",
            endpoint.state
        ));
    }
    if endpoint.network_interface_ids.is_empty() {
        return Err(format!("endpoint {endpoint_id} has no network interfaces"));
    }
    let ips = endpoint
        .network_interface_ids
        .iter()
        .map(|id| {
            interfaces
                .get(id)
                .and_then(|n| n.private_ip.clone())
                .ok_or_else(|| {
                    format!(
                        "network interface {id} of endpoint {endpoint_id} could not be described"
                    )
                })
        })
        .collect::<Result<_, _>>()?;
    Ok(Desired {
        interfaces: endpoint.network_interface_ids.iter().cloned().collect(),
        ips,
        transitional: endpoint.is_transitional(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef";

    #[test]
    fn bindings_parse_with_a_default_port() {
        let text = json!([{"vpcEndpointId": "vpce-0123456789abcdef0", "targetGroupArns": [ARN]}])
            .to_string();
        let bindings = parse_bindings(&text).unwrap();
        assert_eq!(bindings[0].port, 443);
        assert_eq!(bindings[0].target_group_arns, [ARN]);
    }

    #[test]
    fn invalid_bindings_name_the_binding_and_the_field() {
        let good = json!({"vpcEndpointId": "vpce-0123456789abcdef0", "targetGroupArns": [ARN]});
        let cases = [
            (
                json!([good, {"targetGroupArns": [ARN]}]),
                "FRONTDOOR_BINDINGS[1].vpcEndpointId",
            ),
            (
                json!([{"vpcEndpointId": "vpc-1", "targetGroupArns": [ARN]}]),
                "[0].vpcEndpointId",
            ),
            (
                json!([{"vpcEndpointId": "vpce-01234567", "targetGroupArns": []}]),
                "[0].targetGroupArns",
            ),
            (
                json!([{"vpcEndpointId": "vpce-01234567", "targetGroupArns": ARN}]),
                "[0].targetGroupArns",
            ),
            (
                json!([{"vpcEndpointId": "vpce-01234567", "targetGroupArns": ["arn:x"]}]),
                "[0].targetGroupArns",
            ),
            (
                json!([{"vpcEndpointId": "vpce-01234567", "targetGroupArns": [ARN], "port": "x"}]),
                "[0].port",
            ),
            (
                json!([{"vpcEndpointId": "vpce-01234567", "targetGroupArns": [ARN], "prot": 1}]),
                "[0].prot",
            ),
            (json!([good, good]), "[1].targetGroupArns"),
            (json!([7]), "[0]"),
        ];
        for (value, needle) in cases {
            let err = parse_bindings(&value.to_string()).unwrap_err().to_string();
            assert!(err.contains(needle), "{err} should contain {needle}");
        }
        assert!(matches!(
            parse_bindings("{}"),
            Err(ConfigError::NotAnArray(_))
        ));
        assert!(matches!(
            parse_bindings("not json"),
            Err(ConfigError::NotAnArray(_))
        ));
    }

    fn cloudtrail(event_name: &str, request: Value) -> Value {
        json!({
            "version": "0", "id": "e", "detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2",
            "account": "123456789012", "time": "2026-11-22T00:00:00Z", "region": "us-east-1", "resources": [],
            "detail": {"eventSource": "ec2.amazonaws.com", "eventName": event_name, "requestParameters": request,
                       "vpcEndpointId": "vpce-99999999"}
        })
    }

    #[test]
    fn cloudtrail_events_scope_to_the_endpoints_they_name() {
        let event = cloudtrail(
            "ModifyVpcEndpoint",
            json!({"ModifyVpcEndpointRequest": {"VpcEndpointId": "vpce-0123456789abcdef0"}}),
        );
        assert_eq!(
            Scope::of_event(&event),
            Scope::Endpoints(["vpce-0123456789abcdef0".to_owned()].into())
        );
        let event = cloudtrail(
            "DeleteVpcEndpoints",
            json!({"DeleteVpcEndpointsRequest": {"VpcEndpointId": [{"tag": 1, "content": "vpce-01234567"}]}}),
        );
        assert_eq!(
            Scope::of_event(&event),
            Scope::Endpoints(["vpce-01234567".to_owned()].into())
        );
    }

    #[test]
    fn other_events_scope_to_all_bindings() {
        assert_eq!(Scope::of_event(&json!({})), Scope::All);
        assert_eq!(Scope::of_event(&json!("text")), Scope::All);
        assert_eq!(
            Scope::of_event(&cloudtrail("RunInstances", json!({"x": "vpce-01234567"}))),
            Scope::All
        );
        let scheduled = json!({"version": "0", "id": "e", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-11-22T00:00:00Z", "region": "us-east-1", "resources": [], "detail": {}});
        assert_eq!(Scope::of_event(&scheduled), Scope::All);
    }

    use crate::aws::{RegisteredTarget, Target};
    use std::sync::Mutex;

    /// An endpoint with two ENIs, in memory.
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
                })
                .collect())
        }
    }

    /// A target group whose first target is draining, as only real ELB shows.
    #[derive(Default)]
    struct DrainingRegistry {
        registered: Mutex<Vec<Target>>,
        deregistered: Mutex<Vec<Target>>,
    }

    impl TargetRegistry for DrainingRegistry {
        async fn targets(&self, _: &str) -> Result<Option<Vec<RegisteredTarget>>, AwsError> {
            let target = |ip: &str, draining| RegisteredTarget {
                target: Target {
                    ip: ip.into(),
                    port: 443,
                },
                draining,
            };
            Ok(Some(vec![
                target("10.0.0.1", true),
                target("10.0.0.2", false),
            ]))
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

    #[tokio::test]
    async fn a_draining_target_that_is_desired_is_registered_again() {
        let syncer = Syncer::new(FakeDirectory, DrainingRegistry::default());
        let binding = Binding {
            vpc_endpoint_id: "vpce-01234567".into(),
            target_group_arns: vec![ARN.into()],
            port: 443,
        };
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        let report = syncer.run(&[binding], &Scope::All, deadline).await;
        assert_eq!(report.bindings[0].registered, 1);
        assert_eq!(
            *syncer.registry.registered.lock().unwrap(),
            [Target {
                ip: "10.0.0.1".into(),
                port: 443
            }]
        );
        assert!(syncer.registry.deregistered.lock().unwrap().is_empty());
    }

    #[test]
    fn metrics_sum_the_bindings() {
        let report = SyncReport {
            bindings: vec![
                BindingReport {
                    registered: 2,
                    deregistered: 1,
                    ..Default::default()
                },
                BindingReport {
                    skipped: Some("gone".into()),
                    ..Default::default()
                },
                BindingReport {
                    unchanged: 3,
                    ..Default::default()
                },
            ],
            note: None,
        };
        let line: Value = serde_json::from_str(&report.metrics("Ns").to_json_line(1)).unwrap();
        assert_eq!(line["TargetsRegistered"], 2.0);
        assert_eq!(line["TargetsDeregistered"], 1.0);
        assert_eq!(line["BindingsOutOfSync"], 1.0);
        assert_eq!(line["SyncErrors"], 1.0);
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Ns");
    }
}
