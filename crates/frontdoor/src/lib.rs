//! The shared library of the frontdoor functions.
//!
//! Each function binary is a thin entry point: it parses its input, calls
//! the library and maps the result. The library is split by what each part
//! is about:
//! - [`cfn`]: the CloudFormation custom-resource protocol, which always answers;
//! - [`resources`]: the two custom resources, typed over [`cfn::CustomResource`];
//! - [`sync`]: target-sync, the level-triggered reconciler;
//! - [`probe`]: the health probe;
//! - [`observe`]: the observer's request and answer, shared by the probe and the CLI;
//! - [`plan`]: pure planners, desired against current gives a plan, with no I/O;
//! - [`model`]: the domain types; [`ports`]: the traits the logic needs;
//! - [`aws`]: small adapters behind those ports, and the SDK client settings;
//! - [`dns`]: the DNS adapter behind [`ports::NameResolver`], and its settings;
//! - [`config`]: the environment, checked the same way everywhere;
//! - [`deadline`]: the time an invocation has;
//! - [`emf`]: CloudWatch Embedded Metric Format lines;
//! - [`logging`]: the functions' log set-up (Lambda's advanced logging controls);
//! - [`tls`]: the platform's trust roots, read once per process and shared by
//!   every TLS client;
//! - [`operate`]: the operator CLI's status, dry run and drill, over the ports;
//! - [`permissions`]: the IAM actions each function calls, checked against the
//!   adapters and the template.

pub mod aws;
pub mod cfn;
pub mod config;
pub mod deadline;
pub mod dns;
pub mod emf;
pub mod logging;
pub mod model;
pub mod observe;
pub mod operate;
pub mod permissions;
pub mod plan;
pub mod ports;
pub mod probe;
pub mod resources;
pub mod sync;
pub mod tls;

/// An error and its causes, each once: SDK and reqwest messages ("error
/// sending request") hide the reason in their sources.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1
                .as_deref()
                .map(|l| l as &(dyn std::error::Error + 'static))
        }
    }

    #[test]
    fn error_chain_keeps_the_causes_once() {
        let error = Layer(
            "error sending request",
            Some(Box::new(Layer(
                "invalid peer certificate: UnknownIssuer",
                Some(Box::new(Layer("UnknownIssuer", None))),
            ))),
        );
        assert_eq!(
            error_chain(&error),
            "error sending request: invalid peer certificate: UnknownIssuer"
        );
    }
}
