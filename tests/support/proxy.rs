//! A recording proxy between the functions and moto_server: it counts the
//! requests that pass through it by AWS action.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Proxy {
    pub url: String,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    /// Starts a proxy in front of `upstream` (e.g. moto's URL).
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let calls = Arc::new(Mutex::new(Vec::new()));
        let client = reqwest::Client::new();
        let upstream = upstream.trim_end_matches('/').to_owned();
        let recorded = Arc::clone(&calls);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (client, upstream, recorded) =
                    (client.clone(), upstream.clone(), Arc::clone(&recorded));
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        forward(client.clone(), upstream.clone(), Arc::clone(&recorded), req)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { url, calls }
    }

    /// Every action seen, in order.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    /// How many times each action was called.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for call in self.calls() {
            *counts.entry(call).or_default() += 1;
        }
        counts
    }

    pub fn count(&self, action: &str) -> usize {
        self.calls().iter().filter(|c| *c == action).count()
    }

    pub fn reset(&self) {
        self.calls.lock().unwrap().clear();
    }
}

/// The AWS action of a request: the query protocol's form field `Action=`,
/// the JSON protocols' `X-Amz-Target`, or else the REST path.
pub fn action_of(headers: &hyper::HeaderMap, path: &str, body: &[u8]) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return target.rsplit('.').next().unwrap_or(target).to_owned();
    }
    let form = String::from_utf8_lossy(body);
    form.split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .map(str::to_owned)
        .unwrap_or_else(|| path.to_owned())
}

async fn forward(
    client: reqwest::Client,
    upstream: String,
    recorded: Arc<Mutex<Vec<String>>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_owned();
    recorded
        .lock()
        .unwrap()
        .push(action_of(&parts.headers, parts.uri.path(), &body));
    let mut upstream_req = client
        .request(parts.method, format!("{upstream}{path}"))
        .body(body);
    for (name, value) in &parts.headers {
        if name != hyper::header::HOST && name != hyper::header::CONTENT_LENGTH {
            upstream_req = upstream_req.header(name, value);
        }
    }
    let response = match upstream_req.send().await {
        Ok(response) => response,
        Err(err) => {
            return Ok(Response::builder()
                .status(502)
                .body(Full::new(Bytes::from(err.to_string())))
                .unwrap());
        }
    };
    let mut builder = Response::builder().status(response.status().as_u16());
    for (name, value) in response.headers() {
        if name != hyper::header::CONTENT_LENGTH && name != hyper::header::TRANSFER_ENCODING {
            builder = builder.header(name.as_str(), value.as_bytes());
        }
    }
    let bytes = response.bytes().await.unwrap_or_default();
    Ok(builder.body(Full::new(bytes)).unwrap())
}
