//! Shell and client histories as commands with their line and, where the shell wrote one,
//! their time.
//!
//! Owns which files are histories ([`is_history`]: `.bash_history`, `.zsh_history`,
//! `.sh_history`, `.ash_history`, `.history`, `.mysql_history`, `.psql_history`,
//! `.python_history`) and their formats ([`parse`]): bash writes a `#1700000000` line before
//! each command when `HISTTIMEFORMAT` is set (bash(1), HISTORY) — the time of the next
//! command; zsh's `EXTENDED_HISTORY` writes `: 1700000000:0;command` (zshoptions(1)),
//! continuing a multi-line command with a trailing backslash; MySQL's client writes spaces as
//! `\040`. Any other history is one command a line. A new format is a branch of [`parse`].

use super::numbered;

/// History file names.
const NAMES: &[&str] = &[
    ".bash_history",
    ".zsh_history",
    ".sh_history",
    ".ash_history",
    ".history",
    ".mysql_history",
    ".psql_history",
    ".python_history",
];

/// Whether host path `path` is a history file.
pub fn is_history(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    NAMES.contains(&name)
}

/// One command of a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line the command starts on.
    pub line: u64,
    /// When it was run (UTC microseconds), when the history recorded it.
    pub time_us: Option<i64>,
    /// The command.
    pub command: String,
}

/// A bash `#<epoch>` time line's seconds.
fn bash_time(l: &str) -> Option<i64> {
    let d = l.strip_prefix('#')?;
    if !(9..=11).contains(&d.len()) || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    d.parse().ok()
}

/// A zsh extended history line's seconds and command.
fn zsh_extended(l: &str) -> Option<(i64, &str)> {
    let rest = l.strip_prefix(": ")?;
    let (meta, cmd) = rest.split_once(';')?;
    let (start, elapsed) = meta.split_once(':')?;
    if !elapsed.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((start.trim().parse().ok()?, cmd))
}

/// The commands of the history at `path`.
pub fn parse(path: &str, text: &str) -> Vec<Entry> {
    let mysql = path.ends_with("/.mysql_history");
    let mut out: Vec<Entry> = Vec::new();
    let mut next_time: Option<i64> = None;
    let mut continued = false;
    for (n, l) in numbered(text) {
        if continued {
            if let Some(last) = out.last_mut() {
                last.command.push('\n');
                last.command.push_str(l.strip_suffix('\\').unwrap_or(l));
            }
            continued = l.ends_with('\\');
            continue;
        }
        if let Some(t) = bash_time(l) {
            next_time = Some(t);
            continue;
        }
        let (time, cmd) = match zsh_extended(l) {
            Some((t, c)) => {
                continued = c.ends_with('\\');
                (Some(t), c.strip_suffix('\\').unwrap_or(c))
            }
            None => (next_time.take(), l),
        };
        if cmd.trim().is_empty() {
            continue;
        }
        let command = if mysql {
            cmd.replace("\\040", " ")
        } else {
            cmd.to_string()
        };
        out.push(Entry {
            line: n,
            time_us: time.and_then(|s| s.checked_mul(1_000_000)),
            command,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bash_plain_and_timestamped() {
        let e = parse(
            "/root/.bash_history",
            "ls\n#1733530000\ncd /dev/shm\n#1733530012\nwget http://x/k\nexit\n",
        );
        assert_eq!(e.len(), 4);
        assert_eq!(
            e[0],
            Entry {
                line: 1,
                time_us: None,
                command: "ls".into()
            }
        );
        assert_eq!((e[1].line, e[1].time_us), (3, Some(1_733_530_000_000_000)));
        assert_eq!((e[2].line, e[2].time_us), (5, Some(1_733_530_012_000_000)));
        assert_eq!(e[3].time_us, None);
        // A comment typed at the prompt is not a time line.
        assert_eq!(parse("/root/.bash_history", "#todo\n")[0].command, "#todo");
    }

    #[test]
    fn zsh_extended_and_mysql() {
        let e = parse(
            "/home/ann/.zsh_history",
            ": 1733530000:0;ls -la\n: 1733530005:2;for f in a b; do \\\necho $f; done\nplain\n",
        );
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].time_us, Some(1_733_530_000_000_000));
        assert_eq!(e[1].command, "for f in a b; do \necho $f; done");
        assert_eq!((e[2].line, e[2].command.as_str()), (4, "plain"));
        let m = parse(
            "/root/.mysql_history",
            "_HiStOrY_V2_\nselect\\040*\\040from\\040users;\n",
        );
        assert_eq!(m[1].command, "select * from users;");
        assert!(is_history("/root/.bash_history"));
        assert!(!is_history("/root/.bashrc"));
    }
}
