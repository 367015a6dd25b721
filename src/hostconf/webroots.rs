//! The web roots of a host and the script files in them, grouped by install, for rules such as
//! "a script newer than the install around it".
//!
//! [`WebRoots::load`] reads the same inputs as [`super::HostConf::load`]: from a bundle, the
//! manifest's `web_script` rows (path, sha256, size, mtime, ctime, outcome), the `listed`
//! `web_script` rows that are the walked web roots, and the contents of the version files;
//! from a mounted root, the collector's own plan ([`crate::collect::planned`]) with each
//! script's metadata and hash read inside the root. Each script belongs to an [`Install`]:
//! the webmail install its path names (a `roundcube*` folder, Zimbra's `webapps/<app>`, SOGo,
//! Horde, SnappyMail, RainLoop), else the deepest web root above it. An install gets its
//! version where a file says it (Roundcube `program/include/iniset.php` `RCMAIL_VERSION`,
//! Zimbra `/opt/zimbra/.install_history`) and its reference times: the median mtime and
//! ctime of its scripts, which are the shipped files on any install an intruder added a few
//! files to.
//!
//! To recognise another product: a branch in [`install_of`] and, if it has one, its version
//! file in [`version_of`].

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::evidence::manifest::{Category, Outcome};
use crate::evidence::pathname::{hex, HostPath};
use crate::evidence::reader::for_each_entry;
use crate::evidence::root::HostRoot;

/// Largest version file read.
const MAX_VERSION_FILE: u64 = 1 << 20;
/// Largest script hashed from a mounted root (the collector's `web_script` cap).
const MAX_SCRIPT: u64 = 2 << 20;
/// Most scripts kept per run.
const MAX_SCRIPTS: usize = 1_000_000;

/// One script file of a web root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// Host path.
    pub path: String,
    /// Where the evidence is (bundle entry or root-relative path), when stored.
    pub shown: Option<String>,
    /// SHA-256 of the content (absent when too large or not read).
    pub sha256: Option<String>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// Modification time.
    pub mtime: Option<DateTime<Utc>>,
    /// Inode change time (an intruder who resets mtime leaves this).
    pub ctime: Option<DateTime<Utc>>,
    /// The manifest outcome (`collected`, `too_large`, `symlink`, `special`, `denied` …).
    pub outcome: String,
}

/// A webmail install or a plain web root, with its scripts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Install {
    /// Its folder.
    pub root: String,
    /// `roundcube`, `zimbra`, `sogo`, `horde`, `snappymail`, `rainloop`, or `web` for a web
    /// root of no known product.
    pub product: &'static str,
    /// Version, where a file of the install says it.
    pub version: Option<String>,
    /// Median mtime of its scripts (regular files only).
    pub reference_mtime: Option<DateTime<Utc>>,
    /// Median ctime of its scripts (regular files only).
    pub reference_ctime: Option<DateTime<Utc>>,
    /// Its scripts, by path.
    pub scripts: Vec<Script>,
}

impl Script {
    /// Whether it is a regular file (stored, too large, changed, or refused), not a link,
    /// FIFO or device.
    pub fn is_file(&self) -> bool {
        matches!(
            self.outcome.as_str(),
            "collected" | "changed_during_read" | "too_large" | "denied" | "destination_full"
        )
    }
}

impl Install {
    /// Whether `s` was modified (or had its inode changed) more than `slack_s` seconds after
    /// the install's reference time.
    pub fn newer_than_install(&self, s: &Script, slack_s: i64) -> bool {
        let after = |t: Option<DateTime<Utc>>, r: Option<DateTime<Utc>>| matches!((t, r), (Some(t), Some(r)) if (t - r).num_seconds() > slack_s);
        after(s.mtime, self.reference_mtime) || after(s.ctime, self.reference_ctime)
    }
}

/// Every web root and install found in the inputs.
#[derive(Debug, Default)]
pub struct WebRoots {
    /// Installs by folder.
    pub installs: Vec<Install>,
    /// Inputs or files that could not be read (what, why).
    pub errors: Vec<(String, String)>,
}

/// The install a script path belongs to, when its path names one: (folder, product).
pub fn install_of(path: &str) -> Option<(String, &'static str)> {
    let comps: Vec<&str> = path.split('/').collect();
    for (i, c) in comps.iter().enumerate() {
        let lower = c.to_ascii_lowercase();
        let product = if lower.starts_with("roundcube") {
            "roundcube"
        } else if lower == "sogo" && i > 0 && comps[i - 1] == "GNUstep" {
            "sogo"
        } else if lower == "horde" {
            "horde"
        } else if lower == "snappymail" {
            "snappymail"
        } else if lower == "rainloop" {
            "rainloop"
        } else if lower == "webapps" && path.starts_with("/opt/zimbra/") {
            // `/opt/zimbra/jetty*/webapps/<app>`.
            return (i + 2 < comps.len()).then(|| (comps[..=i + 1].join("/"), "zimbra"));
        } else {
            continue;
        };
        if i + 1 < comps.len() {
            return Some((comps[..=i].join("/"), product));
        }
    }
    None
}

/// The version a version file states: Roundcube's `define('RCMAIL_VERSION', '1.6.5')`, the
/// last `INSTALLED zimbra-core-<v>` of Zimbra's `.install_history`.
pub fn version_of(path: &str, text: &str) -> Option<String> {
    if path.ends_with("program/include/iniset.php") {
        let at = text.find("RCMAIL_VERSION")?;
        let rest = &text[at + "RCMAIL_VERSION".len()..];
        let rest = &rest[rest.find(',')? + 1..];
        let q = rest.find(['\'', '"'])?;
        let quote = rest[q..].chars().next()?;
        let v = rest[q + 1..].split(quote).next()?;
        return (!v.is_empty() && v.len() < 64).then(|| v.to_string());
    }
    if path.ends_with("/.install_history") {
        return text
            .lines()
            .rev()
            .filter_map(|l| l.split("zimbra-core-").nth(1))
            .find_map(|v| v.split_whitespace().next())
            .map(|v| crate::sanitize::cut(v, 64).to_string());
    }
    None
}

fn time(t: &Option<String>) -> Option<DateTime<Utc>> {
    t.as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn median(mut v: Vec<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    v.sort();
    v.get(v.len() / 2).copied()
}

fn is_version_file(path: &str) -> bool {
    path.ends_with("program/include/iniset.php") || path.ends_with("/opt/zimbra/.install_history")
}

impl WebRoots {
    /// Reads every bundle and mounted root among `inputs`.
    pub fn load(inputs: &[std::path::PathBuf]) -> WebRoots {
        let mut scripts = Vec::new();
        let mut roots = Vec::new();
        let mut versions = BTreeMap::new();
        let mut errors = Vec::new();
        for input in inputs {
            let lower = input.to_string_lossy().to_ascii_lowercase();
            let archive =
                lower.ends_with(".zip") || lower.ends_with(".tar.gz") || lower.ends_with(".tgz");
            let r = if input.is_dir() && input.join("manifest.jsonl").is_file()
                || input.is_file() && archive
            {
                read_bundle(input, &mut scripts, &mut roots, &mut versions)
            } else if input.is_dir() && input.join("etc").is_dir() {
                read_root(input, &mut scripts, &mut roots, &mut versions)
            } else {
                Ok(())
            };
            if let Err(e) = r {
                errors.push((input.display().to_string(), e));
            }
        }
        let mut w = group(scripts, roots, &versions);
        w.errors = errors;
        w
    }
}

/// Groups scripts into installs; `roots` are the walked web roots.
pub fn group(
    scripts: Vec<Script>,
    mut roots: Vec<String>,
    versions: &BTreeMap<String, String>,
) -> WebRoots {
    roots.sort();
    roots.dedup();
    let mut by: BTreeMap<String, Install> = BTreeMap::new();
    for s in scripts {
        let (root, product) = install_of(&s.path).unwrap_or_else(|| {
            let r = roots
                .iter()
                .filter(|r| HostPath::new(&s.path).starts_with(&HostPath::new(r)))
                .max_by_key(|r| r.len())
                .cloned()
                .unwrap_or_else(|| HostPath::new(&s.path).parent().display());
            (r, "web")
        });
        let i = by.entry(root.clone()).or_insert_with(|| Install {
            root,
            product,
            ..Install::default()
        });
        i.scripts.push(s);
    }
    for i in by.values_mut() {
        i.scripts.sort_by(|a, b| a.path.cmp(&b.path));
        // Links, FIFOs and devices are no shipped files.
        let files = || i.scripts.iter().filter(|s| s.is_file());
        i.reference_mtime = median(files().filter_map(|s| s.mtime).collect());
        i.reference_ctime = median(files().filter_map(|s| s.ctime).collect());
        i.version = versions
            .iter()
            .find(|(p, _)| {
                HostPath::new(p).starts_with(&HostPath::new(&i.root))
                    || (i.product == "zimbra" && p.ends_with("/opt/zimbra/.install_history"))
            })
            .map(|(_, v)| v.clone());
    }
    WebRoots {
        installs: by.into_values().collect(),
        errors: Vec::new(),
    }
}

fn read_bundle(
    bundle: &Path,
    scripts: &mut Vec<Script>,
    roots: &mut Vec<String>,
    versions: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    let mut texts: BTreeMap<String, String> = BTreeMap::new();
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    for_each_entry(bundle, |name, size, r| {
        if name == "manifest.jsonl" {
            let mut r = std::io::BufReader::new(r);
            let _ = crate::evidence::manifest::for_each_row(&mut r, |_, row| {
                let Ok(row) = row else { return };
                if let Some(s) = &row.stored {
                    if is_version_file(&row.source) {
                        sources.insert(s.clone(), row.source.clone());
                    }
                }
                if row.category != Category::WebScript || scripts.len() >= MAX_SCRIPTS {
                    return;
                }
                if row.outcome == Outcome::Listed {
                    roots.push(row.source);
                    return;
                }
                if row.file_type == crate::evidence::manifest::FileKind::Pattern {
                    return;
                }
                scripts.push(Script {
                    path: row.source.clone(),
                    shown: row.stored.clone(),
                    sha256: row.sha256.clone(),
                    size: row.size,
                    mtime: time(&row.mtime),
                    ctime: time(&row.ctime),
                    outcome: row.outcome.name().to_string(),
                });
            });
        } else if is_version_file(name) && size <= MAX_VERSION_FILE {
            let mut v = Vec::new();
            if r.take(MAX_VERSION_FILE).read_to_end(&mut v).is_ok() {
                texts.insert(name.to_string(), String::from_utf8_lossy(&v).into_owned());
            }
        }
    })
    .map_err(|e| e.to_string())?;
    // Listed rows of folders named like scripts (`x.php/`) are not roots: keep only folders
    // no other listed folder contains.
    let all = roots.clone();
    roots.retain(|r| {
        !all.iter()
            .any(|o| o != r && HostPath::new(r).starts_with(&HostPath::new(o)))
    });
    for (stored, text) in texts {
        if let Some(source) = sources.get(&stored) {
            if let Some(v) = version_of(source, &text) {
                versions.insert(source.clone(), v);
            }
        }
    }
    Ok(())
}

fn read_root(
    dir: &Path,
    scripts: &mut Vec<Script>,
    roots: &mut Vec<String>,
    versions: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let root = HostRoot::open(dir).map_err(|e| e.to_string())?;
    roots.extend(
        crate::collect::webapps::WEB_ROOTS
            .iter()
            .map(|r| r.to_string()),
    );
    roots.extend(
        crate::collect::web::web_config(&root)
            .roots
            .into_iter()
            .map(|(r, _)| r.display()),
    );
    for (path, category) in crate::collect::planned(&root) {
        let host = path.display();
        if is_version_file(&host) {
            if let Some(v) = root
                .read_small(&path, MAX_VERSION_FILE)
                .and_then(|b| version_of(&host, &String::from_utf8_lossy(&b)))
            {
                versions.insert(host.clone(), v);
            }
        }
        if category != Category::WebScript || scripts.len() >= MAX_SCRIPTS {
            continue;
        }
        let Ok(meta) = root.resolve(&path.parent()).and_then(|d| {
            root.lstat(&d.join(path.file_name()))
                .map_err(crate::evidence::root::ResolveError::Io)
        }) else {
            continue;
        };
        let stamp = |s: i64, n: i64| DateTime::from_timestamp(s, n.clamp(0, 999_999_999) as u32);
        let regular = meta.file_type().is_file();
        let sha256 = (regular && meta.len() <= MAX_SCRIPT)
            .then(|| root.read_small(&path, MAX_SCRIPT))
            .flatten()
            .map(|b| hex(&Sha256::digest(&b)));
        scripts.push(Script {
            shown: regular.then(|| path.relative().to_string_lossy().into_owned()),
            path: host,
            outcome: match (regular, &sha256) {
                (false, _) if meta.file_type().is_symlink() => "symlink",
                (false, _) => "special",
                (true, Some(_)) => "collected",
                (true, None) if meta.len() > MAX_SCRIPT => "too_large",
                (true, None) => "denied",
            }
            .to_string(),
            sha256,
            size: Some(meta.len()),
            mtime: stamp(meta.mtime(), meta.mtime_nsec()),
            ctime: stamp(meta.ctime(), meta.ctime_nsec()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installs_from_paths() {
        assert_eq!(
            install_of("/var/www/roundcube-1.6/temp/x.php"),
            Some(("/var/www/roundcube-1.6".into(), "roundcube"))
        );
        assert_eq!(
            install_of("/opt/zimbra/jetty_base/webapps/zimbra/public/x.jsp"),
            Some(("/opt/zimbra/jetty_base/webapps/zimbra".into(), "zimbra"))
        );
        assert_eq!(
            install_of("/usr/lib/GNUstep/SOGo/a.sh").map(|i| i.1),
            Some("sogo")
        );
        assert_eq!(install_of("/var/www/html/index.php"), None);
        assert_eq!(
            version_of(
                "/var/www/rc/program/include/iniset.php",
                "<?php\ndefine('RCMAIL_VERSION', '1.6.5');\n"
            )
            .as_deref(),
            Some("1.6.5")
        );
        assert_eq!(
            version_of(
                "/opt/zimbra/.install_history",
                "1: INSTALLED zimbra-core-9.0.0_GA_4178\n2: INSTALLED zimbra-core-10.1.0_GA_4200\n"
            )
            .as_deref(),
            Some("10.1.0_GA_4200")
        );
    }

    #[test]
    fn a_planted_script_is_newer_than_its_install() {
        let t = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        };
        let s = |p: &str, m: &str| Script {
            path: p.into(),
            shown: None,
            sha256: None,
            size: Some(1),
            mtime: t(m),
            ctime: t(m),
            outcome: "collected".into(),
        };
        let w = group(
            vec![
                s("/var/www/roundcube/index.php", "2024-01-01T00:00:00Z"),
                s("/var/www/roundcube/program/a.php", "2024-01-01T00:00:00Z"),
                s("/var/www/roundcube/temp/x.php", "2026-12-06T10:00:00Z"),
                s("/var/www/html/info.php", "2025-01-01T00:00:00Z"),
            ],
            vec!["/var/www".into()],
            &BTreeMap::new(),
        );
        assert_eq!(w.installs.len(), 2);
        let web = &w.installs[0];
        assert_eq!((web.root.as_str(), web.product), ("/var/www", "web"));
        let rc = &w.installs[1];
        assert_eq!(rc.reference_mtime, t("2024-01-01T00:00:00Z"));
        let newer: Vec<&str> = rc
            .scripts
            .iter()
            .filter(|s| rc.newer_than_install(s, 86_400))
            .map(|s| s.path.as_str())
            .collect();
        assert_eq!(newer, ["/var/www/roundcube/temp/x.php"]);
    }
}
