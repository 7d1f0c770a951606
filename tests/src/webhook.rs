//! Running vmimage's webhook next to a local control plane and registering it with a URL
//! client config (there are no Pods or Services behind a local apiserver).
