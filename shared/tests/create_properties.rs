//! For random catalogs and VirtualMachines (every served layout, CD-ROMs, odd kinds and
//! names): vmimage denies exactly what VM Operator's create-time steps deny (its text
//! first), and after vmimage's patch those steps pick the image they pick on the original
//! object; planning the patched object again changes nothing.

#[path = "support/vmop.rs"]
mod vmop;

use proptest::prelude::*;
use serde_json::{Value, json};
use vmimage_shared::{ImageEntry, Index, api::VmImageRefs, mutate::plan};

const NAMES: &[&str] = &[
    "vmi-1",
    "vmi-2",
    "vmi-0a0044d7c690bcbea",
    "legacy",
    "ubuntu",
    "Ubuntu",
    " ubuntu",
    "rhel/9",
    "vmi-",
];
const KINDS: &[&str] = &[
    "VirtualMachineImage",
    "ClusterVirtualMachineImage",
    "",
    "virtualmachineimage",
];

fn pick(pool: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    prop::sample::select(pool)
}

fn image() -> impl Strategy<Value = ImageEntry> {
    (
        pick(NAMES),
        pick(NAMES),
        prop::option::of(pick(&["ns1", "ns2"])),
        any::<bool>(),
    )
        .prop_map(|(id, display, ns, ready)| {
            let image = ImageEntry::test(id, display);
            let image = match ns {
                Some(ns) => image.in_ns(ns),
                None => image,
            };
            if ready { image } else { image.not_ready() }
        })
}

fn image_ref() -> impl Strategy<Value = Value> {
    prop_oneof![
        (pick(KINDS), pick(NAMES)).prop_map(|(k, n)| json!({"kind": k, "name": n})),
        pick(NAMES).prop_map(|n| json!({"name": n})),
        Just(json!({})),
    ]
}

fn cdrom() -> impl Strategy<Value = Value> {
    (prop::option::of(image_ref()), prop::option::of(any::<bool>())).prop_map(|(image, connected)| {
        let mut c = json!({"name": "cd"});
        if let Some(image) = image {
            c["image"] = image;
        }
        if let Some(connected) = connected {
            c["connected"] = json!(connected);
        }
        c
    })
}

fn vm() -> impl Strategy<Value = Value> {
    (
        pick(&["v1alpha2", "v1alpha4", "v1alpha5", "v1alpha6"]),
        prop::option::of(prop_oneof![Just(""), pick(NAMES)]),
        prop::option::of(image_ref()),
        prop::collection::vec(cdrom(), 0..3),
    )
        .prop_map(|(version, image_name, image, cdroms)| {
            let mut spec = json!({"className": "small"});
            if let Some(n) = image_name {
                spec["imageName"] = json!(n);
            }
            if version != "v1alpha2" {
                if let Some(image) = image {
                    spec["image"] = image;
                }
                if !cdroms.is_empty() {
                    match version {
                        "v1alpha4" => spec["cdrom"] = json!(cdroms),
                        _ => spec["hardware"] = json!({"cdrom": cdroms}),
                    }
                }
            }
            json!({
                "apiVersion": format!("vmoperator.vmware.com/{version}"),
                "kind": "VirtualMachine",
                "metadata": {"name": "vm", "namespace": "ns1"},
                "spec": spec
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn vmimage_decides_as_vm_operator_and_its_patch_is_a_fixed_point(
        images in prop::collection::vec(image(), 0..7),
        vm in vm(),
    ) {
        let index = Index::from_entries(images);
        let refs = VmImageRefs::from_json(&vm).unwrap();
        let theirs = vmop::create(&index, "ns1", &vm);
        match (plan(&index, &refs), &theirs) {
            (Err(ours), Err(message)) => prop_assert!(ours.to_string().starts_with(message.as_str()), "{ours} / {message}"),
            (Ok(p), Err(message)) => prop_assert!(false, "admitted {:?}; VM Operator denies: {message}", p.changes),
            (Err(ours), Ok(_)) => prop_assert!(false, "denied ({ours}); VM Operator admits"),
            (Ok(p), Ok(before)) => {
                let mut patched = vm.clone();
                p.apply_to(&mut patched);
                let after = vmop::create(&index, "ns1", &patched);
                prop_assert_eq!(after.as_ref().map(|o| &o.image), Ok(&before.image), "changes {:?}", p.changes);
                let again = plan(&index, &VmImageRefs::from_json(&patched).unwrap()).unwrap();
                prop_assert!(again.changes.is_empty(), "not a fixed point: {:?} then {:?}", p.changes, again.changes);
                if version_has_no_image(&vm) {
                    prop_assert!(patched["spec"].get("image").is_none());
                }
            }
        }
    }
}

fn version_has_no_image(vm: &Value) -> bool {
    vm["apiVersion"].as_str().is_some_and(|v| v.ends_with("v1alpha2"))
}
