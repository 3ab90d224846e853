//! `frontdoor drill`: a failover rehearsal. It inverts this Region's health
//! check (`UpdateHealthCheck` with `Inverted`, the reversible way to fail a
//! check: <https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-invert.html>),
//! polls until Route 53 calls it unhealthy and the other Region serves, and
//! then restores the check. Once the invert has been asked for, every path
//! out of [`drill`] goes through the restore: success, an error, the time
//! limit, and an interruption (Ctrl-C in the CLI).

use super::OperateError;
use super::front_door::FrontDoor;
use super::health::{self, Health, HealthBook};
use crate::model::FailoverRecord;
use crate::ports::HealthChecks;
use futures_util::FutureExt;
use serde::Serialize;
use std::future::Future;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// How long a drill may wait, and how often it looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrillSettings {
    /// From the invert to the restore, at most.
    pub limit: Duration,
    pub poll_every: Duration,
    /// Restore attempts before the drill gives up and prints the command.
    pub restore_attempts: u32,
    /// The wait after a failed restore, doubled after each.
    pub restore_backoff: Duration,
}

impl DrillSettings {
    pub fn for_minutes(minutes: u64) -> Self {
        Self {
            limit: Duration::from_secs(minutes * 60),
            // Route 53's checkers report every 30 s by default; looking every
            // 10 s stays well inside GetHealthCheckStatus's low rate.
            poll_every: Duration::from_secs(10),
            restore_attempts: 5,
            restore_backoff: Duration::from_secs(1),
        }
    }
}

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

/// How the drill ended, before the restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "ending", content = "error")]
pub enum Ending {
    /// Route 53 called the check unhealthy and the other Region served.
    FailedOver,
    TimedOut,
    Interrupted,
    /// A call failed; the error names the stack, Region and resource.
    Failed(String),
}

/// Seconds from the invert request, for each step reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    /// When the drill began (RFC 3339, UTC).
    pub started_at: String,
    pub inverted_after_s: Option<u64>,
    pub unhealthy_after_s: Option<u64>,
    pub other_region_serving_after_s: Option<u64>,
    pub restored_after_s: Option<u64>,
}

/// Whether the check is back as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "restore")]
pub enum Restore {
    Restored,
    /// Every attempt failed: the check is still inverted. Run `command`.
    Failed {
        error: String,
        command: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DrillReport {
    pub stack: String,
    pub region: String,
    pub health_check_id: String,
    pub other_region: Option<String>,
    #[serde(flatten)]
    pub ending: Ending,
    pub timeline: Timeline,
    #[serde(flatten)]
    pub restore: Restore,
}

impl DrillReport {
    /// The drill proved the failover and left the check as it found it.
    pub fn passed(&self) -> bool {
        self.ending == Ending::FailedOver && self.restore == Restore::Restored
    }
}

/// What the drill reports while it waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Inverted,
    Poll {
        elapsed: Duration,
        health: Health,
        serving: Option<String>,
    },
    Restoring,
}

/// The command that restores the check by hand.
pub fn restore_command(health_check_id: &str) -> String {
    format!("aws route53 update-health-check --health-check-id {health_check_id} --no-inverted")
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
        crate::model::FailoverRole::Primary => Some(secondary),
        crate::model::FailoverRole::Secondary => Some(primary),
    }
}

/// Runs the drill. `interrupted` resolves when the operator asks to stop.
pub async fn drill<H: HealthChecks>(
    route53: &H,
    front_door: &FrontDoor,
    settings: DrillSettings,
    interrupted: impl Future<Output = ()>,
    mut progress: impl FnMut(&Progress),
) -> Result<DrillReport, Refusal> {
    let id = front_door.health_check_id.clone();
    if front_door.failover_role.is_none() {
        return Err(Refusal::NoFailover {
            stack: front_door.stack.clone(),
            region: front_door.region.clone(),
        });
    }
    let records = route53
        .failover_records(&front_door.hosted_zone_id, &front_door.domain_name)
        .await
        .map_err(|e| front_door.error(format!("the records of {}", front_door.domain_name), e))?;
    let peer = peer_record(&records, front_door).ok_or_else(|| Refusal::NoPeer {
        domain: front_door.domain_name.clone(),
    })?;
    let peer_name = peer
        .region()
        .unwrap_or(peer.set_identifier.as_str())
        .to_owned();
    let book = read(route53, front_door, &records).await?;
    if book.checks.get(&id).is_some_and(|c| c.inverted) {
        return Err(Refusal::AlreadyInverted {
            command: restore_command(&id),
            id,
            stack: front_door.stack.clone(),
            region: front_door.region.clone(),
        });
    }
    let own_health = book.health(&id);
    if own_health != Health::Healthy {
        return Err(Refusal::NotHealthy {
            id,
            stack: front_door.stack.clone(),
            region: front_door.region.clone(),
            health: own_health,
        });
    }
    let peer_health = health::record_health(peer, &book);
    if peer_health != Health::Healthy {
        return Err(Refusal::PeerNotHealthy {
            peer: peer_name,
            health: peer_health,
        });
    }

    // Ctrl-C during the checks above stops here, before anything changes.
    let mut interrupted = std::pin::pin!(interrupted);
    if interrupted.as_mut().now_or_never().is_some() {
        return Err(Refusal::Interrupted);
    }
    let mut timeline = Timeline {
        started_at: now_rfc3339(),
        ..Timeline::default()
    };
    let start = Instant::now();
    let ending = match route53.set_inverted(&id, true).await {
        Err(err) => Ending::Failed(
            front_door
                .error(format!("health check {id}"), err)
                .to_string(),
        ),
        Ok(()) => {
            timeline.inverted_after_s = Some(start.elapsed().as_secs());
            progress(&Progress::Inverted);
            watch(
                route53,
                front_door,
                &records,
                peer,
                settings,
                start,
                interrupted.as_mut(),
                &mut timeline,
                &mut progress,
            )
            .await
        }
    };
    progress(&Progress::Restoring);
    let restore = restore(route53, front_door, settings).await;
    if restore == Restore::Restored {
        timeline.restored_after_s = Some(start.elapsed().as_secs());
    }
    Ok(DrillReport {
        stack: front_door.stack.clone(),
        region: front_door.region.clone(),
        health_check_id: id,
        other_region: Some(peer_name),
        ending,
        timeline,
        restore,
    })
}

async fn read(
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

/// Polls until the check is unhealthy and the other record serves, the
/// limit passes, the operator interrupts, or a read fails.
#[allow(clippy::too_many_arguments)]
async fn watch(
    route53: &impl HealthChecks,
    front_door: &FrontDoor,
    records: &[FailoverRecord],
    peer: &FailoverRecord,
    settings: DrillSettings,
    start: Instant,
    mut interrupted: std::pin::Pin<&mut impl Future<Output = ()>>,
    timeline: &mut Timeline,
    progress: &mut impl FnMut(&Progress),
) -> Ending {
    let deadline = start + settings.limit;
    loop {
        tokio::select! {
            () = interrupted.as_mut() => return Ending::Interrupted,
            () = tokio::time::sleep_until(deadline) => return Ending::TimedOut,
            () = tokio::time::sleep(settings.poll_every) => {}
        }
        let book = match read(route53, front_door, records).await {
            Ok(book) => book,
            Err(err) => return Ending::Failed(err.to_string()),
        };
        let health = book.health(&front_door.health_check_id);
        let serving = health::serving(records, &book);
        let elapsed = start.elapsed();
        progress(&Progress::Poll {
            elapsed,
            health,
            serving: serving.as_ref().and_then(|s| s.region.clone()),
        });
        if health == Health::Unhealthy && timeline.unhealthy_after_s.is_none() {
            timeline.unhealthy_after_s = Some(elapsed.as_secs());
        }
        let peer_serves = serving.is_some_and(|s| s.role == peer.role);
        if peer_serves && timeline.other_region_serving_after_s.is_none() {
            timeline.other_region_serving_after_s = Some(elapsed.as_secs());
        }
        if timeline.unhealthy_after_s.is_some() && timeline.other_region_serving_after_s.is_some() {
            return Ending::FailedOver;
        }
    }
}

/// Sets `Inverted` back to false, retrying with backoff.
async fn restore(
    route53: &impl HealthChecks,
    front_door: &FrontDoor,
    settings: DrillSettings,
) -> Restore {
    let id = &front_door.health_check_id;
    let mut backoff = settings.restore_backoff;
    let mut last_error = String::new();
    for attempt in 1..=settings.restore_attempts.max(1) {
        match route53.set_inverted(id, false).await {
            Ok(()) => return Restore::Restored,
            Err(err) => {
                last_error = front_door
                    .error(format!("health check {id}"), err)
                    .to_string();
                tracing::warn!(attempt, error = %last_error, "restore failed; retrying");
            }
        }
        if attempt < settings.restore_attempts {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
    Restore::Failed {
        error: last_error,
        command: restore_command(id),
    }
}

/// Now, as RFC 3339 in UTC (the SDK's own formatter).
fn now_rfc3339() -> String {
    use aws_sdk_ec2::primitives::{DateTime, DateTimeFormat};
    DateTime::from(SystemTime::now())
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FailoverRole, HealthCheck, Observation};
    use crate::operate::front_door::tests::description;
    use crate::operate::health::tests::{check, observations, record};
    use crate::ports::AwsError;
    use std::sync::Mutex;

    const OWN: &str = "hc-record";
    const PEER: &str = "hc-peer";

    /// A scripted Route 53, as the CLI's adapter sees it. Its checkers
    /// report both endpoints healthy; `Inverted` takes effect after
    /// `lag_polls` reads of the check (Route 53 is eventually consistent).
    /// moto cannot play this part: its `GetHealthCheckStatus` is canned.
    #[derive(Default)]
    struct ScriptedRoute53 {
        inverted: Mutex<bool>,
        lag_polls: Option<usize>,
        reads_since_invert: Mutex<usize>,
        peer_unhealthy: bool,
        own_inverted_at_start: bool,
        /// Which `set_inverted` calls fail (1-based).
        failing_writes: Vec<usize>,
        /// The read of the check that fails, counted from the invert.
        failing_read: Option<usize>,
        writes: Mutex<Vec<bool>>,
    }

    fn fail(operation: &'static str) -> AwsError {
        AwsError {
            operation,
            code: Some("Throttling".into()),
            message: "Rate exceeded".into(),
        }
    }

    impl HealthChecks for ScriptedRoute53 {
        async fn health_check(&self, id: &str) -> Result<Option<HealthCheck>, AwsError> {
            if id == PEER {
                return Ok(Some(check(PEER, self.peer_unhealthy)));
            }
            let inverted = *self.inverted.lock().unwrap();
            if !inverted {
                return Ok(Some(check(OWN, self.own_inverted_at_start)));
            }
            let mut reads = self.reads_since_invert.lock().unwrap();
            *reads += 1;
            if self.failing_read == Some(*reads) {
                return Err(fail("GetHealthCheck"));
            }
            let visible = self.lag_polls.is_some_and(|lag| *reads > lag);
            Ok(Some(check(OWN, visible)))
        }

        async fn observations(&self, _id: &str) -> Result<Vec<Observation>, AwsError> {
            Ok(observations(16, 0))
        }

        async fn set_inverted(&self, _id: &str, inverted: bool) -> Result<(), AwsError> {
            let mut writes = self.writes.lock().unwrap();
            writes.push(inverted);
            if self.failing_writes.contains(&writes.len()) {
                return Err(fail("UpdateHealthCheck"));
            }
            *self.inverted.lock().unwrap() = inverted;
            Ok(())
        }

        async fn failover_records(
            &self,
            _zone: &str,
            _name: &str,
        ) -> Result<Vec<FailoverRecord>, AwsError> {
            Ok(vec![
                record(FailoverRole::Primary, "eu-west-1", Some(OWN)),
                record(FailoverRole::Secondary, "eu-central-1", Some(PEER)),
            ])
        }
    }

    impl ScriptedRoute53 {
        fn lagging(polls: usize) -> Self {
            Self {
                lag_polls: Some(polls),
                ..Self::default()
            }
        }

        fn writes(&self) -> Vec<bool> {
            self.writes.lock().unwrap().clone()
        }

        fn left_inverted(&self) -> bool {
            *self.inverted.lock().unwrap()
        }
    }

    fn front_door() -> FrontDoor {
        FrontDoor::from_stack("eu-west-1", &description(&[])).unwrap()
    }

    fn settings() -> DrillSettings {
        DrillSettings {
            limit: Duration::from_millis(400),
            poll_every: Duration::from_millis(5),
            restore_attempts: 3,
            restore_backoff: Duration::from_millis(1),
        }
    }

    async fn run(route53: &ScriptedRoute53) -> (Result<DrillReport, Refusal>, Vec<Progress>) {
        run_with(route53, std::future::pending()).await
    }

    async fn run_with(
        route53: &ScriptedRoute53,
        interrupted: impl Future<Output = ()>,
    ) -> (Result<DrillReport, Refusal>, Vec<Progress>) {
        let mut seen = Vec::new();
        let report = drill(route53, &front_door(), settings(), interrupted, |p| {
            seen.push(p.clone())
        })
        .await;
        (report, seen)
    }

    #[tokio::test]
    async fn a_drill_waits_for_the_failover_then_restores() {
        let route53 = ScriptedRoute53::lagging(3);
        let (report, progress) = run(&route53).await;
        let report = report.unwrap();
        assert!(report.passed(), "{report:?}");
        assert_eq!(route53.writes(), vec![true, false]);
        assert!(!route53.left_inverted());
        // Three polls saw the check healthy and the primary serving; the
        // fourth saw the inversion.
        let polls: Vec<_> = progress
            .iter()
            .filter_map(|p| match p {
                Progress::Poll {
                    health, serving, ..
                } => Some((*health, serving.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(polls.len(), 4, "{progress:?}");
        assert_eq!(polls[0], (Health::Healthy, Some("eu-west-1".into())));
        assert_eq!(polls[3], (Health::Unhealthy, Some("eu-central-1".into())));
        assert_eq!(progress.first(), Some(&Progress::Inverted));
        assert_eq!(progress.last(), Some(&Progress::Restoring));
        let t = &report.timeline;
        assert!(t.inverted_after_s.is_some() && t.unhealthy_after_s.is_some());
        assert!(t.other_region_serving_after_s.is_some() && t.restored_after_s.is_some());
        assert_eq!(report.other_region.as_deref(), Some("eu-central-1"));
    }

    #[tokio::test]
    async fn a_drill_that_times_out_restores() {
        let route53 = ScriptedRoute53 {
            lag_polls: None,
            ..ScriptedRoute53::default()
        };
        let (report, _) = run(&route53).await;
        let report = report.unwrap();
        assert_eq!(report.ending, Ending::TimedOut);
        assert_eq!(report.restore, Restore::Restored);
        assert_eq!(route53.writes(), vec![true, false]);
        assert!(report.timeline.unhealthy_after_s.is_none());
    }

    #[tokio::test]
    async fn an_interrupted_drill_restores() {
        let route53 = ScriptedRoute53 {
            lag_polls: None,
            ..ScriptedRoute53::default()
        };
        let (report, _) = run_with(&route53, tokio::time::sleep(Duration::from_millis(30))).await;
        let report = report.unwrap();
        assert_eq!(report.ending, Ending::Interrupted);
        assert_eq!(report.restore, Restore::Restored);
        assert!(!route53.left_inverted());
    }

    #[tokio::test]
    async fn a_failed_read_ends_the_drill_and_restores() {
        let route53 = ScriptedRoute53 {
            failing_read: Some(2),
            ..ScriptedRoute53::lagging(5)
        };
        let (report, _) = run(&route53).await;
        let report = report.unwrap();
        let Ending::Failed(error) = &report.ending else {
            panic!("{report:?}");
        };
        assert_eq!(
            error,
            "stack fd in eu-west-1: the Route 53 health checks: GetHealthCheck failed: Throttling: Rate exceeded"
        );
        assert_eq!(report.restore, Restore::Restored);
        assert!(!route53.left_inverted());
    }

    #[tokio::test]
    async fn a_failed_invert_is_restored_all_the_same() {
        // The invert's answer was lost: it may have happened.
        let route53 = ScriptedRoute53 {
            failing_writes: vec![1],
            ..ScriptedRoute53::lagging(0)
        };
        let (report, _) = run(&route53).await;
        let report = report.unwrap();
        assert!(
            matches!(report.ending, Ending::Failed(ref e) if e.contains("health check hc-record"))
        );
        assert_eq!(route53.writes(), vec![true, false]);
        assert_eq!(report.restore, Restore::Restored);
    }

    #[tokio::test]
    async fn a_restore_is_retried() {
        let route53 = ScriptedRoute53 {
            failing_writes: vec![2, 3],
            ..ScriptedRoute53::lagging(0)
        };
        let (report, _) = run(&route53).await;
        let report = report.unwrap();
        assert!(report.passed());
        assert_eq!(route53.writes(), vec![true, false, false, false]);
        assert!(!route53.left_inverted());
    }

    #[tokio::test]
    async fn a_restore_that_keeps_failing_gives_the_command() {
        let route53 = ScriptedRoute53 {
            failing_writes: vec![2, 3, 4],
            ..ScriptedRoute53::lagging(0)
        };
        let (report, _) = run(&route53).await;
        let report = report.unwrap();
        assert!(!report.passed());
        assert_eq!(
            report.restore,
            Restore::Failed {
                error: "stack fd in eu-west-1: health check hc-record: UpdateHealthCheck failed: Throttling: Rate exceeded".into(),
                command: "aws route53 update-health-check --health-check-id hc-record --no-inverted".into(),
            }
        );
        assert!(route53.left_inverted(), "the fake is left as AWS would be");
    }

    #[tokio::test]
    async fn a_drill_refuses_while_the_other_region_is_unhealthy() {
        let route53 = ScriptedRoute53 {
            peer_unhealthy: true,
            ..ScriptedRoute53::lagging(0)
        };
        let (report, _) = run(&route53).await;
        assert!(matches!(
            report,
            Err(Refusal::PeerNotHealthy { ref peer, health: Health::Unhealthy }) if peer == "eu-central-1"
        ));
        assert!(route53.writes().is_empty(), "nothing was changed");
    }

    #[tokio::test]
    async fn a_drill_refuses_a_check_already_inverted() {
        let route53 = ScriptedRoute53 {
            own_inverted_at_start: true,
            ..ScriptedRoute53::lagging(0)
        };
        let (report, _) = run(&route53).await;
        let err = report.unwrap_err();
        assert!(matches!(err, Refusal::AlreadyInverted { .. }));
        assert!(err.to_string().contains("--no-inverted"), "{err}");
        assert!(route53.writes().is_empty());
    }

    #[tokio::test]
    async fn ctrl_c_before_the_invert_changes_nothing() {
        let route53 = ScriptedRoute53::lagging(0);
        let (report, _) = run_with(&route53, std::future::ready(())).await;
        assert!(matches!(report, Err(Refusal::Interrupted)));
        assert!(route53.writes().is_empty());
    }

    #[tokio::test]
    async fn a_drill_refuses_a_stack_without_failover() {
        let route53 = ScriptedRoute53::lagging(0);
        let mut stack = description(&[]);
        stack
            .parameters
            .insert("FailoverRole".into(), "NONE".into());
        let front_door = FrontDoor::from_stack("eu-west-1", &stack).unwrap();
        let report = drill(
            &route53,
            &front_door,
            settings(),
            std::future::pending(),
            |_| {},
        )
        .await;
        assert!(matches!(report, Err(Refusal::NoFailover { .. })));
        assert!(route53.writes().is_empty());
    }
}
