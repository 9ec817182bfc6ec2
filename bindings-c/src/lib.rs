//! C ABI for unipool: pools opaque `void *` connections through C callbacks.
//!
//! The header `include/unipool.h` is generated from this crate by cbindgen (see build.rs);
//! the doc comments here are the header's comments. Layout:
//! - `error`: status codes, per-thread last error, the panic guard;
//! - `config`: `unipool_config` (shared key vocabulary, env, TOML, profiles) and `unipool_settings`;
//! - `pool`: `unipool_pool`, `unipool_conn`, callbacks, the maintenance thread, status, metrics;
//! - `events`: event callbacks.
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

mod config;
mod error;
mod events;
mod pool;

pub use config::*;
pub use error::*;
pub use events::*;
pub use pool::*;
