//! HTTP span names (`METHOD /route`, server and client), built once per method
//! and route template.
//!
//! Every request needs its span's name, sampled or not (log lines written while
//! handling it are named after it), and formatting it costs an allocation and a
//! free per request. Route templates and standard methods are few and fixed by the
//! application's code, so each name is built once, kept for the life of the process
//! (`&'static str`, at most [`MAX_NAMES`] of them) and found again through a
//! per-thread map: no lock and no allocation on the request path. Non-standard
//! methods (anything a client sends) are all named `HTTP`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::LazyLock;

use foldhash::HashMap;
use parking_lot::Mutex;

use crate::metrics::HttpMethod;

/// Most names kept; past it, names are formatted per request (still correct).
const MAX_NAMES: usize = 4096;
const METHODS: usize = HttpMethod::Other.index() + 1;

/// Every name kept, shared by all threads (only touched on a thread's first
/// request for a method and route).
static KEPT: LazyLock<Mutex<HashMap<String, &'static str>>> =
    LazyLock::new(|| Mutex::new(HashMap::default()));

thread_local! {
    /// Route → its names by method, for this thread.
    static BY_ROUTE: RefCell<HashMap<Box<str>, [Option<&'static str>; METHODS]>> =
        RefCell::new(HashMap::default());
}

/// `"{method} {route}"`, borrowed from the kept names when possible. A method
/// outside the standard ones is `HTTP` (the OpenTelemetry HTTP conventions' name
/// for `_OTHER`): a client's method token never becomes a span name, which keeps
/// names bounded and free of client-chosen text.
pub(crate) fn span_name(method: HttpMethod, route: &str) -> Cow<'static, str> {
    let method_name = match method {
        HttpMethod::Other => "HTTP",
        m => m.as_str(),
    };
    let kept = BY_ROUTE
        .try_with(|routes| {
            let mut routes = routes.try_borrow_mut().ok()?;
            if let Some(name) = routes.get(route).and_then(|names| names[method.index()]) {
                return Some(name);
            }
            let name = keep(method_name, route)?;
            routes.entry(route.into()).or_default()[method.index()] = Some(name);
            Some(name)
        })
        .ok()
        .flatten();
    match kept {
        Some(name) => Cow::Borrowed(name),
        None => Cow::Owned(format!("{method_name} {route}")),
    }
}

/// Set once [`MAX_NAMES`] are kept: later misses skip the lock.
static FULL: AtomicBool = AtomicBool::new(false);

#[cold]
fn keep(method: &str, route: &str) -> Option<&'static str> {
    if FULL.load(Ordering::Relaxed) {
        return None;
    }
    let name = format!("{method} {route}");
    let mut kept = KEPT.lock();
    if let Some(name) = kept.get(&name) {
        return Some(name);
    }
    if kept.len() >= MAX_NAMES {
        FULL.store(true, Ordering::Relaxed);
        return None;
    }
    // Leaked on purpose: at most MAX_NAMES short strings, for the process's life.
    let leaked: &'static str = Box::leak(name.clone().into_boxed_str());
    kept.insert(name, leaked);
    Some(leaked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kept_and_other_methods_are_http() {
        let a = span_name(HttpMethod::Get, "/api/research/{id}");
        let b = span_name(HttpMethod::Get, "/api/research/{id}");
        assert_eq!(a, "GET /api/research/{id}");
        assert!(matches!((&a, &b), (Cow::Borrowed(x), Cow::Borrowed(y)) if std::ptr::eq(*x, *y)));
        // The same name from another thread is the same kept string.
        let c = std::thread::spawn(|| span_name(HttpMethod::Get, "/api/research/{id}"))
            .join()
            .unwrap();
        assert!(matches!((&a, &c), (Cow::Borrowed(x), Cow::Borrowed(y)) if std::ptr::eq(*x, *y)));
        assert_eq!(span_name(HttpMethod::Post, "/x"), "POST /x");
        let other = span_name(HttpMethod::Other, "/pot");
        assert_eq!(other, "HTTP /pot");
        assert!(matches!(other, Cow::Borrowed(_)), "kept, like the others");
    }
}
