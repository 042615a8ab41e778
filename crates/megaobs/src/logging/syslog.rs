//! Syslog output: RFC 5424 messages over a unix datagram socket, UDP, or TCP
//! with octet-counted framing (RFC 6587).
//!
//! A small formatter of our own rather than a crate: the header is one line of
//! fixed fields, and owning the transport lets the writer thread count outages
//! and reconnect (TCP) without ever blocking the application.

use std::io::{self, Write};
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
#[cfg(unix)]
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use tracing::Level;

use super::config::SyslogTarget;
use super::timestamp::write_rfc3339_millis;
use crate::error::{Error, Result};

/// Facility `user` (1).
const FACILITY: u8 = 1;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

enum Transport {
    #[cfg(unix)]
    Unix(UnixDatagram, PathBuf),
    Udp(UdpSocket),
    Tcp {
        addr: String,
        stream: Option<TcpStream>,
        last_attempt: Instant,
    },
}

/// A syslog sink owned by the writer thread.
pub(crate) struct Syslog {
    transport: Transport,
    hostname: String,
    app_name: String,
    pid: u32,
    buf: Vec<u8>,
}

impl std::fmt::Debug for Syslog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Syslog")
            .field("app_name", &self.app_name)
            .finish_non_exhaustive()
    }
}

fn syslog_err(target: &str, e: io::Error) -> Error {
    Error::Syslog {
        target: target.to_string(),
        source: e,
    }
}

impl Syslog {
    /// Connects to `target`; an unreachable target is an error here (later
    /// outages are the writer's to count and retry).
    pub fn connect(target: &SyslogTarget, app_name: &str) -> Result<Self> {
        let transport = match target {
            #[cfg(unix)]
            SyslogTarget::Unix(path) => {
                let name = format!("unix://{}", path.display());
                let sock = UnixDatagram::unbound().map_err(|e| syslog_err(&name, e))?;
                sock.connect(path).map_err(|e| syslog_err(&name, e))?;
                sock.set_nonblocking(true)
                    .map_err(|e| syslog_err(&name, e))?;
                Transport::Unix(sock, path.clone())
            }
            #[cfg(not(unix))]
            SyslogTarget::Unix(path) => {
                return Err(syslog_err(
                    &format!("unix://{}", path.display()),
                    io::Error::new(
                        io::ErrorKind::Unsupported,
                        "unix sockets need a unix system",
                    ),
                ))
            }
            SyslogTarget::Udp(addr) => {
                let name = format!("udp://{addr}");
                let resolved = addr
                    .to_socket_addrs()
                    .map_err(|e| syslog_err(&name, e))?
                    .next()
                    .ok_or_else(|| {
                        syslog_err(&name, io::Error::other("address resolves to nothing"))
                    })?;
                let bind = if resolved.is_ipv4() {
                    "0.0.0.0:0"
                } else {
                    "[::]:0"
                };
                let sock = UdpSocket::bind(bind).map_err(|e| syslog_err(&name, e))?;
                sock.connect(resolved).map_err(|e| syslog_err(&name, e))?;
                Transport::Udp(sock)
            }
            SyslogTarget::Tcp(addr) => {
                let name = format!("tcp://{addr}");
                let stream = tcp_connect(addr).map_err(|e| syslog_err(&name, e))?;
                Transport::Tcp {
                    addr: addr.clone(),
                    stream: Some(stream),
                    last_attempt: Instant::now(),
                }
            }
        };
        Ok(Self {
            transport,
            hostname: crate::core::resource::hostname(),
            app_name: app_name
                .chars()
                .filter(|c| c.is_ascii_graphic())
                .take(48)
                .collect(),
            pid: std::process::id(),
            buf: Vec::with_capacity(1024),
        })
    }

    /// Sends one message with the severity of `level`.
    pub fn send(&mut self, level: Level, msg: &[u8]) -> io::Result<()> {
        let severity: u8 = match level {
            Level::ERROR => 3,
            Level::WARN => 4,
            Level::INFO => 6,
            _ => 7,
        };
        self.buf.clear();
        write!(self.buf, "<{}>1 ", FACILITY * 8 + severity)?;
        write_rfc3339_millis(&mut self.buf, SystemTime::now());
        write!(
            self.buf,
            " {} {} {} - - ",
            self.hostname, self.app_name, self.pid
        )?;
        self.buf.extend_from_slice(msg);
        match &mut self.transport {
            #[cfg(unix)]
            Transport::Unix(sock, path) => match sock.send(&self.buf) {
                Ok(_) => Ok(()),
                Err(e) => {
                    // The daemon may have restarted: reconnect once.
                    let _ = sock.connect(&*path);
                    Err(e)
                }
            },
            Transport::Udp(sock) => sock.send(&self.buf).map(|_| ()),
            Transport::Tcp {
                addr,
                stream,
                last_attempt,
            } => {
                if stream.is_none() {
                    if last_attempt.elapsed() < RECONNECT_EVERY {
                        return Err(io::Error::new(
                            io::ErrorKind::NotConnected,
                            "syslog TCP reconnect pending",
                        ));
                    }
                    *last_attempt = Instant::now();
                    *stream = Some(tcp_connect(addr)?);
                }
                let s = stream
                    .as_mut()
                    .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
                let framed = write!(s, "{} ", self.buf.len()).and_then(|()| s.write_all(&self.buf));
                if framed.is_err() {
                    *stream = None;
                }
                framed
            }
        }
    }
}

fn tcp_connect(addr: &str) -> io::Result<TcpStream> {
    let mut last = io::Error::other("address resolves to nothing");
    for a in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
            Ok(s) => {
                s.set_nodelay(true)?;
                s.set_write_timeout(Some(CONNECT_TIMEOUT))?;
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}
