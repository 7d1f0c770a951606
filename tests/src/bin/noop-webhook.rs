//! `noop-webhook` (for `make bench`): an admission webhook that does nothing, over the
//! same TLS and HTTP stack as vmimage's, so the bench can show what the hop itself costs.
//! It allows every review unchanged, except the registration probe VM (named
//! `vmimage-webhook-probe`), which it denies so the harness sees it is being called.
//! With `--patch FILE` it answers every other review with that fixed JSON patch: the
//! cost of a hop that mutates, without any lookup. With `--answer FILE` it answers with
//! that whole AdmissionResponse (its uid replaced): what vmimage's answer, byte for byte,
//! costs the apiserver, without vmimage's server.

use anyhow::{Context, Result};
use axum::{Json, Router, routing::post};
use base64::Engine as _;
use serde_json::{Value, json};
use std::{net::SocketAddr, sync::Arc};

#[derive(clap::Parser)]
struct Args {
    /// Address to serve HTTPS on.
    #[arg(long)]
    listen: SocketAddr,
    /// PEM certificate chain.
    #[arg(long)]
    tls_cert: std::path::PathBuf,
    /// PEM private key.
    #[arg(long)]
    tls_key: std::path::PathBuf,
    /// A JSON patch to answer every review with.
    #[arg(long, conflicts_with = "answer")]
    patch: Option<std::path::PathBuf>,
    /// An AdmissionResponse (JSON) to answer every review with, its uid replaced.
    #[arg(long)]
    answer: Option<std::path::PathBuf>,
}

/// What every review but the probe is answered with.
enum Answer {
    Allow,
    Patch(String),
    Replay(Value),
}

async fn review(answer: Arc<Answer>, Json(review): Json<Value>) -> Json<Value> {
    let request = &review["request"];
    let probe = request["name"] == "vmimage-webhook-probe"
        || request["object"]["metadata"]["name"] == "vmimage-webhook-probe";
    let mut response = json!({"uid": request["uid"], "allowed": !probe});
    if probe {
        response["status"] = json!({"code": 403, "message": "noop-webhook: registration probe"});
    } else {
        match &*answer {
            Answer::Allow => {}
            Answer::Patch(patch) => {
                response["patchType"] = json!("JSONPatch");
                response["patch"] = json!(patch);
            }
            Answer::Replay(whole) => {
                response = whole.clone();
                response["uid"] = request["uid"].clone();
            }
        }
    }
    Json(json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Args = clap::Parser::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&args.tls_cert, &args.tls_key)
        .await
        .context("loading the TLS certificate")?;
    let read =
        |path: &std::path::Path| std::fs::read(path).with_context(|| format!("reading {}", path.display()));
    let answer = Arc::new(match (&args.patch, &args.answer) {
        (Some(path), _) => Answer::Patch(base64::engine::general_purpose::STANDARD.encode(read(path)?)),
        (None, Some(path)) => Answer::Replay(
            serde_json::from_slice(&read(path)?)
                .with_context(|| format!("{} is not an AdmissionResponse in JSON", path.display()))?,
        ),
        (None, None) => Answer::Allow,
    });
    let app = Router::new().route("/mutate", post(move |body| review(answer.clone(), body)));
    axum_server::bind_rustls(args.listen, tls)
        .serve(app.into_make_service())
        .await
        .context("serving")
}
