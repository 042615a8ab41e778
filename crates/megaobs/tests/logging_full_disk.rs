//! A log directory on a tiny filesystem (a real tmpfs, mounted by the test as
//! root) filled, then freed: every line of every file (log, error log,
//! backups) stays whole JSON, each lost line is counted in
//! `log_output_errors_total{output="file"}`, and writing resumes once there is
//! room again. Needs root to mount; elsewhere it says so and checks nothing
//! (`RotatingFile`'s unit tests cover ENOSPC with /dev/full there).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use megaobs::logging::{LogLayer, LoggingConfig};
use megaobs::MetricsCollector;
use tracing_subscriber::prelude::*;

struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn lost(c: &MetricsCollector) -> f64 {
    common::sample(&c.encode_text(), "log_output_errors_total{output=\"file\"}").unwrap_or(0.0)
}

fn whole_json_lines(dir: &Path) -> usize {
    let mut lines = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("filler"))
        {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{path:?} ends mid-line"
        );
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{path:?}: torn or glued line ({e}): {line}"));
            assert!(v["message"].is_string(), "{line}");
            lines += 1;
        }
    }
    lines
}

#[test]
fn a_full_disk_never_tears_a_line_and_every_loss_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    }
    let _mount = Mount(dir.path().to_path_buf());
    // Leave about 48 KiB free.
    let filler = dir.path().join("filler");
    std::fs::write(&filler, vec![b'x'; 200 * 1024]).unwrap();

    let collector = MetricsCollector::new();
    let (layer, guard) = LogLayer::builder(
        LoggingConfig::default()
            .console(false)
            .dir(dir.path())
            .service_name("disk")
            .max_bytes(16 * 1024)
            // Rotation happens under ENOSPC too; enough backups that none is deleted
            // (a deleted backup is the rotation policy, not a loss).
            .backups(50)
            .queue_capacity(1 << 16),
    )
    .metrics(collector.clone())
    .build()
    .unwrap();
    let padding = "p".repeat(150);
    let mut emitted = 0u64;
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        // Fill the disk (bounded: far more than fits), flushing as we go so
        // failures happen mid-run, as they would in production.
        for round in 0..40 {
            for i in 0..100 {
                if i % 10 == 0 {
                    tracing::error!(round, i, padding, "failed step");
                    emitted += 2; // the log and the error log
                } else {
                    tracing::info!(round, i, padding, "step");
                    emitted += 1;
                }
            }
            assert!(guard.flush(Duration::from_secs(5)));
        }
        assert!(lost(&collector) > 0.0, "the disk filled up");
        // Space comes back: writing resumes.
        std::fs::remove_file(&filler).unwrap();
        for i in 0..50 {
            tracing::info!(i, "after space returned");
            emitted += 1;
        }
        assert!(guard.flush(Duration::from_secs(5)));
    });
    drop(guard);
    let written = whole_json_lines(dir.path()) as u64;
    let lost = lost(&collector) as u64;
    assert_eq!(
        written + lost,
        emitted,
        "written {written} + lost {lost} != emitted {emitted}"
    );
    let current = std::fs::read_to_string(dir.path().join("disk.log")).unwrap();
    assert!(
        current.contains("after space returned"),
        "writing resumed once space was back"
    );
}
