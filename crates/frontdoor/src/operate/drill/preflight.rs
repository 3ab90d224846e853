//! What must hold before the invert. A refusal changes nothing.

use super::{DrillSettings, restore_command};
use crate::model::{FailoverRecord, FailoverRole};
use crate::observe::ObserveRequest;
use crate::operate::OperateError;
use crate::operate::front_door::FrontDoor;
use crate::operate::health::{self, Health, HealthBook};
use crate::operate::observed;
use crate::ports::{HealthChecks, Observer};
use std::time::{Duration, SystemTime};

/// Credentials must outlive the drill's limit by this much: the restore and
/// its retries run after the limit.
pub const CREDENTIALS_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Why a drill did not start. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error(
        "stack {stack} in {region} has FailoverRole NONE: there is no other Region to fail over to"
    )]
    NoFailover { stack: String, region: String },
    #[error(
        "{domain} has no failover record of the other role: there is no other Region to fail over to"
    )]
    NoPeer { domain: String },
    #[error(
        "stack {stack} in {region} has no ObserverFunctionName output: update the stack, so that the drill can see the answer inside the VPC"
    )]
    NoObserver { stack: String, region: String },
    #[error(
        "the failover records of {domain} name no load balancer (alias) for {region}: the observer could not tell the Regions apart"
    )]
    NoLoadBalancer { domain: String, region: String },
    #[error(
        "the credentials expire in {minutes_left} minute(s), before the drill's limit plus {margin_minutes} minutes for the restore: refresh them, or drill for fewer minutes"
    )]
    CredentialsExpire {
        minutes_left: u64,
        margin_minutes: u64,
    },
    #[error(
        "the other Region ({peer}) is {health}: failing this Region over now would be an outage"
    )]
    PeerNotHealthy { peer: String, health: Health },
    #[error(
        "health check {id} of stack {stack} in {region} is {health} already: there is nothing to rehearse"
    )]
    NotHealthy {
        id: String,
        stack: String,
        region: String,
        health: Health,
    },
    #[error(
        "{region} does not serve {domain} now ({why}): inverting its check would move nothing. Drill the Region that serves: --region {serving}"
    )]
    NotServing {
        region: String,
        domain: String,
        why: String,
        serving: String,
    },
    #[error("cannot see the answer inside {region}'s VPC: {reason}")]
    CannotObserve { region: String, reason: String },
    #[error(
        "health check {id} of stack {stack} in {region} is inverted already (another drill, or one left over): restore it with `{command}`"
    )]
    AlreadyInverted {
        id: String,
        stack: String,
        region: String,
        command: String,
    },
    #[error("interrupted before the health check was changed")]
    Interrupted,
    #[error(transparent)]
    Read(#[from] OperateError),
}

/// The other role's A record, the Region the drill fails over to, when the
/// pair is whole.
fn peer_record<'a>(
    records: &'a [FailoverRecord],
    front_door: &FrontDoor,
) -> Option<&'a FailoverRecord> {
    let (Some(primary), Some(secondary)) = health::pair(records) else {
        return None;
    };
    match front_door.failover_role? {
        FailoverRole::Primary => Some(secondary),
        FailoverRole::Secondary => Some(primary),
    }
}

/// What the drill works with once every precondition holds.
pub(super) struct Plan<'a> {
    pub observer: &'a str,
    pub request: ObserveRequest,
    pub records: Vec<FailoverRecord>,
    pub peer: String,
    pub version: i64,
}

/// Checks everything before the invert: a refusal changes nothing.
pub(super) async fn prepare<'a, H: HealthChecks, O: Observer>(
    route53: &H,
    observer: &O,
    front_door: &'a FrontDoor,
    settings: &DrillSettings,
) -> Result<Plan<'a>, Refusal> {
    let (stack, region) = (&front_door.stack, &front_door.region);
    let id = &front_door.health_check_id;
    if front_door.failover_role.is_none() {
        return Err(Refusal::NoFailover {
            stack: stack.clone(),
            region: region.clone(),
        });
    }
    let function = front_door
        .observer_function
        .as_deref()
        .ok_or_else(|| Refusal::NoObserver {
            stack: stack.clone(),
            region: region.clone(),
        })?;
    if let Some(expires) = settings.credentials_expire_at {
        let left = expires
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        if left < settings.limit + CREDENTIALS_MARGIN {
            return Err(Refusal::CredentialsExpire {
                minutes_left: left.as_secs() / 60,
                margin_minutes: CREDENTIALS_MARGIN.as_secs() / 60,
            });
        }
    }
    let records = route53
        .failover_records(&front_door.hosted_zone_id, &front_door.domain_name)
        .await
        .map_err(|e| front_door.error(format!("the records of {}", front_door.domain_name), e))?;
    let peer = peer_record(&records, front_door).ok_or_else(|| Refusal::NoPeer {
        domain: front_door.domain_name.clone(),
    })?;
    let peer_region = peer
        .region()
        .unwrap_or(peer.set_identifier.as_str())
        .to_owned();
    let request = observed::request(front_door, &records)
        .filter(|r| r.load_balancers.contains_key(&peer_region))
        .ok_or_else(|| Refusal::NoLoadBalancer {
            domain: front_door.domain_name.clone(),
            region: peer_region.clone(),
        })?;
    let book = read(route53, front_door, &records).await?;
    let check = book.checks.get(id);
    if check.is_some_and(|c| c.inverted) {
        return Err(Refusal::AlreadyInverted {
            command: restore_command(id),
            id: id.clone(),
            stack: stack.clone(),
            region: region.clone(),
        });
    }
    let own_health = book.health(id);
    if own_health != Health::Healthy {
        return Err(Refusal::NotHealthy {
            id: id.clone(),
            stack: stack.clone(),
            region: region.clone(),
            health: own_health,
        });
    }
    let peer_health = health::record_health(peer, &book);
    if peer_health != Health::Healthy {
        return Err(Refusal::PeerNotHealthy {
            peer: peer_region,
            health: peer_health,
        });
    }
    // Only the Region that serves can move the answer: by Route 53's rules
    // (a healthy PRIMARY serves) and by what the VPC's resolver answers now.
    let not_serving = |why: String| Refusal::NotServing {
        region: region.clone(),
        domain: front_door.domain_name.clone(),
        why,
        serving: peer_region.clone(),
    };
    if health::serving(&records, &book).is_some_and(|s| s.role == peer.role) {
        return Err(not_serving(format!(
            "by Route 53's rules the {} record serves while it is healthy",
            peer.role
        )));
    }
    let seen = observer
        .observe(function, &request)
        .await
        .map_err(|e| Refusal::CannotObserve {
            region: region.clone(),
            reason: format!("{function}: {e}"),
        })?;
    match seen.load_balancer.as_deref() {
        Some(owner) if owner == region => {}
        Some(owner) if owner == peer_region => {
            return Err(not_serving(observed::describe(&seen)));
        }
        _ => {
            return Err(Refusal::CannotObserve {
                region: region.clone(),
                reason: observed::describe(&seen),
            });
        }
    }
    Ok(Plan {
        observer: function,
        request,
        peer: peer_region,
        version: check.map_or(0, |c| c.version),
        records,
    })
}

/// Route 53's view of this stack's check and the records' checks.
pub(super) async fn read(
    route53: &impl HealthChecks,
    front_door: &FrontDoor,
    records: &[FailoverRecord],
) -> Result<HealthBook, OperateError> {
    let mut ids = vec![front_door.health_check_id.clone()];
    ids.extend(records.iter().filter_map(|r| r.health_check_id.clone()));
    health::read_book(route53, &ids)
        .await
        .map_err(|e| front_door.error("the Route 53 health checks", e))
}
