//! One set of trust roots per process (issue 26), and verification as strict
//! as before for the AWS SDK's client and the response PUT. The probe's own
//! refusals (an untrusted CA, another name) are in tests/health_probe.rs.
//!
//! The platform's roots come from `SSL_CERT_FILE` here: a bundle holding one
//! test CA, read by rustls-native-certs exactly as the system's bundle is in
//! Lambda. The kernel counts who opens it (inotify), so the count is what the
//! process did, not what the code says it did: before the change, the SDK's
//! client and reqwest's each opened it.
//!
//! The variable is process-wide and the roots are read once per process, so
//! this file is its own test binary with one test, which sets the variable
//! before anything reads roots.

use std::io::ErrorKind;
use std::path::Path;
use std::time::Duration;

use aws_sdk_ec2::config::{Credentials, Region};
use frontdoor::aws::config::ClientSettings;
use frontdoor::cfn::{Responder, Retries};
use frontdoor::tls::TlsBase;
use frontdoor_tests::tls::{TestCa, TestServer};
use inotify::{EventMask, Inotify, WatchMask};
use tokio::time::Instant;

const DAY: Duration = Duration::from_secs(86_400);

#[tokio::test]
async fn every_client_verifies_against_one_read_of_the_platform_roots() {
    let platform_ca = TestCa::new("platform CA");
    let bundle = platform_ca.bundle_file();
    let opens = OpenCounter::watch(bundle.path());
    // SAFETY: the only test in this binary; no other thread reads the
    // environment while it is written.
    unsafe {
        std::env::set_var("SSL_CERT_FILE", bundle.path());
        std::env::remove_var("SSL_CERT_DIR");
    }

    let trusted = TestServer::start(&platform_ca.issue("localhost", DAY)).await;
    let other_name = TestServer::start(&platform_ca.issue("elsewhere.example", DAY)).await;
    let stranger_ca = TestCa::new("a CA the platform does not know");
    let untrusted = TestServer::start(&stranger_ca.issue("localhost", DAY)).await;

    // What eni-targets makes at initialisation: the SDK's configuration, two
    // clients, and the responder; then the probe's verifier with an extra root.
    let sdk = Sdk::new().await;
    let responder = Responder::new(Retries {
        attempts: 1,
        backoff: Duration::from_millis(1),
    })
    .expect("responder");
    TlsBase::new(vec![stranger_ca.certificate_der()]).expect("probe's verifier");

    // The SDK: the platform's CA and the right name pass; the others are refused.
    sdk.call(&trusted).await.expect("a trusted server");
    assert_eq!(trusted.requests().len(), 2, "EC2 and ELB both reached it");
    let refused = sdk.call(&untrusted).await.expect_err("untrusted CA");
    assert!(refused.contains("UnknownIssuer"), "{refused}");
    let refused = sdk.call(&other_name).await.expect_err("another name");
    assert!(refused.contains("NotValidForName"), "{refused}");

    // The response PUT: the same.
    put(&responder, &trusted).await.expect("a trusted server");
    assert_eq!(trusted.requests().last().unwrap().method, "PUT");
    let refused = put(&responder, &untrusted).await.expect_err("untrusted CA");
    assert!(refused.contains("UnknownIssuer"), "{refused}");
    let refused = put(&responder, &other_name)
        .await
        .expect_err("another name");
    assert!(refused.contains("not valid for name"), "{refused}");
    for server in [&untrusted, &other_name] {
        assert!(server.requests().is_empty(), "no request after a refusal");
    }

    assert_eq!(
        opens.count(),
        1,
        "the platform's bundle is opened once per process, by every client together"
    );
}

/// The two clients eni-targets makes, on the functions' own loader.
struct Sdk {
    config: aws_config::SdkConfig,
}

impl Sdk {
    async fn new() -> Self {
        let settings = ClientSettings {
            max_attempts: 1,
            ..ClientSettings::default()
        };
        let config = settings
            .loader()
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "tests"))
            .load()
            .await;
        let sdk = Self { config };
        // As the functions do: the clients are made at initialisation.
        sdk.clients("https://localhost");
        sdk
    }

    /// Clients on the functions' configuration, sent to `endpoint` by the
    /// services' own configuration, which wins over any `AWS_ENDPOINT_URL`
    /// (`make test` runs the suite with one, for moto).
    fn clients(
        &self,
        endpoint: &str,
    ) -> (aws_sdk_ec2::Client, aws_sdk_elasticloadbalancingv2::Client) {
        let ec2 = aws_sdk_ec2::config::Builder::from(&self.config).endpoint_url(endpoint);
        let elb = aws_sdk_elasticloadbalancingv2::config::Builder::from(&self.config)
            .endpoint_url(endpoint);
        (
            aws_sdk_ec2::Client::from_conf(ec2.build()),
            aws_sdk_elasticloadbalancingv2::Client::from_conf(elb.build()),
        )
    }

    /// One call of each client to `server`. The server answers 200 with an
    /// empty body, which the SDK may or may not parse: only a failure to reach
    /// it, a TLS refusal among them, is an error here.
    async fn call(&self, server: &TestServer) -> Result<(), String> {
        let (ec2, elb) = self.clients(&format!("https://localhost:{}", server.port()));
        let dispatch = |error: String| {
            (error.contains("DispatchFailure") || error.contains("TimeoutError")).then_some(error)
        };
        if let Err(error) = ec2.describe_vpc_endpoints().send().await
            && let Some(error) = dispatch(format!("{error:?}"))
        {
            return Err(error);
        }
        if let Err(error) = elb.describe_target_groups().send().await
            && let Some(error) = dispatch(format!("{error:?}"))
        {
            return Err(error);
        }
        Ok(())
    }
}

async fn put(responder: &Responder, server: &TestServer) -> Result<(), String> {
    let url = format!("https://localhost:{}/response", server.port());
    let until = Instant::now() + Duration::from_secs(5);
    responder
        .put(&url.parse().unwrap(), "{}".to_owned(), until)
        .await
        .map_err(|error| error.to_string())
}

/// Counts the opens of one file by anyone, through the kernel. The kernel
/// merges an event into an identical one still unread, so closes are watched
/// too: open, close, open, close are four events, and each open is counted.
struct OpenCounter {
    inotify: Inotify,
}

impl OpenCounter {
    fn watch(path: &Path) -> Self {
        let inotify = Inotify::init().expect("inotify");
        inotify
            .watches()
            .add(path, WatchMask::OPEN | WatchMask::CLOSE_NOWRITE)
            .expect("watch the bundle");
        Self { inotify }
    }

    fn count(mut self) -> usize {
        let mut buffer = [0; 4096];
        let mut opens = 0;
        loop {
            match self.inotify.read_events(&mut buffer) {
                Ok(events) => {
                    opens += events
                        .filter(|event| event.mask.contains(EventMask::OPEN))
                        .count()
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock => return opens,
                Err(error) => panic!("reading inotify events: {error}"),
            }
        }
    }
}
