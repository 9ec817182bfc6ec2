//! The [`Manager`] trait: how the Rust front end creates, checks, resets and
//! closes connections of one kind.

use std::future::Future;

use crate::config::ResetOnReturn;

/// Creates, checks, resets and closes connections for a [`Pool`](crate::Pool).
///
/// Only `connect` and `ping` are required. The pool applies `connect_timeout`
/// around `connect` and `ping`, so implementations need not.
pub trait Manager: Send + Sync + 'static {
    /// The connection type handed out (a `PooledConnection` derefs to it).
    type Connection: Send + 'static;
    /// The driver's error type; it becomes the `source` of unipool errors.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Opens a new connection.
    fn connect(&self) -> impl Future<Output = Result<Self::Connection, Self::Error>> + Send;

    /// Checks that a connection still works (`SELECT 1`, `PING`). Called before
    /// handing out an idle connection when `pool_pre_ping` is on.
    fn ping(&self, conn: &mut Self::Connection) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Whether [`reset`](Self::reset) has anything to do for this connection
    /// (e.g. a transaction is open). Returning `false` lets the pool return the
    /// connection without scheduling any work. Default: `false`.
    fn needs_reset(&self, _conn: &mut Self::Connection, _how: ResetOnReturn) -> bool {
        false
    }

    /// Brings a returned connection back to a clean state (roll back an open
    /// transaction, ...). An error discards the connection.
    fn reset(
        &self,
        _conn: &mut Self::Connection,
        _how: ResetOnReturn,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        async { Ok(()) }
    }

    /// Closes a connection that leaves the pool. Default: drop it.
    fn close(&self, conn: Self::Connection) -> impl Future<Output = ()> + Send {
        async move { drop(conn) }
    }

    /// A cheap synchronous check for connections known to be broken (the
    /// driver saw the socket close); such connections are discarded on checkout.
    fn has_broken(&self, _conn: &mut Self::Connection) -> bool {
        false
    }

    /// Whether a connect error may go away by retrying (network, server
    /// starting) as opposed to a permanent one (bad password, unknown
    /// database). `get()` keeps retrying transient errors until its deadline
    /// and returns permanent ones at once. Default: `true`.
    fn is_transient(&self, _err: &Self::Error) -> bool {
        true
    }
}
