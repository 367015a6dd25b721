//! systemd unit files (services, timers and their drop-ins) as directives with their line.
//!
//! Owns where units live ([`unit_dir`]: the system, runtime, transient, vendor and user unit
//! directories, and `~/.config/systemd/user`), which unit a file configures ([`unit_of`]:
//! `x.service.d/override.conf` belongs to `x.service`), and the syntax of systemd.syntax(7)
//! ([`parse`]: `[Section]` headers, `Key=Value` lines, `#`/`;` comments, backslash line
//! continuation). [`exec_lines`] gives the commands a service runs (`ExecStart=` and its
//! siblings, their `-@:+!` prefixes removed), [`preload_lines`] the `Environment=LD_PRELOAD=`
//! settings, [`timer_target`] the unit a timer starts. A new unit type or key is a function
//! here; rules (`persistence.service`) never read unit syntax themselves.

use super::numbered;

/// Unit directories of the system and service manager, vendor directories last
/// (systemd.unit(5), "Unit File Load Path").
pub const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system/",
    "/run/systemd/system/",
    "/run/systemd/transient/",
    "/usr/local/lib/systemd/system/",
    "/etc/systemd/user/",
    "/usr/lib/systemd/user/",
    "/usr/lib/systemd/system/",
    "/lib/systemd/system/",
];

/// The directories packages ship units in: what is there is the distribution's.
pub const VENDOR_DIRS: &[&str] = &[
    "/usr/lib/systemd/system/",
    "/lib/systemd/system/",
    "/usr/lib/systemd/user/",
];

/// The unit directory holding host path `path` (`~/.config/systemd/user/` of any home
/// included), if it is in one.
pub fn unit_dir(path: &str) -> Option<String> {
    if let Some(d) = UNIT_DIRS.iter().find(|d| path.starts_with(**d)) {
        return Some(d.to_string());
    }
    let i = path.find("/.config/systemd/user/")?;
    Some(path[..i + "/.config/systemd/user/".len()].to_string())
}

/// Whether `path` is in a vendor (package) unit directory.
pub fn is_vendor(path: &str) -> bool {
    VENDOR_DIRS.iter().any(|d| path.starts_with(d))
}

/// Whether `path` is a per-user unit (`/etc/systemd/user`, `/usr/lib/systemd/user`, a home's
/// `~/.config/systemd/user`).
pub fn is_user_unit(path: &str) -> bool {
    path.contains("/systemd/user/")
}

/// Unit suffixes read (systemd.unit(5)); other files in unit directories (`.wants` lists,
/// presets, README) are not units.
const UNIT_SUFFIXES: &[&str] = &[
    ".service",
    ".timer",
    ".socket",
    ".path",
    ".mount",
    ".target",
    ".automount",
    ".swap",
    ".slice",
    ".scope",
];

/// The unit a file in a unit directory configures: `x.service` for `…/x.service` and for a
/// drop-in `…/x.service.d/y.conf`; `None` for anything else (including `*.wants/` entries).
pub fn unit_of(path: &str) -> Option<String> {
    let dir = unit_dir(path)?;
    let rel = &path[dir.len()..];
    let parts: Vec<&str> = rel.split('/').collect();
    match parts.as_slice() {
        [name] if UNIT_SUFFIXES.iter().any(|s| name.ends_with(s)) => Some(name.to_string()),
        [d, conf] if conf.ends_with(".conf") => {
            let u = d.strip_suffix(".d")?;
            UNIT_SUFFIXES
                .iter()
                .any(|s| u.ends_with(s))
                .then(|| u.to_string())
        }
        _ => None,
    }
}

/// Whether `path` is a drop-in (`x.service.d/y.conf`).
pub fn is_dropin(path: &str) -> bool {
    unit_of(path).is_some_and(|u| !path.ends_with(&format!("/{u}")))
}

/// One `Key=Value` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// 1-based line where the setting starts.
    pub line: u64,
    /// Section (`Service`, `Timer`, `Unit`, `Install`).
    pub section: String,
    /// Key.
    pub key: String,
    /// Value, continuation lines joined with a space.
    pub value: String,
}

/// The settings of a unit file, in order.
pub fn parse(text: &str) -> Vec<Directive> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut pending: Option<Directive> = None;
    for (n, raw) in numbered(text) {
        let l = raw.trim();
        if let Some(mut d) = pending.take() {
            // A continued line: comment lines inside are ignored (systemd.syntax(7)).
            if l.starts_with('#') || l.starts_with(';') {
                pending = Some(d);
                continue;
            }
            match l.strip_suffix('\\') {
                Some(more) => {
                    d.value.push(' ');
                    d.value.push_str(more.trim());
                    pending = Some(d);
                }
                None => {
                    d.value.push(' ');
                    d.value.push_str(l);
                    out.push(d);
                }
            }
            continue;
        }
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        if l.starts_with('[') && l.ends_with(']') {
            section = l[1..l.len() - 1].trim().to_string();
            continue;
        }
        let Some((k, v)) = l.split_once('=') else {
            continue;
        };
        let v = v.trim();
        let d = Directive {
            line: n,
            section: section.clone(),
            key: k.trim().to_string(),
            value: v.strip_suffix('\\').unwrap_or(v).trim().to_string(),
        };
        if v.ends_with('\\') {
            pending = Some(d);
        } else {
            out.push(d);
        }
    }
    out.extend(pending);
    out
}

/// Keys whose value is a command line a service runs (systemd.service(5)).
pub const EXEC_KEYS: &[&str] = &[
    "ExecCondition",
    "ExecStartPre",
    "ExecStart",
    "ExecStartPost",
    "ExecReload",
    "ExecStop",
    "ExecStopPost",
];

/// The commands of a unit's `Exec*=` settings: (line, key, command without the `-@:+!`
/// prefixes). An empty `ExecStart=` (a drop-in resetting the list) is left out.
pub fn exec_lines(dirs: &[Directive]) -> Vec<(u64, String, String)> {
    dirs.iter()
        .filter(|d| d.section == "Service" && EXEC_KEYS.contains(&d.key.as_str()))
        .filter_map(|d| {
            let c = d.value.trim_start_matches(['-', '@', ':', '+', '!']).trim();
            (!c.is_empty()).then(|| (d.line, d.key.clone(), c.to_string()))
        })
        .collect()
}

/// `Environment=` assignments of `LD_PRELOAD` (any section that can carry them): (line, the
/// library list).
pub fn preload_lines(dirs: &[Directive]) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    for d in dirs.iter().filter(|d| d.key == "Environment") {
        for a in env_assignments(&d.value) {
            if let Some(v) = a.strip_prefix("LD_PRELOAD=") {
                out.push((d.line, v.to_string()));
            }
        }
    }
    out
}

/// The assignments of one `Environment=` value: space-separated, each optionally quoted.
fn env_assignments(v: &str) -> Vec<String> {
    super::shellinit::shell_words(v)
}

/// The unit a timer (`x.timer`) starts: its `Unit=` setting with the line, or `x.service`
/// with the line of the `[Timer]` section's first setting (`None` when it has none).
pub fn timer_target(timer: &str, dirs: &[Directive]) -> (String, Option<u64>) {
    if let Some(d) = dirs
        .iter()
        .rev()
        .find(|d| d.section == "Timer" && d.key == "Unit")
    {
        return (d.value.clone(), Some(d.line));
    }
    let base = timer.strip_suffix(".timer").unwrap_or(timer);
    let first = dirs.iter().find(|d| d.section == "Timer").map(|d| d.line);
    (format!("{base}.service"), first)
}

/// Whether a link path (`…/multi-user.target.wants/x.service`) enables `unit` (a template
/// `x@.service` is enabled by any `x@inst.service`).
pub fn link_enables(link: &str, unit: &str) -> bool {
    let Some((dir, name)) = link.rsplit_once('/') else {
        return false;
    };
    let dep = [".wants", ".requires", ".upholds"]
        .iter()
        .any(|s| dir.ends_with(s));
    if !dep {
        return false;
    }
    if name == unit {
        return true;
    }
    match unit.split_once("@.") {
        Some((stem, suffix)) => {
            name.starts_with(&format!("{stem}@")) && name.ends_with(&format!(".{suffix}"))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/lib/systemd/system/man-db.service` of Debian 12 (man-db 2.11.2-2), copied from the
    /// machine the tests were written on.
    const MAN_DB: &str = "[Unit]\nDescription=Daily man-db regeneration\nDocumentation=man:mandb(8)\nConditionACPower=true\n\n[Service]\nType=oneshot\n# Recover from deletion, per FHS.\nExecStart=+/usr/bin/install -d -o man -g man -m 0755 /var/cache/man\n# Expunge old catman pages which have not been read in a week.\nExecStart=/usr/bin/find /var/cache/man -type f -name *.gz -atime +6 -delete\n# Regenerate man database.\nExecStart=/usr/bin/mandb --quiet\nUser=man\nNice=19\nIOSchedulingClass=idle\nIOSchedulingPriority=7\nProtectSystem=full\nProtectHome=true\nPrivateTmp=true\nPrivateDevices=true\nProtectHostname=true\nProtectClock=true\nProtectKernelTunables=true\nProtectKernelModules=true\nProtectKernelLogs=true\nProtectControlGroups=true\nLockPersonality=true\nRestrictRealtime=true\n";

    #[test]
    fn directives_exec_lines_and_continuations() {
        let d = parse(MAN_DB);
        let ex = exec_lines(&d);
        assert_eq!(ex.len(), 3);
        assert_eq!(
            ex[0],
            (
                9,
                "ExecStart".into(),
                "/usr/bin/install -d -o man -g man -m 0755 /var/cache/man".into()
            )
        );
        assert_eq!(ex[2].0, 13);
        assert_eq!(d.iter().find(|d| d.key == "User").map(|d| d.line), Some(14));
        let cont = parse("[Service]\n# c\nExecStart=-/bin/sh -c \\\n  'sleep 1; \\\n# inner comment\n  /tmp/x'\nType=oneshot\n");
        let ex = exec_lines(&cont);
        assert_eq!(
            ex,
            vec![(3, "ExecStart".into(), "/bin/sh -c 'sleep 1; /tmp/x'".into())]
        );
        assert_eq!(cont[1].key, "Type");
        // An empty ExecStart= resets the list in a drop-in: no command.
        assert!(exec_lines(&parse("[Service]\nExecStart=\n")).is_empty());
    }

    #[test]
    fn preload_timer_and_places() {
        let d = parse("[Service]\nEnvironment=\"LANG=C\" \"LD_PRELOAD=/usr/lib/x86_64-linux-gnu/.l.so\"\nEnvironment=TERM=xterm\n");
        assert_eq!(
            preload_lines(&d),
            vec![(2, "/usr/lib/x86_64-linux-gnu/.l.so".into())]
        );
        let t = parse("[Unit]\nDescription=x\n[Timer]\nOnBootSec=5min\nOnUnitActiveSec=10min\n[Install]\nWantedBy=timers.target\n");
        assert_eq!(
            timer_target("dbus-sync.timer", &t),
            ("dbus-sync.service".into(), Some(4))
        );
        let t = parse("[Timer]\nOnCalendar=daily\nUnit=other.service\n");
        assert_eq!(
            timer_target("a.timer", &t),
            ("other.service".into(), Some(3))
        );
        assert_eq!(
            unit_of("/etc/systemd/system/x.service.d/override.conf").as_deref(),
            Some("x.service")
        );
        assert!(is_dropin("/etc/systemd/system/x.service.d/override.conf"));
        assert_eq!(
            unit_of("/home/ann/.config/systemd/user/sync.service").as_deref(),
            Some("sync.service")
        );
        assert_eq!(
            unit_of("/etc/systemd/system/multi-user.target.wants/x.service"),
            None
        );
        assert_eq!(unit_of("/etc/systemd/system.conf"), None);
        assert!(link_enables(
            "/etc/systemd/system/multi-user.target.wants/postfix@-.service",
            "postfix@.service"
        ));
        assert!(link_enables(
            "/etc/systemd/system/timers.target.wants/dbus-sync.timer",
            "dbus-sync.timer"
        ));
        assert!(!link_enables(
            "/etc/systemd/system/dbus-org.freedesktop.timesync1.service",
            "dbus-org.freedesktop.timesync1.service"
        ));
    }
}
