//! Builders for test images: `ImageEntry::test("vmi-1", "ubuntu").in_ns("ns1")`.

use crate::index::{ImageEntry, Scope};

impl ImageEntry {
    /// A Ready OVF cluster image named `name` with display name `display`.
    pub fn test(name: &str, display: &str) -> Self {
        Self {
            name: name.into(),
            scope: Scope::Cluster,
            display_name: Some(display.into()),
            ready: true,
            image_type: Some("OVF".into()),
            labels: Default::default(),
            product_version: None,
            os_version: None,
            os_id: None,
            provider: None,
            created: None,
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
