//! The operator CLI's logic (`frontdoor status`, `plan` and `drill`) over
//! the ports, so that its tests run on fakes and on moto alike:
//! - [`front_door`]: a deployed stack, typed from its outputs and parameters;
//! - [`health`]: Route 53's health rules, pure: checks, failover, who serves;
//! - [`dry_run`]: target-sync's run with its writes recorded, not made;
//! - [`observed`]: the answer seen inside a Region's VPC, by its observer;
//! - [`status`]: one Region's view, and the verdict over several;
//! - [`drill`]: the failover rehearsal, which restores on every path.

pub mod drill;
pub mod dry_run;
pub mod front_door;
pub mod health;
pub mod observed;
pub mod status;

use crate::ports::AwsError;

/// Why an operator command could not read what it needs. Each names the
/// stack, the Region and the resource.
#[derive(Debug, thiserror::Error)]
pub enum OperateError {
    #[error("stack {stack} in {region}: no such stack")]
    NoSuchStack { stack: String, region: String },
    #[error(
        "stack {stack} in {region}: {key} is missing (a frontdoor stack of this version has it)"
    )]
    Missing {
        stack: String,
        region: String,
        key: &'static str,
    },
    #[error("stack {stack} in {region}: {resource}: {source}")]
    Aws {
        stack: String,
        region: String,
        resource: String,
        source: Box<AwsError>,
    },
}
