//! `kubectl vmimage check -f …`: the webhook's verdict for each VirtualMachine in a set of
//! manifests, before they reach the cluster. Offline with `--catalog` and `--policy`.

use crate::{
    cli::{CheckArgs, Format, Global},
    client,
    error::{Error, Result},
    output,
    pin::{parse_documents, read_inputs, vms_in},
    source::{Scope, Source, list_objects},
};
use k8s_openapi::api::core::v1::Namespace;
use serde::Serialize;
use std::{collections::BTreeMap, io::Write, process::ExitCode};
use vmimage_shared::{
    api::{KindInfo, VmImageRefs},
    decide::{Context, Decision, Denial, decide},
    policy::{self, Policy, Violation},
    resolve::qualified,
};

/// The policy kind, for discovery.
const POLICY: KindInfo = KindInfo {
    group: policy::GROUP,
    kind: policy::KIND,
    plural: policy::PLURAL,
    namespaced: false,
};

/// One VM's verdict, as `-o json` prints it.
#[derive(Debug, Serialize)]
pub struct Checked {
    /// Namespace the VM would be created in.
    pub namespace: String,
    /// VM name.
    pub name: String,
    /// Where it was read.
    pub file: String,
    /// 1-based document number.
    pub document: usize,
    /// `Allowed`, `Warned` or `Denied`.
    pub verdict: &'static str,
    /// Resolved boot image ID, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Every violated rule.
    pub violations: Vec<ViolationOut>,
    /// Why the image references do not resolve (the webhook denies these).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the webhook would warn about (kubectl prints each as `Warning: …`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

fn violations_out(violations: &[Violation]) -> Vec<ViolationOut> {
    violations
        .iter()
        .map(|v| ViolationOut {
            policy: v.policy.clone(),
            mode: v.mode.to_string(),
            rule: v.rule.to_string(),
            message: v.message.clone(),
        })
        .collect()
}

/// One violation, as `-o json` prints it.
#[derive(Debug, Serialize)]
pub struct ViolationOut {
    /// Policy name.
    pub policy: String,
    /// Policy mode.
    pub mode: String,
    /// Rule name.
    pub rule: String,
    /// What is wrong.
    pub message: String,
}

fn read_policies(files: &[String]) -> Result<Vec<Policy>> {
    let mut out = Vec::new();
    for input in read_inputs(files)? {
        let docs =
            parse_documents(&input.text).map_err(|e| Error::Usage(format!("{}: {e}", input.name())))?;
        for (d, doc) in docs.iter().enumerate() {
            let v = &doc.value;
            let items: Vec<&serde_json::Value> = match v["items"].as_array() {
                Some(items) if v["kind"].as_str().is_some_and(|k| k.ends_with("List")) => {
                    items.iter().collect()
                }
                _ => vec![v],
            };
            for item in items.into_iter().filter(|i| i["kind"] == policy::KIND) {
                let p = Policy::from_json(item)
                    .map_err(|e| Error::Usage(format!("{}: document {}: {e}", input.name(), d + 1)))?;
                out.push(p);
            }
        }
    }
    if out.is_empty() {
        return Err(Error::Usage(format!(
            "no {} found in {}",
            policy::KIND,
            files.join(", ")
        )));
    }
    Ok(out)
}

async fn cluster_policies(global: &Global) -> Result<(Vec<Policy>, client::Cluster)> {
    let cluster = client::connect(global).await?;
    let objects = list_objects(&cluster, POLICY, None).await.map_err(|e| match e {
        Error::Failed(_) => Error::Failed(format!(
            "the cluster has no {} API ({}/{}); install vmimage's CRDs or pass --policy FILE",
            policy::KIND,
            policy::GROUP,
            policy::VERSION
        )),
        other => other,
    })?;
    let mut policies = Vec::new();
    for o in objects {
        match serde_json::to_value(&o)
            .map_err(|e| e.to_string())
            .and_then(|v| Policy::from_json(&v).map_err(|e| e.to_string()))
        {
            Ok(p) => policies.push(p),
            Err(e) => crate::note!("warning: skipping {e}"),
        }
    }
    Ok((policies, cluster))
}

pub async fn run(global: &Global, args: CheckArgs) -> Result<ExitCode> {
    let inputs = read_inputs(&args.files)?;
    let mut parsed = Vec::new();
    for input in &inputs {
        parsed
            .push(parse_documents(&input.text).map_err(|e| Error::Usage(format!("{}: {e}", input.name())))?);
    }
    let (policies, cluster) = match (args.policy.is_empty(), &global.catalog) {
        (false, _) => (read_policies(&args.policy)?, None),
        // Offline: the cluster is not asked for anything, so there are no policies to read.
        (true, Some(_)) => {
            crate::note!(
                "note: --catalog without --policy: checking image references only, against no image policy"
            );
            (Vec::new(), None)
        }
        (true, None) => {
            let (p, c) = cluster_policies(global).await?;
            (p, Some(c))
        }
    };
    let (source, default_ns) = Source::open(global).await?;
    let images = source.images(&Scope::All).await?;

    // Namespace labels: Namespace objects in the manifests, else the live cluster, else
    // the label every namespace carries.
    let mut ns_labels: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for docs in &parsed {
        for doc in docs.iter().filter(|d| d.value["kind"] == "Namespace") {
            if let Ok(ns) = serde_json::from_value::<Namespace>(doc.value.clone()) {
                let name = ns.metadata.name.clone().unwrap_or_default();
                let mut labels = ns.metadata.labels.unwrap_or_default();
                labels.insert("kubernetes.io/metadata.name".into(), name.clone());
                ns_labels.insert(name, labels);
            }
        }
    }
    let live_cluster = cluster.as_ref().or(source.cluster());
    let mut results = Vec::new();
    for (input, docs) in inputs.iter().zip(&parsed) {
        for (d, doc) in docs.iter().enumerate() {
            for (_, vm) in vms_in(&doc.value) {
                let mut refs = VmImageRefs::from_json(vm)
                    .map_err(|e| Error::Usage(format!("{}: document {}: {e}", input.name(), d + 1)))?;
                if refs.namespace.is_empty() {
                    refs.namespace = default_ns.clone();
                }
                let ns = refs.namespace.clone();
                if !ns_labels.contains_key(&ns) {
                    let mut labels = BTreeMap::new();
                    if let Some(c) = live_cluster {
                        let api: kube::Api<Namespace> = kube::Api::all(c.client.clone());
                        if let Some(live) = api
                            .get_opt(&ns)
                            .await
                            .map_err(Error::cluster(format!("get namespace {ns}")))?
                        {
                            labels = live.metadata.labels.unwrap_or_default();
                        }
                    }
                    labels.insert("kubernetes.io/metadata.name".into(), ns.clone());
                    ns_labels.insert(ns.clone(), labels);
                }
                let mut checked = Checked {
                    namespace: ns.clone(),
                    name: refs.name.clone(),
                    file: input.name(),
                    document: d + 1,
                    verdict: "Allowed",
                    image: None,
                    violations: Vec::new(),
                    error: None,
                    warnings: Vec::new(),
                };
                let libraries = source
                    .libraries(&qualified::candidates_for_vm(&images.index, &refs))
                    .await?;
                let ctx = Context {
                    index: &images.index,
                    libraries: &libraries,
                    policies: &policies,
                    namespace_labels: &ns_labels[&ns],
                };
                match decide(&ctx, &refs) {
                    Decision::Deny(Denial::Image(e)) => {
                        checked.verdict = "Denied";
                        checked.error = Some(e.to_string());
                    }
                    Decision::Deny(Denial::Policy { plan, verdict }) => {
                        checked.verdict = "Denied";
                        checked.image = plan.images.first().map(|(_, i)| i.name.to_string());
                        checked.violations = violations_out(&verdict.violations);
                    }
                    Decision::Admit(admission) => {
                        checked.image = admission.plan.images.first().map(|(_, i)| i.name.to_string());
                        checked.violations = violations_out(&admission.verdict.violations);
                        checked.warnings = admission.warnings();
                        if !checked.warnings.is_empty() {
                            checked.verdict = "Warned";
                        }
                    }
                }
                results.push(checked);
            }
        }
    }
    let denied = results.iter().filter(|r| r.verdict == "Denied").count();
    let mut out = std::io::stdout().lock();
    match args.output {
        Format::Json | Format::Yaml => output::write_data(&mut out, args.output, &results)?,
        _ => {
            for r in &results {
                writeln!(
                    out,
                    "{}/{} ({}, document {}): {}",
                    r.namespace,
                    r.name,
                    r.file,
                    r.document,
                    r.verdict.to_uppercase()
                )?;
                if let Some(e) = &r.error {
                    writeln!(out, "  {e}")?;
                }
                for w in r.warnings.iter().filter(|w| w.starts_with("vmimage: ")) {
                    writeln!(out, "  warning: {w}")?;
                }
                for v in &r.violations {
                    writeln!(
                        out,
                        "  policy {} ({}) rule {}: {}",
                        v.policy, v.mode, v.rule, v.message
                    )?;
                }
            }
            let warned = results.iter().filter(|r| r.verdict == "Warned").count();
            writeln!(
                out,
                "{} VirtualMachine(s) checked against {} policies: {} denied, {} warned, {} allowed",
                results.len(),
                policies.len(),
                denied,
                warned,
                results.len() - denied - warned
            )?;
        }
    }
    out.flush()?;
    Ok(if denied > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
