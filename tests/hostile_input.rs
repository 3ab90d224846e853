//! The hostile-input corpus (`tests/hostile/`, made by `generate.py` from the
//! real events in `events/`) against every function.
//!
//! For every function and every file: no panic, no hang; where a usable
//! `ResponseURL` is present, exactly one response, FAILED with a `Reason`
//! that names the offending field (or SUCCESS where the manifest says the
//! input is tolerated); otherwise no response and no error that Lambda would
//! retry, with a result that names the field (`{"Unanswered": "…"}`).
//!
//! What the Lambda runtime rejects before any handler (a body that is empty
//! or not JSON) cannot reach our code: `lambda_runtime` deserializes the
//! payload into the `serde_json::Value` each function declares first. Each
//! function is given the nearest thing it can be given: the body as a JSON
//! string, which the custom resources must reject naming `ResponseURL`, and
//! which target-sync, which takes any JSON, must reconcile every binding for. target-sync's and health-probe's own
//! inputs that are not events, `FRONTDOOR_BINDINGS` and the probe's
//! environment, have corpus files of their own.

use frontdoor::aws::security_groups::VPC_ORIGINS_GROUP_NAME;
use frontdoor::cfn::{CustomResource, MAX_RESPONSE_BYTES};
use frontdoor::probe::ProbeConfig;
use frontdoor::sync::{self, Binding, Scope, Source};
use frontdoor_tests::cfn::{self, Protocol, ResponseUrl};
use frontdoor_tests::moto::{Account, moto_url};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

const ET: &str = "eni-targets";
const PLI: &str = "prefix-list-ingress";
const TS: &str = "target-sync";
const PROBE: &str = "health-probe";

/// The placeholders of `events/`, replaced by the fixture's resources.
const VPCE: &str = "vpce-0123456789abcdef0";
const ARN: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/frontdoor-endpoint/0123456789abcdef";
const SG: &str = "sg-0123456789abcdef0";
const VPC: &str = "vpc-0123456789abcdef0";
const S3_RESPONSE_URL: &str =
    "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/";

/// How long one input may take before it counts as a hang.
const PER_FILE: Duration = Duration::from_secs(10);

fn hostile_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("hostile")
}

struct Entry {
    file: String,
    bytes: Vec<u8>,
    expect: serde_json::Map<String, Value>,
}

fn corpus(directory: &str) -> Vec<Entry> {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(hostile_dir().join("manifest.json")).unwrap())
            .unwrap();
    manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["file"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{directory}/"))
        })
        .map(|f| {
            let file = f["file"].as_str().unwrap().to_owned();
            Entry {
                bytes: std::fs::read(hostile_dir().join(&file)).unwrap(),
                file,
                expect: f["expect"].as_object().unwrap().clone(),
            }
        })
        .collect()
}

#[test]
fn the_corpus_is_complete_and_every_file_is_in_the_manifest() {
    let listed: BTreeSet<String> = ["events", "bindings", "probe"]
        .iter()
        .flat_map(|d| corpus(d))
        .map(|e| e.file)
        .collect();
    let mut on_disk = BTreeSet::new();
    for directory in ["events", "bindings", "probe"] {
        for file in std::fs::read_dir(hostile_dir().join(directory)).unwrap() {
            let name = file.unwrap().file_name().into_string().unwrap();
            on_disk.insert(format!("{directory}/{name}"));
        }
    }
    assert_eq!(
        listed, on_disk,
        "regenerate with python3 tests/hostile/generate.py"
    );
    let events = corpus("events");
    assert!(events.len() >= 60, "{} event files", events.len());
    for function in [ET, PLI, TS] {
        assert!(
            events.iter().any(|e| e.expect.contains_key(function)),
            "no file targets {function}"
        );
    }
    let kinds = |needle: &str| events.iter().filter(|e| e.file.contains(needle)).count();
    for needle in [
        "missing-",
        "extra-",
        "RequestType-",
        "1MB",
        "NUL",
        "unicode",
        "raw--empty",
        "raw--not-json",
        "other-region",
        "sqs",
    ] {
        assert!(kinds(needle) > 0, "the corpus has no {needle} file");
    }
}

/// Replaces every placeholder in every string of the event.
fn substitute(value: &mut Value, pairs: &[(String, String)]) {
    match value {
        Value::String(s) => {
            for (from, to) in pairs {
                if s.contains(from.as_str()) {
                    *s = s.replace(from.as_str(), to);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, pairs)),
        Value::Object(map) => map.values_mut().for_each(|v| substitute(v, pairs)),
        _ => {}
    }
}

/// The payload as the function would get it. `None` when the body is not
/// JSON, which the Lambda runtime rejects before any handler.
fn payload(bytes: &[u8]) -> Option<Value> {
    serde_json::from_slice(bytes).ok()
}

/// Runs `work` on a thread of its own with its own runtime, so that a panic
/// or a hang in the product is reported, not fatal to the test binary.
fn guarded<T, F, W>(work: W) -> Result<T, String>
where
    W: FnOnce() -> F + Send + 'static,
    F: std::future::Future<Output = T>,
    T: Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(work())));
        let _ = tx.send(outcome.map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default()
        }));
    });
    match rx.recv_timeout(PER_FILE) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(panic)) => Err(format!("panicked: {panic}")),
        Err(_) => Err(format!("no outcome within {PER_FILE:?} (a hang)")),
    }
}

/// What one custom-resource invocation did.
#[derive(Debug)]
struct Observed {
    result: Result<Value, String>,
    /// The bodies of the PUTs that landed, as sent.
    puts: Vec<Value>,
}

/// The resources of events/, made in a fresh moto account.
#[derive(Clone)]
struct Fixture {
    account_id: String,
    pairs: Vec<(String, String)>,
    endpoint: String,
}

async fn fixture() -> Fixture {
    let account = Account::new().await;
    let vpc = account.vpc(2).await;
    let endpoint = account.endpoint(&vpc, 2).await;
    let group = account.target_group(&vpc, "frontdoor-endpoint").await;
    let sg = account.security_group(&vpc, "alb").await;
    account.security_group(&vpc, VPC_ORIGINS_GROUP_NAME).await;
    Fixture {
        account_id: account.id.clone(),
        pairs: vec![
            (VPCE.to_owned(), endpoint.clone()),
            (ARN.to_owned(), group),
            (SG.to_owned(), sg),
            (VPC.to_owned(), vpc.vpc_id),
        ],
        endpoint,
    }
}

/// Runs one event through the function, against the fixture.
fn invoke(function: &'static str, fixture: &Fixture, event: Value) -> Result<Observed, String> {
    let fixture = fixture.clone();
    guarded(move || async move {
        let account = Account::with_id(&moto_url(), fixture.account_id.clone()).await;
        let url = ResponseUrl::start().await;
        let mut event = event;
        if let Some(original) = event.get("ResponseURL").and_then(Value::as_str)
            && original.starts_with(S3_RESPONSE_URL)
        {
            event["ResponseURL"] = json!(url.url);
        }
        substitute(&mut event, &fixture.pairs);
        refuse_foreign_urls(&event);
        let protocol = Protocol::default();
        let lambda_event = cfn::lambda_event(event);
        let result = match function {
            ET => run(&protocol, account.endpoint_targets(), lambda_event).await,
            _ => run(&protocol, account.prefix_list_ingress(), lambda_event).await,
        };
        Observed {
            result,
            puts: url.puts().into_iter().map(|p| p.body).collect(),
        }
    })
}

async fn run<R: CustomResource>(
    protocol: &Protocol,
    resource: Arc<R>,
    event: lambda_runtime::LambdaEvent<Value>,
) -> Result<Value, String> {
    protocol
        .run(resource, event)
        .await
        .map_err(|e| e.to_string())
}

/// This suite sends traffic to 127.0.0.1 only.
fn refuse_foreign_urls(event: &Value) {
    if let Some(url) = event.get("ResponseURL").and_then(Value::as_str)
        && let Ok(parsed) = reqwest::Url::parse(url)
    {
        let host = parsed.host_str().unwrap_or_default();
        assert!(
            host.is_empty() || host == "127.0.0.1",
            "a corpus ResponseURL names {host}: only 127.0.0.1 may be used"
        );
    }
}

/// An invocation that ended without an error Lambda would retry, and without
/// a response, saying why in terms of `field`.
fn unanswered_naming(result: &Value, field: &str) -> bool {
    result["Unanswered"]
        .as_str()
        .is_some_and(|why| why.contains(field))
}

/// Checks one observation against the manifest; returns what is wrong.
fn judge(expect: Option<&Value>, observed: &Observed) -> Option<String> {
    let sizes: Vec<usize> = observed.puts.iter().map(|p| p.to_string().len()).collect();
    if sizes.iter().any(|s| *s >= MAX_RESPONSE_BYTES) {
        return Some(format!("a response of {sizes:?} bytes"));
    }
    let status = expect.and_then(|e| e["status"].as_str());
    let field = expect.and_then(|e| e["field"].as_str()).unwrap_or("");
    match (&observed.result, observed.puts.as_slice(), status) {
        (Ok(unanswered), [], Some("ERROR")) if unanswered_naming(unanswered, field) => None,
        (Ok(unanswered), [], None) if unanswered_naming(unanswered, "ResponseURL") => None,
        (Ok(_), [response], Some("FAILED")) => {
            let reason = response["Reason"].as_str().unwrap_or_default();
            (response["Status"] != "FAILED" || !reason.contains(field))
                .then(|| format!("expected FAILED naming {field}, got {response}"))
        }
        (Ok(_), [response], Some("SUCCESS")) => {
            (response["Status"] != "SUCCESS").then(|| format!("expected SUCCESS, got {response}"))
        }
        // Not this function's file: one response, whichever it is.
        (Ok(_), [_], None) => None,
        _ => Some(format!(
            "expected {}, got {:?} with {} response(s): {:?}",
            expect.map_or("one response".to_owned(), |e| e.to_string()),
            observed.result.as_ref().map(|_| "Ok"),
            observed.puts.len(),
            observed
                .puts
                .iter()
                .map(|p| p["Reason"].clone())
                .collect::<Vec<_>>()
        )),
    }
}

/// The fixture's target group's targets and its security group's inbound
/// rules, as they are now.
async fn fixture_state(fixture: &Fixture) -> (Vec<String>, BTreeSet<String>) {
    let account = Account::with_id(&moto_url(), fixture.account_id.clone()).await;
    let made = |placeholder: &str| {
        fixture
            .pairs
            .iter()
            .find(|(p, _)| p == placeholder)
            .map(|(_, made)| made.clone())
            .unwrap()
    };
    (
        account.targets(&made(ARN)).await,
        account.grants(&made(SG)).await,
    )
}

fn custom_resource_corpus(function: &'static str) {
    let fixture = tokio::runtime::Runtime::new().unwrap().block_on(fixture());
    let mut problems = Vec::new();
    let mut checked = 0;
    for entry in corpus("events") {
        let expect = entry.expect.get(function);
        let event = match payload(&entry.bytes) {
            Some(event) => event,
            None => {
                // The runtime rejects it; the nearest our code can be given.
                Value::String(String::from_utf8_lossy(&entry.bytes).into_owned())
            }
        };
        let verdict = match invoke(function, &fixture, event) {
            Ok(observed) => judge(expect, &observed),
            Err(failure) => Some(failure),
        };
        checked += usize::from(expect.is_some());
        if let Some(problem) = verdict {
            problems.push(format!("{function} {}: {problem}", entry.file));
        }
    }
    assert!(checked >= 30, "only {checked} files target {function}");
    assert_no_problems(&problems);
}

/// Fails the test listing every problem found, if any.
fn assert_no_problems(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// A request that can never be answered touches nothing: for every corpus
/// event a custom resource cannot answer, a fresh target group stays empty
/// and a fresh security group gets no rule. (Until the core checked the
/// `ResponseURL` before the handler ran, a Create whose URL parsed but could
/// not be PUT to, such as one with a control character, registered targets
/// or opened rules that CloudFormation never learnt of, so nothing would
/// ever clean them up.)
#[test]
fn unanswerable_requests_touch_nothing() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut checked = 0;
    for function in [ET, PLI] {
        for entry in corpus("events") {
            let status = entry
                .expect
                .get(function)
                .and_then(|e| e["status"].as_str());
            let Some(event) = payload(&entry.bytes).filter(|_| status == Some("ERROR")) else {
                continue;
            };
            let fixture = runtime.block_on(fixture());
            let observed = invoke(function, &fixture, event)
                .unwrap_or_else(|failure| panic!("{function} {}: {failure}", entry.file));
            assert!(
                observed.puts.is_empty(),
                "{function} {}: {:?}",
                entry.file,
                observed.puts
            );
            let (targets, rules) = runtime.block_on(fixture_state(&fixture));
            assert!(
                targets.is_empty() && rules.is_empty(),
                "{function} {}: an unanswerable request registered {targets:?} and opened {rules:?}",
                entry.file
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 10,
        "only {checked} unanswerable events in the corpus"
    );
}

#[test]
fn eni_targets_answers_every_hostile_event_once_naming_the_field() {
    custom_resource_corpus(ET);
}

#[test]
fn prefix_list_ingress_answers_every_hostile_event_once_naming_the_field() {
    custom_resource_corpus(PLI);
}

#[test]
fn target_sync_takes_every_hostile_event_without_a_panic_and_scopes_it() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fixture = runtime.block_on(fixture());
    let binding = Binding {
        source: Source::VpcEndpointId(fixture.endpoint.clone()),
        target_group_arns: vec![fixture.pairs[1].1.clone()],
        port: 443,
    };
    let mut problems = Vec::new();
    for entry in corpus("events") {
        let mut event = payload(&entry.bytes)
            .unwrap_or_else(|| Value::String(String::from_utf8_lossy(&entry.bytes).into_owned()));
        substitute(&mut event, &fixture.pairs);
        let expected = match entry.expect.get(TS).map(|e| &e["scope"]) {
            None => Scope::All,
            Some(Value::String(s)) if s == "all" => Scope::All,
            Some(Value::String(s)) if s == "none" => Scope::Endpoints(BTreeSet::new()),
            Some(Value::Array(ids)) => {
                let mut ids = Value::Array(ids.clone());
                substitute(&mut ids, &fixture.pairs);
                Scope::Endpoints(
                    ids.as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_str().unwrap().to_owned())
                        .collect(),
                )
            }
            Some(other) => panic!("{}: bad expectation {other}", entry.file),
        };
        let (account_id, binding) = (fixture.account_id.clone(), binding.clone());
        let outcome = guarded(move || async move {
            let scope = Scope::of_event(&event);
            let account = Account::with_id(&moto_url(), account_id).await;
            let syncer = account.syncer();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            let report = syncer
                .run(std::slice::from_ref(&binding), &scope, deadline)
                .await;
            (scope, report)
        });
        match outcome {
            Err(failure) => problems.push(format!("{}: {failure}", entry.file)),
            Ok((scope, report)) => {
                let scope_ok = match (&expected, &scope) {
                    (Scope::Endpoints(want), Scope::Endpoints(got)) if want.is_empty() => {
                        !got.contains(&fixture.endpoint)
                    }
                    _ => expected == scope,
                };
                if !scope_ok {
                    problems.push(format!(
                        "{}: scope {scope:?}, expected {expected:?}",
                        entry.file
                    ));
                }
                let covered = scope == Scope::All
                    || scope_ok && expected != Scope::Endpoints(BTreeSet::new());
                if covered && (report.bindings.len() != 1 || report.errors() != 0) {
                    problems.push(format!("{}: {report:?}", entry.file));
                }
                if !covered && !report.bindings.is_empty() {
                    problems.push(format!(
                        "{}: reconciled out of scope: {report:?}",
                        entry.file
                    ));
                }
            }
        }
    }
    assert_no_problems(&problems);
}

#[test]
fn target_sync_rejects_every_hostile_binding_naming_the_binding_and_field() {
    let mut problems = Vec::new();
    let entries = corpus("bindings");
    assert!(entries.len() >= 15);
    for entry in entries {
        // An environment variable's value: text, lossily when not UTF-8.
        let text = String::from_utf8_lossy(&entry.bytes).into_owned();
        let outcome = std::panic::catch_unwind(|| sync::parse_bindings(&text));
        let expect = &entry.expect[TS];
        let problem = match (outcome, expect["error"].as_str(), expect["ok"].as_u64()) {
            (Err(_), _, _) => Some("panicked".to_owned()),
            (Ok(Err(err)), Some(field), _) => {
                let message = err.to_string();
                (!message.contains(field) || message.len() > 1024)
                    .then(|| format!("error {:?} should name {field}", cut(&message)))
            }
            (Ok(Ok(bindings)), None, Some(n)) => {
                (bindings.len() as u64 != n).then(|| format!("{} bindings", bindings.len()))
            }
            (Ok(other), _, _) => Some(format!(
                "expected {expect}, got {:?}",
                other.map(|b| b.len())
            )),
        };
        if let Some(problem) = problem {
            problems.push(format!("{}: {problem}", entry.file));
        }
    }
    assert_no_problems(&problems);
}

#[test]
fn health_probe_rejects_every_hostile_configuration_naming_the_variable() {
    let mut problems = Vec::new();
    let entries = corpus("probe");
    assert!(entries.len() >= 8);
    for entry in entries {
        let vars: BTreeMap<String, String> = serde_json::from_slice(&entry.bytes).unwrap();
        let outcome =
            std::panic::catch_unwind(|| ProbeConfig::from_lookup(|var| vars.get(var).cloned()));
        let expect = &entry.expect[PROBE];
        let problem = match (outcome, expect["var"].as_str()) {
            (Err(_), _) => Some("panicked".to_owned()),
            (Ok(Err(err)), Some(var)) => (err.var() != Some(var) || !err.to_string().contains(var))
                .then(|| format!("error {:?} should name {var}", cut(&err.to_string()))),
            (Ok(Ok(_)), None) => None,
            (Ok(other), _) => Some(format!(
                "expected {expect}, got {:?}",
                other.map(|_| "a config").map_err(|e| cut(&e.to_string()))
            )),
        };
        if let Some(problem) = problem {
            problems.push(format!("{}: {problem}", entry.file));
        }
    }
    assert_no_problems(&problems);
}

fn cut(text: &str) -> String {
    text.chars().take(200).collect()
}

/// What the fuzz targets (`fuzz/fuzz_targets/`) check, replayed on every
/// corpus file, every event of `events/`, and every fuzz finding that
/// `make fuzz` copied to `tests/hostile/fuzz/`.
fn parse_like_the_fuzz_targets(data: &[u8]) -> Result<(), String> {
    use frontdoor::cfn::Request;
    use frontdoor::resources::endpoint_targets::EndpointTargetsProps;
    use frontdoor::resources::prefix_list_ingress::PrefixListIngressProps;
    let short = |text: String| {
        (text.len() < 1024)
            .then_some(())
            .ok_or_else(|| format!("an error of {} bytes: {}", text.len(), cut(&text)))
    };
    let text = String::from_utf8_lossy(data);
    if let Err(err) = sync::parse_bindings(&text) {
        let message = err.to_string();
        if !message.contains(sync::BINDINGS_VAR) {
            return Err(format!(
                "a bindings error not naming {}: {message}",
                sync::BINDINGS_VAR
            ));
        }
        short(message)?;
    }
    let Ok(event) = serde_json::from_slice::<Value>(data) else {
        return Ok(());
    };
    let _ = Scope::of_event(&event);
    let _ = serde_json::from_value::<Request>(event.clone());
    for properties in [
        &event,
        event.get("ResourceProperties").unwrap_or(&Value::Null),
        event.get("OldResourceProperties").unwrap_or(&Value::Null),
    ] {
        for err in [
            EndpointTargetsProps::parse(properties).err(),
            PrefixListIngressProps::parse(properties).err(),
        ]
        .into_iter()
        .flatten()
        {
            if err.property.is_empty() {
                return Err(format!("an error naming no property: {err}"));
            }
            short(err.to_string())?;
        }
    }
    Ok(())
}

#[test]
fn the_parsers_survive_every_corpus_file_and_fuzz_finding() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    for directory in [
        root.join("events"),
        hostile_dir().join("events"),
        hostile_dir().join("bindings"),
        hostile_dir().join("fuzz"),
    ] {
        if let Ok(entries) = std::fs::read_dir(&directory) {
            files.extend(entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()));
        }
    }
    assert!(files.len() >= 100, "{} files", files.len());
    let mut problems = Vec::new();
    for path in files {
        let data = std::fs::read(&path).unwrap();
        match std::panic::catch_unwind(|| parse_like_the_fuzz_targets(&data)) {
            Ok(Ok(())) => {}
            Ok(Err(problem)) => problems.push(format!("{}: {problem}", path.display())),
            Err(_) => problems.push(format!("{}: panicked", path.display())),
        }
    }
    assert_no_problems(&problems);
}
