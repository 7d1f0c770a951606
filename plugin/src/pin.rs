//! Rewriting VirtualMachine manifests to VMI IDs.
