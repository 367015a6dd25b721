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
