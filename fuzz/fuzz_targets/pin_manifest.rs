//! Any text as a manifest to pin: pinned or refused, never a panic. A pinned text is
//! still YAML, and pinning it again changes nothing (pinning is a fixed point).

#![no_main]

use libfuzzer_sys::fuzz_target;
use vmimage_plugin::pin::pin_text;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let newest = flags & 1 == 1;
    let index = vmimage_fuzz::index();
    let Ok(first) = pin_text("fuzz.yaml", text, index, "default", newest) else {
        return;
    };
    if first.changes.is_empty() {
        assert_eq!(first.text, text, "nothing changed, yet the text did");
        return;
    }
    if !first.problems.is_empty() {
        return;
    }
    let second = pin_text("fuzz.yaml", &first.text, index, "default", newest)
        .unwrap_or_else(|e| panic!("the pinned text no longer parses: {e}\n{}", first.text));
    assert!(
        second.changes.is_empty(),
        "pinning twice changed more: {:?}\n{}",
        second.changes,
        first.text
    );
});
