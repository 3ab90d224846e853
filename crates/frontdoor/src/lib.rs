//! The shared library of the frontdoor functions.
//!
//! Each function binary is a thin entry point; everything it does lives here,
//! split by what it is about:
//! - [`custom_resource`]: the CloudFormation custom-resource protocol (always answer,
//!   deadline, panic guard, response PUT with retry);
//! - [`props`]: parsing of CloudFormation properties, which all arrive as strings;
//! - [`plan`]: pure planners, desired against current gives a plan, with no I/O;
//! - [`aws`]: small AWS adapters behind traits, and the SDK client settings ([`aws::config`]);
//! - [`deadline`]: the time an invocation has;
//! - [`emf`]: CloudWatch Embedded Metric Format lines;
//! - [`logging`]: the functions' log set-up (Lambda's advanced logging controls);
//! - [`permissions`]: the IAM actions each function calls, checked against the adapters and the template;
//! - one module per function: [`endpoint_targets`], [`ingress`], [`sync`], [`probe`].

pub mod aws;
pub mod custom_resource;
pub mod deadline;
pub mod emf;
pub mod endpoint_targets;
pub mod ingress;
pub mod logging;
pub mod permissions;
pub mod plan;
pub mod probe;
pub mod props;
pub mod sync;

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
