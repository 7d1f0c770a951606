//! Any text as a catalog file: parsed or refused with an error, never a panic; a parsed
//! catalog indexes, and every display name in it resolves or fails cleanly.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vmimage_shared::{catalog::Catalog, index::Index};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(catalog) = Catalog::parse("fuzz.yaml", text) else {
        return;
    };
    let index = Index::from_entries(catalog.entries());
    for entry in index.iter() {
        let namespace = entry.scope.namespace().unwrap_or("default");
        for reference in [&*entry.name, entry.display_name.as_deref().unwrap_or_default()] {
            let _ = vmimage_shared::resolve::resolve(&index, namespace, reference);
        }
    }
});
