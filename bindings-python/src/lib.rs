//! Python binding for the unipool core (`unipool._unipool`).
//!
//! Thin by design: every pool semantic (waiting, FIFO hand-off, slots,
//! overflow, timeouts, generations, metrics, events) lives in the core's
//! `RawPool<Py<PyAny>>`. Python code creates, pings, resets and closes the
//! connection objects itself, on its own thread (or in its own greenlet on the
//! event loop), and this module only moves grants between the two sides.
//!
//! Locking rule: no lock of this module is held while calling into the core
//! or into Python, so a core callback (which may attach to the interpreter)
//! can never deadlock against a thread holding the GIL.

use std::collections::HashMap;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyTuple};

use unipool::{
    Checkout, CloseReason, ConfigValue, CreatePermit, Error, ErrorKind, Event, Grant, PoolConfig,
    PoolStatus,
};

type Obj = Py<PyAny>;
type Core = unipool::RawPool<Obj>;

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// The Python class for each core error kind. The one place kinds are mapped.
fn exception_class_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::PoolTimeout => "PoolTimeoutError",
        ErrorKind::PoolClosed => "PoolClosedError",
        ErrorKind::ConnectFailed => "ConnectError",
        ErrorKind::ConnectTimeout => "ConnectTimeoutError",
        ErrorKind::ConnectionBroken => "ConnectionBrokenError",
        ErrorKind::InvalidConfig => "ConfigError",
        ErrorKind::InvalidUsage => "UsageError",
        ErrorKind::Internal => "InternalError",
        // No wildcard: a kind added to the core must break this build.
    }
}

static EXC_MODULE: PyOnceLock<Obj> = PyOnceLock::new();

fn exceptions_module(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    let m = EXC_MODULE.get_or_try_init(py, || -> PyResult<Obj> {
        Ok(py.import("unipool.exceptions")?.into_any().unbind())
    })?;
    Ok(m.bind(py))
}

fn duration_secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn status_dict<'py>(py: Python<'py>, s: &PoolStatus) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("name", &s.name)?;
    d.set_item("open", s.open)?;
    d.set_item("idle", s.idle)?;
    d.set_item("in_use", s.in_use)?;
    d.set_item("pending", s.pending)?;
    d.set_item("waiting", s.waiting)?;
    d.set_item("max", s.max)?;
    d.set_item("pool_size", s.pool_size)?;
    d.set_item("max_overflow", s.max_overflow)?;
    d.set_item("min_idle", s.min_idle)?;
    d.set_item("overflow", s.overflow)?;
    d.set_item("generation", s.generation)?;
    d.set_item("is_paused", s.is_paused)?;
    d.set_item("is_closed", s.is_closed)?;
    d.set_item("acquired", s.acquired)?;
    d.set_item("created", s.created)?;
    d.set_item("create_failures", s.create_failures)?;
    d.set_item("closed", s.closed)?;
    d.set_item("timeouts", s.timeouts)?;
    d.set_item("pings", s.pings)?;
    d.set_item("ping_failures", s.ping_failures)?;
    d.set_item("leaks_detected", s.leaks_detected)?;
    d.set_item("invalidated", s.invalidated)?;
    Ok(d)
}

fn error_to_pyerr(py: Python<'_>, e: &Error) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let m = exceptions_module(py)?;
        let cls = m.getattr(exception_class_name(e.kind()))?;
        let kw = PyDict::new(py);
        kw.set_item("kind", e.kind().as_str())?;
        kw.set_item("code", e.kind().code())?;
        kw.set_item("retryable", e.kind().is_retryable())?;
        if let Some(s) = e.status() {
            kw.set_item("status", status_dict(py, s)?)?;
        }
        if let Some(w) = e.waited() {
            kw.set_item("waited", duration_secs(w))?;
        }
        if let Some(k) = e.config_key() {
            kw.set_item("config_key", k)?;
        }
        let inst = cls.call((e.to_string(),), Some(&kw))?;
        Ok(PyErr::from_value(inst))
    };
    match build() {
        Ok(err) => err,
        Err(err) => err,
    }
}

trait IntoPyResult<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, Error> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| error_to_pyerr(py, &e))
    }
}

fn usage_error(py: Python<'_>, msg: impl Into<String>) -> PyErr {
    error_to_pyerr(py, &Error::new(ErrorKind::InvalidUsage, msg))
}

/// Builds a core error from a message and a kind name, for `permit.fail()` and
/// `ping_failed()`. The message is the Python exception's type and text.
fn host_error(kind: &str, message: String) -> Error {
    let message = unipool::redact(&message);
    let k = match kind {
        "connect_timeout" => ErrorKind::ConnectTimeout,
        "connection_broken" => ErrorKind::ConnectionBroken,
        _ => ErrorKind::ConnectFailed,
    };
    Error::new(k, message)
}

// ---------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------

fn py_to_config_value(key: &str, v: &Bound<'_, PyAny>) -> PyResult<ConfigValue> {
    let py = v.py();
    if v.is_none() {
        return Ok(ConfigValue::Null);
    }
    if let Ok(b) = v.cast::<pyo3::types::PyBool>() {
        return Ok(ConfigValue::Bool(b.is_true()));
    }
    if v.is_instance_of::<pyo3::types::PyInt>() {
        return match v.extract::<i64>() {
            Ok(i) => Ok(ConfigValue::Int(i)),
            Err(_) => Err(error_to_pyerr(
                py,
                &Error::config(key, v.to_string(), "an integer that fits in 64 bits"),
            )),
        };
    }
    if v.is_instance_of::<pyo3::types::PyFloat>() {
        return Ok(ConfigValue::Float(v.extract::<f64>()?));
    }
    if v.is_instance_of::<pyo3::types::PyString>() {
        return Ok(ConfigValue::Str(v.extract::<String>()?));
    }
    // datetime.timedelta and anything else with total_seconds()
    if let Ok(ts) = v.getattr("total_seconds") {
        if let Ok(secs) = ts.call0().and_then(|s| s.extract::<f64>()) {
            return Ok(ConfigValue::Float(secs));
        }
    }
    let tname = v
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into());
    Err(error_to_pyerr(
        py,
        &Error::config(
            key,
            format!("<{tname}>"),
            "None, bool, int, float, str or datetime.timedelta",
        ),
    ))
}

/// Pool configuration: the core's `PoolConfig` with its whole vocabulary
/// (canonical names, asyncpg/sqlx/pg-pool/HikariCP aliases, camelCase).
#[pyclass(module = "unipool._unipool", name = "PoolConfig")]
#[derive(Clone)]
struct PyPoolConfig {
    inner: PoolConfig,
}

#[pymethods]
impl PyPoolConfig {
    #[new]
    #[pyo3(signature = (**settings))]
    fn new(py: Python<'_>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let mut c = PyPoolConfig { inner: PoolConfig::default() };
        if let Some(s) = settings {
            c.update(py, s)?;
        }
        Ok(c)
    }

    /// Sets one key (any alias); raises ConfigError naming key, value and what is allowed.
    fn set(&mut self, py: Python<'_>, key: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let v = py_to_config_value(key, value)?;
        self.inner.set(key, v).py_err(py)
    }

    /// Sets several keys from a mapping, then validates the combination.
    fn update(&mut self, py: Python<'_>, settings: &Bound<'_, PyDict>) -> PyResult<()> {
        for (k, v) in settings.iter() {
            let key: String = k.extract().map_err(|_| {
                PyTypeError::new_err(format!("configuration keys must be str, got {k}"))
            })?;
            self.set(py, &key, &v)?;
        }
        self.inner.normalize().py_err(py)
    }

    /// Resolves `max_size` into pool_size/max_overflow and checks combinations.
    fn validate(&mut self, py: Python<'_>) -> PyResult<()> {
        self.inner.normalize().py_err(py)
    }

    fn copy(&self) -> Self {
        self.clone()
    }

    /// Effective configuration, canonical names, values as the core prints them.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in self.inner.to_pairs() {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    #[staticmethod]
    #[pyo3(signature = (prefix = None))]
    fn from_env(py: Python<'_>, prefix: Option<&str>) -> PyResult<Self> {
        let inner = match prefix {
            Some(p) => PoolConfig::from_env_prefix(p),
            None => PoolConfig::from_env(),
        }
        .py_err(py)?;
        Ok(PyPoolConfig { inner })
    }

    #[staticmethod]
    fn from_toml(py: Python<'_>, text: &str) -> PyResult<Self> {
        Ok(PyPoolConfig { inner: PoolConfig::from_toml_str(text).py_err(py)? })
    }

    /// Returns (config, url without the pool parameters).
    #[staticmethod]
    fn from_url(py: Python<'_>, url: &str) -> PyResult<(Self, String)> {
        let (inner, rest) = PoolConfig::from_url(url).py_err(py)?;
        Ok((PyPoolConfig { inner }, rest))
    }

    #[staticmethod]
    fn profile(py: Python<'_>, name: &str) -> PyResult<Self> {
        Ok(PyPoolConfig { inner: PoolConfig::profile(name).py_err(py)? })
    }

    #[getter]
    fn name(&self) -> String {
        self.inner.name.clone()
    }
    #[getter]
    fn pool_size(&self) -> usize {
        self.inner.pool_size
    }
    #[getter]
    fn max_overflow(&self) -> i64 {
        self.inner.max_overflow
    }
    #[getter]
    fn min_idle(&self) -> usize {
        self.inner.min_idle
    }
    #[getter]
    fn max_size(&self) -> Option<usize> {
        self.inner.max_size()
    }
    #[getter]
    fn pool_timeout(&self) -> f64 {
        duration_secs(self.inner.pool_timeout)
    }
    #[getter]
    fn connect_timeout(&self) -> f64 {
        duration_secs(self.inner.connect_timeout)
    }
    #[getter]
    fn pool_recycle(&self) -> Option<f64> {
        self.inner.pool_recycle.map(duration_secs)
    }
    #[getter]
    fn idle_timeout(&self) -> Option<f64> {
        self.inner.idle_timeout.map(duration_secs)
    }
    #[getter]
    fn pool_pre_ping(&self) -> bool {
        self.inner.pool_pre_ping
    }
    #[getter]
    fn use_lifo(&self) -> bool {
        self.inner.use_lifo
    }
    #[getter]
    fn max_uses(&self) -> Option<u64> {
        self.inner.max_uses
    }
    #[getter]
    fn leak_detection_threshold(&self) -> Option<f64> {
        self.inner.leak_detection_threshold.map(duration_secs)
    }
    #[getter]
    fn initialization_fail_timeout(&self) -> Option<f64> {
        self.inner.initialization_fail_timeout.map(duration_secs)
    }
    #[getter]
    fn maintenance_interval(&self) -> f64 {
        duration_secs(self.inner.maintenance_interval)
    }
    #[getter]
    fn reset_on_return(&self) -> &'static str {
        self.inner.reset_on_return.as_str()
    }

    fn __repr__(&self) -> String {
        let body: Vec<String> =
            self.inner.to_pairs().into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("PoolConfig({})", body.join(", "))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<PyPoolConfig>() {
            Ok(o) => o.borrow().inner == self.inner,
            Err(_) => false,
        }
    }
}

// ---------------------------------------------------------------------------
// The pool
// ---------------------------------------------------------------------------

/// State shared between the pool object, its permits and its async waiters.
struct Shared {
    core: Core,
    /// Checked-out connections, keyed by the Python object's address. The
    /// core's `Checkout` holds a strong reference, so the address is stable.
    out: Mutex<HashMap<usize, Checkout<Obj>>>,
    /// Objects the host must close that surfaced where no Python caller was
    /// waiting for them (a grant that arrived for a cancelled async waiter).
    orphans: Mutex<Vec<(Obj, CloseReason)>>,
    orphan_count: AtomicUsize,
    /// `retire(obj, reason)`: closes an object nobody else will close (found
    /// expired on acquire, given back by a cancelled waiter, ...). Called with
    /// the interpreter attached, from the binding's own entry points only.
    retire: Option<Obj>,
}

fn key_of(o: &Bound<'_, PyAny>) -> usize {
    o.as_ptr() as usize
}

impl Shared {
    fn store(&self, py: Python<'_>, co: Checkout<Obj>) -> PyResult<Obj> {
        let obj = co.conn().clone_ref(py);
        let key = key_of(obj.bind(py));
        let dup = {
            use std::collections::hash_map::Entry;
            match self.out.lock().entry(key) {
                Entry::Occupied(_) => Some(co),
                Entry::Vacant(v) => {
                    v.insert(co);
                    None
                }
            }
        };
        if let Some(dup) = dup {
            // The same object is already out (a creator that returns a shared
            // object): the holder keeps its lease; this second one leaves the
            // pool again and the misuse is reported.
            drop(dup.detach());
            return Err(usage_error(
                py,
                "the creator returned an object that is already checked out of this pool; \
                 each connection must be a distinct object",
            ));
        }
        Ok(obj)
    }

    fn take(&self, py: Python<'_>, conn: &Bound<'_, PyAny>) -> PyResult<Checkout<Obj>> {
        let co = self.out.lock().remove(&key_of(conn));
        co.ok_or_else(|| {
            usage_error(
                py,
                "connection is not checked out of this pool (returned twice, or from another pool)",
            )
        })
    }

    /// Turns a grant into what Python sees: the idle object, or a Permit.
    fn grant_to_py(
        self: &Arc<Self>,
        py: Python<'_>,
        g: Grant<Obj>,
        with_ping: bool,
    ) -> PyResult<Obj> {
        match g {
            Grant::Idle(co) => {
                let needs_ping = co.needs_ping();
                let obj = self.store(py, co)?;
                if with_ping {
                    Ok(PyTuple::new(py, [obj, needs_ping.into_pyobject(py)?.to_owned().into_any().unbind()])?
                        .into_any()
                        .unbind())
                } else {
                    Ok(obj)
                }
            }
            Grant::Create(p) => {
                let permit = Py::new(
                    py,
                    Permit { permit: Mutex::new(Some(p)), shared: self.clone() },
                )?
                .into_any();
                if with_ping {
                    Ok(PyTuple::new(py, [permit, py.None()])?.into_any().unbind())
                } else {
                    Ok(permit)
                }
            }
        }
    }

    /// Gives a grant back untouched (cancelled waiter). A connection the core
    /// wants closed goes to `orphans` for the host to close later.
    fn give_back(&self, g: Grant<Obj>) {
        match g {
            Grant::Idle(co) => {
                if let Some(pair) = co.release() {
                    let mut o = self.orphans.lock();
                    o.push(pair);
                    self.orphan_count.store(o.len(), Ordering::Release);
                }
            }
            Grant::Create(p) => drop(p),
        }
    }

    /// Everything waiting to be closed by the host.
    fn take_closable(&self) -> Vec<(Obj, CloseReason)> {
        let mut v = self.core.take_retired();
        if self.orphan_count.load(Ordering::Acquire) != 0 {
            let mut o = self.orphans.lock();
            self.orphan_count.store(0, Ordering::Release);
            v.append(&mut o);
        }
        v
    }

    /// Hands retired objects to the `retire` callable (cheap when there are none).
    fn flush_retired(&self, py: Python<'_>) {
        let Some(retire) = &self.retire else { return };
        let items = self.take_closable();
        for (obj, reason) in items {
            if let Err(e) = retire.call1(py, (obj, reason.as_str())) {
                e.write_unraisable(py, Some(retire.bind(py)));
            }
        }
    }
}

#[pyclass(module = "unipool._unipool", name = "RawPool")]
struct PyRawPool {
    shared: ManuallyDrop<Arc<Shared>>,
    forgotten: AtomicBool,
}

impl Drop for PyRawPool {
    fn drop(&mut self) {
        if !self.forgotten.load(Ordering::Acquire) {
            // SAFETY: dropped exactly once, here, and never used afterwards.
            unsafe { ManuallyDrop::drop(&mut self.shared) }
        }
    }
}

fn secs_to_duration(py: Python<'_>, what: &str, s: Option<f64>) -> PyResult<Option<Duration>> {
    match s {
        None => Ok(None),
        Some(v) if v.is_finite() && v >= 0.0 => Ok(Some(Duration::from_secs_f64(v))),
        Some(v) => Err(error_to_pyerr(
            py,
            &Error::new(
                ErrorKind::InvalidUsage,
                format!("{what} = {v}: must be a finite number of seconds >= 0, or None"),
            ),
        )),
    }
}

impl PyRawPool {
    fn sh(&self) -> &Arc<Shared> {
        &self.shared
    }
}

#[pymethods]
impl PyRawPool {
    /// `retire(obj, reason)` closes objects that leave the pool where no
    /// caller is there to close them; without it they are kept for
    /// `take_orphans()` / `maintain()`.
    ///
    /// `manual_clock=True` (tests only): the pool's lifecycle time (recycle,
    /// idle timeout, pre-ping bypass, leak detection) moves only with
    /// `_advance(seconds)`; waiting deadlines stay real time.
    #[new]
    #[pyo3(signature = (config, retire = None, manual_clock = false))]
    fn new(py: Python<'_>, config: &PyPoolConfig, retire: Option<Obj>, manual_clock: bool) -> PyResult<Self> {
        let clock = if manual_clock { unipool::Clock::manual() } else { unipool::Clock::system() };
        let core = Core::with_clock(config.inner.clone(), clock).py_err(py)?;
        Ok(PyRawPool {
            shared: ManuallyDrop::new(Arc::new(Shared {
                core,
                out: Mutex::new(HashMap::new()),
                orphans: Mutex::new(Vec::new()),
                orphan_count: AtomicUsize::new(0),
                retire,
            })),
            forgotten: AtomicBool::new(false),
        })
    }

    #[getter]
    fn config(&self) -> PyPoolConfig {
        PyPoolConfig { inner: self.sh().core.config() }
    }

    #[getter]
    fn name(&self) -> String {
        self.sh().core.config().name
    }

    /// Never waits: the idle object, a Permit (create one), or None.
    /// `with_ping=True`: (object_or_permit, needs_ping) instead of the object.
    #[pyo3(signature = (with_ping = false))]
    fn try_acquire(&self, py: Python<'_>, with_ping: bool) -> PyResult<Option<Obj>> {
        let sh = self.sh();
        let r = match sh.core.try_acquire().py_err(py)? {
            Some(g) => Ok(Some(sh.grant_to_py(py, g, with_ping)?)),
            None => Ok(None),
        };
        sh.flush_retired(py);
        r
    }

    /// Waits (with the GIL released) up to `timeout` seconds (None: the
    /// configured pool_timeout). Returns the idle object or a Permit.
    #[pyo3(signature = (timeout = None))]
    fn acquire(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Obj> {
        self.acquire_impl(py, timeout, false)
    }

    /// Like acquire() but returns (object_or_permit, needs_ping).
    #[pyo3(signature = (timeout = None))]
    fn acquire_ex(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Obj> {
        self.acquire_impl(py, timeout, true)
    }

    /// Starts an asynchronous wait. `wake` is called (on any thread, with the
    /// interpreter attached) exactly once when the wait has an answer; it must
    /// be thread-safe (e.g. a partial of loop.call_soon_threadsafe). Then call
    /// `take()` on the returned Waiter; or `cancel()` it.
    #[pyo3(signature = (timeout, wake))]
    fn acquire_async(&self, py: Python<'_>, timeout: Option<f64>, wake: Obj) -> PyResult<Waiter> {
        let timeout = secs_to_duration(py, "timeout", timeout)?;
        let sh = self.sh().clone();
        let state = Arc::new(Mutex::new(WaitState { cancelled: false, result: None }));
        let st2 = state.clone();
        let sh2 = sh.clone();
        let handle = py.detach(move || {
            sh.core.acquire_callback(timeout, move |res| {
                {
                    let mut st = st2.lock();
                    if st.cancelled {
                        drop(st);
                        if let Ok(g) = res {
                            sh2.give_back(g);
                        }
                        return;
                    }
                    st.result = Some(res);
                }
                let woke = Python::try_attach(|py| wake.call0(py).is_ok()).unwrap_or(false);
                if !woke {
                    // Nobody will ever take it (loop closed, interpreter exiting).
                    let taken = st2.lock().result.take();
                    if let Some(Ok(g)) = taken {
                        sh2.give_back(g);
                    }
                }
            })
        });
        Ok(Waiter { state, handle: Mutex::new(Some(handle)), shared: self.sh().clone() })
    }

    /// Returns a checked-out object. None: kept by the pool. A string (the
    /// close reason): the caller must close the object now.
    fn release(&self, py: Python<'_>, conn: &Bound<'_, PyAny>) -> PyResult<Option<&'static str>> {
        let co = self.sh().take(py, conn)?;
        Ok(co.release().map(|(_obj, r)| r.as_str()))
    }

    /// The object is broken: the pool forgets it (the caller closes it).
    fn invalidate(&self, py: Python<'_>, conn: &Bound<'_, PyAny>) -> PyResult<()> {
        let co = self.sh().take(py, conn)?;
        drop(co.invalidate());
        Ok(())
    }

    /// The object leaves the pool for good; its slot is freed.
    fn detach(&self, py: Python<'_>, conn: &Bound<'_, PyAny>) -> PyResult<()> {
        let co = self.sh().take(py, conn)?;
        drop(co.detach());
        Ok(())
    }

    /// A pre-ping failed: the pool forgets the object (the caller closes it)
    /// and counts the failure.
    #[pyo3(signature = (conn, message = None))]
    fn ping_failed(&self, py: Python<'_>, conn: &Bound<'_, PyAny>, message: Option<String>) -> PyResult<()> {
        let _ = message; // the core counts the failure; the message is the caller's to log
        let co = self.sh().take(py, conn)?;
        drop(co.ping_failed());
        Ok(())
    }

    /// Records a successful pre-ping (for the core's counters).
    fn ping_ok(&self, py: Python<'_>, conn: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut out = self.sh().out.lock();
        match out.get_mut(&key_of(conn)) {
            Some(co) => {
                co.ping_ok();
                Ok(())
            }
            None => Err(usage_error(py, "connection is not checked out of this pool")),
        }
    }

    fn is_checked_out(&self, conn: &Bound<'_, PyAny>) -> bool {
        self.sh().out.lock().contains_key(&key_of(conn))
    }

    /// Objects that must be closed and had no caller to close them:
    /// [(obj, reason)].
    fn take_orphans(&self) -> Vec<(Obj, &'static str)> {
        self.sh().take_closable().into_iter().map(|(o, r)| (o, r.as_str())).collect()
    }

    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        status_dict(py, &self.sh().core.status())
    }

    /// (open, idle, in_use, pending) without building a dict.
    fn counts(&self) -> (usize, usize, usize, usize) {
        let s = self.sh().core.status();
        (s.open, s.idle, s.in_use, s.pending)
    }

    fn metrics_text(&self) -> String {
        self.sh().core.metrics_text()
    }

    /// Calls `listener(event: dict)` for every pool event, on whatever thread
    /// emitted it. Exceptions from the listener are reported as unraisable.
    fn subscribe(&self, listener: Obj) -> u64 {
        let id = self.sh().core.subscribe(move |ev: &Event| {
            Python::try_attach(|py| {
                let r = event_dict(py, ev).and_then(|d| listener.call1(py, (d,)));
                if let Err(e) = r {
                    e.write_unraisable(py, Some(listener.bind(py)));
                }
            });
        });
        listener_id_to_u64(id)
    }

    fn unsubscribe(&self, id: u64) {
        self.sh().core.unsubscribe(listener_id_from_u64(id));
    }

    /// New generation: returns the idle objects for the caller to close;
    /// checked-out ones are closed when they come back.
    fn dispose(&self, py: Python<'_>) -> Vec<Obj> {
        let sh = self.sh().clone();
        py.detach(move || sh.core.dispose())
    }

    fn close(&self, py: Python<'_>) -> Vec<Obj> {
        let sh = self.sh().clone();
        py.detach(move || sh.core.close())
    }

    fn resize(&self, py: Python<'_>, pool_size: usize, max_overflow: i64) -> PyResult<Vec<Obj>> {
        let sh = self.sh().clone();
        py.detach(move || sh.core.resize(pool_size, max_overflow)).py_err(py)
    }

    fn pause(&self) {
        self.sh().core.pause()
    }

    fn resume(&self) {
        self.sh().core.resume()
    }

    #[getter]
    fn closed(&self) -> bool {
        self.sh().core.is_closed()
    }

    /// One maintenance pass: (to_close: [(obj, reason)], to_create: [Permit],
    /// next_run_seconds).
    fn maintain<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let sh = self.sh().clone();
        let sh2 = sh.clone();
        let m = py.detach(move || sh2.core.maintain());
        let close = PyList::empty(py);
        for (obj, reason) in m.to_close.into_iter().chain(sh.take_closable()) {
            close.append((obj, reason.as_str()))?;
        }
        let create = PyList::empty(py);
        for p in m.to_create {
            create.append(Py::new(py, Permit { permit: Mutex::new(Some(p)), shared: sh.clone() })?)?;
        }
        (close, create, duration_secs(m.next_run)).into_pyobject(py)
    }

    /// Fail-fast start: waits (GIL released) until min_idle connections exist.
    fn wait_for_min_idle(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let d = secs_to_duration(py, "timeout", Some(timeout))?.unwrap_or_default();
        let sh = self.sh().clone();
        py.detach(move || sh.core.wait_for_min_idle(d)).py_err(py)
    }

    /// Moves a manual clock forward (see `manual_clock`).
    fn _advance(&self, py: Python<'_>, seconds: f64) -> PyResult<()> {
        let d = secs_to_duration(py, "seconds", Some(seconds))?.unwrap_or_default();
        self.sh().core.clock().advance(d).map_err(|m| usage_error(py, m))
    }

    /// Raises InternalError if the core's slot invariants do not hold.
    fn _check_invariants(&self, py: Python<'_>) -> PyResult<()> {
        self.sh()
            .core
            .check_invariants()
            .map_err(|m| error_to_pyerr(py, &Error::new(ErrorKind::Internal, m)))
    }

    /// After os.fork() in the child: never touch this pool's state again (its
    /// locks may be held by threads that do not exist in the child, and its
    /// connections belong to the parent). Leaks it on purpose.
    fn _forget_after_fork(&self) {
        self.forgotten.store(true, Ordering::Release);
    }
}

impl PyRawPool {
    fn acquire_impl(&self, py: Python<'_>, timeout: Option<f64>, with_ping: bool) -> PyResult<Obj> {
        let sh = self.sh();
        // Fast path: an idle connection or a free slot, without releasing the GIL.
        if let Some(g) = sh.core.try_acquire().py_err(py)? {
            let r = sh.grant_to_py(py, g, with_ping);
            sh.flush_retired(py);
            return r;
        }
        let timeout = secs_to_duration(py, "timeout", timeout)?;
        let sh2 = sh.clone();
        let g = py.detach(move || sh2.core.acquire_blocking(timeout));
        sh.flush_retired(py);
        sh.grant_to_py(py, g.py_err(py)?, with_ping)
    }
}

fn event_dict<'py>(py: Python<'py>, ev: &Event) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    crate::events::fill(py, ev, &d)?;
    Ok(d)
}

mod events;

fn listener_id_to_u64(id: unipool::ListenerId) -> u64 {
    events::listener_id_to_u64(id)
}
fn listener_id_from_u64(id: u64) -> unipool::ListenerId {
    events::listener_id_from_u64(id)
}

// ---------------------------------------------------------------------------
// Permit and Waiter
// ---------------------------------------------------------------------------

/// The right to create one connection (a slot is held). Call exactly one of
/// fulfill(conn), fulfill_idle(conn), fail(message) or abandon(); dropping it
/// unanswered frees the slot.
#[pyclass(module = "unipool._unipool", name = "Permit")]
struct Permit {
    permit: Mutex<Option<CreatePermit<Obj>>>,
    shared: Arc<Shared>,
}

impl Permit {
    fn take(&self, py: Python<'_>) -> PyResult<CreatePermit<Obj>> {
        self.permit
            .lock()
            .take()
            .ok_or_else(|| usage_error(py, "this permit was already used"))
    }
}

#[pymethods]
impl Permit {
    /// The caller created `conn` and now holds it checked out.
    fn fulfill(&self, py: Python<'_>, conn: Obj) -> PyResult<()> {
        let p = self.take(py)?;
        let co = p.fulfill(conn);
        self.shared.store(py, co)?;
        Ok(())
    }

    /// A maintenance-created connection: to the oldest waiter or the idle
    /// set. Returns the object back if the pool cannot take it (closed): the
    /// caller closes it.
    fn fulfill_idle(&self, py: Python<'_>, conn: Obj) -> PyResult<Option<Obj>> {
        let p = self.take(py)?;
        Ok(py.detach(move || p.fulfill_idle(conn)))
    }

    /// Creating failed: records the error (message only: type and text of the
    /// Python exception) and frees the slot.
    #[pyo3(signature = (message, kind = "connect_failed"))]
    fn fail(&self, py: Python<'_>, message: String, kind: &str) -> PyResult<()> {
        let p = self.take(py)?;
        py.detach(move || p.fail(host_error(kind, message)));
        Ok(())
    }

    /// Gives the slot back without recording an error (e.g. cancellation).
    fn abandon(&self, py: Python<'_>) {
        let p = self.permit.lock().take();
        py.detach(move || drop(p));
    }

    #[getter]
    fn used(&self) -> bool {
        self.permit.lock().is_none()
    }

    fn __repr__(&self) -> String {
        format!("<unipool Permit used={}>", self.permit.lock().is_none())
    }
}

struct WaitState {
    cancelled: bool,
    result: Option<Result<Grant<Obj>, Error>>,
}

/// An asynchronous acquire in flight.
#[pyclass(module = "unipool._unipool", name = "Waiter")]
struct Waiter {
    state: Arc<Mutex<WaitState>>,
    handle: Mutex<Option<unipool::WaitHandle<Obj>>>,
    shared: Arc<Shared>,
}

#[pymethods]
impl Waiter {
    /// The answer once `wake` was called: the idle object or a Permit; raises
    /// the pool's error (PoolTimeoutError, PoolClosedError, ...).
    fn take(&self, py: Python<'_>) -> PyResult<Obj> {
        self.take_impl(py, false)
    }

    /// Like take() but returns (object_or_permit, needs_ping).
    fn take_ex(&self, py: Python<'_>) -> PyResult<Obj> {
        self.take_impl(py, true)
    }

    #[getter]
    fn ready(&self) -> bool {
        self.state.lock().result.is_some()
    }

    /// Withdraws the wait. Anything granted meanwhile goes back to the pool;
    /// objects it says must be closed are returned for the caller to close.
    fn cancel(&self, py: Python<'_>) -> Vec<Obj> {
        // (objects the core wants closed go to the pool's `retire` callable
        // when there is one, else they are returned here)
        let taken = {
            let mut st = self.state.lock();
            st.cancelled = true;
            st.result.take()
        };
        let handle = self.handle.lock().take();
        let sh = self.shared.clone();
        py.detach(move || {
            if let Some(h) = handle {
                h.cancel();
            }
            if let Some(Ok(g)) = taken {
                sh.give_back(g);
            }
        });
        if self.shared.retire.is_some() {
            self.shared.flush_retired(py);
            Vec::new()
        } else {
            self.shared.take_closable().into_iter().map(|(o, _)| o).collect()
        }
    }
}

impl Waiter {
    fn take_impl(&self, py: Python<'_>, with_ping: bool) -> PyResult<Obj> {
        let res = {
            let mut st = self.state.lock();
            if st.cancelled {
                return Err(usage_error(py, "this wait was cancelled"));
            }
            st.result.take()
        };
        match res {
            None => Err(usage_error(py, "the wait has no answer yet (call take() after wake)")),
            Some(Err(e)) => {
                self.handle.lock().take();
                Err(error_to_pyerr(py, &e))
            }
            Some(Ok(g)) => {
                self.handle.lock().take();
                let r = self.shared.grant_to_py(py, g, with_ping);
                self.shared.flush_retired(py);
                r
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Module
// ---------------------------------------------------------------------------

/// Masks passwords in text (URL userinfo, password=... pairs), as the core
/// does for every message it produces.
#[pyfunction]
fn redact(text: &str) -> String {
    unipool::redact(text)
}

#[pymodule(gil_used = true)]
fn _unipool(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(redact, m)?)?;
    m.add_class::<PyPoolConfig>()?;
    m.add_class::<PyRawPool>()?;
    m.add_class::<Permit>()?;
    m.add_class::<Waiter>()?;
    let kinds = PyDict::new(m.py());
    for k in ErrorKind::ALL {
        kinds.set_item(k.as_str(), exception_class_name(k))?;
    }
    m.add("ERROR_KINDS", kinds)?;
    Ok(())
}
