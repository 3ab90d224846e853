//! `frontdoor status`: one Region's front door as AWS sees it now, and the
//! verdict over several Regions.

use super::OperateError;
use super::dry_run::{self, PlannedWrite};
use super::front_door::{API_PORT, FrontDoor};
use super::health::{self, Health, HealthBook, Serving};
use super::observed;
use crate::model::{FailoverRecord, FailoverRole, IngressRule, Reference, Source, TargetState};
use crate::observe::Observation;
use crate::plan::endpoint_ips;
use crate::ports::{
    EndpointDirectory, HealthChecks, NameResolver, Observer, SecurityGroupRules, SubnetDirectory,
    TargetGroupTags, TargetRegistry,
};
use serde::Serialize;
use std::time::{Duration, SystemTime};

/// The verdict, worst last; its exit code is what cron and CI read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every part in place and healthy.
    Whole,
    /// Healthy, but target-sync or the stack's rules have work to do.
    Drift,
    /// Something the failover acts on is not healthy, or cannot be read.
    Unhealthy,
}

impl Verdict {
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Whole => 0,
            Verdict::Drift => 1,
            Verdict::Unhealthy => 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetStatus {
    pub ip: String,
    pub port: u16,
    pub state: TargetState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupIngress {
    /// The stack output that names the group.
    pub output: &'static str,
    pub group_id: String,
    pub rules: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckStatus {
    /// The stack output that names the check.
    pub output: &'static str,
    pub id: String,
    pub check_type: Option<String>,
    pub inverted: bool,
    pub health: Health,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailoverStatus {
    pub role: FailoverRole,
    /// The record Route 53 answers with now; `None` while unknown.
    pub serving: Option<Serving>,
}

/// One Region's front door.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionStatus {
    pub stack: String,
    pub region: String,
    pub domain_name: String,
    pub vpc_endpoint_id: String,
    /// The endpoint's IPs, as target-sync sees them.
    pub endpoint_ips: Vec<String>,
    pub target_group_arn: String,
    pub targets: Vec<TargetStatus>,
    /// What target-sync would write now.
    pub drift: Vec<PlannedWrite>,
    pub ingress: Vec<GroupIngress>,
    pub health_checks: Vec<CheckStatus>,
    /// `None` for a simple record.
    pub failover: Option<FailoverStatus>,
    /// What `DomainName` answers inside this Region's VPC, seen by its
    /// observer; `None` for a stack without one.
    pub observed: Option<Observation>,
    /// What is wrong, in words.
    pub problems: Vec<String>,
    pub verdict: Verdict,
    /// The failover records as read for the health view, kept for
    /// [`observe`] so that it does not list them again.
    #[serde(skip)]
    records: Vec<FailoverRecord>,
}

/// The adapters a status reads through.
pub struct Readers<D, R, G, H> {
    pub directory: D,
    pub registry: R,
    pub groups: G,
    pub route53: H,
}

/// Reads one Region's front door. A resource that cannot be read is a
/// problem of the status (unhealthy), not an error; only the stack itself
/// must be readable.
pub async fn region_status<D, R, G, H, N>(
    front_door: &FrontDoor,
    readers: &Readers<D, R, G, H>,
    resolver: N,
) -> RegionStatus
where
    D: EndpointDirectory + SubnetDirectory + Clone,
    R: TargetRegistry + TargetGroupTags + Clone,
    G: SecurityGroupRules,
    H: HealthChecks,
    N: NameResolver,
{
    let mut unhealthy = Vec::new();
    let mut drifted = Vec::new();
    let arn = &front_door.target_group_arn;

    // target-sync's own run, writing nothing: its reads are the view below.
    let plan = dry_run::plan(
        front_door,
        readers.directory.clone(),
        readers.registry.clone(),
        resolver,
    )
    .await;
    if !plan.writes.is_empty() {
        drifted.push(format!(
            "target-sync would make {} write(s): run `frontdoor plan`",
            plan.writes.len()
        ));
    }
    // A skipped binding: the endpoint's IPs, or its group, are unknown.
    for binding in &plan.run.bindings {
        if let Some(reason) = &binding.skipped {
            unhealthy.push(format!("target-sync cannot plan: {reason}"));
        }
    }
    let seen = &plan.seen;
    let endpoint_ips = seen
        .groups
        .get(arn)
        .and_then(|group| {
            endpoint_ips(
                &front_door.vpc_endpoint_id,
                &seen.endpoints,
                &seen.interfaces,
                group.family,
            )
            .ok()
        })
        .map(|ips| ips.ip_strings())
        .unwrap_or_default();
    let read_targets = match seen.targets.get(arn) {
        Some(targets) => Ok(targets.clone()),
        // The run stopped before it read them: read them for the view.
        None => readers.registry.targets(arn).await,
    };
    let targets = match read_targets {
        Ok(Some(targets)) => targets
            .into_iter()
            .map(|t| TargetStatus {
                ip: t.target.ip.to_string(),
                port: t.target.port,
                state: t.state,
            })
            .collect(),
        Ok(None) => {
            unhealthy.push(format!("target group {arn} does not exist"));
            Vec::new()
        }
        Err(err) => {
            unhealthy.push(front_door.error(arn.as_str(), err).to_string());
            Vec::new()
        }
    };
    if !targets
        .iter()
        .any(|t| t.state == TargetState::Healthy && t.port == API_PORT)
    {
        unhealthy.push(format!("no healthy target on port {API_PORT} in {arn}"));
    }

    let mut ingress = Vec::new();
    for (output, group_id) in &front_door.security_groups {
        match readers.groups.ingress_rules(group_id).await {
            Ok(rules) => {
                if rules.is_empty() {
                    drifted.push(format!(
                        "security group {group_id} ({output}) has no ingress rule"
                    ));
                }
                ingress.push(GroupIngress {
                    output,
                    group_id: group_id.clone(),
                    rules: rules.iter().map(describe_rule).collect(),
                });
            }
            Err(err) => unhealthy.push(front_door.error(group_id.as_str(), err).to_string()),
        }
    }

    let (health_checks, failover, records) = match read_health(front_door, &readers.route53).await {
        Ok(read) => read,
        Err(err) => {
            unhealthy.push(err.to_string());
            (Vec::new(), None, Vec::new())
        }
    };
    for check in &health_checks {
        if check.output == "HealthCheckId" && check.health != Health::Healthy {
            unhealthy.push(match front_door.failover_role {
                Some(_) => format!(
                    "the failover record's health check {} is {}",
                    check.id, check.health
                ),
                // FailoverRole NONE: the simple record has no health check.
                None => format!(
                    "the health signal (check {}) is {}; the record is simple, so nothing fails over",
                    check.id, check.health
                ),
            });
        }
    }
    if !unhealthy.is_empty()
        && let Some(settling) = settling(front_door.changed_at, SystemTime::now())
    {
        unhealthy.insert(0, settling);
    }

    let verdict = if !unhealthy.is_empty() {
        Verdict::Unhealthy
    } else if !drifted.is_empty() {
        Verdict::Drift
    } else {
        Verdict::Whole
    };
    RegionStatus {
        stack: front_door.stack.clone(),
        region: front_door.region.clone(),
        domain_name: front_door.domain_name.clone(),
        vpc_endpoint_id: front_door.vpc_endpoint_id.clone(),
        endpoint_ips,
        target_group_arn: front_door.target_group_arn.clone(),
        targets,
        drift: plan.writes,
        ingress,
        health_checks,
        failover,
        observed: None,
        problems: unhealthy.into_iter().chain(drifted).collect(),
        verdict,
        records,
    }
}

impl RegionStatus {
    fn problem(&mut self, verdict: Verdict, problem: String) {
        self.problems.push(problem);
        self.verdict = self.verdict.max(verdict);
    }
}

/// Adds what the observer inside this Region's VPC sees, beside what Route
/// 53's API says: a request through the answer that fails is unhealthy, and
/// an answer that is not the load balancer Route 53's rules say serves is a
/// finding (a resolver, a zone association or a cache disagrees).
pub async fn observe(status: &mut RegionStatus, front_door: &FrontDoor, observer: &impl Observer) {
    let Some(function) = &front_door.observer_function else {
        return;
    };
    let Some(request) = observed::request(front_door, &status.records) else {
        status.problem(
            Verdict::Drift,
            "no load balancer to tell apart: the stack has no LoadBalancerDnsName output".into(),
        );
        return;
    };
    let seen = match observer.observe(function, &request).await {
        Ok(seen) => seen,
        Err(err) => {
            let problem = format!("cannot observe the answer inside the VPC: {function}: {err}");
            status.problem(Verdict::Drift, problem);
            return;
        }
    };
    if !seen.healthy {
        let problem = format!("inside the VPC, {}", observed::describe(&seen));
        status.problem(Verdict::Unhealthy, problem);
    }
    // With failover, the record Route 53's rules choose; else this Region.
    let expected = match &status.failover {
        Some(failover) => failover.serving.as_ref().and_then(|s| s.region.clone()),
        None => Some(front_door.region.clone()),
    };
    if expected.is_some() && seen.load_balancer != expected {
        let whose = seen
            .load_balancer
            .as_deref()
            .unwrap_or("no known load balancer");
        let problem = format!(
            "inside the VPC {} answers {whose}'s, but by Route 53's API {} serves",
            seen.domain_name,
            expected.as_deref().unwrap_or("?")
        );
        status.problem(Verdict::Drift, problem);
    }
    status.observed = Some(seen);
}

/// How long a stack reads unhealthy after a create or update, by design: the
/// alarm wants 2 of 3 minutes of the probe's data (missing data is
/// breaching), and new targets pass their first health checks
/// (docs/behaviour-against-aws.md).
pub const SETTLING: Duration = Duration::from_secs(5 * 60);

/// Why a stack changed moments ago may read unhealthy, while it does.
fn settling(changed_at: Option<SystemTime>, now: SystemTime) -> Option<String> {
    let age = now.duration_since(changed_at?).ok()?;
    (age < SETTLING).then(|| {
        format!(
            "the stack changed {} s ago: for about {} minutes after a deploy the alarm gathers data and new targets pass their first health checks, so what follows may be that; run status again after",
            age.as_secs(),
            SETTLING.as_secs() / 60
        )
    })
}

/// The worst verdict of the Regions.
pub fn verdict(regions: &[RegionStatus]) -> Verdict {
    regions
        .iter()
        .map(|r| r.verdict)
        .max()
        .unwrap_or(Verdict::Whole)
}

type HealthRead = (
    Vec<CheckStatus>,
    Option<FailoverStatus>,
    Vec<FailoverRecord>,
);

async fn read_health(
    front_door: &FrontDoor,
    route53: &impl HealthChecks,
) -> Result<HealthRead, OperateError> {
    let mut named: Vec<(&'static str, String)> =
        vec![("HealthCheckId", front_door.health_check_id.clone())];
    named.extend(front_door.signal_checks.iter().cloned());
    let records = match front_door.failover_role {
        Some(_) => route53
            .failover_records(&front_door.hosted_zone_id, &front_door.domain_name)
            .await
            .map_err(|e| {
                front_door.error(format!("the records of {}", front_door.domain_name), e)
            })?,
        None => Vec::new(),
    };
    let mut ids: Vec<String> = named.iter().map(|(_, id)| id.clone()).collect();
    ids.extend(records.iter().filter_map(|r| r.health_check_id.clone()));
    let book: HealthBook = health::read_book(route53, &ids)
        .await
        .map_err(|e| front_door.error("the Route 53 health checks", e))?;
    let checks = named
        .into_iter()
        .map(|(output, id)| {
            let check = book.checks.get(&id);
            CheckStatus {
                output,
                check_type: check.map(|c| c.check_type.clone()),
                inverted: check.is_some_and(|c| c.inverted),
                health: book.health(&id),
                id,
            }
        })
        .collect();
    let failover = front_door.failover_role.map(|role| FailoverStatus {
        role,
        serving: health::serving(&records, &book),
    });
    Ok((checks, failover, records))
}

fn describe_rule(rule: &IngressRule) -> String {
    let ports = match (rule.from_port, rule.to_port) {
        (-1, _) => "all ports".to_owned(),
        (from, to) if from == to => format!("{from}"),
        (from, to) => format!("{from}-{to}"),
    };
    let source = match &rule.source {
        Source::Reference(Reference::PrefixList(id)) => format!("prefix list {id}"),
        Source::Reference(Reference::Group(id)) => format!("group {id}"),
        Source::Cidr(family) => format!("an {family:?} CIDR"),
    };
    format!("{} {ports} from {source} ({})", rule.protocol, rule.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stack_that_just_changed_says_why_it_may_read_unhealthy() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let just = settling(Some(now - Duration::from_secs(90)), now).unwrap();
        assert!(just.starts_with("the stack changed 90 s ago"), "{just}");
        assert_eq!(settling(Some(now - SETTLING), now), None);
        assert_eq!(settling(None, now), None);
    }
}
