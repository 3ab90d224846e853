//! Invalid `FRONTDOOR_BINDINGS` fails the initialisation, naming the binding
//! and the field, before any invocation is taken.

use std::process::Command;

fn start_with_bindings(bindings: Option<&str>) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_target-sync"));
    command
        .env_remove("FRONTDOOR_BINDINGS")
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9");
    if let Some(bindings) = bindings {
        command.env("FRONTDOOR_BINDINGS", bindings);
    }
    let output = command.output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[test]
fn invalid_bindings_fail_at_initialisation_with_the_field_named() {
    let bad_port = r#"[{"vpcEndpointId":"vpce-0123456789abcdef0","targetGroupArns":["arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef"],"port":"https"}]"#;
    let (ok, text) = start_with_bindings(Some(bad_port));
    assert!(!ok);
    assert!(text.contains("FRONTDOOR_BINDINGS[0].port"), "{text}");

    let (ok, text) = start_with_bindings(None);
    assert!(!ok);
    assert!(text.contains("FRONTDOOR_BINDINGS is not set"), "{text}");
}
