//! `collect`: preserve a mail server's evidence into a hashed, custody-recorded bundle.
//!
//! The run, in order of volatility: open the root ([`crate::evidence::root`]) and the bundle
//! ([`crate::evidence::writer`]); on a live host take the volatile state ([`volatile`]: queue
//! first); plan every path from the [`catalog`] plus what the host names itself
//! ([`discover`]: accounts' homes, configured log paths) with [`plan`], after reading
//! `/etc/ld.so.preload` through libc and raw ([`preload`]); list mailboxes ([`mailboxes`]);
//! take each planned path ([`take`]); read `/etc/shadow` for its account metadata only
//! ([`hostfiles`]); on a live host run the package verification; then write `collect.log`,
//! `manifest.jsonl`, `custody.json`, `SHA256SUMS` and the sidecar. Every path considered ends
//! as one manifest row. Only a bundle that cannot be written is fatal.
//!
//! A destination that fills (or fails) part-way is not: the bundle writer reserved room for
//! the closing records before any evidence (grown here once the plan is known), takes the
//! entry being written back, and refuses further evidence; every path left still gets its row
//! (`destination_full`), the records go into the reserved room, custody says the collection is
//! incomplete and why, and the run exits with [`ExitCode::Incomplete`].
//!
//! On Windows (an Exchange host, [`crate::evidence::platform::HOST`]) the same run takes the
//! [`catalog_windows`] catalog instead: its volatile commands, the live event logs exported
//! with `wevtutil` ([`eventlog`]), then Exchange, IIS and event-log files and the web folders.

pub mod catalog;
pub mod catalog_windows;
pub mod command;
pub mod discover;
pub mod eventlog;
mod host_state;
pub mod hostfiles;
pub mod hostinfo;
pub mod mailboxes;
pub mod plan;
#[cfg(target_os = "linux")]
pub mod preload;
pub mod shortfall;
pub mod take;
pub mod volatile;
pub mod web;
pub mod webapps;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};
use globset::{Glob, GlobSet, GlobSetBuilder};
use sha2::{Digest, Sha256};

use crate::evidence::custody::{Collector, Custody, Incomplete, Options};
use crate::evidence::manifest::{rfc3339, Category, FileKind, ManifestRow, Outcome};
use crate::evidence::pathname::{hex, HostPath};
use crate::evidence::platform::{HostKind, HOST};
use crate::evidence::root::HostRoot;
use crate::evidence::writer::{record_room, reserve_path, BundleFormat, BundleWriter, Compress};
use crate::exit_codes::ExitCode;
use crate::sanitize::terminal;
use catalog::{Artifact, CATALOG, HOST_USER_FILES, USER_FILES, VIRTUAL_HOMES};
use plan::{Item, Planner};

/// A resolved `collect` invocation.
#[derive(Debug, Clone)]
pub struct CollectConfig {
    /// Root to collect (`/` live).
    pub root: PathBuf,
    /// Bundle path (`.zip`, `.tar.gz`/`.tgz`, else a directory).
    pub out: PathBuf,
    /// `--case`.
    pub case: Option<String>,
    /// `--examiner`.
    pub examiner: Option<String>,
    /// `--since`, as given and as a time.
    pub since: Option<(String, SystemTime)>,
    /// `--max-file-size`.
    pub max_file_size: Option<u64>,
    /// Take volatile state (live root and no `--no-volatile`).
    pub volatile: bool,
    /// Copy mailbox content.
    pub include_mailboxes: bool,
    /// The command line, for custody.
    pub command_line: Vec<String>,
    /// `--exports`: folders of exported files to package, in order (`exports/<n>/`).
    pub exports: Vec<PathBuf>,
    /// Whether the host catalog is collected (not with `--exports` alone).
    pub host: bool,
    /// `--allow-partial`: a [`shortfall`] does not change the exit code.
    pub allow_partial: bool,
    /// `--compress`: how an archive bundle's entries are compressed.
    pub compress: Compress,
}

/// The run's state: the bundle, the rows so far, the human log.
struct Run<'a> {
    root: &'a HostRoot,
    writer: BundleWriter,
    rows: Vec<ManifestRow>,
    log: Vec<String>,
    progress: indicatif::ProgressBar,
    /// Whether the destination's failure was announced.
    announced: bool,
    /// Remarks for custody that only this platform's collection has.
    platform_notes: Vec<String>,
    /// `/etc/ld.so.preload` read through libc and raw ([`preload`]), once the check ran.
    #[cfg(target_os = "linux")]
    preload: Option<preload::Check>,
}

impl Run<'_> {
    fn log(&mut self, line: String) {
        self.log
            .push(format!("{} {}", rfc3339(SystemTime::now()), line));
    }

    fn record(&mut self, row: ManifestRow) {
        let what = match (&row.stored, &row.error) {
            (Some(s), Some(e)) => format!("{} -> {s} ({e})", row.source),
            (Some(s), None) => format!("{} -> {s}", row.source),
            (None, Some(e)) => format!("{} ({e})", row.source),
            (None, None) => row.source.clone(),
        };
        let line = format!(
            "{:<19} {:<13} {what}",
            row.outcome.name(),
            row.category.name()
        );
        self.log(line);
        self.rows.push(row);
        if !self.announced {
            if let Some(stop) = self.writer.stopped() {
                self.announced = true;
                let msg = format!(
                    "the bundle destination {} ({}) while {} was written: that copy was taken back and evidence copying stopped; every remaining path is recorded as not collected, and the manifest and custody record go into the space reserved for them",
                    if stop.full() { "is full" } else { "failed" },
                    stop.error,
                    stop.entry
                );
                self.progress.suspend(|| {
                    eprintln!("mailir collect: {}", terminal(&msg));
                });
                self.log(msg);
            }
        }
    }

    /// Grows the destination's reserve for the rows `items` will add (each source `extra`
    /// bytes longer than planned). A destination without that room is warned about, not fatal:
    /// the collection goes on and stops, recorded, if it fills.
    fn reserve_for(&mut self, items: &[Item], extra: usize) {
        let bytes: u64 = items
            .iter()
            .map(|i| match i {
                Item::Row(r) => record_room(r.source.len() + extra),
                Item::Take { path, .. } => record_room(path.display().len() + extra),
            })
            .sum();
        match self.writer.reserve_more(bytes) {
            Ok(size) => self.log(format!(
                "{size} bytes reserved on the destination for the closing records ({} more paths planned)",
                items.len()
            )),
            Err(e) => {
                let msg = format!(
                    "WARNING: no room on the destination to reserve {bytes} more bytes for the closing records ({e}); {} bytes are reserved, and if the destination fills the manifest and custody record may not fit",
                    self.writer.reserved()
                );
                eprintln!("mailir collect: {}", terminal(&msg));
                self.log(msg);
            }
        }
    }

    /// Stores generated bytes (a probe or a command output) under `volatile/<name>`.
    fn store_generated(
        &mut self,
        name: &str,
        source: String,
        bytes: &[u8],
        error: Option<String>,
    ) -> Result<()> {
        let mut row = ManifestRow::named(
            source,
            Category::Volatile,
            Outcome::Collected,
            FileKind::Command,
        );
        row.size = Some(bytes.len() as u64);
        row.mtime = Some(rfc3339(SystemTime::now()));
        row.error = error;
        self.store_row(row, &format!("volatile/{name}"), bytes)
    }

    /// Stores `bytes` as bundle entry `stored` and records `row` (its `size`, `mtime` and
    /// notes set by the caller) with the entry's name and hash, or why it was not stored.
    fn store_row(&mut self, mut row: ManifestRow, stored: &str, bytes: &[u8]) -> Result<()> {
        let written = match self.writer.stopped() {
            Some(stop) => Err(take::not_stored(stop, None)),
            None => match self.writer.add_bytes(stored, bytes, SystemTime::now()) {
                Ok(sha) => Ok(sha),
                Err(e) => match self.writer.stopped() {
                    Some(stop) => Err(take::not_stored(stop, Some(stored))),
                    None => return Err(e.into()),
                },
            },
        };
        match written {
            Ok(sha) => {
                row.stored = Some(stored.to_string());
                row.sha256 = Some(sha);
            }
            Err((outcome, note)) => {
                row.outcome = outcome;
                row.error = Some(match row.error.take() {
                    Some(e) => format!("{note}; {e}"),
                    None => note,
                });
            }
        }
        self.record(row);
        Ok(())
    }

    fn command(&mut self, spec: &volatile::CommandSpec) -> Result<Option<Vec<u8>>> {
        let label = format!("command:{}", spec.argv.join(" "));
        let out = volatile::run_command(spec, catalog::default_cap(Category::Volatile) as usize);
        if out.program.is_none() {
            let mut row = ManifestRow::named(
                label,
                Category::Volatile,
                Outcome::Missing,
                FileKind::Command,
            );
            row.error = out.error;
            self.record(row);
            return Ok(None);
        }
        let status = serde_json::to_vec_pretty(&out)?;
        let note = match (out.timed_out, out.exit_code, out.dropped_bytes) {
            (true, _, _) => Some(format!("killed after {} s", out.timeout_seconds)),
            (_, _, d) if d > 0 => Some(format!("{d} bytes over the cap dropped")),
            (_, Some(0), _) => None,
            (_, code, _) => Some(format!("exit code {code:?}, signal {:?}", out.signal)),
        };
        self.store_generated(
            &format!("{}.stdout", spec.name),
            format!("{label} (stdout)"),
            &out.stdout,
            note,
        )?;
        self.store_generated(
            &format!("{}.stderr", spec.name),
            format!("{label} (stderr)"),
            &out.stderr,
            None,
        )?;
        self.store_generated(
            &format!("{}.status.json", spec.name),
            format!("{label} (status)"),
            &status,
            None,
        )?;
        Ok((out.exit_code == Some(0)).then_some(out.stdout))
    }

    /// Volatile state; returns `postconf -n` output for log discovery.
    fn volatile(&mut self) -> Result<Option<String>> {
        if HOST == HostKind::Windows {
            self.log("volatile state: Windows commands".into());
            for spec in catalog_windows::COMMANDS {
                self.command(spec)?;
            }
            return Ok(None);
        }
        self.log("volatile state: mail queue first".into());
        for spec in volatile::QUEUE_COMMANDS {
            self.command(spec)?;
        }
        self.processes()?;
        for (name, probe) in volatile::probes() {
            let bytes = probe();
            self.store_generated(name, format!("proc:{name}"), &bytes, None)?;
        }
        let mut postconf_n = None;
        for spec in volatile::COMMANDS {
            let out = self.command(spec)?;
            if spec.name == "postconf-n" {
                postconf_n = out.map(|o| String::from_utf8_lossy(&o).into_owned());
            }
        }
        Ok(postconf_n)
    }

    fn execute(&mut self, planner: &mut Planner, rules: &take::TakeRules) -> Result<()> {
        let root = self.root;
        self.execute_in(root, planner, rules)
    }

    /// Takes every planned item of `planner` from `root`.
    fn execute_in(
        &mut self,
        root: &HostRoot,
        planner: &mut Planner,
        rules: &take::TakeRules,
    ) -> Result<()> {
        let items = std::mem::take(&mut planner.items);
        let pb = self.progress.clone();
        let progress = move |n: u64| pb.inc(n);
        for item in items {
            let (mut path, category) = match item {
                Item::Row(row) => {
                    self.record(*row);
                    continue;
                }
                Item::Take { path, category } => (path, category),
            };
            loop {
                self.progress.set_message(terminal(&path.display()));
                #[cfg(target_os = "linux")]
                if self.preload_raw_instead(&path)? {
                    break;
                }
                let taken = take::take(root, &mut self.writer, rules, &path, category, &progress)
                    .with_context(|| {
                    format!("writing the bundle failed while storing {}", path.display())
                })?;
                let mut row = taken.row;
                #[cfg(target_os = "linux")]
                if self.preload_raw_after(&path, &row)? {
                    break;
                }
                // A link in a web root is recorded, never followed (out of the root or not).
                let follow = taken.follow.filter(|_| category != Category::WebScript);
                if category == Category::WebScript && row.outcome == Outcome::Symlink {
                    row.error
                        .get_or_insert_with(|| "link in a web root: recorded, not followed".into());
                }
                if follow
                    .as_ref()
                    .is_some_and(|f| catalog::HASHES.contains(&f.display().as_str()))
                {
                    row.error = Some(
                        "link to a file of password hashes: recorded, never followed (/etc/shadow is read for its account metadata only)"
                            .into(),
                    );
                }
                self.record(row);
                match follow {
                    Some(next) if planner.mark(&next) => path = next,
                    _ => break,
                }
            }
        }
        Ok(())
    }
}

impl Run<'_> {
    /// Packages export folder number `n`: every path under it (links never followed out of
    /// it, FIFOs and devices never opened, as for a host root), stored under `exports/<n>/`
    /// with the format each file was recognised as.
    fn exports(&mut self, n: usize, dir: &Path, rules: &take::TakeRules) -> Result<()> {
        let xroot = match HostRoot::open(dir) {
            Ok(r) => r,
            Err(e) => {
                let mut row = ManifestRow::named(
                    format!("{}", dir.display()),
                    Category::Export,
                    Outcome::Missing,
                    FileKind::Unknown,
                );
                row.error = Some(format!("cannot open the export folder: {e}"));
                eprintln!(
                    "mailir collect: export folder {} cannot be opened: {e} (recorded as missing)",
                    terminal(&dir.display().to_string())
                );
                self.record(row);
                return Ok(());
            }
        };
        self.log(format!(
            "export folder {} -> exports/{n}/",
            xroot.real_root().display()
        ));
        let mut planner = Planner::new(&xroot, rules.bundle_path.clone());
        planner.add(&HostPath::root(), b"**", Category::Export, false);
        let rules = take::TakeRules {
            store_under: Some(format!("exports/{n}")),
            bundle_path: None,
            bundle: rules.bundle.clone(),
            withheld: rules.withheld.clone(),
            ..*rules
        };
        let shown = xroot.real_root().display().to_string();
        self.reserve_for(&planner.items, shown.len());
        let first = self.rows.len();
        let result = self.execute_in(&xroot, &mut planner, &rules);
        // Sources name the file where the responder keeps it, not a path on a host.
        for row in &mut self.rows[first..] {
            row.source = format!("{}{}", shown.trim_end_matches('/'), row.source);
        }
        result
    }
}

impl Run<'_> {
    /// Exports the live event-log channels with `export` into a scratch folder beside the
    /// bundle `out` and stores them ([`eventlog`]).
    fn event_logs(&mut self, out: &Path, export: eventlog::Exporter<'_>) -> Result<()> {
        let parent = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let scratch = parent.join(format!(
            ".mailir-evtx-{}-{:x}",
            std::process::id(),
            crate::evidence::scratch::nonce()
        ));
        let channels = catalog_windows::EVENT_LOGS;
        self.log(format!(
            "event logs: exporting {} channel(s) with wevtutil epl through {}",
            channels.len(),
            scratch.display()
        ));
        let rows = eventlog::export_all(&mut self.writer, &scratch, channels, export)
            .context("writing the bundle failed while storing an event log export")?;
        for row in rows {
            self.record(row);
        }
        Ok(())
    }
}

fn secrets() -> Result<GlobSet> {
    let mut b = GlobSetBuilder::new();
    for s in catalog::SECRETS {
        b.add(Glob::new(s)?);
    }
    Ok(b.build()?)
}

/// (dev, inode) of the files of password hashes ([`catalog::HASHES`]) in `root`: a hard link
/// to one of them elsewhere is never copied.
pub fn withheld_ids(root: &HostRoot) -> Vec<(u64, u64)> {
    catalog::HASHES
        .iter()
        .filter_map(|p| {
            let p = root.resolve(&HostPath::new(p)).ok()?;
            crate::evidence::platform::file_id(&root.real(&p))
        })
        .collect()
}

/// Plans the whole catalog with the host-derived locations inserted in their place.
fn plan_all(
    planner: &mut Planner,
    root: &HostRoot,
    postconf_n: Option<&str>,
    log: &mut Vec<String>,
) -> Vec<HostPath> {
    if HOST == HostKind::Windows {
        let install = root
            .is_live()
            .then(|| std::env::var_os("ExchangeInstallPath"))
            .flatten()
            .map(PathBuf::from);
        catalog_windows::plan_all(planner, root, install.as_deref(), log);
        return Vec::new();
    }
    let found = discover::configured_logs(root, postconf_n);
    let web = web::web_config(root);
    let accounts = discover::accounts(root);
    let mut homes: Vec<HostPath> = Vec::new();
    // Homes that exist, for the host's per-account files.
    let mut existing_homes: Vec<HostPath> = Vec::new();
    let mut inserted_logs = false;
    let mut inserted_web = false;
    let mut inserted_users = false;
    let mut inserted_host_users = false;
    // Files of password hashes are never planned, not even as a link's target.
    for p in catalog::HASHES {
        planner.mark(&HostPath::new(p));
    }
    for Artifact { pattern, category } in CATALOG {
        if !inserted_host_users && *category == Category::HostConfig {
            inserted_host_users = true;
            for home in &existing_homes {
                for (f, c) in HOST_USER_FILES {
                    planner.add(home, f.as_bytes(), *c, false);
                }
            }
            // Keys where sshd's configuration says, beyond the default names.
            for (token, origin) in discover::authorized_keys_files(root) {
                log.push(format!("sshd AuthorizedKeysFile from {origin}: {token}"));
                for acct in &accounts {
                    if let Some(p) = discover::expand_keys_file(&token, acct) {
                        planner.take(p, Category::HostConfig);
                    }
                }
            }
        }
        if !inserted_web && *category == Category::SystemLog {
            inserted_web = true;
            for f in &web.logs {
                log.push(format!(
                    "web log location from {}: {}/{}",
                    f.origin,
                    f.dir.display(),
                    f.name_glob
                ));
                planner.add(&f.dir, f.name_glob.as_bytes(), Category::WebLog, false);
            }
        }
        if !inserted_logs && *category != Category::MailLog {
            inserted_logs = true;
            for f in &found {
                log.push(format!(
                    "log location from {}: {}/{}",
                    f.origin,
                    f.dir.display(),
                    f.name_glob
                ));
                planner.add(&f.dir, f.name_glob.as_bytes(), Category::MailLog, false);
            }
        }
        if !inserted_users && *category == Category::MailConfig {
            inserted_users = true;
            for acct in &accounts {
                let home = HostPath::from_bytes(&acct.home);
                if homes.contains(&home) {
                    continue;
                }
                homes.push(home.clone());
                match root.resolve(&home).map(|h| root.lstat(&h)) {
                    Ok(Ok(m)) if m.is_dir() => {}
                    _ => {
                        let mut row =
                            ManifestRow::new(&home, Category::UserDelivery, Outcome::Missing);
                        row.error = Some(format!(
                            "home of {} does not exist in the root",
                            String::from_utf8_lossy(&acct.name)
                        ));
                        planner.items.push(Item::Row(Box::new(row)));
                        continue;
                    }
                }
                for f in USER_FILES {
                    planner.add(&home, f.as_bytes(), Category::UserDelivery, true);
                }
                existing_homes.push(home);
            }
            let all = USER_FILES.join(",");
            for v in VIRTUAL_HOMES {
                planner.add(
                    &HostPath::new(v),
                    format!("**/{{{all}}}").as_bytes(),
                    Category::UserDelivery,
                    true,
                );
            }
        }
        planner.add_pattern(pattern, *category);
    }
    for (path, why) in catalog::NEVER_COPIED {
        let path = HostPath::new(path);
        if let Ok(Ok(m)) = root.resolve(&path).map(|p| root.lstat(&p)) {
            let mut row = ManifestRow::new(&path, Category::WebApp, Outcome::Skipped);
            row.set_meta(&m);
            row.error = Some((*why).to_string());
            planner.mark(&path);
            planner.items.push(Item::Row(Box::new(row)));
        }
    }
    log.extend(web.notes.iter().cloned());
    webapps::plan_web(planner, &web, log);
    webapps::skip_spool_bodies(root, &mut planner.items);
    homes
}

/// Every path the catalog reaches in `root` with its category, without reading any content
/// (for analysis of a mounted root: the same paths `collect` would take).
pub fn planned(root: &HostRoot) -> Vec<(HostPath, Category)> {
    let mut planner = Planner::new(root, None);
    let mut log = Vec::new();
    plan_all(&mut planner, root, None, &mut log);
    planner
        .items
        .into_iter()
        .filter_map(|i| match i {
            Item::Take { path, category } => Some((path, category)),
            Item::Row(_) => None,
        })
        .collect()
}

/// Where the bundle lies on the host, if inside the collected root.
fn bundle_host_path(out: &Path, root: &HostRoot) -> Option<HostPath> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let abs = std::fs::canonicalize(parent).ok()?.join(out.file_name()?);
    root.host_path_of(&abs)
}

fn progress_bar() -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new_spinner();
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {bytes} copied ({bytes_per_sec}) {wide_msg}",
    ) {
        pb.set_style(style);
    }
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    pb
}

/// Runs `mailir collect`.
pub fn run(cfg: &CollectConfig) -> Result<ExitCode> {
    let start = SystemTime::now();
    let root = HostRoot::open(&cfg.root)
        .with_context(|| format!("cannot open root {}", cfg.root.display()))?;
    let volatile_on = cfg.volatile && root.is_live();
    let exclude = bundle_host_path(&cfg.out, &root);
    let writer = BundleWriter::create_with(&cfg.out, cfg.compress)
        .with_context(|| format!("cannot create bundle {}", cfg.out.display()))?;
    // The bundle's own files (an archive and the reserve beside it) are never collected.
    let bundle_ids: Vec<(u64, u64)> = [cfg.out.clone(), reserve_path(&cfg.out, writer.format())]
        .iter()
        .filter_map(|p| crate::evidence::platform::file_id(p))
        .collect();
    let mut run = Run {
        root: &root,
        writer,
        rows: Vec::new(),
        log: Vec::new(),
        progress: progress_bar(),
        announced: false,
        platform_notes: Vec::new(),
        #[cfg(target_os = "linux")]
        preload: None,
    };
    run.log(format!(
        "mailir {} collect: root {} -> {}",
        env!("CARGO_PKG_VERSION"),
        root.real_root().display(),
        cfg.out.display()
    ));
    if run.writer.format() != BundleFormat::Dir {
        run.log(format!("archive compression: {}", cfg.compress.name()));
    }
    if let Some(w) = shortfall::RunFacts::of_this_process().unprivileged_warning() {
        eprintln!("mailir collect: {w}");
        run.log(w);
    }
    if let Some(why) = root.openat2_refused() {
        run.log(format!(
            "openat2 refused at start ({why}): every file is opened with open(2) and O_NOFOLLOW instead"
        ));
    }
    let postconf_n = if volatile_on {
        run.volatile()?
    } else {
        run.log(format!(
            "volatile state skipped ({})",
            if root.is_live() {
                "--no-volatile"
            } else {
                "--root"
            }
        ));
        None
    };
    if HOST == HostKind::Windows {
        run.platform_notes.push("Windows has no O_NOATIME: every file was read without it (noatime false), so access times may have changed where NTFS updates them".into());
        if cfg.host && root.is_live() {
            run.event_logs(&cfg.out, &eventlog::wevtutil)?;
        } else if cfg.host {
            run.log("event logs: not exported (not the live system drive); the raw .evtx files are collected".into());
        }
    }
    #[cfg(target_os = "linux")]
    if cfg.host {
        run.preload_check()?;
    }
    let mut planner = Planner::new(&root, exclude.clone());
    let mut discovery_log = Vec::new();
    let homes = if cfg.host {
        plan_all(
            &mut planner,
            &root,
            postconf_n.as_deref(),
            &mut discovery_log,
        )
    } else {
        discovery_log.push("host catalog skipped (--exports without --root)".to_string());
        Vec::new()
    };
    for l in discovery_log {
        run.log(l);
    }
    let mail_host = cfg.host && HOST == HostKind::Linux;
    let inv = mailboxes::inventory(&root, &homes, cfg.include_mailboxes && mail_host);
    let mut listing = Vec::new();
    for m in &inv.mailboxes {
        listing.extend(serde_json::to_vec(m)?);
        listing.push(b'\n');
    }
    for f in &inv.files {
        planner.take(f.clone(), Category::Mailbox);
    }
    for d in &inv.maildirs {
        planner.add(d, b"{cur,new}/*", Category::Mailbox, false);
    }
    // Room for every planned row's records before the first planned byte is copied.
    run.reserve_for(&planner.items, 0);
    if mail_host {
        run.store_generated(
            "mailboxes.jsonl",
            "inventory:mailboxes".into(),
            &listing,
            None,
        )?;
    }
    let secrets = secrets()?;
    let rules = take::TakeRules {
        secrets: &secrets,
        max_file_size: cfg.max_file_size,
        since: cfg.since.as_ref().map(|s| s.1),
        bundle: bundle_ids,
        withheld: withheld_ids(&root),
        bundle_path: exclude,
        store_under: None,
        recognise: HOST == HostKind::Windows,
    };
    if cfg.host {
        run.execute(&mut planner, &rules)?;
        if mail_host {
            run.shadow()?;
        }
    }
    if volatile_on && HOST == HostKind::Linux {
        run.log("volatile state: package verification, after the files".into());
        for spec in volatile::LATE_COMMANDS {
            run.command(spec)?;
        }
    }
    for (n, dir) in cfg.exports.iter().enumerate() {
        run.exports(n, dir, &rules)?;
    }
    run.progress.finish_and_clear();
    finish(run, cfg, &root, start, volatile_on)
}

fn finish(
    mut run: Run,
    cfg: &CollectConfig,
    root: &HostRoot,
    start: SystemTime,
    volatile_on: bool,
) -> Result<ExitCode> {
    let mut manifest = Vec::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_cat: BTreeMap<String, u64> = BTreeMap::new();
    let mut noatime_refused = 0;
    for row in &run.rows {
        manifest.extend(serde_json::to_vec(row)?);
        manifest.push(b'\n');
        *counts.entry(row.outcome.name().into()).or_insert(0) += 1;
        *by_cat.entry(row.category.name().into()).or_insert(0) += 1;
        if row.noatime == Some(false) {
            noatime_refused += 1;
        }
    }
    let mut notes = vec![format!(
        "files were opened with O_NOATIME; {noatime_refused} file(s) where the kernel refused it were read normally (their atime may have changed, see the noatime field)"
    )];
    if !root.is_live() {
        notes.push("collected from a mounted or unpacked root: no volatile state; kernel, addresses and uptime are those of no running host".into());
    }
    if let Some(why) = root.openat2_refused() {
        notes.push(format!("the kernel refused openat2 ({why}); files were opened with open(2) and O_NOFOLLOW, which refuses a symlinked last component but not a symlink swapped into a parent directory during the run"));
    }
    notes.append(&mut run.platform_notes);
    if volatile_on {
        notes.push("volatile command outputs come from the host's own binaries, which a compromise may have replaced".into());
    }
    let stopped = run.writer.stopped().cloned();
    let incomplete = stopped.as_ref().map(|stop| {
        let rows_not_stored = run
            .rows
            .iter()
            .filter(|r| {
                r.error
                    .as_deref()
                    .is_some_and(|e| e.starts_with(take::NOT_STORED))
            })
            .count() as u64;
        notes.insert(
            0,
            format!(
                "INCOMPLETE: the bundle destination {} ({}) while {} was written; that copy was taken back and evidence copying stopped there: {rows_not_stored} path(s) that exist were not collected (outcome {}, see manifest.jsonl). The manifest, this record and SHA256SUMS were written into space reserved before the first copy. Collect again onto a destination with more room.",
                if stop.full() { "filled" } else { "failed" },
                stop.error,
                stop.entry,
                take::not_stored(stop, None).0.name()
            ),
        );
        Incomplete {
            reason: stop.reason().into(),
            error: stop.error.clone(),
            entry: stop.entry.clone(),
            rows_not_stored,
        }
    });
    let facts = shortfall::RunFacts {
        openat2_refused: root.openat2_refused().map(str::to_string),
        ..shortfall::RunFacts::of_this_process()
    };
    let shortfall = shortfall::judge(&run.rows, &facts, cfg.allow_partial);
    if let Some(s) = &shortfall {
        let m = shortfall::message(s);
        notes.insert(0, m.clone());
        run.log(m);
    }
    let summary: Vec<String> = Outcome::ALL
        .iter()
        .filter_map(|o| counts.get(o.name()).map(|n| format!("{} {n}", o.name())))
        .collect();
    run.log(format!(
        "done: {} rows: {}",
        run.rows.len(),
        summary.join(", ")
    ));
    // The closing records go into the reserved room.
    let released = run.writer.release_reserve();
    if let Err(e) = &released {
        run.log(format!("WARNING: {e}"));
        eprintln!("mailir collect: WARNING: {}", terminal(&e.to_string()));
    }
    let closing = || {
        if stopped.is_some() {
            "cannot write the closing records even into the space reserved for them"
        } else {
            "cannot write the closing records"
        }
    };
    let log_text = run.log.join("\n") + "\n";
    let now = SystemTime::now();
    run.writer
        .add_bytes("collect.log", log_text.as_bytes(), now)
        .context(closing())?;
    let manifest_sha = hex(&Sha256::digest(&manifest));
    run.writer
        .add_bytes("manifest.jsonl", &manifest, now)
        .context(closing())?;
    let mut clock = hostinfo::clock(root);
    clock.start_utc = rfc3339(start);
    clock.end_utc = rfc3339(SystemTime::now());
    let own = hostinfo::own_binary();
    let custody = Custody {
        format_version: 1,
        case_id: cfg.case.clone(),
        examiner: cfg.examiner.clone(),
        collector: Collector {
            name: "mailir".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            sha256: own.sha256,
            path: own.path,
            loader: own.loader,
            features: if cfg!(feature = "analysis") {
                vec!["analysis".into()]
            } else {
                Vec::new()
            },
        },
        command_line: cfg.command_line.clone(),
        run_as: crate::evidence::platform::run_as(),
        root: root.real_root().display().to_string(),
        live: root.is_live(),
        host: hostinfo::host(root),
        clock,
        options: Options {
            format: run.writer.format().name().into(),
            since: cfg.since.as_ref().map(|s| s.0.clone()),
            max_file_size: cfg.max_file_size,
            volatile: volatile_on,
            include_mailboxes: cfg.include_mailboxes,
        },
        counts,
        counts_by_category: by_cat,
        manifest_rows: run.rows.len() as u64,
        manifest_sha256: manifest_sha,
        bytes_stored: run.writer.bytes_stored(),
        notes,
        incomplete,
        shortfall,
    };
    run.writer
        .add_bytes("custody.json", &serde_json::to_vec_pretty(&custody)?, now)
        .context(closing())?;
    let sealed = run.writer.finish().context("cannot seal the bundle")?;
    eprintln!("collected {} rows: {}", run.rows.len(), summary.join(", "));
    eprintln!(
        "bundle sha256 {} (sidecar {})",
        sealed.sha256,
        terminal(&sealed.sidecar.display().to_string())
    );
    println!("{}", terminal(&sealed.sidecar_line));
    if let Some(inc) = &custody.incomplete {
        eprintln!(
            "mailir collect: INCOMPLETE: the bundle destination {} ({}) while {} was written; {} path(s) that exist were NOT collected (see manifest.jsonl and custody.json). The bundle is sealed and verifies, but it does not hold all the evidence: collect again onto a destination with more room.",
            if inc.reason == "destination_full" { "filled" } else { "failed" },
            terminal(&inc.error),
            terminal(&inc.entry),
            inc.rows_not_stored
        );
        return Ok(ExitCode::Incomplete);
    }
    if let Some(s) = &custody.shortfall {
        eprintln!("mailir collect: {}", terminal(&shortfall::message(s)));
        if !s.allowed {
            return Ok(ExitCode::Partial);
        }
    }
    Ok(ExitCode::Success)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    /// A child that runs until dropped.
    struct Child(std::process::Child);

    impl Drop for Child {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn run_over<'a>(root: &'a HostRoot, out: &Path) -> Run<'a> {
        Run {
            root,
            writer: BundleWriter::create(out).unwrap(),
            rows: Vec::new(),
            log: Vec::new(),
            progress: indicatif::ProgressBar::hidden(),
            announced: false,
            platform_notes: Vec::new(),
            preload: None,
        }
    }

    fn exe_readable(pid: u32) -> bool {
        match std::fs::File::open(format!("/proc/{pid}/exe")) {
            Ok(_) => true,
            Err(e) => {
                eprintln!("SKIPPED: /proc/{pid}/exe is not readable here ({e})");
                false
            }
        }
    }

    fn process(procs: &str, pid: u32) -> serde_json::Value {
        procs
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|v| v["pid"] == pid)
            .unwrap_or_else(|| panic!("pid {pid} not in {procs}"))
    }

    /// A copy of `sleep` started from a temporary folder and deleted while it runs (what a
    /// dropper does) and `sleep` run from a memfd (what fileless malware does): both are
    /// flagged, and their executables are stored as samples with the SHA-256 of the real
    /// binary; the environment markers and the working folder are recorded, nothing else of
    /// the environment.
    #[test]
    fn deleted_and_memfd_executables_are_sampled() {
        let sleep = crate::collect::command::find("sleep").expect("sleep");
        let bin = std::fs::read(&sleep).unwrap();
        let want = hex(&Sha256::digest(&bin));
        let t = tempfile::tempdir().unwrap();
        let copy = t.path().join("kworker-dropper");
        std::fs::copy(&sleep, &copy).unwrap();
        let dropped = Child(
            Command::new(&copy)
                .arg("300")
                .current_dir(t.path())
                .env_clear()
                .env("LD_LIBRARY_PATH", "/dev/shm/.x")
                .env("HISTFILE", "/dev/null")
                .env("AWS_SECRET_ACCESS_KEY", "never-recorded")
                .stdin(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let pid = dropped.0.id();
        // The kernel maps the file at exec: wait until the child runs it, then delete it.
        for _ in 0..100 {
            if std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p == copy) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        std::fs::remove_file(&copy).unwrap();
        // The same program again from an anonymous memory file.
        // SAFETY: a NUL-terminated name and no flags (the fd is inherited for the exec).
        let fd = unsafe { libc::memfd_create(c"mailir-test".as_ptr(), 0) };
        assert!(fd >= 0);
        // SAFETY: a fresh descriptor this test owns.
        let mut memfd = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        std::io::Write::write_all(&mut memfd, &bin).unwrap();
        let in_memory = Child(
            Command::new(format!("/proc/self/fd/{fd}"))
                .arg("300")
                .stdin(Stdio::null())
                .spawn()
                .unwrap(),
        );
        drop(memfd);
        let mpid = in_memory.0.id();
        for _ in 0..100 {
            if std::fs::read_link(format!("/proc/{mpid}/exe"))
                .is_ok_and(|p| p.to_string_lossy().starts_with("/memfd:"))
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        if !exe_readable(pid) {
            return;
        }
        let out = tempfile::tempdir().unwrap();
        let bundle = out.path().join("b");
        let root = HostRoot::open(Path::new("/")).unwrap();
        let mut run = run_over(&root, &bundle);
        run.processes().unwrap();
        let procs = std::fs::read_to_string(bundle.join("volatile/processes.jsonl")).unwrap();
        let row = process(&procs, pid);
        assert_eq!(row["exe_deleted"], true, "{row}");
        assert_eq!(row["exe_memfd"], false, "{row}");
        assert_eq!(row["kernel_thread"], false);
        assert_eq!(row["cwd"], t.path().display().to_string());
        let mut markers: Vec<&str> = row["env_markers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        markers.sort_unstable();
        assert_eq!(
            markers,
            ["HISTFILE=/dev/null", "LD_LIBRARY_PATH=/dev/shm/.x"]
        );
        assert!(!procs.contains("never-recorded"));
        assert_eq!(row["sample_sha256"], want.as_str(), "{row}");
        assert_eq!(row["sample_size"], bin.len() as u64);
        let stored = row["sample"].as_str().unwrap();
        assert_eq!(stored, format!("volatile/exe/{pid}.bin"));
        assert_eq!(std::fs::read(bundle.join(stored)).unwrap(), bin);
        let mrow = process(&procs, mpid);
        assert_eq!(mrow["exe_memfd"], true, "{mrow}");
        assert_eq!(mrow["sample_sha256"], want.as_str(), "{mrow}");
        let sample_rows: Vec<&ManifestRow> = run.rows.iter().filter(|r| r.malware_sample).collect();
        let mine = sample_rows
            .iter()
            .find(|r| r.stored.as_deref() == Some(stored))
            .expect("a sample row");
        assert_eq!(mine.category, Category::Volatile);
        assert_eq!(mine.outcome, Outcome::Collected);
        assert_eq!(mine.sha256.as_deref(), Some(want.as_str()));
        assert_eq!(
            mine.source,
            format!("/proc/{pid}/exe ({} (deleted))", copy.display())
        );
        let json = serde_json::to_value(mine).unwrap();
        assert_eq!(json["malware_sample"], true);
        // Rows that are not samples do not carry the field.
        let procs_row = run
            .rows
            .iter()
            .find(|r| r.source == "proc:processes.jsonl")
            .unwrap();
        assert!(serde_json::to_value(procs_row)
            .unwrap()
            .get("malware_sample")
            .is_none());
        // This test process: no sample, its own flags.
        let me = process(&procs, std::process::id());
        assert_eq!(me["exe_deleted"], false);
        assert!(me.get("sample").is_none());
        // A kernel thread where the pid namespace shows them (kthreadd is pid 2).
        let k = procs
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|v| v["comm"] == "kthreadd");
        match k {
            Some(k) => assert_eq!(k["kernel_thread"], true, "{k}"),
            None => eprintln!("SKIPPED: no kernel threads visible in this pid namespace"),
        }
    }

    #[test]
    fn env_markers_keep_only_the_named_variables_escaped_and_capped() {
        let long = "A".repeat(600);
        let environ = format!(
            "PATH=/usr/bin\0LD_PRELOAD=/lib/x.so\x1b[2J\0PROMPT_COMMAND={long}\0LD_PRELOADX=no\0HISTSIZE=0\0"
        );
        let got = volatile::env_markers(environ.as_bytes());
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0], "LD_PRELOAD=/lib/x.so%1B[2J");
        assert!(got[1].starts_with("PROMPT_COMMAND=AAAA") && got[1].ends_with("…[88 more bytes]"));
        assert_eq!(got[2], "HISTSIZE=0");
    }
}
