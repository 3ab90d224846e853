//! Route 53's health rules, as pure functions over what its API reports.
//!
//! `GetHealthCheckStatus` gives each checker's last report, and refuses
//! calculated checks; the status Route 53 acts on follows these rules:
//! - an endpoint check is healthy when more than 18% of its checkers report
//!   it healthy
//!   (<https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html>);
//! - a calculated check is healthy when at least `HealthThreshold` of its
//!   children are (same page);
//! - a disabled check is healthy, and `Inverted` turns healthy into unhealthy
//!   and back
//!   (<https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-creating-values.html>,
//!   <https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-invert.html>);
//! - a failover name answers with the primary record while it is healthy,
//!   and with the secondary while the primary is unhealthy and the secondary
//!   healthy (<https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-types.html>);
//!   a record without a health check is healthy
//!   (<https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-complex-configs.html>).
//!   What it answers when both are unhealthy is not on the pages read, so
//!   that case reads as unknown rather than a guess.

use crate::model::{FailoverRecord, FailoverRole, HealthCheck, Observation};
use crate::ports::{AwsError, HealthChecks};
use serde::Serialize;
use std::collections::BTreeMap;

/// Route 53 counts an endpoint healthy above this share of its checkers.
const HEALTHY_ABOVE_PERCENT: usize = 18;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Healthy,
    Unhealthy,
    /// No checker has reported yet, or the check does not exist.
    Unknown,
}

impl Health {
    fn inverted(self) -> Self {
        match self {
            Health::Healthy => Health::Unhealthy,
            Health::Unhealthy => Health::Healthy,
            Health::Unknown => Health::Unknown,
        }
    }
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
            Health::Unknown => "unknown",
        })
    }
}

/// The checkers' verdict on an endpoint check, before `Inverted`.
pub fn reported(observations: &[Observation]) -> Health {
    if observations.is_empty() {
        return Health::Unknown;
    }
    let healthy = observations.iter().filter(|o| o.is_success()).count();
    if healthy * 100 > observations.len() * HEALTHY_ABOVE_PERCENT {
        Health::Healthy
    } else {
        Health::Unhealthy
    }
}

/// What Route 53 said about a set of checks: their configurations, and the
/// checkers' reports on those that are not calculated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthBook {
    pub checks: BTreeMap<String, HealthCheck>,
    pub observations: BTreeMap<String, Vec<Observation>>,
}

impl HealthBook {
    /// The status Route 53 acts on.
    pub fn health(&self, id: &str) -> Health {
        self.health_within(id, 0)
    }

    /// Calculated checks nest at most once here (the template's do not nest);
    /// deeper, the status is unknown rather than a guess.
    fn health_within(&self, id: &str, depth: usize) -> Health {
        let Some(check) = self.checks.get(id) else {
            return Health::Unknown;
        };
        let status = if check.disabled {
            Health::Healthy
        } else if check.is_calculated() {
            if depth > 1 {
                return Health::Unknown;
            }
            let children: Vec<Health> = check
                .children
                .iter()
                .map(|child| self.health_within(child, depth + 1))
                .collect();
            let count = |h: Health| children.iter().filter(|&&c| c == h).count();
            let threshold = check
                .health_threshold
                .map_or(children.len(), |t| t as usize);
            if count(Health::Healthy) >= threshold {
                Health::Healthy
            } else if count(Health::Healthy) + count(Health::Unknown) >= threshold {
                Health::Unknown
            } else {
                Health::Unhealthy
            }
        } else {
            reported(self.observations.get(id).map_or(&[], Vec::as_slice))
        };
        if check.inverted {
            status.inverted()
        } else {
            status
        }
    }
}

/// Reads the checks, their calculated checks' children, and the reports on
/// every check that is not calculated.
pub async fn read_book(
    route53: &impl HealthChecks,
    ids: &[String],
) -> Result<HealthBook, AwsError> {
    let mut book = HealthBook::default();
    let mut pending: Vec<String> = ids.to_vec();
    while let Some(id) = pending.pop() {
        if book.checks.contains_key(&id) {
            continue;
        }
        let Some(check) = route53.health_check(&id).await? else {
            continue;
        };
        if check.is_calculated() {
            pending.extend(check.children.iter().cloned());
        } else {
            book.observations
                .insert(id.clone(), route53.observations(&id).await?);
        }
        book.checks.insert(id, check);
    }
    Ok(book)
}

/// Which record of a failover name Route 53 answers with now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Serving {
    pub role: FailoverRole,
    /// From the record's set identifier.
    pub region: Option<String>,
}

/// The A record of each role: the AAAA twin follows the same check.
pub fn pair(records: &[FailoverRecord]) -> (Option<&FailoverRecord>, Option<&FailoverRecord>) {
    let of = |role| {
        records
            .iter()
            .find(|r| r.role == role && r.record_type == "A")
    };
    (of(FailoverRole::Primary), of(FailoverRole::Secondary))
}

/// The health Route 53 gives a record: its check's, or healthy without one.
pub fn record_health(record: &FailoverRecord, book: &HealthBook) -> Health {
    record
        .health_check_id
        .as_deref()
        .map_or(Health::Healthy, |id| book.health(id))
}

/// The record Route 53 answers with, or `None` while a status it depends on
/// is unknown, both are unhealthy, or the pair is incomplete.
pub fn serving(records: &[FailoverRecord], book: &HealthBook) -> Option<Serving> {
    let (Some(primary), Some(secondary)) = pair(records) else {
        return None;
    };
    let chosen = match (record_health(primary, book), record_health(secondary, book)) {
        (Health::Healthy, _) => primary,
        (Health::Unhealthy, Health::Healthy) => secondary,
        _ => return None,
    };
    Some(Serving {
        role: chosen.role,
        region: chosen.region().map(str::to_owned),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub fn check(id: &str, inverted: bool) -> HealthCheck {
        HealthCheck {
            id: id.into(),
            check_type: "HTTPS".into(),
            inverted,
            disabled: false,
            children: Vec::new(),
            health_threshold: None,
            version: 1,
        }
    }

    pub fn observations(successes: usize, failures: usize) -> Vec<Observation> {
        let report = |status: &str| Observation {
            region: "us-east-1".into(),
            status: status.into(),
        };
        std::iter::repeat_n(report("Success: HTTP Status Code 200, OK"), successes)
            .chain(std::iter::repeat_n(
                report("Failure: Connection timed out."),
                failures,
            ))
            .collect()
    }

    pub fn record(role: FailoverRole, region: &str, check: Option<&str>) -> FailoverRecord {
        FailoverRecord {
            record_type: "A".into(),
            role,
            set_identifier: format!("{role}-{region}"),
            health_check_id: check.map(str::to_owned),
            alias_target: Some(format!("internal-{role}.{region}.elb.amazonaws.com")),
        }
    }

    fn book(checks: Vec<HealthCheck>, reports: &[(&str, usize, usize)]) -> HealthBook {
        HealthBook {
            checks: checks.into_iter().map(|c| (c.id.clone(), c)).collect(),
            observations: reports
                .iter()
                .map(|&(id, ok, failed)| (id.to_string(), observations(ok, failed)))
                .collect(),
        }
    }

    #[test]
    fn more_than_18_percent_of_checkers_make_an_endpoint_healthy() {
        assert_eq!(reported(&observations(3, 13)), Health::Healthy); // 18.75%
        assert_eq!(reported(&observations(1, 9)), Health::Unhealthy); // 10%
        assert_eq!(reported(&observations(9, 41)), Health::Unhealthy); // exactly 18%
        assert_eq!(reported(&[]), Health::Unknown);
    }

    #[test]
    fn inverted_turns_the_checkers_verdict_around() {
        let book = book(vec![check("a", true)], &[("a", 16, 0)]);
        assert_eq!(book.health("a"), Health::Unhealthy);
    }

    #[test]
    fn a_disabled_check_is_healthy_unless_inverted() {
        let mut disabled = check("a", false);
        disabled.disabled = true;
        assert_eq!(
            book(vec![disabled.clone()], &[("a", 0, 16)]).health("a"),
            Health::Healthy
        );
        disabled.inverted = true;
        assert_eq!(
            book(vec![disabled], &[("a", 0, 16)]).health("a"),
            Health::Unhealthy
        );
    }

    #[test]
    fn a_calculated_check_counts_its_healthy_children_against_the_threshold() {
        let calculated = |threshold| HealthCheck {
            check_type: "CALCULATED".into(),
            children: vec!["probe".into(), "private".into()],
            health_threshold: Some(threshold),
            ..check("both", false)
        };
        let reports = [("probe", 16, 0), ("private", 0, 16)];
        let both = |t| {
            book(
                vec![
                    calculated(t),
                    check("probe", false),
                    check("private", false),
                ],
                &reports,
            )
        };
        assert_eq!(both(2).health("both"), Health::Unhealthy);
        assert_eq!(both(1).health("both"), Health::Healthy);
        let unreported = book(
            vec![
                calculated(2),
                check("probe", false),
                check("private", false),
            ],
            &[("probe", 16, 0)],
        );
        assert_eq!(unreported.health("both"), Health::Unknown);
    }

    #[test]
    fn the_secondary_serves_only_while_the_primary_is_unhealthy_and_it_is_healthy() {
        let records = [
            record(FailoverRole::Primary, "eu-west-1", Some("p")),
            record(FailoverRole::Secondary, "eu-central-1", Some("s")),
        ];
        let serving_with = |p: bool, s: bool| {
            let inverted = |healthy: bool| !healthy;
            let book = book(
                vec![check("p", inverted(p)), check("s", inverted(s))],
                &[("p", 16, 0), ("s", 16, 0)],
            );
            serving(&records, &book).map(|s| s.region.unwrap())
        };
        assert_eq!(serving_with(true, true).as_deref(), Some("eu-west-1"));
        assert_eq!(serving_with(false, true).as_deref(), Some("eu-central-1"));
        assert_eq!(serving_with(false, false), None, "not documented: unknown");
        assert_eq!(serving_with(true, false).as_deref(), Some("eu-west-1"));
    }

    proptest! {
        /// Inverting a check always flips a known status, and the threshold
        /// of a calculated check is monotone: more healthy children never
        /// make it less healthy.
        #[test]
        fn inversion_flips_and_thresholds_are_monotone(
            reports in proptest::collection::vec((0usize..20, 0usize..20), 1..6),
            threshold in 0u32..7,
        ) {
            let ids: Vec<String> = (0..reports.len()).map(|i| format!("c{i}")).collect();
            let mut checks: Vec<HealthCheck> = ids.iter().map(|id| check(id, false)).collect();
            checks.push(HealthCheck {
                check_type: "CALCULATED".into(),
                children: ids.clone(),
                health_threshold: Some(threshold),
                ..check("calc", false)
            });
            let owned: Vec<(String, usize, usize)> = ids
                .iter()
                .zip(&reports)
                .map(|(id, &(ok, failed))| (id.clone(), ok, failed))
                .collect();
            let borrowed: Vec<(&str, usize, usize)> =
                owned.iter().map(|(id, ok, failed)| (id.as_str(), *ok, *failed)).collect();
            let plain = book(checks.clone(), &borrowed);
            for id in &ids {
                let mut flipped = plain.clone();
                flipped.checks.get_mut(id).unwrap().inverted = true;
                let before = plain.health(id);
                prop_assert_eq!(flipped.health(id), before.inverted());
            }
            // Heal one child: the calculated check is no less healthy.
            let rank = |h: Health| match h { Health::Unhealthy => 0, Health::Unknown => 1, Health::Healthy => 2 };
            let mut healed = plain.clone();
            healed.observations.insert(ids[0].clone(), observations(1, 0));
            prop_assert!(rank(healed.health("calc")) >= rank(plain.health("calc")));
        }
    }
}
