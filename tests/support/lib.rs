//! Test support shared by the integration tests.

pub mod cfn;
pub mod dns;
pub mod moto;
pub mod observer;
pub mod proxy;
pub mod tls;
