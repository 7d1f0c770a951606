//! End-to-end tests against a real kube-apiserver and etcd, with the real kubectl, the
//! real webhook registered with the apiserver, and the simulated publisher.

mod admit;
mod bad_input;
mod check;
mod completion;
mod control_plane;
mod conventions;
mod crd_parity;
mod doc_examples;
mod faults;
mod hostile;
mod krew;
mod lenient;
mod logs;
mod oracle;
mod plugin;
mod policy;
mod printing;
mod publish;
mod reports;
mod security;
mod selection;
mod slow_clients;
mod versions;

use std::any::Any;
use vmimage_testenv::{ControlPlane, publisher, webhook};

/// Starts the webhook (registered, active) and the simulated publisher for every test.
fn setup(cp: &ControlPlane, rt: &tokio::runtime::Handle) -> anyhow::Result<Box<dyn Any + Send>> {
    let webhook = webhook::suite_setup(cp, rt)?;
    let client = rt.block_on(cp.client())?;
    let publisher = rt.spawn(publisher::run(client, std::time::Duration::from_millis(200)));
    // Aborting on drop keeps the publisher from outliving the control plane.
    struct AbortOnDrop(tokio::task::JoinHandle<anyhow::Result<()>>);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    Ok(Box::new((webhook, AbortOnDrop(publisher))))
}

fn main() -> std::process::ExitCode {
    let mut tests = vmimage_testenv::tests![
        control_plane::sample_catalog_is_served_with_display_names,
        control_plane::generated_and_hand_written_images_load_on_the_chosen_crds,
        control_plane::testenv_up_without_a_catalog_registers_the_webhook,
    ];
    tests.extend(plugin::all());
    tests.extend(admit::all());
    tests.extend(check::all());
    tests.extend(completion::all());
    tests.extend(krew::all());
    tests.extend(publish::all());
    tests.extend(policy::all());
    tests.extend(versions::all());
    tests.extend(selection::all());
    tests.extend(reports::all());
    tests.extend(security::all());
    tests.extend(faults::all());
    tests.extend(hostile::all());
    tests.extend(slow_clients::all());
    tests.extend(logs::all());
    tests.extend(bad_input::all());
    tests.extend(oracle::all());
    tests.extend(doc_examples::all());
    tests.extend(conventions::all());
    tests.extend(crd_parity::all());
    tests.extend(lenient::all());
    tests.extend(printing::all());
    vmimage_testenv::suite::run(tests, setup)
}
