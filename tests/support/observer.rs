//! A stand-in for Lambda's `Invoke` of a Region's observer (health-probe's
//! `observe` request), for the operator CLI's tests against moto, which
//! cannot run functions. The CLI reaches it through `AWS_ENDPOINT_URL_LAMBDA`,
//! the SDK's own setting, as it reaches cargo-lambda's emulator in the demo.
//!
//! The function's name says what the VPC's resolver does. In
//! `observer-<mode>-<health check id>`, the answer is this Region's load
//! balancer while that check (in moto) is not inverted; inverted, it moves to
//! the other Region's when `<mode>` is `moves`, and stays when it is `stays`:
//! a zone whose answer never changes, whatever Route 53's API says.

use crate::moto::{REGION, moto_url, sdk_config};
use crate::proxy::{self, Answer, Conn};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{Value, json};
use std::sync::OnceLock;
use tokio::net::TcpListener;

/// The addresses of each Region's load balancer, as the stand-in answers them.
pub const OWN_ADDRESS: &str = "10.0.0.10";
pub const PEER_ADDRESS: &str = "10.1.0.10";

/// The observer's function name for a check and a mode (`moves` or `stays`).
pub fn function_name(mode: &str, health_check_id: &str) -> String {
    format!("observer-{mode}-{health_check_id}")
}

/// The stand-in's URL: one server for the whole test binary, on a thread of
/// its own, so that it outlives each test's runtime.
pub fn endpoint(peer_region: &'static str) -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                sender
                    .send(format!("http://{}", listener.local_addr().unwrap()))
                    .unwrap();
                proxy::serve(listener, move |req, conn| invoke(req, conn, peer_region));
                std::future::pending::<()>().await;
            });
        });
        receiver.recv().unwrap()
    })
    .clone()
}

async fn invoke(req: Request<Incoming>, _conn: Conn, peer_region: &'static str) -> Answer {
    // POST /2015-03-31/functions/<name>/invocations
    let name = req
        .uri()
        .path()
        .split('/')
        .nth(3)
        .unwrap_or_default()
        .to_owned();
    let request: Value =
        serde_json::from_slice(&req.into_body().collect().await?.to_bytes()).unwrap_or(Value::Null);
    let body = match name
        .split_once('-')
        .and_then(|(_, rest)| rest.split_once('-'))
    {
        Some((mode, check)) if request.get("observe").is_some() => {
            let moved = mode == "moves" && inverted(check).await;
            let (region, address) = if moved {
                (peer_region, PEER_ADDRESS)
            } else {
                (REGION, OWN_ADDRESS)
            };
            json!({
                "domainName": "api.internal.example",
                "addresses": [address],
                "loadBalancer": region,
                "loadBalancers": {REGION: [OWN_ADDRESS], peer_region: [PEER_ADDRESS]},
                "healthy": true,
                "status": 200,
                "latencyMs": 3.0,
                "error": null,
            })
        }
        _ => json!({"errorMessage": format!("no such observer request to {name}")}),
    };
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap())
}

async fn inverted(check: &str) -> bool {
    let route53 = aws_sdk_route53::Client::new(&sdk_config(&moto_url()).await);
    route53
        .get_health_check()
        .health_check_id(check)
        .send()
        .await
        .ok()
        .and_then(|out| out.health_check)
        .and_then(|c| c.health_check_config)
        .and_then(|c| c.inverted)
        .unwrap_or(false)
}
