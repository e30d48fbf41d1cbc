//! Runnable examples for monlight; see the `examples/` folder:
//!
//! - `quickstart`: reports an error and sends metrics, against your servers
//!   or a local collector it starts (`cargo run -p monlight-examples --example quickstart`).
//!
//! The library holds what the benchmark examples share: [`floor`], the
//! least a request-metrics layer can do, to compare monlight's layer with.

pub mod floor;
