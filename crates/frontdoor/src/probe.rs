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
//! - [`check`]: the probe and its metrics;
//! - [`summary`]: what a run saw, target by target, and its summary;
//! - [`observer`]: the second kind of invocation, an observation of the
//!   domain's answer inside the VPC (no metric), and the dispatch of the two;
//! - `identity`: the client certificate for mutual TLS, from a file or a secret;
//! - `resolve`: the connect-to host names, resolved on every run;
//! - `tls`: the roots loaded once, and the TLS alerts about client certificates.

pub mod check;
pub mod config;
mod identity;
pub mod observer;
mod resolve;
pub mod status;
pub mod summary;
mod tls;

pub use check::Prober;
pub use config::{ClientCertError, ClientCertSource, ConnectTo, ProbeConfig};
pub use identity::{Clock, SECRET_MAX_AGE, SECRET_REFRESH_TIMEOUT};
pub use observer::handle;
pub use status::{ExpectedStatus, StatusListError};
pub use summary::{Failure, ProbeSummary, TargetResult};
