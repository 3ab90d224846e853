//! The time an invocation has: the Lambda deadline less a safety margin, or a
//! configured budget when the deadline is unknown.

use crate::config::{self, ConfigError};
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// The environment variable of the budget used when the deadline is unknown.
pub const FALLBACK_BUDGET_VAR: &str = "FRONTDOOR_FALLBACK_BUDGET_SECS";

/// How an invocation's own deadline is derived from Lambda's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// How long before the Lambda deadline the work must be done, leaving
    /// time to report (a response PUT, a summary and an EMF line).
    pub safety_margin: Duration,
    /// The budget when the deadline is missing or already past: `cargo
    /// lambda watch` sends a relative value (600000), not epoch milliseconds.
    pub fallback: Duration,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            safety_margin: Duration::from_secs(5),
            fallback: Duration::from_secs(60),
        }
    }
}

impl Budget {
    /// The defaults, with the fallback from `FRONTDOOR_FALLBACK_BUDGET_SECS`
    /// when it is set: a positive whole number, or an error naming it.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut budget = Self::default();
        if let Some(text) = config::var(FALLBACK_BUDGET_VAR) {
            let secs: u64 = config::number(FALLBACK_BUDGET_VAR, &text)?;
            if secs == 0 {
                return Err(ConfigError::invalid(
                    FALLBACK_BUDGET_VAR,
                    "must be at least 1",
                ));
            }
            budget.fallback = Duration::from_secs(secs);
        }
        Ok(budget)
    }

    /// The instant by which the invocation must have ended: the Lambda
    /// deadline (epoch milliseconds, seen at `now`), however close; only when
    /// it is unknown (missing, or already past, as `cargo lambda watch`'s
    /// relative value reads) the fallback budget plus the margin from now. A
    /// budget never outlives the real deadline.
    pub fn end(&self, lambda_deadline_ms: u64, now: SystemTime) -> Instant {
        let remaining = (SystemTime::UNIX_EPOCH + Duration::from_millis(lambda_deadline_ms))
            .duration_since(now)
            .ok()
            .filter(|r| !r.is_zero())
            .unwrap_or(self.fallback + self.safety_margin);
        Instant::now() + remaining
    }

    /// The instant by which the work must be done: the end less the margin
    /// (already past when less than the margin is left: no work starts).
    pub fn deadline(&self, lambda_deadline_ms: u64, now: SystemTime) -> Instant {
        self.end(lambda_deadline_ms, now)
            .checked_sub(self.safety_margin)
            .unwrap_or_else(Instant::now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_past_or_missing_deadline_uses_the_budget() {
        let budget = Budget::default();
        let now = SystemTime::now();
        for deadline_ms in [0, 600_000] {
            let left = budget.deadline(deadline_ms, now) - Instant::now();
            assert!(left > Duration::from_secs(59) && left <= budget.fallback);
        }
        let in_30s = now.duration_since(SystemTime::UNIX_EPOCH).unwrap() + Duration::from_secs(30);
        let left = budget.deadline(in_30s.as_millis() as u64, now) - Instant::now();
        assert!(
            left <= Duration::from_secs(25) && left > Duration::from_secs(24),
            "{left:?}"
        );
    }

    #[test]
    fn a_deadline_closer_than_the_margin_is_never_outlived() {
        let budget = Budget::default();
        let now = SystemTime::now();
        let in_3s = now.duration_since(SystemTime::UNIX_EPOCH).unwrap() + Duration::from_secs(3);
        let end = budget.end(in_3s.as_millis() as u64, now);
        assert!(
            end <= Instant::now() + Duration::from_secs(3),
            "{:?}",
            end - Instant::now()
        );
        assert!(budget.deadline(in_3s.as_millis() as u64, now) <= Instant::now());
    }
}
