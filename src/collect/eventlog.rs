//! Windows event logs exported from the live channels (`wevtutil epl <channel> <file>`).
//!
//! The Event Log service holds the live `.evtx` files open, so they cannot be read directly;
//! `wevtutil epl` asks the service for a consistent copy. Each channel of
//! [`super::catalog_windows::EVENT_LOGS`] is exported into a fresh folder beside the bundle
//! (on the responder's medium, not the evidence drive), the export is hashed and stored as
//! `eventlogs/<channel>.evtx` (`/` in a channel name escaped as `%2F`) with a manifest row of
//! category `event_log` whose `exported_by` says `wevtutil epl <channel>`, then deleted. A
//! channel the host does not have (Sysmon not installed: exit code 15007) is `missing`; any
//! other failure is `error` with wevtutil's exit code and message.
//!
//! The exporter is a seam ([`Exporter`]): [`wevtutil`] runs the real command through
//! [`super::command`]; tests hand in a fake (wine's `wevtutil epl` writes nothing). To export
//! with another tool, pass another function.

use std::fs;
use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::command::{self, CommandOutput};
use super::take::not_stored;
use crate::evidence::manifest::{Category, FileKind, ManifestRow, Outcome};
use crate::evidence::pathname::escape;
use crate::evidence::writer::BundleWriter;

/// Exports `channel` into the new file `dest`; the command's record.
pub type Exporter<'a> = &'a dyn Fn(&str, &Path) -> CommandOutput;

/// `ERROR_EVT_CHANNEL_NOT_FOUND`: the host has no such channel.
const CHANNEL_NOT_FOUND: i32 = 15007;

/// How long one channel's export may take (a large Security log takes minutes).
const TIMEOUT: Duration = Duration::from_secs(900);

/// The real exporter: `wevtutil epl <channel> <dest>` from `%SystemRoot%\System32`.
pub fn wevtutil(channel: &str, dest: &Path) -> CommandOutput {
    let dest = dest.display().to_string();
    command::run(&["wevtutil", "epl", channel, &dest], TIMEOUT, 64 * 1024)
}

/// The bundle name of a channel's export.
pub fn stored_name(channel: &str) -> String {
    format!(
        "eventlogs/{}.evtx",
        escape(channel.as_bytes()).replace('/', "%2F")
    )
}

/// Exports every channel of `channels` with `export` into `scratch` (a folder that must not
/// exist yet; removed afterwards) and stores each export in `writer`. Returns one row per
/// channel; an error is the bundle's own.
pub fn export_all(
    writer: &mut BundleWriter,
    scratch: &Path,
    channels: &[&str],
    export: Exporter<'_>,
) -> io::Result<Vec<ManifestRow>> {
    let mut rows = Vec::new();
    if let Err(e) = fs::create_dir(scratch) {
        for ch in channels {
            let mut row = row_for(ch, Outcome::Error);
            row.error = Some(format!(
                "cannot create the export folder {}: {e}",
                scratch.display()
            ));
            rows.push(row);
        }
        return Ok(rows);
    }
    let result = export_each(writer, scratch, channels, export, &mut rows);
    let _ = fs::remove_dir_all(scratch);
    result.map(|()| rows)
}

fn row_for(channel: &str, outcome: Outcome) -> ManifestRow {
    let mut row = ManifestRow::named(
        format!("eventlog:{channel}"),
        Category::EventLog,
        outcome,
        FileKind::Command,
    );
    row.exported_by = Some(format!("wevtutil epl {channel}"));
    row
}

fn export_each(
    writer: &mut BundleWriter,
    scratch: &Path,
    channels: &[&str],
    export: Exporter<'_>,
    rows: &mut Vec<ManifestRow>,
) -> io::Result<()> {
    for (n, channel) in channels.iter().enumerate() {
        let dest = scratch.join(format!("{n}.evtx"));
        let out = export(channel, &dest);
        let mut row = row_for(channel, Outcome::Error);
        row.mtime = Some(out.ended.clone()).filter(|e| !e.is_empty());
        let said = || {
            let text = String::from_utf8_lossy(if out.stderr.is_empty() {
                &out.stdout
            } else {
                &out.stderr
            })
            .trim()
            .to_string();
            escape(text.as_bytes())
        };
        if out.program.is_none() {
            row.outcome = Outcome::Missing;
            row.error = Some(
                out.error
                    .clone()
                    .unwrap_or_else(|| "wevtutil not found".into()),
            );
            rows.push(row);
            continue;
        }
        if out.timed_out {
            row.error = Some(format!("wevtutil killed after {} s", out.timeout_seconds));
            rows.push(row);
            let _ = fs::remove_file(&dest);
            continue;
        }
        match out.exit_code {
            Some(0) => {}
            Some(CHANNEL_NOT_FOUND) => {
                row.outcome = Outcome::Missing;
                row.error = Some(format!("no such channel on this host: {}", said()));
                rows.push(row);
                continue;
            }
            code => {
                row.error = Some(format!("wevtutil exit code {code:?}: {}", said()));
                rows.push(row);
                let _ = fs::remove_file(&dest);
                continue;
            }
        }
        let file = match fs::File::open(&dest) {
            Ok(f) => f,
            Err(e) => {
                row.error = Some(format!(
                    "wevtutil exited 0 but its export cannot be read: {e}"
                ));
                rows.push(row);
                continue;
            }
        };
        let len = file.metadata()?.len();
        if let Some(stop) = writer.stopped() {
            let (outcome, note) = not_stored(stop, None);
            row.outcome = outcome;
            row.size = Some(len);
            row.error = Some(note);
            rows.push(row);
            continue;
        }
        let name = stored_name(channel);
        let mut src = &file;
        match writer.add_stream(&name, len, SystemTime::now(), &mut src) {
            Ok(stored) => {
                row.stored = Some(name);
                row.sha256 = Some(stored.sha256);
                row.size = Some(len);
                row.outcome = Outcome::Collected;
                row.error = stored.read_error.map(|e| {
                    format!(
                        "read failed after {} of {len} bytes: {e}; the rest is zero-filled",
                        stored.source_bytes
                    )
                });
                if row.error.is_some() {
                    row.outcome = Outcome::Error;
                }
            }
            Err(e) => {
                let Some(stop) = writer.stopped() else {
                    return Err(e);
                };
                let (outcome, note) = not_stored(stop, Some(&name));
                row.outcome = outcome;
                row.size = Some(len);
                row.error = Some(note);
            }
        }
        drop(file);
        let _ = fs::remove_file(&dest);
        rows.push(row);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn output(program: Option<&str>, code: i32, stderr: &str) -> CommandOutput {
        CommandOutput {
            argv: vec!["wevtutil".into()],
            program: program.map(str::to_string),
            exit_code: Some(code),
            signal: None,
            timed_out: false,
            timeout_seconds: 900,
            dropped_bytes: 0,
            started: "2026-03-05T10:00:00Z".into(),
            ended: "2026-03-05T10:00:01Z".into(),
            error: None,
            stdout: Vec::new(),
            stderr: stderr.as_bytes().to_vec(),
        }
    }

    #[test]
    fn exports_are_stored_hashed_and_failures_recorded() {
        let t = tempfile::tempdir().unwrap();
        // A real EVTX file header ("ElfFile\0", then the chunk counts) followed by padding.
        let mut evtx = b"ElfFile\0".to_vec();
        evtx.extend_from_slice(&[0u8; 4088]);
        let fake = |channel: &str, dest: &Path| {
            match channel {
            "Security" => {
                fs::write(dest, &evtx).unwrap();
                output(Some("C:\\Windows\\System32\\wevtutil.exe"), 0, "")
            }
            "Microsoft-Windows-Sysmon/Operational" => output(
                Some("C:\\Windows\\System32\\wevtutil.exe"),
                15007,
                "Failed to read configuration for log Microsoft-Windows-Sysmon/Operational. The specified channel could not be found.",
            ),
            "System" => output(Some("C:\\Windows\\System32\\wevtutil.exe"), 0, ""),
            _ => output(Some("C:\\Windows\\System32\\wevtutil.exe"), 5, "Access is denied."),
        }
        };
        let out = t.path().join("bundle");
        let mut writer = BundleWriter::create(&out).unwrap();
        let scratch = t.path().join(".mailir-evtx");
        let rows = export_all(
            &mut writer,
            &scratch,
            &[
                "Security",
                "Microsoft-Windows-Sysmon/Operational",
                "System",
                "Application",
            ],
            &fake,
        )
        .unwrap();
        assert!(!scratch.exists(), "the export folder is removed");
        let sec = &rows[0];
        assert_eq!(sec.outcome, Outcome::Collected);
        assert_eq!(sec.source, "eventlog:Security");
        assert_eq!(sec.category, Category::EventLog);
        assert_eq!(sec.exported_by.as_deref(), Some("wevtutil epl Security"));
        assert_eq!(sec.stored.as_deref(), Some("eventlogs/Security.evtx"));
        let want = crate::evidence::pathname::hex(&Sha256::digest(&evtx));
        assert_eq!(sec.sha256.as_deref(), Some(want.as_str()));
        let sysmon = &rows[1];
        assert_eq!(sysmon.outcome, Outcome::Missing);
        assert!(sysmon
            .error
            .as_deref()
            .unwrap()
            .contains("could not be found"));
        assert_eq!(rows[2].outcome, Outcome::Error, "exit 0 without a file");
        assert_eq!(rows[3].outcome, Outcome::Error);
        assert!(rows[3]
            .error
            .as_deref()
            .unwrap()
            .contains("exit code Some(5)"));
        writer.finish().unwrap();
        assert_eq!(fs::read(out.join("eventlogs/Security.evtx")).unwrap(), evtx);
        assert_eq!(
            stored_name("Microsoft-Windows-PowerShell/Operational"),
            "eventlogs/Microsoft-Windows-PowerShell%2FOperational.evtx"
        );
    }
}
