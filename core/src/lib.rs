//! # unipool
//!
//! One connection-pool core for Rust, Python, Node and C: the same
//! behaviour, configuration keys and metrics in every language, because it
//! is the same code.
//!
//! - [`RawPool<T>`] pools objects the caller creates and closes itself
//!   (the bindings' foundation): acquire yields an idle connection or a
//!   permit to create one, with blocking, async and callback waits.
//! - [`Pool<M>`] (feature `tokio`) drives a [`Manager`] for Rust code:
//!   connect with timeout, pre-ping, reset on return, background maintenance.
//! - [`BlockingPool<M>`] does the same for threads with a [`SyncManager`]
//!   (no async runtime needed).
//! - [`PoolConfig`] is the one configuration vocabulary (SQLAlchemy's names,
//!   with asyncpg, sqlx, pg-pool and HikariCP aliases), from code, environment,
//!   TOML, URL query or profile.
//! - Metrics follow the OpenTelemetry `db.client.connection.*` conventions and
//!   render to Prometheus text ([`RawPool::metrics_text`]).
//!
//! The behaviour is specified in `docs/semantics.md`.
//!
//! ```
//! # #[cfg(feature = "tokio")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> unipool::Result<()> {
//! use std::convert::Infallible;
//! use unipool::{Manager, Pool, PoolConfig};
//!
//! struct Numbers(std::sync::atomic::AtomicU32);
//! impl Manager for Numbers {
//!     type Connection = u32;
//!     type Error = Infallible;
//!     async fn connect(&self) -> Result<u32, Infallible> {
//!         Ok(self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
//!     }
//!     async fn ping(&self, _: &mut u32) -> Result<(), Infallible> { Ok(()) }
//! }
//!
//! let pool = Pool::new(Numbers(Default::default()), PoolConfig::builder().pool_size(2).build()?)?;
//! let conn = pool.get().await?;
//! assert_eq!(*conn, 0);
//! drop(conn);
//! assert_eq!(pool.status().idle, 1);
//! # Ok(()) }
//! # #[cfg(not(feature = "tokio"))] fn main() {}
//! ```
#![deny(missing_docs, missing_debug_implementations)]
#![warn(unreachable_pub)]

mod blocking;
pub(crate) mod clock;
pub mod config;
mod error;
mod events;
pub mod metrics;
mod pool;
mod sync;

#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite", feature = "redis", feature = "redis-cluster"))]
pub mod connectors;
#[cfg(feature = "tokio")]
mod managed;
#[cfg(feature = "tokio")]
mod manager;

pub use blocking::{BlockingConnection, BlockingPool, SyncManager};
pub use clock::{Clock, Nanos};
pub use config::{ConfigValue, PoolConfig, PoolConfigBuilder, ResetOnReturn};
pub use error::{redact, Error, ErrorKind, Result};
pub use events::{Event, ListenerId};
pub use pool::{Acquire, Checkout, CloseReason, CreatePermit, Grant, Maintenance, PoolStatus, RawPool, WaitHandle};

#[cfg(feature = "tokio")]
pub use managed::{Pool, PooledConnection};
#[cfg(feature = "tokio")]
pub use manager::Manager;
