//! Account changes logged by shadow-utils and PAM (`auth.log`, `secure`, the journal):
//! `useradd`, `usermod`, `userdel`, `groupadd`, `groupmod`, `groupdel`, `gpasswd`, `passwd`,
//! `chpasswd`, `chage` and `chsh`. One `account_change` event per change; the lines that
//! repeat a change for the shadow files (`add 'u' to shadow group 'g'`, `group added to
//! /etc/gshadow`) are ignored.
//!
//! The event names the account changed in `mailbox` (the account it concerns), the
//! administrator in `actor` when the line names one (`gpasswd`'s `added by root`), and a
//! structured detail ([`super::detail::Detail`]): `op` the program, `action` what changed
//! (`new_user`, `new_group`, `add_to_group`, `remove_from_group`, `password`, `lock`,
//! `unlock`, `change_uid`, `change_shell`, `change_<field>`, `password_expiry`, `rename`,
//! `delete_user`, `delete_group`, `change_group`), `params` the values logged (`uid`, `gid`,
//! `home`, `shell`, `group`, `from`, `to`, `tty`). The lines are those shadow-utils 4.13
//! (Debian 12) wrote on this project's test machine (`tests/fixtures/host-accounts/`). To read
//! another tool's lines (`adduser`'s own, `vipw`), add its tag to [`TOOLS`] and its message
//! shapes to [`parse`].

use std::borrow::Cow;

use super::detail::Detail;
use super::fields::Parse;
use super::record::{Kind, Parsed};

/// The programs whose lines this parser reads.
pub const TOOLS: &[&str] = &[
    "useradd", "usermod", "userdel", "groupadd", "groupmod", "groupdel", "gpasswd", "passwd",
    "chpasswd", "chage", "chsh", "chfn", "newusers",
];

/// Whether a syslog tag is one of [`TOOLS`].
pub fn is_account_tool(tag: &str) -> bool {
    TOOLS.contains(&tag)
}

/// The text between the first pair of single quotes after `at`, and the rest.
fn quoted(s: &str) -> Option<(&str, &str)> {
    let a = s.find('\'')?;
    let rest = &s[a + 1..];
    let b = rest.find('\'')?;
    Some((&rest[..b], &rest[b + 1..]))
}

fn event<'a>(
    tag: &str,
    action: &str,
    account: Option<&'a str>,
    actor: Option<&'a str>,
    params: &[(&str, &str)],
) -> Parse<'a> {
    let d = Detail {
        op: Some(tag.to_string()),
        action: Some(action.to_string()),
        params: params
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Detail::default()
    };
    Parse::Event(Parsed {
        service: Some(Cow::Owned(tag.to_string())),
        mailbox: account.filter(|a| !a.is_empty()).map(Cow::Borrowed),
        actor: actor.filter(|a| !a.is_empty()).map(Cow::Borrowed),
        detail: Some(Cow::Owned(d.to_text())),
        ..Parsed::new(Kind::AccountChange)
    })
}

/// `key=value, key=value` fields (`new user: name=x, UID=0, …`), keys lower-cased.
fn fields(s: &str) -> Vec<(String, &str)> {
    s.split(", ")
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim()))
        .collect()
}

/// Parses one message of an account tool.
pub fn parse<'a>(tag: &'a str, msg: &'a str) -> Parse<'a> {
    let msg = msg.trim_end();
    // PAM's password change (`passwd`, `chpasswd`): `pam_unix(passwd:chauthtok): password
    // changed for u`.
    if let Some(rest) = msg.strip_prefix("pam_unix(") {
        return match rest.split_once("password changed for ") {
            Some((_, user)) => event(tag, "password", Some(user.trim()), None, &[]),
            None => Parse::Ignored,
        };
    }
    if let Some(rest) = msg.strip_prefix("new user: ") {
        let f = fields(rest);
        let get = |k: &str| f.iter().find(|(n, _)| n == k).map_or("", |(_, v)| *v);
        let name = get("name");
        if name.is_empty() {
            return Parse::Unknown;
        }
        return event(
            tag,
            "new_user",
            Some(name),
            None,
            &[
                ("uid", get("uid")),
                ("gid", get("gid")),
                ("home", get("home")),
                ("shell", get("shell")),
                ("tty", get("from")),
            ],
        );
    }
    if let Some(rest) = msg.strip_prefix("new group: ") {
        let f = fields(rest);
        let get = |k: &str| f.iter().find(|(n, _)| n == k).map_or("", |(_, v)| *v);
        return event(
            tag,
            "new_group",
            None,
            None,
            &[("group", get("name")), ("gid", get("gid"))],
        );
    }
    if msg.starts_with("group added to ")
        || msg.starts_with("removed group ")
        || msg.starts_with("removed shadow group ")
        || msg.contains(" to shadow group ")
        || msg.contains(" from shadow group ")
        || msg.contains("/etc/gshadow")
    {
        return Parse::Ignored;
    }
    // useradd / usermod: `add 'u' to group 'g'`.
    if let Some(rest) = msg.strip_prefix("add ") {
        if let Some((user, r)) = quoted(rest) {
            if let Some((group, _)) = r.strip_prefix(" to group ").and_then(quoted) {
                return event(tag, "add_to_group", Some(user), None, &[("group", group)]);
            }
        }
        return Parse::Unknown;
    }
    // gpasswd: `user u added by root to group g`, `user u removed by root from group g`.
    if let Some(rest) = msg.strip_prefix("user ") {
        let mut w = rest.split_whitespace();
        if let (Some(user), Some(verb), Some("by"), Some(by), Some(_), Some("group"), Some(g)) = (
            w.next(),
            w.next(),
            w.next(),
            w.next(),
            w.next(),
            w.next(),
            w.next(),
        ) {
            let action = match verb {
                "added" => "add_to_group",
                "removed" => "remove_from_group",
                _ => return Parse::Unknown,
            };
            return event(tag, action, Some(user), Some(by), &[("group", g)]);
        }
        return Parse::Unknown;
    }
    // usermod: `change user 'u' password`, `change user 'u' UID from 'a' to 'b'`,
    // `change user name 'old' to 'new'`; `lock user 'u' password`, `unlock user 'u' password`.
    if let Some(rest) = msg.strip_prefix("change user name ") {
        if let Some((old, r)) = quoted(rest) {
            if let Some((new, _)) = r.strip_prefix(" to ").and_then(quoted) {
                return event(
                    tag,
                    "rename",
                    Some(new),
                    None,
                    &[("from", old), ("to", new)],
                );
            }
        }
        return Parse::Unknown;
    }
    if let Some(rest) = msg.strip_prefix("change user ") {
        let Some((user, r)) = quoted(rest) else {
            return Parse::Unknown;
        };
        let r = r.trim();
        if r == "password" {
            return event(tag, "password", Some(user), None, &[]);
        }
        if let Some((field, ft)) = r.split_once(" from ") {
            let (from, after) = quoted(ft).unwrap_or(("", ""));
            let to = after
                .strip_prefix(" to ")
                .and_then(quoted)
                .map_or("", |(t, _)| t);
            let action = format!(
                "change_{}",
                field.trim().to_ascii_lowercase().replace(' ', "_")
            );
            return event(
                tag,
                &action,
                Some(user),
                None,
                &[("from", from), ("to", to)],
            );
        }
        return Parse::Unknown;
    }
    for (prefix, action) in [("lock user ", "lock"), ("unlock user ", "unlock")] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            return match quoted(rest) {
                Some((user, _)) => event(tag, action, Some(user), None, &[]),
                None => Parse::Unknown,
            };
        }
    }
    // chsh: `changed user 'u' shell to '/bin/bash'`; chfn: `changed user 'u' information`.
    if let Some(rest) = msg.strip_prefix("changed user ") {
        let Some((user, r)) = quoted(rest) else {
            return Parse::Unknown;
        };
        if let Some((to, _)) = r.strip_prefix(" shell to ").and_then(quoted) {
            return event(tag, "change_shell", Some(user), None, &[("to", to)]);
        }
        return event(tag, "change_information", Some(user), None, &[]);
    }
    // chage: `changed password expiry for u`.
    if let Some(user) = msg.strip_prefix("changed password expiry for ") {
        return event(tag, "password_expiry", Some(user.trim()), None, &[]);
    }
    // passwd without PAM: `password for 'u' changed by 'root'`.
    if let Some(rest) = msg.strip_prefix("password for ") {
        if let Some((user, r)) = quoted(rest) {
            let by = r
                .strip_prefix(" changed by ")
                .and_then(quoted)
                .map(|(b, _)| b);
            return event(tag, "password", Some(user), by, &[]);
        }
        return Parse::Unknown;
    }
    // userdel: `delete user 'u'`, `delete 'u' from group 'g'`.
    if let Some(rest) = msg.strip_prefix("delete user ") {
        return match quoted(rest) {
            Some((user, _)) => event(tag, "delete_user", Some(user), None, &[]),
            None => Parse::Unknown,
        };
    }
    if let Some(rest) = msg.strip_prefix("delete ") {
        if let Some((user, r)) = quoted(rest) {
            if let Some((group, _)) = r.strip_prefix(" from group ").and_then(quoted) {
                return event(
                    tag,
                    "remove_from_group",
                    Some(user),
                    None,
                    &[("group", group)],
                );
            }
        }
        return Parse::Unknown;
    }
    // groupmod: `group changed in /etc/group (group g/1002, new name: g2)`.
    if let Some(rest) = msg.strip_prefix("group changed in /etc/group (") {
        let inner = rest.trim_end_matches(')');
        let group = inner
            .strip_prefix("group ")
            .and_then(|g| g.split(['/', ',']).next())
            .unwrap_or("");
        return event(
            tag,
            "change_group",
            None,
            None,
            &[("group", group), ("change", inner)],
        );
    }
    // groupdel: `group 'g' removed`.
    if let Some(rest) = msg.strip_prefix("group ") {
        if let Some((group, r)) = quoted(rest) {
            if r.trim() == "removed" {
                return event(tag, "delete_group", None, None, &[("group", group)]);
            }
        }
        return Parse::Ignored;
    }
    Parse::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::syslog;

    /// Every line of the fixture, written by shadow-utils 4.13 and PAM on Debian 12.
    const LOG: &str = include_str!("../../tests/fixtures/host-accounts/auth.log");

    fn parsed(line: &str) -> Option<(String, Option<String>, Option<String>, Detail)> {
        let l = syslog::parse(line)?;
        assert!(is_account_tool(l.tag), "{line}");
        match parse(l.tag, l.msg) {
            Parse::Event(p) => Some((
                format!("{:?}", p.kind?),
                p.mailbox.map(|m| m.to_string()),
                p.actor.map(|m| m.to_string()),
                Detail::from_text(p.detail.as_deref()?)?,
            )),
            Parse::Ignored => None,
            Parse::Unknown => panic!("unknown: {line}"),
        }
    }

    #[test]
    fn every_real_line_is_read() {
        let mut actions = Vec::new();
        for line in LOG.lines() {
            if let Some((kind, account, _, d)) = parsed(line) {
                assert_eq!(kind, "AccountChange");
                actions.push((d.action.unwrap(), account.unwrap_or_default()));
            }
        }
        let want: Vec<(&str, &str)> = vec![
            ("new_group", ""),
            ("new_user", "mailir-test-xyz"),
            ("add_to_group", "mailir-test-xyz"),
            ("password", "mailir-test-xyz"),
            ("password", "mailir-test-xyz"),
            ("change_shell", "mailir-test-xyz"),
            ("change_shell", "mailir-test-xyz"),
            ("password_expiry", "mailir-test-xyz"),
            ("new_group", ""),
            ("add_to_group", "mailir-test-xyz"),
            ("change_group", ""),
            ("new_user", "mailir-test-uid0"),
            ("remove_from_group", "mailir-test-xyz"),
            ("delete_group", ""),
            ("lock", "mailir-test-xyz"),
            ("delete_user", "mailir-test-xyz"),
            ("remove_from_group", "mailir-test-xyz"),
            ("delete_user", "mailir-test-uid0"),
            ("new_group", ""),
            ("new_user", "mailir-test-abc"),
            ("add_to_group", "mailir-test-abc"),
            ("password", "mailir-test-abc"),
            ("change_uid", "mailir-test-abc"),
            ("delete_user", "mailir-test-abc"),
            ("remove_from_group", "mailir-test-abc"),
        ];
        let got: Vec<(&str, &str)> = actions
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn fields_of_chosen_lines() {
        let (_, user, _, d) = parsed("2026-12-07T02:13:55.316926+00:00 vm useradd[13376]: new user: name=mailir-test-uid0, UID=0, GID=0, home=/root, shell=/bin/bash, from=none").unwrap();
        assert_eq!(user.as_deref(), Some("mailir-test-uid0"));
        assert_eq!(d.op.as_deref(), Some("useradd"));
        assert_eq!(d.params.get("uid").map(String::as_str), Some("0"));
        assert_eq!(d.params.get("home").map(String::as_str), Some("/root"));
        let (_, user, actor, d) = parsed("Dec  7 02:13:55 vm gpasswd[13364]: user mailir-test-xyz added by root to group mailir-test-grp").unwrap();
        assert_eq!(
            (user.as_deref(), actor.as_deref()),
            (Some("mailir-test-xyz"), Some("root"))
        );
        assert_eq!(
            d.params.get("group").map(String::as_str),
            Some("mailir-test-grp")
        );
        let (_, _, _, d) = parsed("2026-12-07T02:13:59.992069+00:00 vm usermod[13451]: change user 'mailir-test-abc' UID from '1001' to '0'").unwrap();
        assert_eq!(d.action.as_deref(), Some("change_uid"));
        assert_eq!(d.params.get("to").map(String::as_str), Some("0"));
        assert!(!is_account_tool("sshd"));
    }
}
