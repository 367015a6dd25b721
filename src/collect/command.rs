//! Running a host command safely for volatile evidence.
//!
//! Commands come only from the fixed tables in [`super::volatile`] and
//! [`super::catalog_windows`], never from host data. They are found in a fixed PATH, run
//! without a shell, with an empty environment (`PATH`, `LC_ALL` and `LANG` set to fixed
//! values; on Windows `PATH` and `SystemRoot`), stdin closed, in their own process group, and
//! killed with the whole group when the timeout passes (how, per system:
//! [`crate::evidence::platform`]). Stdout and stderr are kept up to a cap (the rest
//! drained and counted, so the child never blocks on a full pipe).

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::evidence::manifest::rfc3339;
use crate::evidence::platform;

/// The only PATH commands are looked up in and run with.
pub use platform::FIXED_PATH;

/// What one command did.
#[derive(Debug, Serialize)]
pub struct CommandOutput {
    /// Program and arguments as run.
    pub argv: Vec<String>,
    /// Full path of the program.
    pub program: Option<String>,
    /// Exit code, if it exited.
    pub exit_code: Option<i32>,
    /// Signal that ended it, if any.
    pub signal: Option<i32>,
    /// Killed after the timeout.
    pub timed_out: bool,
    /// Timeout in seconds.
    pub timeout_seconds: u64,
    /// Bytes of stdout and stderr dropped over the cap.
    pub dropped_bytes: u64,
    /// Start (UTC).
    pub started: String,
    /// End (UTC).
    pub ended: String,
    /// Why it could not run.
    pub error: Option<String>,
    /// Captured stdout.
    #[serde(skip)]
    pub stdout: Vec<u8>,
    /// Captured stderr.
    #[serde(skip)]
    pub stderr: Vec<u8>,
}

/// Finds `program` in [`FIXED_PATH`].
pub fn find(program: &str) -> Option<PathBuf> {
    platform::find_program(program)
}

fn drain(mut r: impl Read, cap: usize) -> (Vec<u8>, u64) {
    let mut kept = Vec::new();
    let mut dropped = 0u64;
    let mut buf = [0u8; 64 * 1024];
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len()).min(n);
                kept.extend_from_slice(&buf[..room]);
                dropped += (n - room) as u64;
            }
        }
    }
    (kept, dropped)
}

/// Runs `argv` (found in [`FIXED_PATH`]) with a timeout; output kept up to `cap` bytes each.
pub fn run(argv: &[&str], timeout: Duration, cap: usize) -> CommandOutput {
    let started = SystemTime::now();
    let mut out = CommandOutput {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        program: None,
        exit_code: None,
        signal: None,
        timed_out: false,
        timeout_seconds: timeout.as_secs(),
        dropped_bytes: 0,
        started: rfc3339(started),
        ended: String::new(),
        error: None,
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    let finish = |mut out: CommandOutput| {
        out.ended = rfc3339(SystemTime::now());
        out
    };
    let Some(program) = argv.first().and_then(|p| find(p)) else {
        out.error = Some(format!(
            "{} not found in {FIXED_PATH}",
            argv.first().unwrap_or(&"")
        ));
        return finish(out);
    };
    out.program = Some(program.display().to_string());
    let (env, dir) = platform::command_env();
    let mut cmd = Command::new(&program);
    cmd.args(&argv[1..])
        .env_clear()
        .envs(env)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    platform::isolate(&mut cmd);
    let child = cmd.spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            out.error = Some(format!("cannot start: {e}"));
            return finish(out);
        }
    };
    let so = child
        .stdout
        .take()
        .map(|r| thread::spawn(move || drain(r, cap)));
    let se = child
        .stderr
        .take()
        .map(|r| thread::spawn(move || drain(r, cap)));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() >= deadline => {
                out.timed_out = true;
                platform::kill_tree(&mut child);
                break child.wait().ok();
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                out.error = Some(e.to_string());
                break None;
            }
        }
    };
    if let Some(s) = status {
        out.exit_code = s.code();
        out.signal = platform::exit_signal(&s);
    }
    for (handle, slot) in [(so, &mut out.stdout), (se, &mut out.stderr)] {
        if let Some(Ok((kept, dropped))) = handle.map(|h| h.join()) {
            *slot = kept;
            out.dropped_bytes += dropped;
        }
    }
    finish(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_without_environment_and_times_out() {
        let out = run(&["env"], Duration::from_secs(10), 1 << 20);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("PATH=/usr/sbin:/usr/bin:/sbin:/bin"),
            "{text}"
        );
        assert!(!text.contains("HOME="), "{text}");
        assert_eq!(out.exit_code, Some(0));
        let slow = run(&["sleep", "30"], Duration::from_millis(200), 10);
        assert!(slow.timed_out);
        let missing = run(&["no-such-program-mailir"], Duration::from_secs(1), 10);
        assert!(missing.error.is_some());
        let capped = run(&["seq", "1", "100000"], Duration::from_secs(10), 100);
        assert_eq!(capped.stdout.len(), 100);
        assert!(capped.dropped_bytes > 0);
    }
}
