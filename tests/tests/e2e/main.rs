//! End-to-end tests against a real kube-apiserver and etcd, with the real kubectl.

mod control_plane;
mod plugin;

fn main() -> std::process::ExitCode {
    let mut tests = vmimage_testenv::tests![control_plane::sample_catalog_is_served_with_display_names];
    tests.extend(plugin::all());
    vmimage_testenv::suite::run(tests, |_, _| Ok(Box::new(())))
}
