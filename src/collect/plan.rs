//! Expanding catalog patterns into an ordered list of things to take.
//!
//! Planning only looks (`lstat`, `readdir`); it never opens a file's content. Each pattern is
//! split into a literal base directory and a glob rest; the base is resolved inside the root,
//! walked without following links, and every match becomes a [`Item::Take`]. What cannot be
//! taken is already a manifest row here: a base or pattern that matched nothing (`missing`),
//! an unreadable directory (`denied`), a directory that matched (`listed`), a base directory
//! reached through a link (`symlink`). A path is planned once: the first pattern that
//! reaches it decides its category.

use std::collections::HashSet;
use std::io;
use std::path::Path;

use globset::{GlobBuilder, GlobMatcher};

use crate::evidence::manifest::{Category, FileKind, ManifestRow, Outcome};
use crate::evidence::pathname::HostPath;
use crate::evidence::platform::os_bytes;
use crate::evidence::root::{HostRoot, ResolveError};

/// Deepest a `**` pattern is walked.
const MAX_DEPTH: usize = 32;

/// One planned step.
#[derive(Debug)]
pub enum Item {
    /// Examine this path and store it if it is a regular file.
    Take {
        /// The host path.
        path: HostPath,
        /// Its category.
        category: Category,
    },
    /// A row that is final already.
    Row(Box<ManifestRow>),
}

/// Builds the plan.
pub struct Planner<'a> {
    root: &'a HostRoot,
    seen: HashSet<HostPath>,
    exclude: Option<HostPath>,
    /// Match glob components without regard to case (Windows names).
    nocase: bool,
    /// The plan, in collection order.
    pub items: Vec<Item>,
}

fn has_glob(c: &[u8]) -> bool {
    c.iter().any(|b| matches!(b, b'*' | b'?' | b'[' | b'{'))
}

/// Maps an I/O error to the outcome it means.
pub fn outcome_of(e: &io::Error) -> Outcome {
    match e.kind() {
        io::ErrorKind::NotFound => Outcome::Missing,
        io::ErrorKind::PermissionDenied => Outcome::Denied,
        _ => Outcome::Error,
    }
}

impl<'a> Planner<'a> {
    /// A planner over `root`; `exclude` is the bundle's own path on the host, if it lies in it.
    pub fn new(root: &'a HostRoot, exclude: Option<HostPath>) -> Self {
        Planner {
            root,
            seen: HashSet::new(),
            exclude,
            nocase: false,
            items: Vec::new(),
        }
    }

    /// Matches the glob part of later patterns case-insensitively (as Windows names are).
    pub fn case_insensitive(&mut self, yes: bool) {
        self.nocase = yes;
    }

    /// Marks a path as planned; false when it was already.
    pub fn mark(&mut self, p: &HostPath) -> bool {
        self.seen.insert(p.clone())
    }

    fn row(
        &mut self,
        path: &HostPath,
        category: Category,
        outcome: Outcome,
        error: Option<String>,
    ) {
        let mut row = ManifestRow::new(path, category, outcome);
        row.error = error;
        self.items.push(Item::Row(Box::new(row)));
    }

    /// Plans a catalog pattern such as `/var/log/mail.*` or `/etc/postfix/**`.
    pub fn add_pattern(&mut self, pattern: &str, category: Category) {
        self.add(&HostPath::root(), pattern.as_bytes(), category, false);
    }

    /// Plans `rest` (a relative pattern) under the literal directory `base`. With
    /// `prune_maildirs`, Maildir `cur`/`new`/`tmp` folders are not descended (mail content).
    pub fn add(&mut self, base: &HostPath, rest: &[u8], category: Category, prune_maildirs: bool) {
        let mut base = base.clone();
        let comps: Vec<&[u8]> = rest
            .split(|&b| b == b'/')
            .filter(|c| !c.is_empty())
            .collect();
        let first_glob = comps
            .iter()
            .position(|c| has_glob(c))
            .unwrap_or(comps.len());
        for c in &comps[..first_glob] {
            base = base.join(c);
        }
        let glob_rest = &comps[first_glob..];
        if glob_rest.is_empty() {
            self.take(base, category);
            return;
        }
        let glob_text = glob_rest
            .iter()
            .map(|c| String::from_utf8_lossy(c))
            .collect::<Vec<_>>()
            .join("/");
        let label = format!("{}/{}", base.display().trim_end_matches('/'), glob_text);
        let depth = if glob_text.contains("**") {
            MAX_DEPTH
        } else {
            glob_rest.len()
        };
        let matcher = match GlobBuilder::new(&glob_text)
            .literal_separator(true)
            .case_insensitive(self.nocase)
            .build()
        {
            Ok(g) => g.compile_matcher(),
            Err(e) => {
                let mut row =
                    ManifestRow::named(label, category, Outcome::Error, FileKind::Pattern);
                row.error = Some(format!("bad pattern: {e}"));
                self.items.push(Item::Row(Box::new(row)));
                return;
            }
        };
        self.walk(&base, &label, &matcher, depth, category, prune_maildirs);
    }

    /// Plans one path.
    pub fn take(&mut self, path: HostPath, category: Category) {
        if self.seen.insert(path.clone()) {
            self.items.push(Item::Take { path, category });
        }
    }

    fn walk(
        &mut self,
        base: &HostPath,
        label: &str,
        glob: &GlobMatcher,
        depth: usize,
        category: Category,
        prune: bool,
    ) {
        let resolved = match self.root.resolve(base) {
            Ok(r) => r,
            Err(ResolveError::Loop) => {
                return self.row(
                    base,
                    category,
                    Outcome::Error,
                    Some("symlink loop in the directory path".into()),
                );
            }
            Err(ResolveError::Io(e)) => {
                let outcome = outcome_of(&e);
                return self.row(
                    base,
                    category,
                    outcome,
                    (outcome != Outcome::Missing).then(|| e.to_string()),
                );
            }
        };
        if &resolved != base && self.seen.insert(base.clone()) {
            let mut row = ManifestRow::new(base, category, Outcome::Symlink);
            row.file_type = FileKind::Symlink;
            row.link_target = Some(resolved.display());
            if base.starts_with(&resolved) {
                row.error = Some("directory link points to an ancestor; not walked".into());
                self.items.push(Item::Row(Box::new(row)));
                return;
            }
            row.error = Some("directory reached through a link; walked at its target".into());
            self.items.push(Item::Row(Box::new(row)));
        }
        let real = self.root.real(&resolved);
        match self.root.lstat(&resolved) {
            Ok(m) if m.is_dir() => {
                if self.seen.insert(resolved.clone()) {
                    let mut row = ManifestRow::new(&resolved, category, Outcome::Listed);
                    row.set_meta(&m);
                    self.items.push(Item::Row(Box::new(row)));
                }
            }
            Ok(m) => {
                let mut row = ManifestRow::new(&resolved, category, Outcome::Error);
                row.set_meta(&m);
                row.error = Some(format!("expected a directory for pattern {label}"));
                return self.items.push(Item::Row(Box::new(row)));
            }
            Err(e) => {
                let outcome = outcome_of(&e);
                return self.row(
                    &resolved,
                    category,
                    outcome,
                    (outcome != Outcome::Missing).then(|| e.to_string()),
                );
            }
        }
        let mut matched = 0usize;
        let mut walker = walkdir::WalkDir::new(&real)
            .follow_links(false)
            .min_depth(1)
            .max_depth(depth)
            .sort_by_file_name()
            .into_iter();
        while let Some(entry) = walker.next() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    if let Some(p) = e.path() {
                        let host = host_of(&real, &resolved, p);
                        let io = e
                            .into_io_error()
                            .unwrap_or_else(|| io::Error::other("walk error"));
                        self.row(&host, category, outcome_of(&io), Some(io.to_string()));
                    }
                    continue;
                }
            };
            let host = host_of(&real, &resolved, entry.path());
            let rel = entry.path().strip_prefix(&real).unwrap_or(entry.path());
            let is_dir = entry.file_type().is_dir();
            if self.exclude.as_ref().is_some_and(|x| host.starts_with(x)) {
                self.row(
                    &host,
                    category,
                    Outcome::Skipped,
                    Some("the bundle being written".into()),
                );
                if is_dir {
                    walker.skip_current_dir();
                }
                continue;
            }
            if is_dir && prune && matches!(&*os_bytes(entry.file_name()), b"cur" | b"new" | b"tmp")
            {
                walker.skip_current_dir();
                continue;
            }
            if !glob.is_match(rel) {
                continue;
            }
            matched += 1;
            if is_dir {
                if self.seen.insert(host.clone()) {
                    let mut row = ManifestRow::new(&host, category, Outcome::Listed);
                    if let Ok(m) = entry.metadata() {
                        row.set_meta(&m);
                    }
                    self.items.push(Item::Row(Box::new(row)));
                }
            } else {
                self.take(host, category);
            }
        }
        if matched == 0 {
            let mut row = ManifestRow::named(
                label.to_string(),
                category,
                Outcome::Missing,
                FileKind::Pattern,
            );
            row.error = Some("no file matches this pattern".into());
            self.items.push(Item::Row(Box::new(row)));
        }
    }
}

/// The host path of a real path found under `real` (which is `resolved` on the host).
pub fn host_of(real: &Path, resolved: &HostPath, p: &Path) -> HostPath {
    let rel = p.strip_prefix(real).unwrap_or(p);
    let mut h = resolved.clone();
    for c in rel.components() {
        h = h.join(&os_bytes(c.as_os_str()));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn plan(root: &Path, pattern: &str) -> Vec<String> {
        let r = HostRoot::open(root).unwrap();
        let mut p = Planner::new(&r, None);
        p.add_pattern(pattern, Category::MailLog);
        p.items
            .iter()
            .map(|i| match i {
                Item::Take { path, .. } => format!("take {}", path.display()),
                Item::Row(r) => format!("{} {}", r.outcome.name(), r.source),
            })
            .collect()
    }

    #[test]
    fn patterns_expand_in_order_and_report_misses() {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir_all(t.path().join("var/log/exim4")).unwrap();
        for f in ["mail.log", "mail.log.1", "mail.log.2.gz", "syslog"] {
            fs::write(t.path().join("var/log").join(f), b"x").unwrap();
        }
        fs::write(t.path().join("var/log/exim4/mainlog"), b"x").unwrap();
        assert_eq!(
            plan(t.path(), "/var/log/mail.*"),
            [
                "listed /var/log",
                "take /var/log/mail.log",
                "take /var/log/mail.log.1",
                "take /var/log/mail.log.2.gz"
            ]
        );
        assert_eq!(
            plan(t.path(), "/var/log/exim4/**"),
            ["listed /var/log/exim4", "take /var/log/exim4/mainlog"]
        );
        assert_eq!(
            plan(t.path(), "/var/log/maillog*"),
            ["listed /var/log", "missing /var/log/maillog*"]
        );
        assert_eq!(plan(t.path(), "/etc/exim/**"), ["missing /etc/exim"]);
    }
}
