//! mailir: incident response and forensics for compromised mail servers — collect, verify,
//! parse, detect, timeline, report.
//!
//! This library owns every command and everything they share; the `mailir` binary
//! (`src/main.rs`) only parses the command line into a resolved config ([`cli`]), calls the
//! command's `run` and turns its [`exit_codes::ExitCode`] into the process status. The fuzz
//! targets (`fuzz/fuzz_targets/`) link this library too, without the analysis stack.
//!
//! # The flow of the folders
//!
//! evidence → events → findings → timeline → report:
//!
//! - [`collect`] and [`evidence`]: `collect` preserves a host into a hashed, custody-recorded
//!   bundle; `verify` checks one; [`evidence::reader`] reads bundles in place for every later
//!   command; [`evidence::platform`] is the one seam to the operating system.
//! - `events` and `parse`: log lines and Exchange / Microsoft 365 exports into the normalized
//!   `events::record::Event` (one daemon parser per file over the shared syslog prefix; export
//!   readers in `events::exchange`); `parse` walks the inputs and streams them.
//! - `detect` and `hostconf`: findings from the events (one rule per file in
//!   `detect::rules`, the catalogue in `detect::catalog`), judged against the host's own
//!   configuration read from the same inputs (`hostconf`: configs, maps source and compiled,
//!   aliases, crontabs).
//! - `timeline`: the findings in time and grouped into attack phases, with its exports.
//! - `report`: the findings, timeline and playbook as Markdown, HTML and JSON; `triage` runs
//!   detect, timeline and report in one go.
//! - Shared: [`cli`] (arguments → configs), [`exit_codes`], [`sanitize`] (escaping attacker
//!   text), `outfile` (output files opened without following links).
//!
//! # Where new things go
//!
//! - A log format: a parser file in `src/events/` and its row in `DAEMONS` (`events/mod.rs`);
//!   an Exchange / M365 export: its `ExportKind` in `evidence/exports.rs` and its reader in
//!   `events/exchange/`.
//! - A rule: its file in `src/detect/rules/`, one line in `rules::all`, its record in
//!   `detect/catalog.rs` and its row in `docs/detections.md`.
//! - An output format: a `--format` variant and its renderer beside the command's others
//!   (`parse/output.rs`, `detect/render.rs`, `timeline/export.rs`, `report/`).
//! - A path to collect: a row in `collect/catalog.rs` (`catalog_windows.rs` for Exchange hosts).
//!
//! # Features
//!
//! - `analysis` (default): the offline commands (`parse`, `detect`, `timeline`, `report`,
//!   `triage`) and their stack (polars for Parquet, mimalloc in the binary). Without it the
//!   build is the lean collector: `collect` and `verify` only.
//! - `readers` (part of `analysis`): `events` and `hostconf` alone — the log line parsers, the
//!   export readers and the host configuration readers, without polars. The fuzz targets build
//!   with it.

pub mod cli;
pub mod collect;
#[cfg(feature = "analysis")]
pub mod detect;
#[cfg(feature = "readers")]
pub mod events;
pub mod evidence;
pub mod exit_codes;
#[cfg(feature = "readers")]
pub mod hostconf;
#[cfg(feature = "analysis")]
pub mod outfile;
#[cfg(feature = "analysis")]
pub mod parse;
#[cfg(feature = "analysis")]
pub mod report;
pub mod sanitize;
#[cfg(feature = "analysis")]
pub mod timeline;
#[cfg(feature = "analysis")]
pub mod triage;
