//! Label selectors as kubectl's `-l` takes them; the parser lives in the shared crate
//! because the webhook reads image selectors from VM annotations with the same grammar.

pub use vmimage_shared::label_selector::{Selector, SelectorError};
