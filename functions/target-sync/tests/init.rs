//! Invalid configuration fails the initialisation, naming the variable (and,
//! for `FRONTDOOR_BINDINGS`, the binding and the field), before any
//! invocation is taken.

use std::process::Command;

fn start_with_bindings(bindings: Option<&str>) -> (bool, String) {
    start(bindings, &[])
}

fn start(bindings: Option<&str>, env: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_target-sync"));
    command
        .env_remove("FRONTDOOR_BINDINGS")
        .env_remove("AWS_LAMBDA_LOG_FORMAT")
        .env_remove("AWS_LAMBDA_LOG_LEVEL")
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .envs(env.iter().copied());
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

/// Every variable is checked the same way: a bad value fails the
/// initialisation naming it, never a silent default.
#[test]
fn every_variable_is_checked_at_initialisation_and_named() {
    let good = r#"[{"vpcEndpointId":"vpce-0123456789abcdef0","targetGroupArns":["arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef"]}]"#;
    for (var, value) in [
        ("METRIC_NAMESPACE", "AWS/Lambda"),
        ("METRIC_NAMESPACE", "bad*name"),
        ("FRONTDOOR_FALLBACK_BUDGET_SECS", "soon"),
        ("FRONTDOOR_FALLBACK_BUDGET_SECS", "0"),
        ("FRONTDOOR_DNS_SERVER", "dns.internal:53"),
        ("FRONTDOOR_DNS_SERVER", "10.0.0.2"),
        ("FRONTDOOR_DNS_GRACE_RUNS", "0"),
        ("FRONTDOOR_DNS_GRACE_RUNS", "three"),
        ("FRONTDOOR_DNS_GRACE_INTERVAL_SECS", "a minute"),
        ("FRONTDOOR_DNS_GRACE_INTERVAL_SECS", "86400"),
    ] {
        let (ok, text) = start(Some(good), &[(var, value)]);
        assert!(!ok, "{var}={value} was accepted: {text}");
        assert!(text.contains(var), "{var}={value}: {text}");
    }
}

#[test]
fn logs_are_json_lines_under_lambda_advanced_logging() {
    let (ok, text) = start(None, &[("AWS_LAMBDA_LOG_FORMAT", "JSON")]);
    assert!(!ok);
    let line = text
        .lines()
        .find(|line| line.contains("FRONTDOOR_BINDINGS is not set"))
        .unwrap_or_else(|| panic!("no log line names the variable: {text}"));
    let record: serde_json::Value = serde_json::from_str(line).expect(line);
    assert_eq!(record["level"], "ERROR", "{line}");
    assert!(
        record["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("FRONTDOOR_BINDINGS")),
        "{line}"
    );
}

#[test]
fn lambda_log_level_filters_the_log_lines() {
    let (_, logged) = start(None, &[]);
    assert!(logged.contains("ERROR"), "{logged}");
    // OFF silences the log line; the start still fails.
    let (ok, silent) = start(None, &[("AWS_LAMBDA_LOG_LEVEL", "OFF")]);
    assert!(!ok);
    assert!(!silent.contains("ERROR"), "{silent}");
    assert!(!silent.contains("is not set"), "{silent}");
}
