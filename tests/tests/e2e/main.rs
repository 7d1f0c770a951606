//! End-to-end tests against a real kube-apiserver and etcd, with the real kubectl.

mod control_plane;

fn main() -> std::process::ExitCode {
    vmimage_testenv::suite::run(
        vmimage_testenv::tests![control_plane::sample_catalog_is_served_with_display_names],
        |_, _| Ok(Box::new(())),
    )
}
