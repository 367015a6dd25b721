//! The command line (clap derive) and its resolution into typed configs.
//!
//! `Cli` is what the user typed; `resolve_*` turn it into the config a command runs with
//! (dates parsed, the command line captured), so no command sees raw arguments. The analysis
//! commands (`parse`, `detect`, `timeline`, `report`, `triage`) are added behind the
//! `analysis` feature as they are built; the lean build has `collect` and `verify` only.

use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{bail, Result};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand};

use crate::collect::CollectConfig;
use crate::evidence::format::{BundleFormat, Compress};

/// Incident response and forensics for compromised mail servers.
#[derive(Debug, Parser)]
#[command(name = "mailir", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Preserve a live host's (or a mounted root's) mail evidence into a hashed bundle.
    Collect(CollectArgs),
    /// Re-hash a bundle and cross-check files, SHA256SUMS, manifest, custody and sidecar.
    Verify {
        /// The bundle: a .zip, a .tar.gz/.tgz, or a directory.
        bundle: PathBuf,
    },
    /// Turn mail logs (in bundles, directories or files) into normalized events.
    #[cfg(feature = "analysis")]
    Parse(ParseArgs),
    /// Find attacks, persistence and log tampering in the inputs (logs and configuration).
    #[cfg(feature = "analysis")]
    Detect(DetectArgs),
    /// Order the findings into attack phases; export for Timesketch or plaso.
    #[cfg(feature = "analysis")]
    Timeline(TimelineArgs),
    /// Write the incident report (summary, findings, timeline, playbook) into a folder.
    #[cfg(feature = "analysis")]
    Report(ReportArgs),
    /// Detect, timeline and report in one run: everything into one folder, a summary here.
    #[cfg(feature = "analysis")]
    Triage(ReportArgs),
    /// List the detection rules: id, severities, phase, ATT&CK, roles and playbook steps.
    #[cfg(feature = "analysis")]
    Rules {
        /// text (a line per rule), json (every field) or markdown (a table).
        #[arg(long, value_enum, default_value = "text")]
        format: crate::detect::listing::Format,
    },
}

/// The inputs and time options `parse` and `detect` share.
#[cfg(feature = "analysis")]
#[derive(Debug, clap::Args)]
pub struct LogInputArgs {
    /// Bundles (.zip, .tar.gz), directories (unpacked bundle, mounted root, folder of logs) or files.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// The year of every year-less timestamp (overrides inference).
    #[arg(long, value_name = "YYYY")]
    pub year: Option<i32>,
    /// Time zone of local timestamps (IANA name, e.g. Asia/Shanghai); default: bundle custody, else UTC.
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,
}

#[cfg(feature = "analysis")]
impl LogInputArgs {
    /// Resolves into the config the parse layer runs with.
    pub fn resolve(
        self,
        format: crate::parse::output::Format,
        unparsed: Option<PathBuf>,
    ) -> Result<crate::parse::ParseConfig> {
        let timezone = match self.timezone {
            Some(z) => Some(
                z.parse::<chrono_tz::Tz>()
                    .map_err(|e| anyhow::anyhow!("--timezone {z:?}: {e}"))?,
            ),
            None => None,
        };
        Ok(crate::parse::ParseConfig {
            inputs: self.inputs,
            format,
            out: self.out,
            year: self.year,
            timezone,
            unparsed,
            partition: Vec::new(),
            host: None,
        })
    }
}

/// `mailir parse` arguments.
#[cfg(feature = "analysis")]
#[derive(Debug, clap::Args)]
pub struct ParseArgs {
    /// Inputs and time options.
    #[command(flatten)]
    pub input: LogInputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: crate::parse::output::Format,
    /// Write the lines no parser understood to this file (`path:line: text`).
    #[arg(long, value_name = "FILE")]
    pub unparsed: Option<PathBuf>,
    /// With --format parquet: write a Hive-partitioned dataset into the folder --out
    /// (`host=<host>/day=<YYYY-MM-DD>/part-<n>.parquet`; see docs/events.md).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "host,day")]
    pub partition: Vec<crate::parse::lake::Partition>,
}

#[cfg(feature = "analysis")]
impl ParseArgs {
    /// Resolves the arguments into the config `parse` runs with.
    pub fn resolve(self) -> Result<crate::parse::ParseConfig> {
        let mut cfg = self.input.resolve(self.format, self.unparsed)?;
        cfg.partition = self.partition;
        Ok(cfg)
    }
}

/// How the rules run: thresholds and the host's own domains (`detect` and `timeline`).
#[cfg(feature = "analysis")]
#[derive(Debug, clap::Args)]
pub struct RuleArgs {
    /// TOML file whose `[thresholds]` table overrides rule thresholds (see docs/detections.md).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Override one threshold, e.g. `--set brute_force_failures=50` (repeatable; after --config).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub sets: Vec<String>,
    /// A mail domain of the host (forwards there are not external); repeatable. Added to
    /// those the configuration names (mydestination, virtual and relay domains, mailname).
    #[arg(long = "local-domain", value_name = "DOMAIN")]
    pub local_domains: Vec<String>,
    /// Switch off a rule or a family of rules (`auth.off_hours`, `config`); repeatable. Also
    /// `disable = [...]` in the config file's `[rules]` table. `mailir rules` lists them.
    #[arg(long, value_name = "RULE|PREFIX")]
    pub disable: Vec<String>,
    /// Keep a rule that a broader --disable switched off (`--disable config --enable
    /// config.open_relay`); repeatable. Also `enable = [...]` in `[rules]`.
    #[arg(long, value_name = "RULE|PREFIX")]
    pub enable: Vec<String>,
    /// Hosts judged at once when the inputs are several hosts' evidence (each host's own run
    /// already reads on every core; more at once means more memory). Default 2.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
}

#[cfg(feature = "analysis")]
impl RuleArgs {
    /// Resolves into the config detection runs with.
    pub fn resolve(
        self,
        input: LogInputArgs,
        format: crate::detect::render::Format,
    ) -> Result<crate::detect::DetectConfig> {
        let config = match &self.config {
            Some(p) => Some(
                std::fs::read_to_string(p)
                    .map_err(|e| anyhow::anyhow!("--config {}: {e}", p.display()))?,
            ),
            None => None,
        };
        let thresholds = crate::detect::rules::Thresholds::load(config.as_deref(), &self.sets)
            .map_err(|e| anyhow::anyhow!("thresholds: {e}"))?;
        let (mut disable, mut enable) = rule_lists(config.as_deref())?;
        disable.extend(self.disable);
        enable.extend(self.enable);
        let rules = crate::detect::catalog::Selection::new(disable, enable)
            .map_err(|e| anyhow::anyhow!("rules: {e}"))?;
        let parse = input.resolve(crate::parse::output::Format::Facts, None)?;
        Ok(crate::detect::DetectConfig {
            parse,
            format,
            thresholds,
            local_domains: self.local_domains,
            rules,
            jobs: usize::from(self.jobs),
            partition_by_host: false,
        })
    }
}

/// The `disable` and `enable` lists of the config file's `[rules]` table.
#[cfg(feature = "analysis")]
fn rule_lists(config: Option<&str>) -> Result<(Vec<String>, Vec<String>)> {
    #[derive(Default, serde::Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Lists {
        disable: Vec<String>,
        enable: Vec<String>,
    }
    let Some(text) = config else {
        return Ok(Default::default());
    };
    let mut doc: toml::Table =
        toml::from_str(text).map_err(|e| anyhow::anyhow!("--config: {e}"))?;
    let lists: Lists = match doc.remove("rules") {
        Some(v) => v
            .try_into()
            .map_err(|e: toml::de::Error| anyhow::anyhow!("--config [rules]: {e}"))?,
        None => Lists::default(),
    };
    Ok((lists.disable, lists.enable))
}

/// `mailir detect` arguments.
#[cfg(feature = "analysis")]
#[derive(Debug, clap::Args)]
pub struct DetectArgs {
    /// Inputs and time options.
    #[command(flatten)]
    pub input: LogInputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: crate::detect::render::Format,
    /// Thresholds and domains.
    #[command(flatten)]
    pub rules: RuleArgs,
    /// With --format parquet: write a Hive-partitioned dataset into the folder --out, one row
    /// per finding and host under `host=<host>/` (only `host`; see docs/fleet.md).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "host")]
    pub partition: Vec<crate::parse::lake::Partition>,
}

#[cfg(feature = "analysis")]
impl DetectArgs {
    /// Resolves the arguments into the config `detect` runs with.
    pub fn resolve(self) -> Result<crate::detect::DetectConfig> {
        use crate::parse::lake::Partition;
        if self.partition.contains(&Partition::Day) {
            bail!(
                "detect --partition: findings are partitioned by host only (a finding spans days)"
            );
        }
        let by_host = self.partition.contains(&Partition::Host);
        if by_host && self.format != crate::detect::render::Format::Parquet {
            bail!("detect --partition writes a Parquet dataset: give --format parquet");
        }
        let mut cfg = self.rules.resolve(self.input, self.format)?;
        cfg.partition_by_host = by_host;
        Ok(cfg)
    }
}

/// `mailir timeline` arguments.
#[cfg(feature = "analysis")]
#[derive(Debug, clap::Args)]
pub struct TimelineArgs {
    /// Inputs and time options.
    #[command(flatten)]
    pub input: LogInputArgs,
    /// Export format.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: crate::timeline::export::Format,
    /// Every event of the logs, not only those around the findings.
    #[arg(long)]
    pub all: bool,
    /// Thresholds and domains.
    #[command(flatten)]
    pub rules: RuleArgs,
}

#[cfg(feature = "analysis")]
impl TimelineArgs {
    /// Resolves the arguments into the config `timeline` runs with.
    pub fn resolve(self) -> Result<crate::timeline::TimelineConfig> {
        Ok(crate::timeline::TimelineConfig {
            detect: self
                .rules
                .resolve(self.input, crate::detect::render::Format::Jsonl)?,
            format: self.format,
            all: self.all,
        })
    }
}

/// `mailir report` arguments.
#[cfg(feature = "analysis")]
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Bundles (.zip, .tar.gz), directories (unpacked bundle, mounted root, folder of logs) or files.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Folder to write the report (and, for triage, the timeline exports) into (created).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Language of the report.
    #[arg(long, value_enum, default_value = "en")]
    pub lang: crate::report::Lang,
    /// A folder with a team's own steps.toml instead of the built-in playbook.
    #[arg(long, value_name = "DIR")]
    pub playbooks: Option<PathBuf>,
    /// The case file (organisation, countries, sector, clocks, data) that decides which
    /// notification regimes apply and when (see docs/report.md).
    #[arg(long, value_name = "FILE")]
    pub case: Option<PathBuf>,
    /// The year of every year-less timestamp (overrides inference).
    #[arg(long, value_name = "YYYY")]
    pub year: Option<i32>,
    /// Time zone of local timestamps (IANA name); default: bundle custody, else UTC.
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,
    /// Thresholds and domains.
    #[command(flatten)]
    pub rules: RuleArgs,
}

#[cfg(feature = "analysis")]
impl ReportArgs {
    /// Resolves the arguments into the config `report` runs with.
    pub fn resolve(self) -> Result<crate::report::ReportConfig> {
        let input = LogInputArgs {
            inputs: self.inputs,
            out: None,
            year: self.year,
            timezone: self.timezone,
        };
        Ok(crate::report::ReportConfig {
            detect: self
                .rules
                .resolve(input, crate::detect::render::Format::Jsonl)?,
            out_dir: self.out,
            lang: self.lang,
            playbooks: self.playbooks,
            case: self.case,
        })
    }
}

/// `mailir collect` arguments.
#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// Collect from this mounted image or unpacked tree instead of the live root `/`
    /// (implies --no-volatile).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Bundle to write: PATH.zip, PATH.tar.gz / .tgz, otherwise a new directory.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Case identifier recorded in custody.json.
    #[arg(long, value_name = "ID")]
    pub case: Option<String>,
    /// Examiner recorded in custody.json.
    #[arg(long, value_name = "NAME")]
    pub examiner: Option<String>,
    /// Skip rotated logs last written before DATE (YYYY-MM-DD or RFC 3339); recorded as skipped.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Size cap for every file, overriding the per-category defaults (see docs/collect.md).
    #[arg(long, value_name = "BYTES")]
    pub max_file_size: Option<u64>,
    /// Do not take processes, sockets, sessions, queue and effective config.
    #[arg(long)]
    pub no_volatile: bool,
    /// Also copy mailbox content (default: mailboxes are listed, not copied).
    #[arg(long)]
    pub include_mailboxes: bool,
    /// Package these folders of exported files (Exchange logs, Microsoft 365 audit-log and
    /// rule exports) under exports/<n>/ in the bundle; without --root, only these are taken.
    #[arg(long, value_name = "DIR", num_args = 1..)]
    pub exports: Vec<PathBuf>,
    /// Exit 0 even when mail logs or mail configuration were refused to the collector (not
    /// root, an access policy); custody still records the shortfall. Without it: exit 4.
    #[arg(long)]
    pub allow_partial: bool,
    /// How a zip or tar.gz bundle is compressed: `fast` (deflate level 1, the default) or
    /// `none` (stored: bigger, less CPU). A directory bundle is never compressed.
    #[arg(long, value_name = "fast|none", value_parser = parse_compress)]
    pub compress: Option<Compress>,
}

/// Parses `--compress`.
fn parse_compress(s: &str) -> Result<Compress, String> {
    match s {
        "fast" => Ok(Compress::Fast),
        "none" => Ok(Compress::None),
        _ => Err(format!("{s:?}: expected fast or none")),
    }
}

/// Parses `--since`: a date (midnight UTC) or an RFC 3339 time.
pub fn parse_since(s: &str) -> Result<SystemTime> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc).into());
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc().into());
        }
    }
    bail!("--since {s:?}: expected YYYY-MM-DD or an RFC 3339 time")
}

impl CollectArgs {
    /// Resolves the arguments into the config `collect` runs with.
    pub fn resolve(self) -> Result<CollectConfig> {
        let since = match self.since {
            Some(s) => Some((s.clone(), parse_since(&s)?)),
            None => None,
        };
        let host = self.exports.is_empty() || self.root.is_some();
        if self.compress.is_some() && BundleFormat::from_path(&self.out) == BundleFormat::Dir {
            bail!(
                "--compress applies to a .zip or .tar.gz bundle; {} would be a directory, which is never compressed",
                self.out.display()
            );
        }
        Ok(CollectConfig {
            volatile: host && !self.no_volatile && self.root.is_none(),
            exports: self.exports,
            host,
            root: self.root.unwrap_or_else(|| PathBuf::from("/")),
            out: self.out,
            case: self.case,
            examiner: self.examiner,
            since,
            max_file_size: self.max_file_size,
            include_mailboxes: self.include_mailboxes,
            allow_partial: self.allow_partial,
            compress: self.compress.unwrap_or_default(),
            command_line: std::env::args_os()
                .map(|a| crate::evidence::pathname::escape(a.as_encoded_bytes()))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_dates_and_times() {
        let d = parse_since("2026-03-01").unwrap();
        let t = parse_since("2026-03-01T00:00:00Z").unwrap();
        assert_eq!(d, t);
        assert!(parse_since("yesterday").is_err());
    }

    #[test]
    fn cli_definition_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
