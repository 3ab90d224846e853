//! `frontdoor drill`: a failover rehearsal that passes only on what it saw.
//!
//! It inverts this Region's health check (`UpdateHealthCheck` with
//! `Inverted`, the reversible way to fail a check:
//! <https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-invert.html>),
//! and then asks the observer inside this Region's VPC (health-probe, invoked
//! directly) what the domain answers there. It passes when that answer moved
//! to the other Region's load balancer and the probe's request through it was
//! served; Route 53's own reports are recorded beside it, never taken as the
//! proof. Once the invert has been asked for, every path out of [`drill`]
//! goes through the restore (success, an error, the time limit, a signal),
//! and then it keeps observing, within the limit, until the answer is back.
//! Each update names the check's `HealthCheckVersion`, so that neither the
//! invert nor the restore overwrites another update.

mod preflight;

pub use preflight::{CREDENTIALS_MARGIN, Refusal};

use super::front_door::FrontDoor;
use super::health::Health;
use crate::observe::Observation;
use crate::ports::{AwsError, HealthChecks, Observer};
use futures_util::FutureExt;
use preflight::Plan;
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// The error code of an update that named an old `HealthCheckVersion`.
const VERSION_MISMATCH: &str = "HealthCheckVersionMismatch";

/// How long a drill may wait, and how often it looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrillSettings {
    /// From the invert to the restore, at most; the wait for the answer to
    /// come back after the restore shares it.
    pub limit: Duration,
    pub poll_every: Duration,
    /// Restore attempts before the drill gives up and prints the command.
    pub restore_attempts: u32,
    /// The wait after a failed restore, doubled after each.
    pub restore_backoff: Duration,
    /// When the operator's credentials expire, if the provider says.
    pub credentials_expire_at: Option<SystemTime>,
}

impl DrillSettings {
    pub fn for_minutes(minutes: u64, credentials_expire_at: Option<SystemTime>) -> Self {
        Self {
            limit: Duration::from_secs(minutes * 60),
            // Route 53's checkers report every 30 s by default; looking every
            // 10 s stays well inside GetHealthCheckStatus's low rate.
            poll_every: Duration::from_secs(10),
            restore_attempts: 5,
            restore_backoff: Duration::from_secs(1),
            credentials_expire_at,
        }
    }
}

/// How the drill ended, before the restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "ending", content = "error")]
pub enum Ending {
    /// The answer inside the VPC moved to the other Region's load balancer,
    /// and a request through it was served.
    FailedOver,
    /// The limit passed without that observation.
    TimedOut,
    Interrupted,
    /// A call failed; the error names the stack, Region and resource.
    Failed(String),
}

/// Seconds from the invert request, for each step observed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    /// When the drill began (RFC 3339, UTC).
    pub started_at: String,
    /// Route 53 accepted the invert.
    pub inverted_after_s: Option<u64>,
    /// Route 53's API reported the check unhealthy.
    pub unhealthy_after_s: Option<u64>,
    /// The answer inside the VPC was the other Region's load balancer.
    pub answer_moved_after_s: Option<u64>,
    /// The probe's request through that answer was served.
    pub request_served_after_s: Option<u64>,
    pub restored_after_s: Option<u64>,
    /// The answer inside the VPC was this Region's load balancer again.
    pub answer_back_after_s: Option<u64>,
}

/// Whether the check is back as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "restore")]
pub enum Restore {
    Restored,
    /// The invert was refused, so the check never changed.
    Unchanged,
    /// The check is still inverted, or was changed by someone else: run
    /// `command` once you have looked.
    Failed {
        error: String,
        command: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DrillReport {
    pub stack: String,
    pub region: String,
    pub health_check_id: String,
    pub other_region: String,
    /// The function that observed the answer inside this Region's VPC.
    pub observer: String,
    #[serde(flatten)]
    pub ending: Ending,
    pub timeline: Timeline,
    #[serde(flatten)]
    pub restore: Restore,
    /// The last observation, and the last observer error if any.
    pub last_observation: Option<Observation>,
    pub last_observer_error: Option<String>,
}

impl DrillReport {
    /// The drill saw the failover and left the check as it found it.
    pub fn passed(&self) -> bool {
        self.ending == Ending::FailedOver && self.restore == Restore::Restored
    }
}

/// What the drill reports while it waits.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    Inverted,
    Poll {
        elapsed: Duration,
        /// What Route 53's API says of the check.
        health: Health,
        /// What the observer saw, or why it could not look.
        observed: Result<Observation, String>,
    },
    Restoring,
    /// After the restore, until the answer is back.
    Returning {
        elapsed: Duration,
        observed: Result<Observation, String>,
    },
}

/// The command that restores the check by hand.
pub fn restore_command(health_check_id: &str) -> String {
    format!("aws route53 update-health-check --health-check-id {health_check_id} --no-inverted")
}

/// Runs the drill. `interrupted` resolves when the operator asks to stop
/// (SIGINT, SIGTERM, SIGHUP in the CLI).
pub async fn drill<H: HealthChecks, O: Observer>(
    route53: &H,
    observer: &O,
    front_door: &FrontDoor,
    settings: DrillSettings,
    interrupted: impl Future<Output = ()>,
    mut progress: impl FnMut(&Progress),
) -> Result<DrillReport, Refusal> {
    let plan = preflight::prepare(route53, observer, front_door, &settings).await?;
    // A stop asked for during the checks above ends here, before anything changes.
    let mut interrupted = std::pin::pin!(interrupted);
    if interrupted.as_mut().now_or_never().is_some() {
        return Err(Refusal::Interrupted);
    }
    let id = &front_door.health_check_id;
    let mut run = Run {
        route53,
        observer,
        front_door,
        plan: &plan,
        settings,
        start: Instant::now(),
        timeline: Timeline {
            started_at: now_rfc3339(),
            ..Timeline::default()
        },
        last_observation: None,
        last_observer_error: None,
    };
    let (ending, restore) = match route53.set_inverted(id, true, plan.version).await {
        Err(err) if err.has_code(VERSION_MISMATCH) => (
            Ending::Failed(format!(
                "{}; nothing was changed",
                front_door.error(format!("health check {id}: changed since it was read"), err)
            )),
            Restore::Unchanged,
        ),
        // The invert's answer may have been lost: it may have happened, so restore.
        Err(err) => {
            let ending = Ending::Failed(
                front_door
                    .error(format!("health check {id}"), err)
                    .to_string(),
            );
            progress(&Progress::Restoring);
            (ending, run.restore(plan.version).await)
        }
        Ok(version) => {
            run.timeline.inverted_after_s = Some(run.start.elapsed().as_secs());
            progress(&Progress::Inverted);
            let ending = run.watch(interrupted.as_mut(), &mut progress).await;
            progress(&Progress::Restoring);
            (ending, run.restore(version).await)
        }
    };
    if restore == Restore::Restored {
        run.timeline.restored_after_s = Some(run.start.elapsed().as_secs());
        run.watch_return(interrupted.as_mut(), &mut progress).await;
    }
    Ok(DrillReport {
        stack: front_door.stack.clone(),
        region: front_door.region.clone(),
        health_check_id: id.clone(),
        other_region: plan.peer.clone(),
        observer: plan.observer.to_owned(),
        ending,
        timeline: run.timeline,
        restore,
        last_observation: run.last_observation,
        last_observer_error: run.last_observer_error,
    })
}

/// One drill under way: what it holds between the steps.
struct Run<'a, H, O> {
    route53: &'a H,
    observer: &'a O,
    front_door: &'a FrontDoor,
    plan: &'a Plan<'a>,
    settings: DrillSettings,
    start: Instant,
    timeline: Timeline,
    last_observation: Option<Observation>,
    last_observer_error: Option<String>,
}

impl<H: HealthChecks, O: Observer> Run<'_, H, O> {
    fn deadline(&self) -> Instant {
        self.start + self.settings.limit
    }

    /// One look from inside the VPC; an error is kept, and the next look may work.
    async fn observe(&mut self) -> Result<Observation, String> {
        match self
            .observer
            .observe(self.plan.observer, &self.plan.request)
            .await
        {
            Ok(observation) => {
                self.last_observation = Some(observation.clone());
                Ok(observation)
            }
            Err(err) => {
                let error = format!("{}: {err}", self.plan.observer);
                self.last_observer_error = Some(error.clone());
                Err(error)
            }
        }
    }

    /// Polls until the answer inside the VPC moved to the other Region and a
    /// request through it was served, the limit passes, the operator stops,
    /// or Route 53 cannot be read.
    async fn watch(
        &mut self,
        mut interrupted: Pin<&mut impl Future<Output = ()>>,
        progress: &mut impl FnMut(&Progress),
    ) -> Ending {
        let id = &self.front_door.health_check_id;
        loop {
            tokio::select! {
                () = interrupted.as_mut() => return Ending::Interrupted,
                () = tokio::time::sleep_until(self.deadline()) => return Ending::TimedOut,
                () = tokio::time::sleep(self.settings.poll_every) => {}
            }
            let book =
                match preflight::read(self.route53, self.front_door, &self.plan.records).await {
                    Ok(book) => book,
                    Err(err) => return Ending::Failed(err.to_string()),
                };
            let health = book.health(id);
            let observed = self.observe().await;
            let elapsed = self.start.elapsed();
            let at = elapsed.as_secs();
            let timeline = &mut self.timeline;
            if health == Health::Unhealthy {
                timeline.unhealthy_after_s.get_or_insert(at);
            }
            let peer = Some(self.plan.peer.as_str());
            if let Ok(seen) = &observed
                && seen.load_balancer.as_deref() == peer
            {
                timeline.answer_moved_after_s.get_or_insert(at);
                if seen.healthy {
                    timeline.request_served_after_s.get_or_insert(at);
                }
            }
            progress(&Progress::Poll {
                elapsed,
                health,
                observed,
            });
            if self.timeline.request_served_after_s.is_some() {
                return Ending::FailedOver;
            }
        }
    }

    /// Sets `Inverted` back to false at the version the invert left, retrying
    /// with backoff; an update in between is reported, never overwritten.
    async fn restore(&self, version: i64) -> Restore {
        let id = &self.front_door.health_check_id;
        let failed = |err: AwsError, what: String| Restore::Failed {
            error: self.front_door.error(what, err).to_string(),
            command: restore_command(id),
        };
        let mut backoff = self.settings.restore_backoff;
        let attempts = self.settings.restore_attempts.max(1);
        for attempt in 1..=attempts {
            match self.route53.set_inverted(id, false, version).await {
                Ok(_) => return Restore::Restored,
                Err(err) if err.has_code(VERSION_MISMATCH) => {
                    return failed(
                        err,
                        format!(
                            "health check {id}: changed by another update during the drill; look at it before you restore"
                        ),
                    );
                }
                Err(err) if attempt == attempts => {
                    return failed(err, format!("health check {id}"));
                }
                Err(err) => {
                    tracing::warn!(attempt, error = %err, "restore failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    /// After the restore: observes until the answer is this Region's load
    /// balancer again, within the limit (one look when it has passed).
    async fn watch_return(
        &mut self,
        mut interrupted: Pin<&mut impl Future<Output = ()>>,
        progress: &mut impl FnMut(&Progress),
    ) {
        let own = self.front_door.region.clone();
        loop {
            let observed = self.observe().await;
            let elapsed = self.start.elapsed();
            let back = observed
                .as_ref()
                .is_ok_and(|seen| seen.load_balancer.as_deref() == Some(own.as_str()));
            progress(&Progress::Returning { elapsed, observed });
            if back {
                self.timeline.answer_back_after_s = Some(elapsed.as_secs());
                return;
            }
            tokio::select! {
                () = interrupted.as_mut() => return,
                () = tokio::time::sleep_until(self.deadline()) => return,
                () = tokio::time::sleep(self.settings.poll_every) => {}
            }
        }
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
    use crate::model::{FailoverRecord, FailoverRole, HealthCheck, Observation as Report};
    use crate::observe::ObserveRequest;
    use crate::operate::front_door::tests::description;
    use crate::operate::health::tests::{check, observations, record};
    use crate::operate::observed::tests::seen;
    use std::sync::Mutex;

    const OWN: &str = "hc-record";
    const PEER: &str = "hc-peer";
    const HERE: &str = "eu-west-1";
    const THERE: &str = "eu-central-1";

    /// A scripted Route 53, as the CLI's adapter sees it. Its checkers
    /// report both endpoints healthy; `Inverted` shows in the check after
    /// `lag_polls` reads (Route 53 is eventually consistent). Updates must
    /// name the current `HealthCheckVersion`, as Route 53 checks it.
    /// moto cannot play this part: its `GetHealthCheckStatus` is canned, and
    /// it ignores `HealthCheckVersion`.
    #[derive(Default)]
    struct ScriptedRoute53 {
        inverted: Mutex<bool>,
        version: Mutex<i64>,
        lag_polls: Option<usize>,
        reads_since_invert: Mutex<usize>,
        peer_unhealthy: bool,
        own_inverted_at_start: bool,
        /// Which `set_inverted` calls fail (1-based).
        failing_writes: Vec<usize>,
        /// The read of the check that fails, counted from the invert.
        failing_read: Option<usize>,
        /// Someone else updates the check right after the invert.
        updated_after_invert: bool,
        /// Each update: the flag and the version it named.
        writes: Mutex<Vec<(bool, i64)>>,
    }

    fn fail(operation: &'static str, code: &str) -> AwsError {
        AwsError {
            operation,
            code: Some(code.into()),
            message: "scripted".into(),
        }
    }

    impl HealthChecks for ScriptedRoute53 {
        async fn health_check(&self, id: &str) -> Result<Option<HealthCheck>, AwsError> {
            let version = *self.version.lock().unwrap();
            if id == PEER {
                return Ok(Some(check(PEER, self.peer_unhealthy)));
            }
            let inverted = *self.inverted.lock().unwrap();
            if !inverted {
                let own = check(OWN, self.own_inverted_at_start);
                return Ok(Some(HealthCheck { version, ..own }));
            }
            let mut reads = self.reads_since_invert.lock().unwrap();
            *reads += 1;
            if self.failing_read == Some(*reads) {
                return Err(fail("GetHealthCheck", "Throttling"));
            }
            let visible = self.lag_polls.is_some_and(|lag| *reads > lag);
            Ok(Some(HealthCheck {
                version,
                ..check(OWN, visible)
            }))
        }

        async fn observations(&self, _id: &str) -> Result<Vec<Report>, AwsError> {
            Ok(observations(16, 0))
        }

        async fn set_inverted(
            &self,
            _id: &str,
            inverted: bool,
            version: i64,
        ) -> Result<i64, AwsError> {
            let mut writes = self.writes.lock().unwrap();
            writes.push((inverted, version));
            if self.failing_writes.contains(&writes.len()) {
                return Err(fail("UpdateHealthCheck", "Throttling"));
            }
            let mut current = self.version.lock().unwrap();
            if version != *current {
                return Err(fail("UpdateHealthCheck", VERSION_MISMATCH));
            }
            *current += if inverted && self.updated_after_invert {
                2
            } else {
                1
            };
            *self.inverted.lock().unwrap() = inverted;
            Ok(version + 1)
        }

        async fn failover_records(
            &self,
            _zone: &str,
            _name: &str,
        ) -> Result<Vec<FailoverRecord>, AwsError> {
            Ok(vec![
                record(FailoverRole::Primary, HERE, Some(OWN)),
                record(FailoverRole::Secondary, THERE, Some(PEER)),
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

        fn writes(&self) -> Vec<(bool, i64)> {
            self.writes.lock().unwrap().clone()
        }

        fn flags(&self) -> Vec<bool> {
            self.writes().into_iter().map(|(flag, _)| flag).collect()
        }

        fn left_inverted(&self) -> bool {
            *self.inverted.lock().unwrap()
        }
    }

    /// The observer in this Region's VPC: the domain answers with the load
    /// balancer of the Region Route 53 serves, once the invert is visible,
    /// if `moves`. `served`: whether the other Region answers the request.
    struct ScriptedObserver<'a> {
        route53: &'a ScriptedRoute53,
        moves: bool,
        served: bool,
        fails: bool,
    }

    impl Observer for ScriptedObserver<'_> {
        async fn observe(
            &self,
            function: &str,
            request: &ObserveRequest,
        ) -> Result<Observation, AwsError> {
            assert_eq!(function, "fd-health-probe");
            assert!(request.load_balancers.contains_key(THERE), "{request:?}");
            if self.fails {
                return Err(fail("Invoke", "AccessDeniedException"));
            }
            let visible = *self.route53.inverted.lock().unwrap()
                && self
                    .route53
                    .lag_polls
                    .is_some_and(|lag| *self.route53.reads_since_invert.lock().unwrap() > lag);
            Ok(if visible && self.moves {
                seen(THERE, self.served)
            } else {
                seen(HERE, true)
            })
        }
    }

    fn follows(route53: &ScriptedRoute53) -> ScriptedObserver<'_> {
        ScriptedObserver {
            route53,
            moves: true,
            served: true,
            fails: false,
        }
    }

    fn front_door() -> FrontDoor {
        FrontDoor::from_stack(HERE, &description(&[])).unwrap()
    }

    fn settings() -> DrillSettings {
        DrillSettings {
            limit: Duration::from_millis(400),
            poll_every: Duration::from_millis(5),
            restore_attempts: 3,
            restore_backoff: Duration::from_millis(1),
            credentials_expire_at: None,
        }
    }

    type Outcome = (Result<DrillReport, Refusal>, Vec<Progress>);

    async fn run_with(
        observer: &ScriptedObserver<'_>,
        front_door: &FrontDoor,
        settings: DrillSettings,
        interrupted: impl Future<Output = ()>,
    ) -> Outcome {
        let mut seen = Vec::new();
        let report = drill(
            observer.route53,
            observer,
            front_door,
            settings,
            interrupted,
            |p| seen.push(p.clone()),
        )
        .await;
        (report, seen)
    }

    async fn run(observer: &ScriptedObserver<'_>) -> Outcome {
        run_with(observer, &front_door(), settings(), std::future::pending()).await
    }

    #[tokio::test]
    async fn a_drill_passes_when_the_answer_moved_and_was_served_then_comes_back() {
        let route53 = ScriptedRoute53::lagging(3);
        let (report, progress) = run(&follows(&route53)).await;
        let report = report.unwrap();
        assert!(report.passed(), "{report:?}");
        assert_eq!(route53.flags(), vec![true, false]);
        assert!(!route53.left_inverted());
        let answers: Vec<Option<String>> = progress
            .iter()
            .filter_map(|p| match p {
                Progress::Poll { observed, .. } => Some(observed.clone().unwrap().load_balancer),
                _ => None,
            })
            .collect();
        assert_eq!(answers.len(), 4, "{progress:?}");
        assert_eq!(answers[0].as_deref(), Some(HERE));
        assert_eq!(answers[3].as_deref(), Some(THERE));
        assert_eq!(progress.first(), Some(&Progress::Inverted));
        let t = &report.timeline;
        for (step, at) in [
            ("inverted", t.inverted_after_s),
            ("unhealthy", t.unhealthy_after_s),
            ("answer moved", t.answer_moved_after_s),
            ("request served", t.request_served_after_s),
            ("restored", t.restored_after_s),
            ("answer back", t.answer_back_after_s),
        ] {
            assert!(at.is_some(), "{step} missing: {t:?}");
        }
        assert_eq!(report.other_region, THERE);
        assert_eq!(report.observer, "fd-health-probe");
    }

    #[tokio::test]
    async fn an_answer_that_never_moves_times_out_and_restores() {
        // Route 53 calls the check unhealthy, but nothing changed in DNS:
        // a drill that read only Route 53's API would pass here.
        let route53 = ScriptedRoute53::lagging(0);
        let observer = ScriptedObserver {
            moves: false,
            ..follows(&route53)
        };
        let (report, _) = run(&observer).await;
        let report = report.unwrap();
        assert_eq!(report.ending, Ending::TimedOut);
        assert!(!report.passed());
        assert_eq!(report.restore, Restore::Restored);
        assert!(report.timeline.unhealthy_after_s.is_some());
        assert!(report.timeline.answer_moved_after_s.is_none());
        assert!(!route53.left_inverted());
    }

    #[tokio::test]
    async fn an_answer_that_moved_but_was_not_served_does_not_pass() {
        let route53 = ScriptedRoute53::lagging(0);
        let observer = ScriptedObserver {
            served: false,
            ..follows(&route53)
        };
        let (report, _) = run(&observer).await;
        let report = report.unwrap();
        assert_eq!(report.ending, Ending::TimedOut);
        assert!(report.timeline.answer_moved_after_s.is_some());
        assert!(report.timeline.request_served_after_s.is_none());
    }

    #[tokio::test]
    async fn an_observer_that_cannot_be_reached_refuses_before_any_change() {
        let route53 = ScriptedRoute53::lagging(0);
        let observer = ScriptedObserver {
            fails: true,
            ..follows(&route53)
        };
        let (report, _) = run(&observer).await;
        let err = report.unwrap_err();
        assert!(matches!(err, Refusal::CannotObserve { .. }), "{err}");
        assert!(err.to_string().contains("AccessDeniedException"), "{err}");
        assert!(route53.writes().is_empty());
    }

    #[tokio::test]
    async fn drilling_the_region_that_does_not_serve_is_refused() {
        let route53 = ScriptedRoute53::lagging(0);
        let mut stack = description(&[
            ("HealthCheckId", PEER),
            (
                "LoadBalancerDnsName",
                "internal-SECONDARY.eu-central-1.elb.amazonaws.com",
            ),
        ]);
        stack
            .parameters
            .insert("FailoverRole".into(), "SECONDARY".into());
        let secondary = FrontDoor::from_stack(THERE, &stack).unwrap();
        let (report, _) = run_with(
            &follows(&route53),
            &secondary,
            settings(),
            std::future::pending(),
        )
        .await;
        let err = report.unwrap_err();
        assert!(matches!(err, Refusal::NotServing { .. }), "{err}");
        assert!(err.to_string().contains("--region eu-west-1"), "{err}");
        assert!(route53.writes().is_empty(), "nothing was changed");
    }

    #[tokio::test]
    async fn every_update_names_the_version_it_read() {
        let route53 = ScriptedRoute53 {
            version: Mutex::new(7),
            ..ScriptedRoute53::lagging(0)
        };
        let (report, _) = run(&follows(&route53)).await;
        assert!(report.unwrap().passed());
        assert_eq!(route53.writes(), vec![(true, 7), (false, 8)]);
    }

    #[tokio::test]
    async fn an_update_in_between_is_reported_not_overwritten() {
        let route53 = ScriptedRoute53 {
            updated_after_invert: true,
            ..ScriptedRoute53::lagging(0)
        };
        let (report, _) = run(&follows(&route53)).await;
        let report = report.unwrap();
        let Restore::Failed { error, command } = &report.restore else {
            panic!("{report:?}");
        };
        assert!(error.contains("changed by another update"), "{error}");
        assert!(error.contains(VERSION_MISMATCH), "{error}");
        assert_eq!(command, &restore_command(OWN));
        assert_eq!(
            route53.flags(),
            vec![true, false],
            "one restore, not retried"
        );
        assert!(route53.left_inverted());
    }

    #[tokio::test]
    async fn credentials_that_expire_before_the_restore_refuse() {
        let route53 = ScriptedRoute53::lagging(0);
        let soon = SystemTime::now() + CREDENTIALS_MARGIN;
        let settings = DrillSettings {
            credentials_expire_at: Some(soon),
            ..settings()
        };
        let (report, _) = run_with(
            &follows(&route53),
            &front_door(),
            settings,
            std::future::pending(),
        )
        .await;
        assert!(matches!(report, Err(Refusal::CredentialsExpire { .. })));
        assert!(route53.writes().is_empty());
    }

    #[tokio::test]
    async fn an_interrupted_drill_restores() {
        let route53 = ScriptedRoute53::default();
        let (report, _) = run_with(
            &follows(&route53),
            &front_door(),
            settings(),
            tokio::time::sleep(Duration::from_millis(30)),
        )
        .await;
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
        let (report, _) = run(&follows(&route53)).await;
        let report = report.unwrap();
        let Ending::Failed(error) = &report.ending else {
            panic!("{report:?}");
        };
        assert_eq!(
            error,
            "stack fd in eu-west-1: the Route 53 health checks: GetHealthCheck failed: Throttling: scripted"
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
        let (report, _) = run(&follows(&route53)).await;
        let report = report.unwrap();
        assert!(
            matches!(report.ending, Ending::Failed(ref e) if e.contains("health check hc-record"))
        );
        assert_eq!(route53.flags(), vec![true, false]);
        assert_eq!(report.restore, Restore::Restored);
    }

    #[tokio::test]
    async fn a_restore_is_retried() {
        let route53 = ScriptedRoute53 {
            failing_writes: vec![2, 3],
            ..ScriptedRoute53::lagging(0)
        };
        let (report, _) = run(&follows(&route53)).await;
        assert!(report.unwrap().passed());
        assert_eq!(route53.flags(), vec![true, false, false, false]);
        assert!(!route53.left_inverted());
    }

    #[tokio::test]
    async fn a_restore_that_keeps_failing_gives_the_command() {
        let route53 = ScriptedRoute53 {
            failing_writes: vec![2, 3, 4],
            ..ScriptedRoute53::lagging(0)
        };
        let (report, _) = run(&follows(&route53)).await;
        let report = report.unwrap();
        assert!(!report.passed());
        assert_eq!(
            report.restore,
            Restore::Failed {
                error: "stack fd in eu-west-1: health check hc-record: UpdateHealthCheck failed: Throttling: scripted".into(),
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
        let (report, _) = run(&follows(&route53)).await;
        assert!(matches!(
            report,
            Err(Refusal::PeerNotHealthy { ref peer, health: Health::Unhealthy }) if peer == THERE
        ));
        assert!(route53.writes().is_empty(), "nothing was changed");
    }

    #[tokio::test]
    async fn a_drill_refuses_a_check_already_inverted() {
        let route53 = ScriptedRoute53 {
            own_inverted_at_start: true,
            ..ScriptedRoute53::lagging(0)
        };
        let (report, _) = run(&follows(&route53)).await;
        let err = report.unwrap_err();
        assert!(matches!(err, Refusal::AlreadyInverted { .. }));
        assert!(err.to_string().contains("--no-inverted"), "{err}");
        assert!(route53.writes().is_empty());
    }

    #[tokio::test]
    async fn a_stop_before_the_invert_changes_nothing() {
        let route53 = ScriptedRoute53::lagging(0);
        let (report, _) = run_with(
            &follows(&route53),
            &front_door(),
            settings(),
            std::future::ready(()),
        )
        .await;
        assert!(matches!(report, Err(Refusal::Interrupted)));
        assert!(route53.writes().is_empty());
    }

    #[tokio::test]
    async fn a_drill_refuses_a_stack_without_failover_or_observer() {
        let route53 = ScriptedRoute53::lagging(0);
        let mut none = description(&[]);
        none.parameters.insert("FailoverRole".into(), "NONE".into());
        let mut old = description(&[]);
        old.outputs.remove("ObserverFunctionName");
        for (stack, expected) in [(none, "NoFailover"), (old, "NoObserver")] {
            let front_door = FrontDoor::from_stack(HERE, &stack).unwrap();
            let (report, _) = run_with(
                &follows(&route53),
                &front_door,
                settings(),
                std::future::pending(),
            )
            .await;
            assert!(format!("{:?}", report.unwrap_err()).starts_with(expected));
        }
        assert!(route53.writes().is_empty());
    }
}
