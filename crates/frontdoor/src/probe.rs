//! `health-probe`: a probe from inside the VPC that gives Route 53 failover a
//! real health signal for a private API.
//!
//! The function GETs a real health path of the API over HTTPS, with the
//! certificate always verified, and writes `Healthy`, `LatencyMs` and
//! `CertificateDaysRemaining` as EMF metrics (plus `HealthyTargets` and
//! `ProbedTargets` when it probes several addresses). An alarm on `Healthy`, with
//! missing data breaching, feeds a Route 53 health check of type
//! `CLOUDWATCH_METRIC`.
//!
//! - [`config`]: the environment, parsed and checked once at initialisation;
//! - [`status`]: the expected status list, such as `200-299,403`;
//! - [`check`]: the probe, its summary and its metrics.

pub mod check;
pub mod config;
pub mod status;

pub use check::{Failure, ProbeSummary, Prober, TargetResult};
pub use config::{ConfigError, ProbeConfig};
pub use status::{ExpectedStatus, StatusListError};
