//! Never a silent empty bundle: did the collector itself fail to read what a mail-server
//! collection must hold?
//!
//! Some evidence must be readable for the bundle to answer anything: the mail logs and the mail
//! daemons' configuration ([`REQUIRED`]). A path of those categories whose outcome is `denied`
//! (`EACCES`/`EPERM`, including a directory whose content could therefore not even be listed)
//! was refused to *this run* — not running as root, a mandatory access control policy, a
//! container profile — not absent from the host. [`judge`] turns such rows into a
//! [`Shortfall`]: written to custody, said loudly on stderr and in `collect.log`, and the run
//! exits with [`crate::exit_codes::ExitCode::Partial`] unless `--allow-partial` was given.
//!
//! To make another class of evidence mandatory, add its category to [`REQUIRED`].

use std::collections::BTreeMap;

use crate::evidence::custody::Shortfall;
use crate::evidence::manifest::{Category, ManifestRow, Outcome};

/// Categories the collector must be able to read.
pub const REQUIRED: [Category; 2] = [Category::MailLog, Category::MailConfig];

/// Most refused paths named in custody (the manifest has them all).
const MAX_NAMED: usize = 20;

/// The identity the collector ran as, and whether the kernel refused `openat2`, to explain a
/// refusal.
#[derive(Debug, Clone, Default)]
pub struct RunFacts {
    /// Effective uid (`None` where the platform has none).
    pub euid: Option<u32>,
    /// Whether the token is elevated (Windows; `None` elsewhere).
    pub elevated: Option<bool>,
    /// Why `openat2` was refused at start, if it was.
    pub openat2_refused: Option<String>,
}

/// The shortfall of a run, if any row of a [`REQUIRED`] category was denied.
pub fn judge(rows: &[ManifestRow], facts: &RunFacts, allowed: bool) -> Option<Shortfall> {
    let mut by_category: BTreeMap<String, u64> = BTreeMap::new();
    let mut paths = Vec::new();
    let mut refused = 0u64;
    for r in rows {
        if r.outcome != Outcome::Denied || !REQUIRED.contains(&r.category) {
            continue;
        }
        refused += 1;
        *by_category.entry(r.category.name().into()).or_insert(0) += 1;
        if paths.len() < MAX_NAMED {
            paths.push(r.source.clone());
        }
    }
    if refused == 0 {
        return None;
    }
    Some(Shortfall {
        rows_denied: refused,
        by_category,
        paths,
        causes: causes(facts),
        allowed,
    })
}

impl RunFacts {
    /// The facts of this process (the root's `openat2` probe is filled in by the caller).
    pub fn of_this_process() -> Self {
        let r = crate::evidence::platform::run_as();
        RunFacts {
            euid: r.euid,
            elevated: r.elevated,
            openat2_refused: None,
        }
    }

    /// The warning to give before anything is read, when the collector lacks privilege.
    pub fn unprivileged_warning(&self) -> Option<String> {
        let who = match (self.euid, self.elevated) {
            (Some(0), _) | (None, Some(true)) => return None,
            (Some(uid), _) => format!("uid {uid}, not root"),
            (None, Some(false)) => "an account that is not elevated (administrator)".into(),
            (None, None) => return None,
        };
        Some(format!(
            "WARNING: running as {who}: mail logs, mail configuration and other accounts' files readable only by an administrator will be refused (each is a `denied` row; exit 4 unless --allow-partial). Run it {}.",
            if self.euid.is_some() { "with sudo" } else { "from an administrator prompt" }
        ))
    }
}

/// The likely causes, most likely first.
fn causes(facts: &RunFacts) -> Vec<String> {
    let mut out = Vec::new();
    match facts.euid {
        Some(0) => out.push(
            "root was refused: a mandatory access control policy (SELinux, AppArmor), a container or seccomp profile, or a network/FUSE filesystem that does not honour root".into(),
        ),
        Some(uid) => out.push(format!(
            "the collector ran as uid {uid}, not root: mail logs and mail configuration are readable only by root or the mail groups; run it again with sudo"
        )),
        None if facts.elevated == Some(true) => out.push(
            "an elevated administrator was refused: the file is locked exclusively or its access list excludes administrators".into(),
        ),
        None => out.push(
            "the collector did not run elevated: run it from an administrator prompt (Run as administrator)".into(),
        ),
    }
    if let Some(why) = &facts.openat2_refused {
        out.push(format!(
            "the kernel refused openat2 at start ({why}); the collector fell back to open(2)"
        ));
    }
    out
}

/// The loud message for stderr and `collect.log`.
pub fn message(s: &Shortfall) -> String {
    let cats: Vec<String> = s
        .by_category
        .iter()
        .map(|(c, n)| format!("{c} {n}"))
        .collect();
    let first: Vec<&str> = s.paths.iter().take(5).map(String::as_str).collect();
    format!(
        "PARTIAL: {} path(s) of evidence a mail-server collection must hold were refused to the collector ({}; first: {}). Likely cause: {}. {}",
        s.rows_denied,
        cats.join(", "),
        first.join(", "),
        s.causes.join("; "),
        if s.allowed {
            "--allow-partial was given: the bundle is sealed as it is."
        } else {
            "The bundle is sealed and verifies, but it does not hold this evidence: fix the cause and collect again, or pass --allow-partial to accept it (exit 4 otherwise)."
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::pathname::HostPath;

    fn row(path: &str, category: Category, outcome: Outcome) -> ManifestRow {
        ManifestRow::new(&HostPath::new(path), category, outcome)
    }

    #[test]
    fn only_denied_rows_of_required_categories_count() {
        let facts = RunFacts {
            euid: Some(65534),
            elevated: None,
            openat2_refused: None,
        };
        let rows = vec![
            row("/var/log/mail.log", Category::MailLog, Outcome::Collected),
            row("/var/log/auth.log", Category::SystemLog, Outcome::Denied),
            row(
                "/etc/postfix/sasl_passwd",
                Category::MailConfig,
                Outcome::Missing,
            ),
        ];
        assert!(judge(&rows, &facts, false).is_none());
        let mut rows = rows;
        rows.push(row("/var/log/exim4", Category::MailLog, Outcome::Denied));
        rows.push(row(
            "/etc/postfix/main.cf",
            Category::MailConfig,
            Outcome::Denied,
        ));
        let s = judge(&rows, &facts, false).unwrap();
        assert_eq!(s.rows_denied, 2);
        assert_eq!(s.by_category["mail_log"], 1);
        assert_eq!(s.by_category["mail_config"], 1);
        assert_eq!(s.paths, ["/var/log/exim4", "/etc/postfix/main.cf"]);
        assert!(s.causes[0].contains("uid 65534"), "{:?}", s.causes);
        let m = message(&s);
        assert!(m.starts_with("PARTIAL: 2 path(s)"), "{m}");
        assert!(m.contains("--allow-partial"), "{m}");
    }
}
