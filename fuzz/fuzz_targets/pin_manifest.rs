//! Any text as a manifest to pin: pinned or refused, never a panic. A pinned text is
//! still YAML, and pinning it again changes nothing (pinning is a fixed point). The first
//! byte picks the options: newest selection, content libraries known (qualified names
//! resolve), an image selector for VMs that name no image.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use vmimage_plugin::pin::{PinOptions, pin_text};
use vmimage_shared::{library::Libraries, select::ImageSelector};

fn libraries() -> &'static Libraries {
    static LINKED: OnceLock<Libraries> = OnceLock::new();
    LINKED.get_or_init(|| vmimage_fuzz::libraries().link(vmimage_fuzz::index().iter()))
}

fn selector() -> &'static ImageSelector {
    static SELECTOR: OnceLock<ImageSelector> = OnceLock::new();
    SELECTOR.get_or_init(|| {
        ImageSelector::new("os.image.vmoperator.vmware.com/id", Some(">=20")).expect("a valid selector")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let options = PinOptions {
        newest: flags & 1 == 1,
        libraries: if flags & 2 == 2 {
            libraries()
        } else {
            Libraries::none()
        },
        selector: (flags & 4 == 4).then(selector),
    };
    let index = vmimage_fuzz::index();
    let Ok(first) = pin_text("fuzz.yaml", text, index, "default", options) else {
        return;
    };
    if first.changes.is_empty() {
        assert_eq!(first.text, text, "nothing changed, yet the text did");
        return;
    }
    if !first.problems.is_empty() {
        return;
    }
    let second = pin_text("fuzz.yaml", &first.text, index, "default", options)
        .unwrap_or_else(|e| panic!("the pinned text no longer parses: {e}\n{}", first.text));
    assert!(
        second.changes.is_empty(),
        "pinning twice changed more: {:?}\n{}",
        second.changes,
        first.text
    );
});
