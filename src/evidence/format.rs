//! The bundle container formats and the read size, shared by the writer, the reader and
//! `verify` (and compiled alone into the bundle-reader fuzz target). A new container is a
//! variant here, a sink in `writer.rs` and a reader in `reader.rs`.

use std::path::Path;

/// Size of one read from a source.
pub const CHUNK: usize = 1 << 20;

/// The container a bundle is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleFormat {
    /// `.zip`, deflate.
    Zip,
    /// `.tar.gz` / `.tgz`.
    TarGz,
    /// A directory.
    Dir,
}

impl BundleFormat {
    /// Chooses the format from the output path, per the contract.
    pub fn from_path(path: &Path) -> BundleFormat {
        let name = path.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".zip") {
            BundleFormat::Zip
        } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
            BundleFormat::TarGz
        } else {
            BundleFormat::Dir
        }
    }

    /// The name recorded in custody.
    pub fn name(self) -> &'static str {
        match self {
            BundleFormat::Zip => "zip",
            BundleFormat::TarGz => "tar.gz",
            BundleFormat::Dir => "dir",
        }
    }
}

/// How the entries of an archive bundle (zip, tar.gz) are compressed: `collect --compress`.
/// A directory bundle is never compressed. Either way every entry's SHA-256 is of its
/// content as read, so the manifest, `SHA256SUMS` and `verify` do not depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compress {
    /// Deflate at level 1 (the default): logs shrink about tenfold and the compressor keeps
    /// close to the speed of hashing.
    #[default]
    Fast,
    /// No compression: zip entries are `stored`, the tar.gz is one gzip member of stored
    /// deflate blocks (any gzip reader still opens it). Fastest on a fast destination; the
    /// bundle is as big as the evidence.
    None,
}

impl Compress {
    /// The name recorded in custody and accepted by `--compress`.
    pub fn name(self) -> &'static str {
        match self {
            Compress::Fast => "fast",
            Compress::None => "none",
        }
    }

    /// The deflate level.
    pub fn level(self) -> u32 {
        match self {
            Compress::Fast => 1,
            Compress::None => 0,
        }
    }
}
