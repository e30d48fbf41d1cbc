//! The local test collector and cross-crate tests.
