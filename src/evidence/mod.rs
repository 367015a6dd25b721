//! Evidence: where bytes come from and where they go.
//!
//! - [`root`]: the one seam to the host — the live root `/` or a mounted/unpacked `--root`;
//!   safe, in-root path resolution and opening.
//! - [`pathname`]: host paths and their escaped bundle names.
//! - [`manifest`], [`custody`], [`sums`]: the bundle's records (contract in `docs/bundle.md`).
//! - [`writer`]: streaming zip / tar.gz / directory writers that hash while copying.
//! - [`reader`]: reading bundles in place, hostile entries refused.
//! - [`verify`]: the `verify` command.
//! - [`scratch`]: nameless scratch files (nothing left behind, even on `kill -9`).
//! - [`exports`], [`weblines`]: what a log or export file is, by its first bytes.
//! - [`platform`]: the one seam to the operating system (Linux or Windows): opening, metadata,
//!   path mapping, scratch files, the run-as identity, running commands.

pub mod custody;
pub mod exports;
pub mod format;
pub mod manifest;
pub mod pathname;
pub mod platform;
pub mod reader;
pub mod root;
pub mod scratch;
pub mod sums;
pub mod verify;
pub mod weblines;
pub mod writer;
