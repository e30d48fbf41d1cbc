//! Runnable examples for monlight; see the `examples/` folder:
//!
//! - `quickstart`: reports an error and sends metrics, against your servers
//!   or a local collector it starts (`cargo run -p monlight-examples --example quickstart`).
