//! A size-rotated log file: `x.log` → `x.log.1` → … → `x.log.N`, oldest deleted.
//!
//! Written here rather than taken from `logroller`/`file-rotate`: rotation must
//! happen *between* lines (a line is never split across files), and only the
//! writer thread that knows line boundaries can decide that. Given whole lines,
//! the logic is a size check and a chain of renames.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// An append-only file rotated by size, written one whole line at a time.
#[derive(Debug)]
pub(crate) struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    backups: u32,
    file: Option<BufWriter<File>>,
    size: u64,
}

impl RotatingFile {
    /// Opens (creating or appending to) `path`.
    pub fn open(path: PathBuf, max_bytes: u64, backups: u32) -> io::Result<Self> {
        let mut f = Self {
            path,
            max_bytes,
            backups,
            file: None,
            size: 0,
        };
        f.reopen()?;
        Ok(f)
    }

    fn reopen(&mut self) -> io::Result<()> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.size = file.metadata()?.len();
        self.file = Some(BufWriter::with_capacity(64 * 1024, file));
        Ok(())
    }

    /// Writes `line` and a newline; rotates first if the file would outgrow
    /// `max_bytes` (a line longer than that gets a file of its own).
    pub fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        let n = line.len() as u64 + 1;
        if self.file.is_none() {
            self.reopen()?;
        }
        if self.size > 0 && self.size + n > self.max_bytes {
            self.rotate()?;
        }
        let file = match self.file.as_mut() {
            Some(f) => f,
            None => return Err(io::Error::other("log file is not open")),
        };
        let result = file.write_all(line).and_then(|()| file.write_all(b"\n"));
        if result.is_err() {
            // Reopen on the next line (the file may have been removed or the disk freed).
            self.file = None;
        } else {
            self.size += n;
        }
        result
    }

    /// Flushes buffered lines to the OS.
    pub fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }

    fn rotate(&mut self) -> io::Result<()> {
        if let Some(mut f) = self.file.take() {
            f.flush()?;
        }
        if self.backups == 0 {
            File::create(&self.path)?; // truncate: no backups kept
        } else {
            let _ = fs::remove_file(backup(&self.path, self.backups));
            for i in (1..self.backups).rev() {
                match fs::rename(backup(&self.path, i), backup(&self.path, i + 1)) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            fs::rename(&self.path, backup(&self.path, 1))?;
        }
        self.reopen()
    }
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
            f.write_line(format!("line-{i:04}-xxxxxxxxxxxxxxxxxxx").as_bytes())
                .unwrap(); // 29 bytes + \n
        }
        f.flush().unwrap();
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
        f.write_line(b"aaaaaaaa").unwrap();
        f.write_line(b"bbbbbbbb").unwrap();
        f.flush().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "bbbbbbbb\n");
        assert!(!backup(&path, 1).exists());
    }
}
