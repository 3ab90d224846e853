//! The custom resources, each a [`crate::cfn::CustomResource`]: its
//! properties, its error enum (whose `Display` is the `Reason`) and what
//! Create, Update and Delete do.

pub mod endpoint_targets;
pub mod prefix_list_ingress;
