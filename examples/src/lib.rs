//! Examples; see `examples/`.
