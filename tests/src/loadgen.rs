//! A bounded load generator for the webhook: a fixed number of concurrent requests over
//! TLS (HTTP/2) on loopback, for a bounded time and count, with client-side latencies.

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

/// The AdmissionReview (v1) of a VirtualMachine CREATE in `ns` naming `image`: the
/// request every load run sends.
pub fn create_review(ns: &str, image: &str) -> Bytes {
    let object = serde_json::json!({
        "apiVersion": "vmoperator.vmware.com/v1alpha6", "kind": "VirtualMachine",
        "metadata": {"name": "load-vm", "namespace": ns},
        "spec": {"imageName": image, "className": "best-effort-small", "powerState": "PoweredOn"},
    });
    serde_json::to_vec(&review_of(ns, object))
        .expect("a review serializes")
        .into()
}

/// The AdmissionReview (v1) of a CREATE in `ns` of `object`, whatever it holds (tests of
/// bad input put anything there).
pub fn review_of(ns: &str, object: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "00000000-0000-4000-8000-000000000001",
            "kind": {"group": "vmoperator.vmware.com", "version": "v1alpha6", "kind": "VirtualMachine"},
            "resource": {"group": "vmoperator.vmware.com", "version": "v1alpha6", "resource": "virtualmachines"},
            "namespace": ns, "operation": "CREATE", "userInfo": {"username": "load"},
            "object": object,
            "dryRun": false
        }
    })
}

/// What one run measured.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Requests answered 200.
    pub ok: usize,
    /// Requests that failed or answered otherwise: the sum of the four below.
    pub errors: usize,
    /// Of `errors`: answered, with a status other than 200.
    pub non_200: usize,
    /// Of `errors`: never sent, because no connection could be made (nothing listening,
    /// or the TLS handshake failed).
    pub connect_failed: usize,
    /// Of `errors`: sent (or being sent), but the connection ended before a response head.
    pub no_response: usize,
    /// Of `errors`: a 200 head came, but the body broke off.
    pub broken_body: usize,
    /// The first few broken bodies and requests without a response, with their causes.
    pub failures: Vec<String>,
    /// Client-side latency percentiles.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Slowest request.
    pub max: Duration,
    /// Answers per second over the run.
    pub throughput: f64,
}

/// Sends `body` to `url` from `concurrency` tasks until `duration` passes or `max`
/// requests were sent. Only loopback URLs are accepted. `http2`: one multiplexed HTTP/2
/// connection (what the apiserver uses); else a pool of HTTP/1.1 keep-alive connections.
pub async fn run(
    url: &str,
    ca_pem: &str,
    body: Bytes,
    concurrency: usize,
    duration: Duration,
    max: usize,
    http2: bool,
) -> Result<Stats> {
    let client = https_client(url, ca_pem, http2, concurrency)?;
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, body, url, sent) = (client.clone(), body.clone(), url.to_string(), sent.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut failed = Stats::default();
            while Instant::now() < deadline && sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < max {
                let req = hyper::Request::post(&url)
                    .header("content-type", "application/json")
                    .body(Full::new(body.clone()))
                    .expect("static request");
                let t = Instant::now();
                match client.request(req).await {
                    Ok(res) if res.status() == 200 => match res.into_body().collect().await {
                        Ok(_) => lat.push(t.elapsed()),
                        Err(e) => {
                            failed.broken_body += 1;
                            note(&mut failed.failures, "body broke off", &e);
                        }
                    },
                    Ok(_) => failed.non_200 += 1,
                    Err(e) if e.is_connect() => failed.connect_failed += 1,
                    Err(e) => {
                        failed.no_response += 1;
                        note(&mut failed.failures, "no response", &e);
                    }
                }
            }
            (lat, failed)
        }));
    }
    let mut all = Vec::new();
    let mut failed = Stats::default();
    for t in tasks {
        let (lat, f) = t.await?;
        all.extend(lat);
        failed.non_200 += f.non_200;
        failed.connect_failed += f.connect_failed;
        failed.no_response += f.no_response;
        failed.broken_body += f.broken_body;
        failed.failures.extend(f.failures);
    }
    let elapsed = started.elapsed();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Ok(Stats {
        ok: all.len(),
        errors: failed.non_200 + failed.connect_failed + failed.no_response + failed.broken_body,
        non_200: failed.non_200,
        connect_failed: failed.connect_failed,
        no_response: failed.no_response,
        broken_body: failed.broken_body,
        failures: failed.failures.into_iter().take(5).collect(),
        p50: pct(0.50),
        p99: pct(0.99),
        max: all.last().copied().unwrap_or_default(),
        throughput: all.len() as f64 / elapsed.as_secs_f64(),
    })
}

type HttpsClient =
    Client<hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>, Full<Bytes>>;

/// A client for loopback HTTPS URLs trusting `ca_pem`: one multiplexed HTTP/2 connection
/// (`http2`), else a pool of up to `pool` HTTP/1.1 keep-alive connections.
fn https_client(url: &str, ca_pem: &str, http2: bool, pool: usize) -> Result<HttpsClient> {
    anyhow::ensure!(
        url.starts_with("https://127.0.0.1:"),
        "load is only ever sent to loopback, not {url}"
    );
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.context("reading the CA")?)?;
    }
    let tls = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    // Like Go's client (the apiserver's), with TCP_NODELAY.
    let mut tcp = hyper_util::client::legacy::connect::HttpConnector::new();
    tcp.set_nodelay(true);
    tcp.enforce_http(false);
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only();
    Ok(if http2 {
        Client::builder(TokioExecutor::new())
            .http2_only(true)
            .build(builder.enable_http2().wrap_connector(tcp))
    } else {
        Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(pool)
            .build(builder.enable_http1().wrap_connector(tcp))
    })
}

/// POSTs `body` once to a loopback HTTPS `url` over HTTP/2, as the apiserver does;
/// returns the status and the whole body, or an error if none came within `within`.
pub async fn post(url: &str, ca_pem: &str, body: Bytes, within: Duration) -> Result<(u16, Bytes)> {
    let client = https_client(url, ca_pem, true, 1)?;
    let req = hyper::Request::post(url)
        .header("content-type", "application/json")
        .body(Full::new(body))?;
    tokio::time::timeout(within, async {
        let res = client.request(req).await?;
        let status = res.status().as_u16();
        let body = res.into_body().collect().await?.to_bytes();
        Ok((status, body))
    })
    .await
    .with_context(|| format!("no answer from {url} within {within:?}"))?
}

/// Keeps the first few failures with their whole chain of causes.
fn note(failures: &mut Vec<String>, what: &str, e: &dyn std::error::Error) {
    if failures.len() < 5 {
        let mut text = format!("{what}: {e}");
        let mut source = e.source();
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        failures.push(text);
    }
}

/// Server-side latency quantiles from two scrapes of a Prometheus histogram: the upper
/// bound of the bucket holding the quantile of the requests between the scrapes.
pub fn histogram_quantile(before: &str, after: &str, metric: &str, q: f64) -> Option<f64> {
    let buckets = |text: &str| -> Vec<(f64, f64)> {
        text.lines()
            .filter(|l| l.starts_with(&format!("{metric}_bucket")))
            .filter_map(|l| {
                let le = l.split("le=\"").nth(1)?.split('"').next()?;
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().ok()?
                };
                let count: f64 = l.rsplit(' ').next()?.parse().ok()?;
                Some((le, count))
            })
            .collect()
    };
    let (b, a) = (buckets(before), buckets(after));
    let delta: Vec<(f64, f64)> = a
        .iter()
        .map(|(le, c)| (*le, c - b.iter().find(|(l, _)| l == le).map_or(0.0, |(_, c)| *c)))
        .collect();
    let total = delta.last()?.1;
    if total <= 0.0 {
        return None;
    }
    delta.iter().find(|(_, c)| *c >= q * total).map(|(le, _)| *le)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_bucket_deltas() {
        let before = "x_bucket{le=\"0.001\"} 10\nx_bucket{le=\"0.01\"} 10\nx_bucket{le=\"+Inf\"} 10\n";
        let after = "x_bucket{le=\"0.001\"} 108\nx_bucket{le=\"0.01\"} 110\nx_bucket{le=\"+Inf\"} 110\n";
        assert_eq!(histogram_quantile(before, after, "x", 0.5), Some(0.001));
        assert_eq!(histogram_quantile(before, after, "x", 0.99), Some(0.01));
        assert_eq!(histogram_quantile(after, after, "x", 0.5), None);
    }
}
