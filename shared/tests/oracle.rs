//! VM Operator's own answers (`fixtures/vmop-oracle-sample.json`, copied from the
//! project's shared test data): randomized catalogs, references and VirtualMachines run
//! through VM Operator's real resolver and the CREATE branch of its webhook. vmimage must
//! agree with every one:
//! - a reference resolves to the same image, or fails with VM Operator's exact message;
//! - a VM VM Operator denies, vmimage denies with VM Operator's text first;
//! - a VM VM Operator admits, vmimage admits, and after vmimage's patch VM Operator's own
//!   create-time steps (modelled in `vmop`, itself checked against every answer) pick
//!   the image VM Operator picked for the original.

#[path = "support/oracle.rs"]
mod oracle;
#[path = "support/vmop.rs"]
mod vmop;

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use vmimage_shared::{Index, api::VmImageRefs, mutate::plan, resolve};

#[derive(Deserialize)]
struct Oracle {
    catalogs: BTreeMap<String, Catalog>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Catalog {
    images: Vec<Value>,
    by_name: BTreeMap<String, BTreeMap<String, Answer>>,
}

#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum Answer {
    Image { kind: String, name: String },
    Error { error: String },
}

#[derive(Deserialize)]
struct Case {
    name: String,
    catalog: String,
    namespace: String,
    #[serde(rename = "ref")]
    reference: Option<String>,
    vm: Option<Value>,
    expect: Value,
}

fn index(catalog: &Catalog) -> Index {
    Index::from_entries(catalog.images.iter().map(oracle::entry))
}

fn load() -> Oracle {
    serde_json::from_str(oracle::ORACLE).expect("the oracle file parses")
}

fn check_resolution(index: &Index, ns: &str, reference: &str, expect: &Answer) -> Result<(), String> {
    match (expect, resolve(index, ns, reference)) {
        (Answer::Image { kind, name }, Ok(r))
            if r.image.kind().as_str() == kind && &*r.image.name == name =>
        {
            Ok(())
        }
        (Answer::Error { error }, Err(e))
            if &e.vm_operator_message() == error && e.to_string().starts_with(error) =>
        {
            Ok(())
        }
        (expect, got) => Err(format!(
            "{reference:?} in {ns}: VM Operator {expect:?}, vmimage {got:?}"
        )),
    }
}

#[test]
fn every_reference_resolves_as_vm_operator_resolves_it() {
    let oracle = load();
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in oracle.cases.iter().filter(|c| c.reference.is_some()) {
        let catalog = &oracle.catalogs[&case.catalog];
        let expect: Answer = serde_json::from_value(case.expect.clone()).unwrap();
        let reference = case.reference.as_deref().unwrap();
        if let Err(e) = check_resolution(&index(catalog), &case.namespace, reference, &expect) {
            failures.push(format!("{}: {e}", case.name));
        }
        checked += 1;
    }
    for (id, catalog) in &oracle.catalogs {
        let index = index(catalog);
        for (ns, answers) in &catalog.by_name {
            for (name, expect) in answers {
                if let Err(e) = check_resolution(&index, ns, name, expect) {
                    failures.push(format!("{id} byName: {e}"));
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 600, "only {checked} resolutions checked");
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_vm_is_admitted_or_denied_as_vm_operator_does() {
    let oracle = load();
    let mut failures = Vec::new();
    let vms: Vec<&Case> = oracle.cases.iter().filter(|c| c.vm.is_some()).collect();
    assert!(vms.len() >= 300);
    for case in vms {
        let index = index(&oracle.catalogs[&case.catalog]);
        if let Err(e) = check_vm(&index, case) {
            failures.push(format!("{}: {e}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn check_vm(index: &Index, case: &Case) -> Result<(), String> {
    let vm = case.vm.as_ref().unwrap();
    let expect = &case.expect;
    // The model of VM Operator's steps must give VM Operator's own answer first.
    let modelled = vmop::create(index, &case.namespace, vm);
    vmop::agrees(&modelled, expect)
        .map_err(|e| format!("the model of VM Operator disagrees with it: {e}"))?;
    let refs = VmImageRefs::from_json(vm).map_err(|e| format!("unreadable: {e}"))?;
    match (expect["allowed"].as_bool().unwrap(), plan(index, &refs)) {
        (false, Err(e)) => {
            let want = expect["error"].as_str().unwrap();
            if e.to_string().starts_with(want) {
                Ok(())
            } else {
                Err(format!("denied with {e:?}, VM Operator says {want:?}"))
            }
        }
        (false, Ok(p)) => Err(format!(
            "admitted ({:?}); VM Operator denies: {}",
            p.changes, expect["error"]
        )),
        (true, Err(e)) => Err(format!("denied ({e}); VM Operator admits")),
        (true, Ok(p)) => {
            let mut patched = vm.clone();
            p.apply_to(&mut patched);
            let after = vmop::create(index, &case.namespace, &patched);
            match (&after, &modelled) {
                (Ok(a), Ok(b)) if a.image == b.image => Ok(()),
                _ => Err(format!(
                    "after vmimage's patch ({:?}) VM Operator gives {after:?}, on the original {modelled:?}",
                    p.changes
                )),
            }
        }
    }
}
