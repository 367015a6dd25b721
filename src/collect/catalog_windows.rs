//! The Exchange-host catalog, kept as data: what `collect` takes on Windows.
//!
//! The Windows build plans this instead of [`super::catalog::CATALOG`] (the choice is
//! [`crate::evidence::platform::HOST`]); the planning, taking, hashing, bundle formats,
//! custody and `verify` are the Linux ones. Host paths are below the collected drive with `/`
//! separators (`C:\inetpub` is `/inetpub`, see `evidence/platform/windows.rs`); names are
//! matched case-insensitively, as Windows does.
//!
//! - [`CATALOG`]: one ordered table. A row is either a path on the drive ([`Base::Drive`]) or a
//!   path below the Exchange install folder ([`Base::Exchange`]: `%ExchangeInstallPath%`, else
//!   `C:\Program Files\Microsoft\Exchange Server\V15`, see [`exchange_root`]). The first row that
//!   reaches a path decides its category. Sources: the folders Microsoft's ProxyLogon
//!   responders read (`Test-ProxyLogon.ps1`: `Logging\HttpProxy\<protocol>`,
//!   `Logging\ECP\Server`, `Logging\OABGeneratorLog`; the Application log's `MSExchange Unified
//!   Messaging` errors), the transport logs (message tracking; SMTP protocol logs of the
//!   FrontEnd, Hub, Mailbox and Edge transport services), IIS W3C logs, and the web folders
//!   where ProxyLogon/ProxyShell shells were dropped.
//! - [`EVENT_LOGS`]: the event-log channels exported with `wevtutil epl` on a live host
//!   ([`super::eventlog`]); their raw `.evtx` files are rows of [`CATALOG`] too (collected when
//!   readable — a live system holds them locked — else recorded with why).
//! - [`COMMANDS`]: the volatile commands of a live Windows host (`%SystemRoot%\System32` only).
//!
//! Web folders (`web_root`): every file is stored and hashed — shells are small, and a listing
//! without content cannot be checked later; a file over the category cap (256 MiB) still gets
//! its metadata row (`too_large`).
//!
//! To collect something new, add a row; to export another channel, add it to [`EVENT_LOGS`] and
//! its file to [`CATALOG`].

use std::path::Path;

use super::plan::Planner;
use super::volatile::CommandSpec;
use crate::evidence::manifest::{Category, FileKind, ManifestRow, Outcome};
use crate::evidence::pathname::HostPath;
use crate::evidence::root::HostRoot;

/// Where a catalog row's pattern starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Base {
    /// The collected drive's root (`C:\`).
    Drive,
    /// The Exchange install folder (`…\Exchange Server\V15`).
    Exchange,
}

/// One catalog row.
#[derive(Debug, Clone, Copy)]
pub struct WinArtifact {
    /// Where `pattern` starts.
    pub base: Base,
    /// Path pattern below the base, `/`-separated, with glob components (`*` stays inside one
    /// component, `**` crosses folders, `{a,b}` alternates).
    pub pattern: &'static str,
    /// Category given to what it matches.
    pub category: Category,
}

const fn x(pattern: &'static str, category: Category) -> WinArtifact {
    WinArtifact {
        base: Base::Exchange,
        pattern,
        category,
    }
}

const fn d(pattern: &'static str, category: Category) -> WinArtifact {
    WinArtifact {
        base: Base::Drive,
        pattern,
        category,
    }
}

use Category::*;

/// The default Exchange 2013/2016/2019 install folder, as a host path.
pub const EXCHANGE_DEFAULT: &str = "/Program Files/Microsoft/Exchange Server/V15";

/// Every fixed artifact of an Exchange host, in collection order (logs that roll over first).
pub const CATALOG: &[WinArtifact] = &[
    // Exchange's own logs (read by `parse`: recognised by their first bytes).
    x("Logging/HttpProxy/**", MailLog),
    x("Logging/ECP/Server/**", MailLog),
    x("Logging/OABGeneratorLog/**", MailLog),
    x("TransportRoles/Logs/MessageTracking/**", MailLog),
    x("TransportRoles/Logs/FrontEnd/ProtocolLog/**", MailLog),
    x("TransportRoles/Logs/Hub/ProtocolLog/**", MailLog),
    x("TransportRoles/Logs/Mailbox/ProtocolLog/**", MailLog),
    x("TransportRoles/Logs/Edge/ProtocolLog/**", MailLog),
    x("Logging/Imap4/**", MailLog),
    x("Logging/Pop3/**", MailLog),
    x("Logging/CmdletInfra/**", MailLog),
    // IIS W3C logs of the Exchange web sites (Default Web Site, Exchange Back End).
    d("inetpub/logs/LogFiles/W3SVC*/**", SystemLog),
    // Raw event log files (the live ones are locked; `wevtutil epl` exports them instead).
    d("Windows/System32/winevt/Logs/Security.evtx", EventLog),
    d("Windows/System32/winevt/Logs/System.evtx", EventLog),
    d("Windows/System32/winevt/Logs/Application.evtx", EventLog),
    d(
        "Windows/System32/winevt/Logs/MSExchange Management.evtx",
        EventLog,
    ),
    d(
        "Windows/System32/winevt/Logs/Microsoft-Windows-PowerShell%4Operational.evtx",
        EventLog,
    ),
    d(
        "Windows/System32/winevt/Logs/Windows PowerShell.evtx",
        EventLog,
    ),
    d(
        "Windows/System32/winevt/Logs/Microsoft-Windows-TaskScheduler%4Operational.evtx",
        EventLog,
    ),
    d(
        "Windows/System32/winevt/Logs/Microsoft-Windows-Sysmon%4Operational.evtx",
        EventLog,
    ),
    // Web folders where shells are dropped: every file stored and hashed.
    d("inetpub/wwwroot/**", WebRoot),
    x("FrontEnd/HttpProxy/owa/auth/**", WebRoot),
    x("FrontEnd/HttpProxy/ecp/auth/**", WebRoot),
    x(
        "FrontEnd/HttpProxy/**/*.{aspx,ashx,asmx,asax,config}",
        WebRoot,
    ),
    x(
        "ClientAccess/ecp/**/*.{aspx,ashx,asmx,asax,config}",
        WebRoot,
    ),
    x(
        "ClientAccess/Owa/**/*.{aspx,ashx,asmx,asax,config}",
        WebRoot,
    ),
    // Persistence: scheduled tasks.
    d("Windows/System32/Tasks/**", Cron),
    // Context: IIS sites and virtual folders, name resolution.
    d(
        "Windows/System32/inetsrv/config/applicationHost.config",
        Context,
    ),
    d("Windows/System32/drivers/etc/hosts", Context),
];

/// Event-log channels exported with `wevtutil epl` on a live host, most important first.
pub const EVENT_LOGS: &[&str] = &[
    "MSExchange Management",
    "Security",
    "System",
    "Application",
    "Microsoft-Windows-PowerShell/Operational",
    "Windows PowerShell",
    "Microsoft-Windows-TaskScheduler/Operational",
    "Microsoft-Windows-Sysmon/Operational",
];

const fn c(name: &'static str, argv: &'static [&'static str], timeout_secs: u64) -> CommandSpec {
    CommandSpec {
        name,
        argv,
        timeout_secs,
    }
}

/// Volatile state of a live Windows host, from `%SystemRoot%\System32` only.
pub const COMMANDS: &[CommandSpec] = &[
    c("tasklist-v", &["tasklist", "/v", "/fo", "csv"], 60),
    c("netstat-ano", &["netstat", "-ano"], 60),
    c("ipconfig-all", &["ipconfig", "/all"], 30),
    c("quser", &["quser"], 10),
    c("tzutil-g", &["tzutil", "/g"], 10),
    c("w32tm-status", &["w32tm", "/query", "/status"], 10),
    c(
        "schtasks-query",
        &["schtasks", "/query", "/fo", "csv", "/v"],
        120,
    ),
];

/// The Exchange install folder as a host path, and how it was found: `install` is the
/// `ExchangeInstallPath` value of a live host (`None` with `--root`, where the examiner's own
/// environment says nothing about the image). A value outside the collected drive gives a
/// `skipped` row saying how to collect it, and the default folder is planned instead.
pub fn exchange_root(
    root: &HostRoot,
    install: Option<&Path>,
    log: &mut Vec<String>,
) -> (HostPath, Option<ManifestRow>) {
    let default = HostPath::new(EXCHANGE_DEFAULT);
    let Some(install) = install else {
        log.push(format!(
            "Exchange install folder: {} (the default; ExchangeInstallPath is read on a live host only)",
            default.display()
        ));
        return (default, None);
    };
    match root.host_path_of(install) {
        Some(p) if p != HostPath::root() => {
            log.push(format!(
                "Exchange install folder from ExchangeInstallPath: {}",
                p.display()
            ));
            (p, None)
        }
        _ => {
            let shown = install.display().to_string();
            let mut row = ManifestRow::named(
                shown.clone(),
                Category::MailLog,
                Outcome::Skipped,
                FileKind::Dir,
            );
            row.error = Some(format!(
                "ExchangeInstallPath {shown} is not below the collected root {}: collect it with a second run, `mailir collect --root <its drive> --no-volatile`",
                root.real_root().display()
            ));
            log.push(format!(
                "ExchangeInstallPath {shown} is outside the collected root; the default {} is planned",
                default.display()
            ));
            (default, Some(row))
        }
    }
}

/// Plans the whole Exchange catalog into `planner` (case-insensitive names), with the install
/// folder from [`exchange_root`].
pub fn plan_all(
    planner: &mut Planner,
    root: &HostRoot,
    install: Option<&Path>,
    log: &mut Vec<String>,
) {
    planner.case_insensitive(true);
    let (exchange, row) = exchange_root(root, install, log);
    if let Some(row) = row {
        planner.items.push(super::plan::Item::Row(Box::new(row)));
    }
    for a in CATALOG {
        let base = match a.base {
            Base::Drive => HostPath::root(),
            Base::Exchange => exchange.clone(),
        };
        planner.add(&base, a.pattern.as_bytes(), a.category, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::plan::Item;
    use std::fs;

    /// The raw file of an event-log channel (`Microsoft-Windows-PowerShell/Operational` is
    /// `Microsoft-Windows-PowerShell%4Operational.evtx`).
    fn evtx_name(channel: &str) -> String {
        format!("{}.evtx", channel.replace('/', "%4"))
    }

    #[test]
    fn catalog_patterns_are_relative_valid_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for a in CATALOG {
            assert!(!a.pattern.starts_with('/'), "{}", a.pattern);
            assert!(!a.pattern.contains('\\'), "{}", a.pattern);
            assert!(seen.insert((a.base, a.pattern)), "duplicate {}", a.pattern);
            assert!(globset::Glob::new(a.pattern).is_ok(), "{}", a.pattern);
        }
        // Every exported channel has its raw file in the catalog.
        for ch in EVENT_LOGS {
            let file = format!("Windows/System32/winevt/Logs/{}", evtx_name(ch));
            assert!(CATALOG.iter().any(|a| a.pattern == file), "{file}");
        }
    }

    /// A fake Exchange drive made of the repository's real Exchange log samples.
    fn fake_drive() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/exchange-exports/exch01");
        let v15 = t.path().join("Program Files/Microsoft/Exchange Server/V15");
        for (from, to) in [
            (
                "Logging/HttpProxy/Owa/HttpProxy_2026030300-1.LOG",
                "Logging/HttpProxy/Owa/HttpProxy_2026030300-1.LOG",
            ),
            (
                "Logging/ECP/Server/ECPServer2026030300-1.LOG",
                "Logging/ECP/Server/ECPServer2026030300-1.LOG",
            ),
            (
                "Logging/MessageTracking/MSGTRK2026030300-1.LOG",
                "TransportRoles/Logs/MessageTracking/MSGTRK2026030300-1.LOG",
            ),
        ] {
            let dest = v15.join(to);
            fs::create_dir_all(dest.parent().unwrap()).unwrap();
            fs::copy(samples.join(from), dest).unwrap();
        }
        let shells = t.path().join("inetpub/wwwroot/aspnet_client/system_web");
        fs::create_dir_all(&shells).unwrap();
        fs::write(
            shells.join("Xs9t2k.ASPX"),
            b"<script language=\"JScript\" runat=\"server\">",
        )
        .unwrap();
        fs::create_dir_all(v15.join("FrontEnd/HttpProxy/owa/auth/15.1.2176")).unwrap();
        fs::write(
            v15.join("FrontEnd/HttpProxy/owa/auth/logon.aspx"),
            b"<%@ Page %>",
        )
        .unwrap();
        t
    }

    #[test]
    fn the_exchange_catalog_plans_logs_shells_and_misses() {
        let t = fake_drive();
        let root = HostRoot::open(t.path()).unwrap();
        let mut planner = Planner::new(&root, None);
        let mut log = Vec::new();
        plan_all(&mut planner, &root, None, &mut log);
        let items: Vec<String> = planner
            .items
            .iter()
            .map(|i| match i {
                Item::Take { path, category } => {
                    format!("take {} {}", category.name(), path.display())
                }
                Item::Row(r) => format!("{} {} {}", r.outcome.name(), r.category.name(), r.source),
            })
            .collect();
        let has = |s: &str| items.iter().any(|i| i == s);
        let v15 = EXCHANGE_DEFAULT;
        assert!(
            has(&format!(
                "take mail_log {v15}/Logging/HttpProxy/Owa/HttpProxy_2026030300-1.LOG"
            )),
            "{items:#?}"
        );
        assert!(has(&format!(
            "take mail_log {v15}/TransportRoles/Logs/MessageTracking/MSGTRK2026030300-1.LOG"
        )));
        // Case-insensitive like Windows: `.ASPX` is a web page.
        assert!(has(
            "take web_root /inetpub/wwwroot/aspnet_client/system_web/Xs9t2k.ASPX"
        ));
        assert!(has(&format!(
            "take web_root {v15}/FrontEnd/HttpProxy/owa/auth/logon.aspx"
        )));
        // A missing Exchange folder is a row, not silence; a single file is examined (and
        // recorded as missing) when it is taken.
        assert!(has(&format!(
            "missing mail_log {v15}/Logging/OABGeneratorLog"
        )));
        assert!(has(
            "take event_log /Windows/System32/winevt/Logs/Security.evtx"
        ));
        assert!(log.iter().any(|l| l.contains("the default")));
    }

    #[test]
    fn an_install_path_outside_the_root_is_a_skipped_row() {
        let t = fake_drive();
        let root = HostRoot::open(t.path()).unwrap();
        let mut log = Vec::new();
        let inside = t.path().join("Program Files/Microsoft/Exchange Server/V15");
        let inside = fs::canonicalize(inside).unwrap();
        let (p, row) = exchange_root(&root, Some(&inside), &mut log);
        assert_eq!(p, HostPath::new(EXCHANGE_DEFAULT));
        assert!(row.is_none());
        let (p, row) = exchange_root(&root, Some(Path::new("/elsewhere/Exchange/V15")), &mut log);
        assert_eq!(p, HostPath::new(EXCHANGE_DEFAULT));
        let row = row.unwrap();
        assert_eq!(row.outcome, Outcome::Skipped);
        assert!(row.error.unwrap().contains("--root"));
    }

    #[test]
    fn channels_map_to_their_files() {
        assert_eq!(
            evtx_name("Microsoft-Windows-PowerShell/Operational"),
            "Microsoft-Windows-PowerShell%4Operational.evtx"
        );
        assert_eq!(evtx_name("Security"), "Security.evtx");
    }
}
