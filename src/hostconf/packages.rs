//! Package verification output of a live collection: `dpkg --verify` (Debian, Ubuntu) and
//! `rpm -Va` (RHEL, Fedora, SUSE), kept as `volatile/dpkg-verify.stdout` and
//! `volatile/rpm-Va.stdout`.
//!
//! Both print one line per file that differs from the package database, in the same shape
//! (dpkg(1), `--verify-format rpm`; rpm(8), VERIFY OPTIONS): a nine-character field — `missing`
//! or one character per test (`S` size, `M` mode, `5` digest, `D` device, `L` link, `U` user,
//! `G` group, `T` mtime, `P` capabilities; `.` passed, `?` not tested) —, an attribute
//! character (`c` configuration, `d` documentation, `g` ghost, `l` licence, `r` readme, or a
//! space), and the path. [`verify`] reads either into [`Changed`] records with their line;
//! `host.package_modified` judges them. A new tool's format is one more reader here.

/// One file the package manager says changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// Line of the output (from 1).
    pub line: u64,
    /// The nine test characters, or `missing`.
    pub tests: String,
    /// Attribute character (`c`, `d`, `g`, `l`, `r`), none for a plain file.
    pub attr: Option<char>,
    /// Host path.
    pub path: String,
}

impl Changed {
    /// Whether the file is gone.
    pub fn missing(&self) -> bool {
        self.tests == "missing"
    }

    /// Whether its digest differs (`5` in the third place).
    pub fn digest(&self) -> bool {
        !self.missing() && self.tests.as_bytes().get(2) == Some(&b'5')
    }

    /// Whether the package marks it a configuration file (which administrators edit).
    pub fn config(&self) -> bool {
        self.attr == Some('c')
    }
}

/// Reads `dpkg --verify` or `rpm -Va` output; other lines (rpm's dependency and error
/// messages) are skipped.
pub fn verify(text: &str) -> Vec<Changed> {
    let mut out = Vec::new();
    for (n, l) in super::numbered(text) {
        let Some((tests, rest)) = l.split_once(' ') else {
            continue;
        };
        let valid = tests == "missing"
            || (tests.len() == 9 && tests.bytes().all(|b| b"SM5DLUGTP.?".contains(&b)));
        if !valid {
            continue;
        }
        let rest = rest.trim_start();
        let (attr, path) = match rest.as_bytes() {
            [a, b' ', ..] if *a != b'/' => (Some(*a as char), rest[2..].trim_start()),
            _ => (None, rest),
        };
        if !path.starts_with('/') {
            continue;
        }
        out.push(Changed {
            line: n,
            tests: tests.to_string(),
            attr,
            path: path.to_string(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_lines() {
        // Real `dpkg --verify` lines of this project's build machine (Debian), and a digest
        // change of a conffile in the same format (dpkg(1), --verify-format rpm).
        let text = "missing   c /etc/debuginfod/elfutils.urls\nmissing     /usr/lib/node_modules/npm/.npmrc\n??5??????   /usr/lib/python3/dist-packages/pip/_vendor/certifi/cacert.pem\n??5?????? c /etc/postfix/main.cf\n";
        let v = verify(text);
        assert_eq!(v.len(), 4);
        assert!(v[0].missing() && v[0].config() && v[0].path == "/etc/debuginfod/elfutils.urls");
        assert!(
            v[1].missing() && !v[1].config() && v[1].path == "/usr/lib/node_modules/npm/.npmrc"
        );
        assert!(v[2].digest() && v[2].attr.is_none() && v[2].line == 3);
        assert!(v[3].digest() && v[3].config() && v[3].path == "/etc/postfix/main.cf");
    }

    #[test]
    fn rpm_lines() {
        // The forms rpm(8) documents under VERIFY OPTIONS ("SM5DLUGTP" and the c/d/g/l/r
        // attribute markers) and that `rpm -Va` prints, e.g. the Red Hat System
        // Administrator's Guide's `S.5....T.  c /etc/...` example.
        let text = "S.5....T.  c /etc/ssh/sshd_config\n..5....T.    /usr/sbin/sshd\nmissing   d /usr/share/doc/openssh/README\n.M.......  g /run/sshd\nUnsatisfied dependencies for foo-1.0: bar\nerror: something\n";
        let v = verify(text);
        assert_eq!(v.len(), 4, "{v:?}");
        assert!(v[0].digest() && v[0].config() && v[0].path == "/etc/ssh/sshd_config");
        assert!(v[1].digest() && v[1].attr.is_none() && v[1].path == "/usr/sbin/sshd");
        assert!(v[2].missing() && v[2].attr == Some('d'));
        assert!(!v[3].digest() && v[3].attr == Some('g') && v[3].line == 4);
    }
}
