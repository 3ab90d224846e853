//! The shared library of the frontdoor functions.
//!
//! Each function binary is a thin entry point; everything it does lives here,
//! split by what it is about:
//! - [`custom_resource`]: the CloudFormation custom-resource protocol (always answer,
//!   deadline, panic guard, response PUT with retry);
//! - [`props`]: parsing of CloudFormation properties, which all arrive as strings;
//! - [`plan`]: pure planners, desired against current gives a plan, with no I/O;
//! - [`aws`]: small AWS adapters behind traits;
//! - [`emf`]: CloudWatch Embedded Metric Format lines;
//! - one module per function: [`endpoint_targets`], [`ingress`], [`sync`], [`probe`].

pub mod aws;
pub mod custom_resource;
pub mod emf;
pub mod endpoint_targets;
pub mod ingress;
pub mod plan;
pub mod probe;
pub mod props;
pub mod sync;
