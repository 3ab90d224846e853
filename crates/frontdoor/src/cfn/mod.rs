//! The CloudFormation custom-resource protocol.
//!
//! - [`protocol`]: the core, which always answers: one response PUT per
//!   request, before the Lambda deadline, whatever the resource does;
//! - [`resource`]: the typed [`CustomResource`] trait and the dispatch every
//!   resource shares;
//! - [`props`]: the resource properties, which all arrive as strings;
//! - `responder`: the PUT, retried within the time left;
//! - `encode`: the body, under CloudFormation's 4,096 bytes.

mod encode;
pub mod props;
pub mod protocol;
pub mod resource;
mod responder;

pub use encode::MAX_RESPONSE_BYTES;
pub use protocol::{ProtocolError, Request, Settings, run, serve};
pub use resource::{Context, CustomResource, Data, physical_id, stack_name};
pub use responder::{DeliveryError, Responder, Retries};
