//! Core events as Python dicts.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use unipool::{Event, ListenerId};

/// Fills `d` with `{"event": name, "id": .., ...}`; durations in seconds.
pub(crate) fn fill(_py: Python<'_>, ev: &Event, d: &Bound<'_, PyDict>) -> PyResult<()> {
    d.set_item("event", ev.name())?;
    if let Some(id) = ev.connection_id() {
        d.set_item("id", id)?;
    }
    match ev {
        Event::Connect { took, .. } => d.set_item("took", took.as_secs_f64())?,
        Event::ConnectFailed { error } => {
            d.set_item("error", error.to_string())?;
            d.set_item("kind", error.kind().as_str())?;
        }
        Event::Checkout { waited, .. } => d.set_item("waited", waited.as_secs_f64())?,
        Event::Checkin { used, .. } => d.set_item("used", used.as_secs_f64())?,
        Event::Close { reason, .. } => d.set_item("reason", reason.as_str())?,
        Event::Invalidate { .. } => {}
        Event::Timeout { waited } => d.set_item("waited", waited.as_secs_f64())?,
        Event::Leak { held, .. } => d.set_item("held", held.as_secs_f64())?,
        // #[non_exhaustive]: newer kinds still arrive with their name and id.
        #[allow(unreachable_patterns)]
        _ => {}
    }
    Ok(())
}

pub(crate) fn listener_id_to_u64(id: ListenerId) -> u64 {
    id.0
}

pub(crate) fn listener_id_from_u64(id: u64) -> ListenerId {
    ListenerId(id)
}
