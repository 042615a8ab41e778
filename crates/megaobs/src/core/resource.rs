//! Facts about this process and host that every pillar reports the same way:
//! the default service name and the host name.

/// The service name used when none is configured (`megaagent-pro`, MegaAgent
/// Pro's own): it names the trace resource, the log files and the `service` field.
pub const DEFAULT_SERVICE_NAME: &str = "megaagent-pro";

/// What a service name must be, if `name` is not that: it becomes a file name
/// (`{service}.log`), so no path separators or dots-only names.
pub(crate) fn service_name_problem(name: &str) -> Option<&'static str> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.chars().any(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    (!ok).then_some("1 to 128 characters from A-Z a-z 0-9 - _ . with at least one letter or digit (it names the log files)")
}

/// This machine's host name (`-` if unknown), as syslog and `host.name` use it.
pub(crate) fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `len` bytes into the buffer we own.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let name = if rc == 0 {
        let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    };
    let name: String = name
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(255)
        .collect();
    if name.is_empty() {
        "-".to_string()
    } else {
        name
    }
}
