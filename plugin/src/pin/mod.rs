//! `pin`: rewriting VirtualMachine manifests so they name images by VMI ID, keeping
//! everything else byte for byte (comments, key order, quoting, other documents).
//!
//! Documents are parsed once with yaml-rust2, which gives both the values (to find VMs
//! and plan changes with the shared planner) and the source positions (to edit only the
//! bytes of the fields that change).

mod edit;
mod files;
mod locate;

pub use edit::{Edit, apply_edits, edits_for};
pub use files::{Input, read_inputs};
pub use locate::{Document, parse_documents};
