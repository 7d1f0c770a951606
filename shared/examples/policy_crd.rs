//! Prints the `VMImagePolicy` CRD generated from its Rust type. `make crds` runs it to
//! write `manifests/crds/vmimage.io_vmimagepolicies.yaml` and the kustomize base's copy;
//! `--kustomize` picks the copy's header.

fn main() {
    let header = if std::env::args().any(|a| a == "--kustomize") {
        "# The policy CRD, for the webhook's kustomize base (kustomize refuses files outside\n\
         # its root). The webhook watches these policies and is not ready until the CRD exists:\n\
         # it is part of the install. Generated from shared/src/policy.rs by `make crds`.\n"
    } else {
        "# vmimage's own API: cluster image policy. Installed in production with the webhook.\n\
         # Generated from shared/src/policy.rs by `make crds`; do not edit.\n"
    };
    print!("{header}{}", vmimage_shared::policy::crd::yaml());
}
