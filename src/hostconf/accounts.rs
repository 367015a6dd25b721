//! The host's accounts: `/etc/passwd`, `/etc/group`, sudoers rules and the collector's
//! metadata of `/etc/shadow` (never its hashes).
//!
//! Each parser takes a file's text and returns its records with their 1-based line, so rules
//! can cite them; malformed lines are skipped, never an error. The shadow metadata is the JSON
//! lines the collector writes under `derived:/etc/shadow` (one object per account: `account`,
//! `password` = `set` | `locked` | `disabled` | `empty`, `scheme`, `last_change_day`,
//! `last_change`, `min`, `max`, `inactive`, `expire`); unknown keys are ignored. To read another
//! account database (`/etc/master.passwd`, an LDAP export), add a parser returning
//! [`PasswdEntry`] here.

use super::numbered;

/// One line of `/etc/passwd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    /// 1-based line.
    pub line: u64,
    /// Account name.
    pub name: String,
    /// The password field (`x`: in shadow; empty: no password at all).
    pub password: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// GECOS (comment).
    pub gecos: String,
    /// Home directory.
    pub home: String,
    /// Login shell.
    pub shell: String,
}

/// The accounts of a passwd(5) file (NIS `+`/`-` lines, comments and malformed lines skipped).
pub fn passwd(text: &str) -> Vec<PasswdEntry> {
    numbered(text)
        .filter_map(|(line, l)| {
            if l.starts_with(['#', '+', '-']) {
                return None;
            }
            let f: Vec<&str> = l.split(':').collect();
            if f.len() != 7 || f[0].is_empty() {
                return None;
            }
            Some(PasswdEntry {
                line,
                name: f[0].to_string(),
                password: f[1].to_string(),
                uid: f[2].trim().parse().ok()?,
                gid: f[3].trim().parse().ok()?,
                gecos: f[4].to_string(),
                home: f[5].to_string(),
                shell: f[6].trim_end_matches('\r').to_string(),
            })
        })
        .collect()
}

/// One line of `/etc/group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    /// 1-based line.
    pub line: u64,
    /// Group name.
    pub name: String,
    /// Group id.
    pub gid: u32,
    /// Listed members.
    pub members: Vec<String>,
}

/// The groups of a group(5) file.
pub fn groups(text: &str) -> Vec<GroupEntry> {
    numbered(text)
        .filter_map(|(line, l)| {
            if l.starts_with(['#', '+', '-']) {
                return None;
            }
            let f: Vec<&str> = l.split(':').collect();
            if f.len() != 4 || f[0].is_empty() {
                return None;
            }
            Some(GroupEntry {
                line,
                name: f[0].to_string(),
                gid: f[2].trim().parse().ok()?,
                members: f[3]
                    .trim_end_matches('\r')
                    .split(',')
                    .map(str::trim)
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect(),
            })
        })
        .collect()
}

/// Groups whose members administer the host by convention (sudo on Debian, wheel on Red Hat
/// and BSD, `adm` reads every log, `root`'s members own root's files).
pub const ADMIN_GROUPS: &[&str] = &["sudo", "wheel", "root", "adm", "admin"];

/// The collector's shadow metadata (never the hashes), one account a line: its reader is
/// [`super::shadow::accounts`], shared with the collector that writes it.
pub use super::shadow::{accounts as shadow_accounts, Password, ShadowAccount};

/// The UTC day of an account's last password change, as the start of that day in
/// microseconds.
pub fn last_change_us(a: &ShadowAccount) -> Option<i64> {
    a.last_change_day?.checked_mul(86_400_000_000)
}

/// One user specification of a sudoers file (`who hosts=(runas) TAGS: commands`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SudoRule {
    /// 1-based line where it starts (continued lines joined).
    pub line: u64,
    /// The users it names: accounts, `%group`s, `#uid`s, aliases.
    pub who: Vec<String>,
    /// Whether it allows every command (`ALL`).
    pub all_commands: bool,
    /// Whether some command needs no password (`NOPASSWD:`).
    pub nopasswd: bool,
    /// The specification as written (continuations joined).
    pub text: String,
}

/// The user specifications of a sudoers(5) file; `Defaults`, aliases and include directives
/// are not rules.
pub fn sudoers(text: &str) -> Vec<SudoRule> {
    let mut out = Vec::new();
    let mut pending: Option<(u64, String)> = None;
    for (n, l) in numbered(text) {
        let (start, mut acc) = pending.take().unwrap_or((n, String::new()));
        let t = l.trim_end_matches('\r');
        if let Some(body) = t.strip_suffix('\\') {
            acc.push_str(body);
            acc.push(' ');
            pending = Some((start, acc));
            continue;
        }
        acc.push_str(t);
        if let Some(r) = sudo_rule(start, &acc) {
            out.push(r);
        }
    }
    if let Some((start, acc)) = pending {
        out.extend(sudo_rule(start, &acc));
    }
    out
}

fn sudo_rule(line: u64, spec: &str) -> Option<SudoRule> {
    let t = spec.trim();
    // `#include`, `#includedir` are directives; `#1000` alone starts a uid rule, but a
    // comment is far more likely: a `#` line is a rule only when it has `=` after a uid.
    if t.is_empty() || t.starts_with('@') {
        return None;
    }
    if let Some(rest) = t.strip_prefix('#') {
        let uid_rule = rest
            .split_whitespace()
            .next()
            .is_some_and(|w| w.chars().all(|c| c.is_ascii_digit()) && !w.is_empty())
            && t.contains('=');
        if !uid_rule {
            return None;
        }
    }
    let first = t.split_whitespace().next()?;
    if first.starts_with("Defaults")
        || matches!(
            first,
            "User_Alias" | "Runas_Alias" | "Host_Alias" | "Cmnd_Alias" | "Cmd_Alias"
        )
    {
        return None;
    }
    let (who, rest) = t.split_once(char::is_whitespace)?;
    let rest = rest.trim();
    let (_, cmds) = rest.split_once('=')?;
    let who: Vec<String> = who
        .split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    // Each command of the list, after its optional `(runas)` and tags (`NOPASSWD:`).
    let mut all_commands = false;
    let mut nopasswd = false;
    for part in split_outside_parens(cmds) {
        let mut w = part.trim();
        if w.starts_with('(') {
            w = w.split_once(')').map_or("", |(_, r)| r).trim();
        }
        while let Some((tag, r)) = w.split_once(':') {
            let tag = tag.trim();
            if tag.is_empty() || !tag.chars().all(|ch| ch.is_ascii_uppercase() || ch == '_') {
                break;
            }
            nopasswd |= tag == "NOPASSWD";
            w = r.trim();
        }
        all_commands |= w == "ALL";
    }
    Some(SudoRule {
        line,
        who,
        all_commands,
        nopasswd,
        text: t.to_string(),
    })
}

/// `a, (b, c) d, e` split at the commas outside parentheses.
fn split_outside_parens(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut from) = (Vec::new(), 0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth <= 0 => {
                out.push(&s[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[from..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Debian 12's stock files, as base-passwd 3.6.1 ships them
    // (`/usr/share/base-passwd/passwd.master`, `group.master`).
    pub const DEBIAN_PASSWD: &str =
        include_str!("../../tests/fixtures/host-accounts/stock/etc/passwd");
    pub const DEBIAN_GROUP: &str =
        include_str!("../../tests/fixtures/host-accounts/stock/etc/group");
    // sudo 1.9.13p3-1+deb12u1's `/etc/sudoers`.
    pub const DEBIAN_SUDOERS: &str =
        include_str!("../../tests/fixtures/host-accounts/stock/etc/sudoers");

    #[test]
    fn stock_debian_files() {
        let p = passwd(DEBIAN_PASSWD);
        assert_eq!(p[0].name, "root");
        assert_eq!((p[0].uid, p[0].line), (0, 1));
        assert!(p.iter().all(|e| e.name == "root" || e.uid != 0));
        let nobody = p.iter().find(|e| e.name == "nobody").unwrap();
        assert_eq!(
            (nobody.uid, nobody.shell.as_str()),
            (65534, "/usr/sbin/nologin")
        );
        let g = groups(DEBIAN_GROUP);
        let sudo = g.iter().find(|e| e.name == "sudo").unwrap();
        assert_eq!((sudo.gid, sudo.members.len()), (27, 0));
        let s = sudoers(DEBIAN_SUDOERS);
        let who: Vec<&str> = s.iter().map(|r| r.who[0].as_str()).collect();
        assert_eq!(who, ["root", "%sudo"]);
        assert!(s.iter().all(|r| r.all_commands && !r.nopasswd));
    }

    #[test]
    fn sudo_specifications() {
        let s = sudoers(
            "# comment\n#includedir /etc/sudoers.d\nDefaults:www-data !requiretty\nCmnd_Alias RESTART = /usr/sbin/postfix reload\nwww-data ALL=(ALL) NOPASSWD: ALL\nnagios ALL=(root) NOPASSWD: /usr/lib/nagios/plugins/check_mailq\nbackup ALL = (ALL:ALL) \\\n  ALL\n#1001 ALL=(ALL) ALL\n",
        );
        let got: Vec<(u64, &str, bool, bool)> = s
            .iter()
            .map(|r| (r.line, r.who[0].as_str(), r.all_commands, r.nopasswd))
            .collect();
        assert_eq!(
            got,
            [
                (5, "www-data", true, true),
                (6, "nagios", false, true),
                (7, "backup", true, false),
                (9, "#1001", true, false),
            ]
        );
    }

    #[test]
    fn shadow_metadata_lines() {
        let m = shadow_accounts(
            b"{\"account\":\"root\",\"password\":\"set\",\"scheme\":\"$y$\",\"last_change_day\":19800,\"last_change\":\"2024-03-18\",\"min\":0,\"max\":99999,\"inactive\":null,\"expire\":null,\"warn\":7}\nnot json\n{\"account\":\"www-data\",\"password\":\"disabled\",\"scheme\":null,\"last_change_day\":null}\n",
        );
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].1.password, Password::Set);
        assert_eq!(m[0].1.scheme.as_deref(), Some("$y$"));
        assert_eq!(last_change_us(&m[0].1), Some(19800 * 86_400_000_000));
        assert_eq!((m[1].0, &m[1].1.password), (3, &Password::Disabled));
        assert_eq!(m[1].1.last_change_day, None);
    }
}
