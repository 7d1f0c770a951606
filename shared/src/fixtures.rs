//! Builders for test images: `ImageEntry::test("vmi-1", "ubuntu").in_ns("ns1")`.

use crate::index::{ImageEntry, Scope};

impl ImageEntry {
    /// A Ready OVF cluster image named `name` with display name `display`.
    pub fn test(name: &str, display: &str) -> Self {
        Self {
            ready: true,
            image_type: Some("OVF".into()),
            ..Self::names_only(name, Scope::Cluster, Some(display))
        }
    }

    /// The same image as a `VirtualMachineImage` in `ns`.
    pub fn in_ns(mut self, ns: &str) -> Self {
        self.scope = Scope::Namespace(ns.into());
        self
    }

    /// The same image, not Ready.
    pub fn not_ready(mut self) -> Self {
        self.ready = false;
        self
    }

    /// The same image with `status.type`.
    pub fn of_type(mut self, t: &str) -> Self {
        self.image_type = Some(t.into());
        self
    }

    /// The same image with a product version.
    pub fn with_version(mut self, v: &str) -> Self {
        self.product_version = Some(v.into());
        self
    }

    /// The same image with a label.
    pub fn label(mut self, k: &str, v: &str) -> Self {
        self.labels = self.labels.with(k, v);
        self
    }
}
