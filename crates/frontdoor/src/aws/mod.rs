//! The adapters: each port of [`crate::ports`] on its AWS service, and the
//! SDK client settings every function uses ([`config`]). Only this module
//! speaks the SDK.

use crate::error_chain;
use crate::ports::AwsError;
use aws_sdk_ec2::error::ProvideErrorMetadata;

#[cfg(feature = "operator")]
mod cloudformation;
pub mod config;
mod ec2;
mod elb;
mod elb_tags;
#[cfg(feature = "operator")]
mod lambda;
#[cfg(feature = "operator")]
pub mod operator;
#[cfg(feature = "operator")]
mod route53;
pub mod secrets;
pub mod security_groups;
mod subnets;

#[cfg(feature = "operator")]
pub use cloudformation::CloudFormationStacks;
pub use ec2::Ec2Endpoints;
pub use elb::ElbTargets;
#[cfg(feature = "operator")]
pub use lambda::LambdaObserver;
#[cfg(feature = "operator")]
pub use route53::Route53HealthChecks;

/// The port's error for an SDK error: the service's code and message, or
/// the error's whole chain when the service gave none.
pub(crate) fn sdk_error<E>(operation: &'static str, err: E) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let message = err
        .message()
        .map(str::to_owned)
        .unwrap_or_else(|| error_chain(&err));
    AwsError {
        operation,
        code: err.code().map(str::to_owned),
        message,
    }
}
