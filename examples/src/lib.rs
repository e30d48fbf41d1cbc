//! Runnable examples for monlight; see the `examples/` folder (the
//! quickstart is a package of its own, `examples/quickstart`, so that it
//! builds fast: `cargo run -p monlight-quickstart`).
//!
//! The library holds what the examples share: [`floor`], the least a
//! request-metrics layer can do, to compare monlight's layer with,
//! [`peers`], the layers users would pick instead, and [`local`], where the
//! web examples report.

pub mod floor;
pub mod local;
pub mod peers;
