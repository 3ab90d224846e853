//! The time an invocation has: the Lambda deadline less a safety margin, or a
//! configured budget when the deadline is unknown.

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
    /// where it is a positive whole number.
    pub fn from_env() -> Self {
        let mut budget = Self::default();
        if let Some(secs) = std::env::var(FALLBACK_BUDGET_VAR)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|s| *s > 0)
        {
            budget.fallback = Duration::from_secs(secs);
        }
        budget
    }

    /// The instant by which the work must be done, for a Lambda deadline in
    /// epoch milliseconds seen at `now`.
    pub fn deadline(&self, lambda_deadline_ms: u64, now: SystemTime) -> Instant {
        let remaining = (SystemTime::UNIX_EPOCH + Duration::from_millis(lambda_deadline_ms))
            .duration_since(now)
            .ok()
            .filter(|r| *r > self.safety_margin)
            .map(|r| r - self.safety_margin)
            .unwrap_or(self.fallback);
        Instant::now() + remaining
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
}
