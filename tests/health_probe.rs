//! `health-probe` against a local HTTPS server on 127.0.0.1 with a throw-away CA,
//! handed to the probe as `PROBE_CA_BUNDLE`.
//!
//! Configurations are built as structs (or through a lookup closure), never by
//! setting the process environment, so the tests run in parallel.
//!
//! The mutual-TLS and connect-to-name tests give their configuration as the
//! function's variables, so that they read exactly what a deployment sets. The
//! secret test needs moto (`scripts/with-moto`), as the function reaches
//! Secrets Manager through `AWS_ENDPOINT_URL`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use frontdoor::aws::secrets::SecretsManagerStore;
use frontdoor::config::ConfigError;
use frontdoor::dns::HickoryResolver;
use frontdoor::probe::{
    Clock, ExpectedStatus, Failure, ProbeConfig, ProbeSummary, Prober, SECRET_MAX_AGE,
    SECRET_REFRESH_TIMEOUT, TargetResult,
};
use frontdoor_tests::cfn::lambda_deadline_in;
use frontdoor_tests::dns::DnsServer;
use frontdoor_tests::moto;
use frontdoor_tests::proxy::{Fault, Proxy, Rule};
use frontdoor_tests::tls::{
    ServerIdentity, ServerOptions, TempFile, TestCa, TestServer, closed_port,
};
use serde_json::{Value, json};

const NAMESPACE: &str = "FrontdoorTest";
const PROBE_NAME: &str = "test-api";
const CERT_VALIDITY: Duration = Duration::from_secs(30 * 86_400);
const CONNECT_TO_HOST: &str = "api.frontdoor.test";

fn config(url: &str, ca_bundle: &Path) -> ProbeConfig {
    ProbeConfig {
        url: url.parse().expect("test URL"),
        expected_status: ExpectedStatus::default(),
        timeout: Duration::from_secs(5),
        attempts: 1,
        connect_to: Vec::new(),
        ca_bundle: Some(ca_bundle.to_owned()),
        client_cert: None,
        namespace: NAMESPACE.to_owned(),
        probe_name: PROBE_NAME.to_owned(),
    }
}

async fn probe(config: ProbeConfig) -> (Prober, ProbeSummary) {
    let prober = Prober::new(config).expect("valid configuration");
    let summary = prober.probe().await;
    (prober, summary)
}

/// A CA, its bundle file, and a server with a certificate for `localhost` from it.
struct Fixture {
    bundle: TempFile,
    identity: ServerIdentity,
    server: TestServer,
}

impl Fixture {
    async fn start() -> Self {
        Self::start_for("localhost").await
    }

    /// Probes the path with two attempts.
    async fn probe_twice(&self, path: &str) -> ProbeSummary {
        let mut config = self.config(path);
        config.attempts = 2;
        probe(config).await.1
    }

    async fn start_for(dns_name: &str) -> Self {
        let ca = TestCa::new("frontdoor test CA");
        let identity = ca.issue(dns_name, CERT_VALIDITY);
        let server = TestServer::start(&identity).await;
        Self {
            bundle: ca.bundle_file(),
            identity,
            server,
        }
    }

    fn config(&self, path: &str) -> ProbeConfig {
        let url = format!("https://localhost:{}{path}", self.server.port());
        config(&url, self.bundle.path())
    }

    fn expected_days_remaining(&self) -> f64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs_f64();
        (self.identity.not_after_unix as f64 - now) / 86_400.0
    }
}

fn only_target(summary: &ProbeSummary) -> &TargetResult {
    assert_eq!(summary.targets.len(), 1, "{summary:#?}");
    &summary.targets[0]
}

fn emf(prober: &Prober, summary: &ProbeSummary) -> Value {
    let line = prober.metric_set(summary).to_json_line(1_767_225_600_000);
    assert!(!line.contains('\n'), "one line: {line}");
    serde_json::from_str(&line).expect("EMF line is JSON")
}

fn metric_names(doc: &Value) -> Vec<(String, String)> {
    doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .expect("Metrics array")
        .iter()
        .map(|m| {
            (
                m["Name"].as_str().expect("Name").to_owned(),
                m["Unit"].as_str().expect("Unit").to_owned(),
            )
        })
        .collect()
}

/// The metrics of a healthy answer from one target, with their units.
const HEALTHY_METRICS: [(&str, &str); 3] = [
    ("Healthy", "Count"),
    ("LatencyMs", "Milliseconds"),
    ("CertificateDaysRemaining", "None"),
];

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[tokio::test]
async fn a_healthy_answer_is_healthy() {
    let fixture = Fixture::start().await;
    let (_, summary) = probe(fixture.config("/health")).await;

    assert!(summary.healthy, "{summary:#?}");
    assert_eq!(summary.status, Some(200));
    assert_eq!(summary.error, None);
    let target = only_target(&summary);
    assert!(target.healthy);
    assert_eq!(target.address, None);
    assert_eq!(target.remote_address, Some(fixture.server.addr));
    assert_eq!(target.attempts, 1);
    assert_eq!(target.failure, None);
    assert!(summary.latency_ms.is_some_and(|ms| ms > 0.0 && ms < 5000.0));

    let seen = fixture.server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].path, "/health");
    assert_eq!(seen[0].sni.as_deref(), Some("localhost"));
}

#[tokio::test]
async fn certificate_days_remaining_is_the_served_certificates() {
    let fixture = Fixture::start().await;
    let (_, summary) = probe(fixture.config("/health")).await;

    let days = summary.certificate_days_remaining.expect("days remaining");
    let expected = fixture.expected_days_remaining();
    // About 30 days; a minute of slack for the test's own run time.
    assert!(
        (days - expected).abs() < 1.0 / (24.0 * 60.0),
        "{days} vs {expected}"
    );
    assert_eq!(only_target(&summary).certificate_days_remaining, Some(days));
}

#[tokio::test]
async fn an_unexpected_status_is_unhealthy_after_every_attempt() {
    let fixture = Fixture::start().await;
    let summary = fixture.probe_twice("/status/503").await;

    assert!(!summary.healthy);
    assert_eq!(summary.status, Some(503));
    let target = only_target(&summary);
    assert_eq!(target.failure, Some(Failure::UnexpectedStatus));
    assert_eq!(target.attempts, 2);
    let error = summary.error.as_deref().expect("error text");
    assert!(
        error.contains("503") && error.contains("expected 200"),
        "{error}"
    );
    // The answer came over a verified connection, so its certificate is known.
    assert!(summary.certificate_days_remaining.is_some());
    assert_eq!(fixture.server.requests().len(), 2);
    // Each attempt checks the whole path again, handshake included.
    assert_eq!(fixture.server.handshakes(), 2);
}

#[tokio::test]
async fn a_later_attempt_can_make_the_probe_healthy() {
    let fixture = Fixture::start().await;
    let summary = fixture.probe_twice("/flaky").await;
    assert!(summary.healthy, "{summary:#?}");
    assert_eq!(only_target(&summary).attempts, 2);

    let fixture = Fixture::start().await;
    let (_, summary) = probe(fixture.config("/flaky")).await;
    assert!(!summary.healthy, "one attempt sees only the 503");
    assert_eq!(summary.status, Some(503));
}

#[tokio::test]
async fn status_ranges_decide_what_is_healthy() {
    let fixture = Fixture::start().await;
    let expected: ExpectedStatus = "200-299,403".parse().expect("status list");
    let cases = [
        (200, true),
        (204, true),
        (299, true),
        (403, true),
        (302, false),
        (401, false),
        (404, false),
        (500, false),
    ];
    for (code, healthy) in cases {
        let mut config = fixture.config(&format!("/status/{code}"));
        config.expected_status = expected.clone();
        let (_, summary) = probe(config).await;
        assert_eq!(summary.healthy, healthy, "status {code}: {summary:#?}");
        // A redirect is judged as it is, not followed to `/health`.
        assert_eq!(summary.status, Some(code));
    }
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let fixture = Fixture::start().await;
    let mut config = fixture.config("/hang");
    config.timeout = Duration::from_millis(300);
    config.attempts = 2;
    let started = Instant::now();
    let (_, summary) = tokio::time::timeout(Duration::from_secs(10), probe(config))
        .await
        .expect("the probe's own timeout ends it");
    let elapsed = started.elapsed();

    assert!(!summary.healthy);
    let target = only_target(&summary);
    assert_eq!(target.failure, Some(Failure::Timeout));
    assert_eq!(target.attempts, 2);
    assert_eq!(target.status, None);
    assert_eq!(target.latency_ms, None);
    assert!(summary.error.is_some());
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    // The requests did reach the server: the timeout is on the answer.
    assert_eq!(fixture.server.requests().len(), 2);
}

/// Probes a port where nothing listens.
async fn probe_a_closed_port() -> (Prober, ProbeSummary) {
    let fixture = Fixture::start().await;
    let dead = closed_port().await;
    let url = format!("https://localhost:{}/health", dead.port());
    probe(config(&url, fixture.bundle.path())).await
}

#[tokio::test]
async fn connection_refused_is_unhealthy() {
    let (_, summary) = probe_a_closed_port().await;

    assert!(!summary.healthy);
    assert_eq!(summary.status, None);
    let target = only_target(&summary);
    assert_eq!(target.failure, Some(Failure::Connect));
    let error = summary.error.as_deref().expect("error text");
    assert!(error.to_lowercase().contains("refused"), "{error}");
}

#[tokio::test]
async fn a_certificate_for_another_name_fails() {
    let fixture = Fixture::start_for("other.example").await;
    let (_, summary) = probe(fixture.config("/health")).await;

    assert!(!summary.healthy);
    assert_eq!(summary.status, None);
    assert_eq!(only_target(&summary).failure, Some(Failure::Connect));
    let error = summary.error.as_deref().expect("error text");
    assert!(error.contains("certificate not valid for name"), "{error}");
    assert!(
        fixture.server.requests().is_empty(),
        "no request after a bad handshake"
    );
}

#[tokio::test]
async fn an_untrusted_certificate_fails() {
    let fixture = Fixture::start().await;
    let stranger = TestCa::new("another CA");
    let bundle = stranger.bundle_file();
    let url = format!("https://localhost:{}/health", fixture.server.port());

    // Trusting only another CA: the server's certificate must be refused.
    let (_, summary) = probe(config(&url, bundle.path())).await;
    assert!(!summary.healthy);
    assert_eq!(only_target(&summary).failure, Some(Failure::Connect));
    let error = summary.error.as_deref().expect("error text");
    assert!(error.contains("UnknownIssuer"), "{error}");

    // Without any bundle, the system's roots do not know the test CA either.
    let mut config = config(&url, bundle.path());
    config.ca_bundle = None;
    let (_, summary) = probe(config).await;
    assert!(!summary.healthy);
    assert_eq!(only_target(&summary).failure, Some(Failure::Connect));
    assert!(fixture.server.requests().is_empty());
}

#[tokio::test]
async fn connect_to_probes_each_address_with_the_urls_host() {
    let fixture = Fixture::start_for(CONNECT_TO_HOST).await;
    let port = fixture.server.port();
    let url = format!("https://{CONNECT_TO_HOST}:{port}/health");
    let mut config = config(&url, fixture.bundle.path());
    // 127.0.0.2 is loopback too, but the server listens on 127.0.0.1 only.
    config.connect_to = vec![
        "127.0.0.1".parse().expect("ip"),
        "127.0.0.2".parse().expect("ip"),
    ];
    let (prober, summary) = probe(config).await;

    assert_eq!(summary.targets.len(), 2);
    let (good, dead) = (&summary.targets[0], &summary.targets[1]);
    assert_eq!(good.address, Some("127.0.0.1".parse().expect("ip")));
    assert!(good.healthy, "{good:#?}");
    assert_eq!(
        good.remote_address,
        Some(SocketAddr::from(([127, 0, 0, 1], port)))
    );
    assert_eq!(dead.address, Some("127.0.0.2".parse().expect("ip")));
    assert!(!dead.healthy);
    assert_eq!(dead.failure, Some(Failure::Connect));

    // One dead address makes the probe unhealthy, and the error names it.
    assert!(!summary.healthy);
    let error = summary.error.as_deref().expect("error text");
    assert!(error.starts_with("127.0.0.2: "), "{error}");
    assert!(!error.contains("127.0.0.1:"), "{error}");

    // The URL's host went out as SNI and Host, not the address.
    let seen = fixture.server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].sni.as_deref(), Some(CONNECT_TO_HOST));
    assert_eq!(seen[0].host, Some(format!("{CONNECT_TO_HOST}:{port}")));

    let doc = emf(&prober, &summary);
    assert_eq!(doc["Healthy"], json!(0.0));
    assert_eq!(doc["HealthyTargets"], json!(1.0));
    assert_eq!(doc["ProbedTargets"], json!(2.0));
    let mut expected = HEALTHY_METRICS.to_vec();
    expected.extend([("HealthyTargets", "Count"), ("ProbedTargets", "Count")]);
    assert_eq!(metric_names(&doc), pairs(&expected));
}

#[tokio::test]
async fn emf_line_of_a_healthy_probe() {
    let fixture = Fixture::start().await;
    let (prober, summary) = probe(fixture.config("/health")).await;
    let doc = emf(&prober, &summary);

    let aws = &doc["_aws"];
    assert_eq!(aws["Timestamp"], json!(1_767_225_600_000u64));
    let directives = aws["CloudWatchMetrics"].as_array().expect("directives");
    assert_eq!(directives.len(), 1);
    assert_eq!(directives[0]["Namespace"], NAMESPACE);
    assert_eq!(directives[0]["Dimensions"], json!([["Probe"]]));
    assert_eq!(metric_names(&doc), pairs(&HEALTHY_METRICS));
    assert_eq!(doc["Probe"], PROBE_NAME);
    assert_eq!(doc["Healthy"], json!(1.0));
    // serde_json parses floats to within an ulp (no `float_roundtrip`), so compare closely, not exactly.
    let latency = doc["LatencyMs"].as_f64().expect("latency");
    assert!((latency - summary.latency_ms.expect("latency")).abs() < 1e-9);
    let days = doc["CertificateDaysRemaining"].as_f64().expect("days");
    assert!(
        (days - fixture.expected_days_remaining()).abs() < 0.01,
        "{days}"
    );
    let root: Vec<&str> = doc
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut root = root;
    root.sort_unstable();
    assert_eq!(
        root,
        [
            "CertificateDaysRemaining",
            "Healthy",
            "LatencyMs",
            "Probe",
            "_aws"
        ]
    );
}

#[tokio::test]
async fn emf_line_of_an_unreachable_api() {
    let (prober, summary) = probe_a_closed_port().await;
    let doc = emf(&prober, &summary);

    assert_eq!(doc["Healthy"], json!(0.0));
    assert_eq!(doc["Probe"], PROBE_NAME);
    // Nothing answered: no latency or certificate to report.
    assert_eq!(metric_names(&doc), pairs(&[("Healthy", "Count")]));
    assert!(doc.get("LatencyMs").is_none());
    assert!(doc.get("HealthyTargets").is_none());
}

#[tokio::test]
async fn summary_json_has_the_documented_fields() {
    let fixture = Fixture::start().await;
    let (_, summary) = probe(fixture.config("/status/500")).await;
    let doc = serde_json::to_value(&summary).expect("summary serialises");

    assert_eq!(doc["healthy"], json!(false));
    assert_eq!(doc["status"], json!(500));
    assert!(doc["latency_ms"].is_f64());
    assert!(doc["error"].as_str().is_some_and(|e| e.contains("500")));
    assert_eq!(doc["probe"], PROBE_NAME);
    let targets = doc["targets"].as_array().expect("targets");
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0]["failure"], "unexpected_status");
    assert_eq!(targets[0]["address"], Value::Null);
    assert_eq!(
        targets[0]["remote_address"],
        fixture.server.addr.to_string()
    );
}

#[tokio::test]
async fn configuration_from_variables_through_a_lookup() {
    let fixture = Fixture::start().await;
    let bundle = fixture.bundle.path().display().to_string();
    let url = format!("https://localhost:{}/status/403", fixture.server.port());
    let vars = HashMap::from([
        ("PROBE_URL", url.as_str()),
        ("PROBE_EXPECTED_STATUS", "200-299,403"),
        ("PROBE_TIMEOUT_MS", "2000"),
        ("PROBE_ATTEMPTS", "1"),
        ("PROBE_CA_BUNDLE", bundle.as_str()),
    ]);
    let config = ProbeConfig::from_lookup(|var| vars.get(var).map(|v| (*v).to_owned()))
        .expect("valid configuration");
    assert_eq!(config.probe_name, "localhost");
    assert_eq!(config.namespace, "Frontdoor");
    let (prober, summary) = probe(config).await;
    assert!(summary.healthy, "{summary:#?}");
    assert_eq!(summary.status, Some(403));
    assert_eq!(emf(&prober, &summary)["Probe"], "localhost");
}

#[tokio::test]
async fn a_bad_ca_bundle_fails_initialisation_naming_the_variable() {
    let fixture = Fixture::start().await;
    let not_pem = TempFile::new("not.pem", b"no certificates here\n");
    let garbage = TempFile::new(
        "garbage.pem",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    for path in [
        not_pem.path(),
        garbage.path(),
        Path::new("/nonexistent/ca.pem"),
    ] {
        let error = Prober::new(config("https://localhost/health", path))
            .err()
            .unwrap_or_else(|| panic!("{} must be refused", path.display()));
        assert!(
            matches!(
                error,
                ConfigError::Invalid {
                    var: "PROBE_CA_BUNDLE",
                    ..
                }
            ),
            "{error}"
        );
        assert!(error.to_string().contains("PROBE_CA_BUNDLE"), "{error}");
    }
    assert!(Prober::new(fixture.config("/health")).is_ok());
}

#[tokio::test]
async fn an_http_url_is_refused_even_when_built_in_code() {
    let fixture = Fixture::start().await;
    let mut config = fixture.config("/health");
    config.url = "http://localhost/health".parse().expect("URL");
    let error = Prober::new(config).err().expect("http:// must be refused");
    assert_eq!(error.var(), Some("PROBE_URL"));
}

/// A server that requires client certificates from its own client CA.
struct MutualTls {
    bundle: TempFile,
    client_ca: TestCa,
    server: TestServer,
}

impl MutualTls {
    async fn start() -> Self {
        let ca = TestCa::new("frontdoor test CA");
        let client_ca = TestCa::new("frontdoor client CA");
        let server = TestServer::start_with(
            &ca.issue("localhost", CERT_VALIDITY),
            ServerOptions {
                client_ca: Some(&client_ca),
                ..ServerOptions::default()
            },
        )
        .await;
        Self {
            bundle: ca.bundle_file(),
            client_ca,
            server,
        }
    }

    /// The probe's variables, plus `extra`.
    /// A client certificate of the CA the server trusts, as the secret `name`.
    async fn store_client_certificate(&self, secrets: &aws_sdk_secretsmanager::Client, name: &str) {
        secrets
            .create_secret()
            .name(name)
            .secret_string(self.client_ca.issue_client_pem("probe"))
            .send()
            .await
            .expect("CreateSecret");
    }

    fn config(&self, extra: &[(&str, &str)]) -> ProbeConfig {
        let url = format!("https://localhost:{}/health", self.server.port());
        config_from_variables(&url, self.bundle.path(), extra)
    }
}

fn config_from_variables(url: &str, ca_bundle: &Path, extra: &[(&str, &str)]) -> ProbeConfig {
    let bundle = ca_bundle.display().to_string();
    let mut vars = HashMap::from([
        ("PROBE_URL", url),
        ("PROBE_ATTEMPTS", "1"),
        ("PROBE_TIMEOUT_MS", "5000"),
        ("PROBE_CA_BUNDLE", bundle.as_str()),
    ]);
    vars.extend(extra.iter().copied());
    ProbeConfig::from_lookup(|var| vars.get(var).map(|v| (*v).to_owned()))
        .expect("valid configuration")
}

fn error_text(summary: &ProbeSummary) -> &str {
    summary.error.as_deref().expect("error text")
}

#[tokio::test]
async fn mutual_tls_without_a_client_certificate_says_the_server_wants_one() {
    let mtls = MutualTls::start().await;
    let (_, summary) = probe(mtls.config(&[])).await;
    assert_refused_in_the_handshake(
        &mtls,
        &summary,
        "the server requires a client certificate and none is configured",
    );
}

#[tokio::test]
async fn mutual_tls_with_the_client_certificate_file_is_healthy() {
    let mtls = MutualTls::start().await;
    let summary = probe_with_client_file(&mtls, &mtls.client_ca.issue_client_pem("probe")).await;
    assert!(summary.healthy, "{summary:#?}");
    assert_eq!(summary.status, Some(200));
    assert_eq!(mtls.server.requests().len(), 1);
}

#[tokio::test]
async fn mutual_tls_with_a_certificate_from_another_ca_is_unhealthy() {
    let mtls = MutualTls::start().await;
    let stranger = TestCa::new("another client CA");
    let summary = probe_with_client_file(&mtls, &stranger.issue_client_pem("probe")).await;
    assert_refused_in_the_handshake(
        &mtls,
        &summary,
        "the server refused the client certificate (TLS alert UnknownCA)",
    );
}

/// Probes the mutual-TLS server with this PEM in `PROBE_CLIENT_CERT_FILE`.
async fn probe_with_client_file(mtls: &MutualTls, pem: &str) -> ProbeSummary {
    let file = TempFile::new("client.pem", pem.as_bytes());
    let path = file.path().display().to_string();
    probe(mtls.config(&[("PROBE_CLIENT_CERT_FILE", &path)]))
        .await
        .1
}

/// Unhealthy in the TLS handshake, saying why, with no request reaching the API.
fn assert_refused_in_the_handshake(mtls: &MutualTls, summary: &ProbeSummary, why: &str) {
    assert!(!summary.healthy, "{summary:#?}");
    assert_eq!(only_target(summary).failure, Some(Failure::Connect));
    let error = error_text(summary);
    assert!(error.contains(why), "{error}");
    assert!(mtls.server.requests().is_empty());
}

#[tokio::test]
async fn mutual_tls_with_the_client_certificate_from_a_secret_is_healthy() {
    let mtls = MutualTls::start().await;
    // The function's own path: `Prober::start` reaches moto through
    // AWS_ENDPOINT_URL, in moto's default account, so the name is unique.
    let sdk_config = moto::sdk_config(&moto::moto_url()).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk_config);
    let name = format!(
        "probe-client-cert-{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_nanos()
    );
    mtls.store_client_certificate(&secrets, &name).await;

    let prober = Prober::start(mtls.config(&[("PROBE_CLIENT_CERT_SECRET", &name)]))
        .await
        .expect("valid configuration");
    let summary = prober.probe().await;

    assert!(summary.healthy, "{summary:#?}");
    assert_eq!(mtls.server.requests().len(), 1);
}

/// A clock the test moves: the probe's copy of its certificate grows old at once.
#[derive(Clone)]
struct TestClock(Arc<Mutex<Instant>>);

impl Clock for TestClock {
    fn now(&self) -> Instant {
        *self.0.lock().expect("clock")
    }
}

#[tokio::test]
async fn a_stalled_secret_refresh_still_writes_healthy_before_the_deadline_with_the_last_good_identity()
 {
    let mtls = MutualTls::start().await;
    // The function's Secrets Manager client, through a proxy that will stall it.
    let proxy = Proxy::start(&moto::moto_url()).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&moto::sdk_config(&proxy.url).await);
    let name = format!("probe-stalled-{}", std::process::id());
    mtls.store_client_certificate(&secrets, &name).await;
    let clock = TestClock(Arc::new(Mutex::new(Instant::now())));
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let written = Arc::clone(&lines);
    let prober = Prober::with_secret_store_and_clock(
        mtls.config(&[("PROBE_CLIENT_CERT_SECRET", &name)]),
        SecretsManagerStore::new(secrets),
        clock.clone(),
    )
    .await
    .expect("read at initialisation")
    .with_metrics_writer(Box::new(move |metrics| {
        written.lock().expect("lines").push(metrics.to_json_line(0));
        Ok(())
    }));

    // Fifteen minutes on, Secrets Manager accepts the read and never answers.
    proxy.inject(Rule::on("GetSecretValue", Fault::Hang));
    *clock.0.lock().expect("clock") += SECRET_MAX_AGE;
    let deadline = Duration::from_secs(10);
    let started = Instant::now();
    let summary = prober.run(lambda_deadline_in(deadline)).await;
    let elapsed = started.elapsed();

    assert!(summary.healthy, "{summary:#?}");
    assert!(
        elapsed < SECRET_REFRESH_TIMEOUT + Duration::from_secs(2),
        "{elapsed:?}"
    );
    assert_eq!(
        mtls.server.requests().len(),
        1,
        "the last good certificate was presented"
    );
    let lines = lines.lock().expect("lines").clone();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line: Value = serde_json::from_str(&lines[0]).expect("EMF line");
    assert_eq!(line["Healthy"], 1.0, "{line}");
    assert_eq!(
        proxy.faults().len(),
        1,
        "one read tried: {:?}",
        proxy.faults()
    );

    // The next run backs off: no read, no wait.
    let started = Instant::now();
    assert!(prober.run(lambda_deadline_in(deadline)).await.healthy);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(proxy.faults().len(), 1);
}

#[tokio::test]
async fn a_probe_that_outlasts_its_deadline_still_writes_unhealthy_in_time() {
    let fixture = Fixture::start().await;
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let written = Arc::clone(&lines);
    let mut config = fixture.config("/hang");
    config.timeout = Duration::from_secs(20);
    let prober = Prober::new(config)
        .expect("valid configuration")
        .with_metrics_writer(Box::new(move |metrics| {
            written.lock().expect("lines").push(metrics.to_json_line(0));
            Ok(())
        }));
    let started = Instant::now();
    let summary = prober.run(lambda_deadline_in(Duration::from_secs(4))).await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(!summary.healthy);
    assert!(summary.error.unwrap_or_default().contains("deadline"));
    let line: Value = serde_json::from_str(&lines.lock().expect("lines")[0]).expect("EMF line");
    assert_eq!(line["Healthy"], 0.0, "{line}");
}

#[tokio::test]
async fn a_missing_secret_fails_initialisation_naming_the_variable() {
    let mtls = MutualTls::start().await;
    let config = mtls.config(&[("PROBE_CLIENT_CERT_SECRET", "no-such-probe-secret")]);
    let error = Prober::start(config).await.err().expect("missing secret");
    assert_eq!(error.var(), Some("PROBE_CLIENT_CERT_SECRET"), "{error}");
    assert!(
        error.to_string().contains("ResourceNotFoundException"),
        "{error}"
    );
}

#[tokio::test]
async fn connect_to_a_host_name_probes_its_addresses_with_the_urls_host() {
    let ca = TestCa::new("frontdoor test CA");
    let bundle = ca.bundle_file();
    let server = TestServer::start_with(
        &ca.issue(CONNECT_TO_HOST, CERT_VALIDITY),
        ServerOptions {
            all_localhost_addresses: true,
            ..ServerOptions::default()
        },
    )
    .await;
    let port = server.port();
    let url = format!("https://{CONNECT_TO_HOST}:{port}/health");
    let config = config_from_variables(&url, bundle.path(), &[("PROBE_CONNECT_TO", "localhost")]);
    let (prober, summary) = probe(config).await;

    assert!(summary.healthy, "{summary:#?}");
    // Every address of `localhost` was probed, once, and each answered.
    let mut probed: Vec<SocketAddr> = summary
        .targets
        .iter()
        .map(|t| t.remote_address.expect("answered"))
        .collect();
    probed.sort();
    let mut listening = server.addrs.clone();
    listening.sort();
    assert_eq!(probed, listening);
    for target in &summary.targets {
        assert_eq!(target.name.as_deref(), Some("localhost"));
        assert_eq!(target.address, target.remote_address.map(|a| a.ip()));
    }

    // SNI and Host are the URL's host, never `localhost`.
    let seen = server.requests();
    assert_eq!(seen.len(), server.addrs.len());
    for request in seen {
        assert_eq!(request.sni.as_deref(), Some(CONNECT_TO_HOST));
        assert_eq!(request.host, Some(format!("{CONNECT_TO_HOST}:{port}")));
    }

    let doc = emf(&prober, &summary);
    let count = json!(server.addrs.len() as f64);
    assert_eq!(doc["HealthyTargets"], count);
    assert_eq!(doc["ProbedTargets"], count);
}

#[tokio::test]
async fn a_connect_to_name_that_does_not_resolve_is_unhealthy_naming_the_variable() {
    let fixture = Fixture::start_for(CONNECT_TO_HOST).await;
    let url = format!("https://{CONNECT_TO_HOST}:{}/health", fixture.server.port());
    // Resolved on each run, not at initialisation: the probe starts.
    let config = config_from_variables(
        &url,
        fixture.bundle.path(),
        &[("PROBE_CONNECT_TO", "127.0.0.1,no-such-alb.invalid")],
    );
    let (prober, summary) = probe(config).await;

    assert!(!summary.healthy, "{summary:#?}");
    let error = error_text(&summary);
    assert!(
        error.starts_with("PROBE_CONNECT_TO: `no-such-alb.invalid` does not resolve"),
        "{error}"
    );
    assert_eq!(summary.targets.len(), 2);
    assert!(summary.targets[0].healthy, "the address still answers");
    let unresolved = &summary.targets[1];
    assert_eq!(unresolved.failure, Some(Failure::Resolve));
    assert_eq!(unresolved.name.as_deref(), Some("no-such-alb.invalid"));
    assert_eq!(unresolved.address, None);

    let doc = emf(&prober, &summary);
    assert_eq!(doc["Healthy"], json!(0.0));
    assert_eq!(doc["HealthyTargets"], json!(1.0));
    assert_eq!(doc["ProbedTargets"], json!(2.0));
}

#[tokio::test]
async fn a_bad_client_certificate_file_fails_initialisation_naming_the_variable() {
    let mtls = MutualTls::start().await;
    let good = mtls.client_ca.issue_client_pem("probe");
    let other = mtls.client_ca.issue_client_pem("other");
    let certificate_only: String = good
        .split_inclusive('\n')
        .take_while(|l| !l.contains("PRIVATE KEY"))
        .collect();
    let other_key: String = other
        .split_inclusive('\n')
        .skip_while(|l| !l.contains("PRIVATE KEY"))
        .collect();
    let cases = [
        (
            "no key",
            certificate_only.clone(),
            "the PEM holds no private key",
        ),
        (
            "no certificate",
            other_key.clone(),
            "the PEM holds no certificate",
        ),
        (
            "another key",
            format!("{certificate_only}{other_key}"),
            "the private key does not match the certificate",
        ),
    ];
    for (case, pem, reason) in cases {
        let file = TempFile::new("client.pem", pem.as_bytes());
        let path = file.path().display().to_string();
        let error = Prober::new(mtls.config(&[("PROBE_CLIENT_CERT_FILE", &path)]))
            .err()
            .unwrap_or_else(|| panic!("{case}: must be refused"));
        assert_eq!(
            error.var(),
            Some("PROBE_CLIENT_CERT_FILE"),
            "{case}: {error}"
        );
        assert_eq!(
            error.to_string(),
            format!("PROBE_CLIENT_CERT_FILE: {reason}"),
            "{case}"
        );
    }
}

// ---------------------------------------------------------------- the observer (issue 23)

/// One invocation of health-probe, as the function's handler makes it, with 30 s left.
async fn invoke(
    prober: &Prober,
    resolver: &HickoryResolver,
    payload: &Value,
) -> Result<Value, frontdoor::observe::ObserveRequestError> {
    frontdoor::probe::handle(
        prober,
        resolver,
        payload,
        lambda_deadline_in(Duration::from_secs(30)),
    )
    .await
}

/// health-probe invoked with an `observe` request: the domain resolved
/// through the (scripted) VPC resolver, whose load balancer that is, and the
/// probe's request through it, with SNI and `Host` as usual.
#[tokio::test]
async fn an_observe_request_reports_the_answer_and_whose_load_balancer_it_is() {
    let fixture = Fixture::start_for(CONNECT_TO_HOST).await;
    let dns = DnsServer::start().await;
    dns.set_addresses(CONNECT_TO_HOST, &["127.0.0.1"]);
    dns.set_addresses("internal-here.elb.test", &["127.0.0.1", "127.0.0.3"]);
    dns.set_addresses("internal-there.elb.test", &["127.0.0.2"]);
    let url = format!("https://{CONNECT_TO_HOST}:{}/health", fixture.server.port());
    let prober = Prober::new(config(&url, fixture.bundle.path())).expect("valid configuration");
    let resolver = HickoryResolver::new(Some(dns.addr));
    let request = json!({"observe": {"loadBalancers": {
        "eu-west-1": "internal-here.elb.test",
        "eu-central-1": "internal-there.elb.test",
    }}});

    let seen = invoke(&prober, &resolver, &request)
        .await
        .expect("a valid request");

    assert_eq!(seen["domainName"], CONNECT_TO_HOST);
    assert_eq!(seen["addresses"], json!(["127.0.0.1"]));
    assert_eq!(seen["loadBalancer"], "eu-west-1", "{seen:#}");
    assert_eq!(seen["loadBalancers"]["eu-central-1"], json!(["127.0.0.2"]));
    assert_eq!(seen["healthy"], true, "{seen:#}");
    assert_eq!(seen["status"], 200);
    let requests = fixture.server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].sni.as_deref(), Some(CONNECT_TO_HOST));
    // The observation is not the scheduled run: no metric set, no EMF.
    assert!(seen.get("probe").is_none() && seen.get("_aws").is_none());
}

#[tokio::test]
async fn a_malformed_observe_request_is_refused_naming_the_field_and_probes_nothing() {
    let fixture = Fixture::start().await;
    let prober = Prober::new(fixture.config("/health")).expect("valid configuration");
    let resolver = HickoryResolver::new(Some(closed_port().await));
    for (request, field) in [
        (json!({"observe": "eu-west-1"}), "observe"),
        (json!({"observe": {"loadBalancers": []}}), "observe"),
        (json!({"observe": {"loadBalancers": {}}}), "loadBalancers"),
        (json!({"observe": {"regions": ["eu-west-1"]}}), "regions"),
    ] {
        let error = invoke(&prober, &resolver, &request)
            .await
            .expect_err("refused");
        assert!(error.to_string().contains(field), "{request}: {error}");
    }
    // Nothing was probed, so no metric was written: only a run probes and emits.
    assert!(fixture.server.requests().is_empty());
}
