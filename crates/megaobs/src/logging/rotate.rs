//! A size-rotated log file: `x.log` → `x.log.1` → … → `x.log.N`, oldest deleted.
//!
//! Written here rather than taken from `logroller`/`file-rotate`: rotation must
//! happen *between* lines (a line is never split across files), and only the
//! writer thread that knows line boundaries can decide that. Given whole lines,
//! the logic is a size check and a chain of renames.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Bytes of whole lines gathered before they are written to the file.
const BUFFER: usize = 64 * 1024;

/// A failed write: the OS error and how many lines it cost.
#[derive(Debug)]
pub(crate) struct Lost {
    pub error: io::Error,
    pub lines: u64,
}

/// An append-only file rotated by size, written one whole line at a time.
///
/// Lines are gathered in a buffer of whole lines and written together. The file
/// is only ever left ending on a line boundary: when a write fails or is cut
/// short (a full disk), the file is truncated back to the end of its last whole
/// line, the buffered lines are counted as lost, and the next line reopens the
/// file and starts on a new line. A file found not ending in a newline (a torn
/// line from a crash, or a truncation that failed) gets one before the next line.
#[derive(Debug)]
pub(crate) struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    backups: u32,
    file: Option<File>,
    /// Bytes in the file, all of them whole lines.
    durable: u64,
    /// Whole lines not yet written, and how many.
    buf: Vec<u8>,
    buffered_lines: u64,
}

impl RotatingFile {
    /// Opens (creating or appending to) `path`.
    pub fn open(path: PathBuf, max_bytes: u64, backups: u32) -> io::Result<Self> {
        let mut f = Self {
            path,
            max_bytes,
            backups,
            file: None,
            durable: 0,
            buf: Vec::with_capacity(BUFFER),
            buffered_lines: 0,
        };
        f.reopen()?;
        Ok(f)
    }

    fn reopen(&mut self) -> io::Result<()> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&self.path)?;
        let len = file.metadata()?.len();
        self.durable = len;
        if len > 0 && !ends_with_newline(&mut file, len)? {
            // Whatever tore the last line, the next one starts on its own.
            file.write_all(b"\n")?;
            self.durable += 1;
        }
        self.file = Some(file);
        Ok(())
    }

    /// Queues `line` and a newline; rotates first if the file would outgrow
    /// `max_bytes` (a line longer than that gets a file of its own).
    pub fn write_line(&mut self, line: &[u8]) -> Result<(), Lost> {
        let n = line.len() as u64 + 1;
        if self.file.is_none() {
            self.reopen().map_err(|error| Lost { error, lines: 1 })?;
        }
        let size = self.durable + self.buf.len() as u64;
        if size > 0 && size + n > self.max_bytes {
            self.rotate().map_err(|mut lost| {
                lost.lines += 1;
                lost
            })?;
        }
        self.buf.extend_from_slice(line);
        self.buf.push(b'\n');
        self.buffered_lines += 1;
        if self.buf.len() >= BUFFER {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the buffered lines to the OS. On failure the file is cut back to
    /// its last whole line and the buffered lines are reported lost.
    pub fn flush(&mut self) -> Result<(), Lost> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let lines = std::mem::take(&mut self.buffered_lines);
        let result = match self.file.as_mut() {
            Some(f) => f.write_all(&self.buf),
            None => Err(io::Error::other("log file is not open")),
        };
        let written = self.buf.len() as u64;
        self.buf.clear();
        match result {
            Ok(()) => {
                self.durable += written;
                Ok(())
            }
            Err(error) => {
                // Part of the batch may be on disk, ending mid-line: cut it off.
                // If even that fails, `reopen` adds the newline.
                if let Some(f) = self.file.take() {
                    let _ = f.set_len(self.durable);
                }
                Err(Lost { error, lines })
            }
        }
    }

    fn rotate(&mut self) -> Result<(), Lost> {
        self.flush()?;
        let lost = |error| Lost { error, lines: 0 };
        self.file = None;
        if self.backups == 0 {
            File::create(&self.path).map_err(lost)?; // truncate: no backups kept
        } else {
            let _ = fs::remove_file(backup(&self.path, self.backups));
            for i in (1..self.backups).rev() {
                match fs::rename(backup(&self.path, i), backup(&self.path, i + 1)) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(lost(e)),
                    _ => {}
                }
            }
            fs::rename(&self.path, backup(&self.path, 1)).map_err(lost)?;
        }
        self.reopen().map_err(lost)
    }
}

fn ends_with_newline(file: &mut File, len: u64) -> io::Result<bool> {
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// `x.log.i`
pub(crate) fn backup(path: &Path, i: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{i}"));
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_between_lines_and_keeps_n_backups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("svc.log");
        let mut f = RotatingFile::open(path.clone(), 100, 2).unwrap();
        for i in 0..30 {
            assert!(f
                .write_line(format!("line-{i:04}-xxxxxxxxxxxxxxxxxxx").as_bytes())
                .is_ok()); // 29 bytes + \n
        }
        assert!(f.flush().is_ok());
        let read = |p: &Path| fs::read_to_string(p).unwrap();
        // 3 lines (90 bytes) per file; the newest 3 files exist.
        assert_eq!(read(&path).lines().count(), 3);
        assert!(read(&path).starts_with("line-0027"));
        assert!(read(&backup(&path, 1)).starts_with("line-0024"));
        assert!(read(&backup(&path, 2)).starts_with("line-0021"));
        assert!(!backup(&path, 3).exists());
        for p in [path.clone(), backup(&path, 1), backup(&path, 2)] {
            assert!(fs::metadata(&p).unwrap().len() <= 100);
        }
    }

    #[test]
    fn zero_backups_truncates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("svc.log");
        let mut f = RotatingFile::open(path.clone(), 10, 0).unwrap();
        assert!(f.write_line(b"aaaaaaaa").is_ok());
        assert!(f.write_line(b"bbbbbbbb").is_ok());
        assert!(f.flush().is_ok());
        assert_eq!(fs::read_to_string(&path).unwrap(), "bbbbbbbb\n");
        assert!(!backup(&path, 1).exists());
    }

    #[test]
    fn a_torn_last_line_gets_a_newline_before_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("svc.log");
        fs::write(&path, "{\"whole\":1}\n{\"torn").unwrap();
        let mut f = RotatingFile::open(path.clone(), 1 << 20, 1).unwrap();
        assert!(f.write_line(b"{\"next\":2}").is_ok());
        assert!(f.flush().is_ok());
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "{\"whole\":1}\n{\"torn\n{\"next\":2}\n"
        );
    }

    #[test]
    fn a_failed_write_counts_its_lines_and_leaves_whole_lines() {
        // /dev/full fails every write with ENOSPC.
        let path = PathBuf::from("/dev/full");
        if !path.exists() {
            return;
        }
        let mut f = RotatingFile::open(path, 1 << 20, 0).unwrap();
        for _ in 0..3 {
            assert!(f.write_line(b"line").is_ok(), "buffered");
        }
        let lost = f.flush().unwrap_err();
        assert_eq!(lost.lines, 3);
        assert_eq!(lost.error.raw_os_error(), Some(libc::ENOSPC));
    }
}
