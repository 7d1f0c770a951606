//! Label selectors as kubectl's `-l` takes them; the parser lives in the shared crate
//! because the webhook reads image selectors from VM annotations with the same grammar.

pub use vmimage_shared::label_selector::{Selector, SelectorError};

/// The image selector of `--selector` and `--version` (resolve, pin), if given.
pub fn image_selector(
    labels: Option<&str>,
    version: Option<&str>,
) -> crate::error::Result<Option<vmimage_shared::select::ImageSelector>> {
    if version.is_some() && labels.is_none() {
        return Err(crate::error::Error::Usage(
            "--version needs --selector: give the labels to choose among".into(),
        ));
    }
    labels
        .map(|labels| vmimage_shared::select::ImageSelector::new(labels, version))
        .transpose()
        .map_err(|e| crate::error::Error::Usage(format!("--selector/--version: {e}")))
}
