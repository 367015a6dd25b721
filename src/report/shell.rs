//! The shell commands a report suggests, built from evidence values that an attacker may have
//! written (a login name, a client address, a file name on the compromised host).
//!
//! A value is first checked for its type — an address is parsed (IPv4, IPv6, `::ffff:`-mapped,
//! a CIDR range), an account must match the account syntax of the MTAs mailir reads, a path
//! must be an absolute host path without `..` or control characters — and only then
//! substituted, single-quoted for a POSIX shell when it holds anything but plain characters.
//! A value that fails is never put in a command: the report shows it as data beside the
//! reason ([`Refused`]). An address that is valid but not a sensible target (the whole
//! internet, unspecified, loopback, private, link-local, shared or multicast ranges — a
//! responder could lock out their own network) is refused the same way, saying so.
//!
//! Every command the report renders goes through [`render`]; to add a placeholder, add an
//! [`Arg`] and its check here. `tests/hostile_playbook.rs` runs the rendered commands under a
//! shell whose tools are stubs and checks that nothing but the stubs ran, with the values
//! intact.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

/// What a placeholder stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// `{ip}`: a client address or range to block.
    Ip,
    /// `{user}`, `{owner}`: an account (login, mailbox, crontab owner).
    Account,
    /// `{file}`: a path on the host.
    Path,
    /// `{pid}`: a process id of the live host (the entity `pid 4242`).
    Pid,
}

/// A value left out of a command, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    /// The value, as found in the evidence (the renderers escape it for their sink).
    pub value: String,
    /// Why it was not put in a command.
    pub reason: String,
}

/// `s` as one word for a POSIX shell: as it is when it holds only characters no shell treats
/// specially, else in single quotes (a `'` inside written `'\''`).
pub fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./_-".contains(&b))
        && !s.starts_with('-');
    if plain {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// A checked address or range: its text for a command and whether it is IPv6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Canonical text (`203.0.113.7`, `2001:db8::1`, `203.0.113.0/24`).
    pub text: String,
    /// IPv6 (blocked with `ip6tables`, not `iptables`).
    pub v6: bool,
}

/// Parses `v` as an address or CIDR range a responder may block; `Err` says why not.
pub fn ip_target(v: &str) -> Result<Target, String> {
    let (addr, prefix) = match v.split_once('/') {
        Some((a, p)) => {
            let p: u8 = p
                .parse()
                .map_err(|_| "not an address or range".to_string())?;
            (a, Some(p))
        }
        None => (v, None),
    };
    let ip: IpAddr = addr
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| "not an address or range".to_string())?;
    // `::ffff:203.0.113.7` is an IPv4 client seen through a dual-stack socket.
    let ip = match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) if p > max => return Err("not an address or range".into()),
        Some(p) => p,
        None => max,
    };
    let min = if ip.is_ipv4() { 16 } else { 32 };
    if prefix < min {
        return Err(format!(
            "a range of /{prefix} is too wide to block from a report (it may hold your own network)"
        ));
    }
    if let Some(why) = not_a_target(ip) {
        return Err(why.into());
    }
    let text = if prefix == max {
        ip.to_string()
    } else {
        format!("{ip}/{prefix}")
    };
    Ok(Target {
        text,
        v6: ip.is_ipv6(),
    })
}

/// Why `ip` should not be blocked by a suggested command, if it should not.
fn not_a_target(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(a) => v4_reason(a),
        IpAddr::V6(a) => v6_reason(a),
    }
}

fn v4_reason(a: Ipv4Addr) -> Option<&'static str> {
    let o = a.octets();
    if a.is_unspecified() || a.is_broadcast() || o[0] == 0 {
        Some("unspecified or broadcast address")
    } else if a.is_loopback() {
        Some("a loopback address: this host itself")
    } else if a.is_private() {
        Some("a private address (RFC 1918): possibly your own network — block it by hand if it is not")
    } else if o[0] == 100 && (64..128).contains(&o[1]) {
        Some("a shared (carrier-grade NAT) address: blocking it may block many others")
    } else if a.is_link_local() {
        Some("a link-local address")
    } else if a.is_multicast() || o[0] >= 240 {
        Some("a multicast or reserved address")
    } else {
        None
    }
}

fn v6_reason(a: Ipv6Addr) -> Option<&'static str> {
    let s = a.segments();
    if a.is_unspecified() {
        Some("the unspecified address")
    } else if a.is_loopback() {
        Some("a loopback address: this host itself")
    } else if (s[0] & 0xfe00) == 0xfc00 {
        Some("a unique local address: possibly your own network — block it by hand if it is not")
    } else if (s[0] & 0xffc0) == 0xfe80 {
        Some("a link-local address")
    } else if a.is_multicast() {
        Some("a multicast address")
    } else {
        None
    }
}

/// Whether `v` is an account name as the MTAs write them: a login or local part, optionally
/// `@domain`, of letters, digits and `. _ % + = -` (not starting with `-`), at most 254 bytes.
pub fn account_ok(v: &str) -> bool {
    let (local, domain) = match v.rsplit_once('@') {
        Some((l, d)) => (l, Some(d)),
        None => (v, None),
    };
    let local_ok = !local.is_empty()
        && !local.starts_with('-')
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._%+=-".contains(&b));
    let domain_ok = domain.is_none_or(|d| {
        !d.is_empty()
            && !d.starts_with(['-', '.'])
            && d.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-".contains(&b))
    });
    v.len() <= 254 && local_ok && domain_ok
}

/// Whether `v` is an absolute host path a command may name: no `..` component, no control or
/// bidi characters, at most 4,096 bytes.
pub fn path_ok(v: &str) -> bool {
    v.starts_with('/')
        && v.len() <= 4096
        && !v.split('/').any(|c| c == "..")
        && !v.chars().any(crate::sanitize::needs_escape)
}

/// The text a checked value takes in a command, or why it may not be in one.
fn checked(kind: Arg, v: &str) -> Result<(String, bool), String> {
    match kind {
        Arg::Ip => ip_target(v).map(|t| (t.text, t.v6)),
        Arg::Account if account_ok(v) => Ok((quote(v), false)),
        Arg::Account => Err("not an account name (characters no mail account uses)".into()),
        Arg::Path if path_ok(v) => Ok((quote(v), false)),
        Arg::Path => Err("not a plain absolute path".into()),
        Arg::Pid => pid_of(v)
            .map(|p| (p.to_string(), false))
            .ok_or_else(|| "not a process id above 1".into()),
    }
}

/// The process id of an entity `pid 4242` (or a bare number): above 1 (never init, never
/// every process), at most 2^22 (Linux's `pid_max` limit).
pub fn pid_of(v: &str) -> Option<u32> {
    let n = v.strip_prefix("pid ").unwrap_or(v);
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || n.len() > 7 {
        return None;
    }
    n.parse().ok().filter(|p| *p > 1 && *p <= 1 << 22)
}

/// The command `template` with its placeholder `{name}` (of `kind`) set to `value`: checked,
/// quoted, and for an IPv6 address `iptables` turned into `ip6tables`. `Err` when the value
/// may not go into a command.
pub fn render(template: &str, name: &str, kind: Arg, value: &str) -> Result<String, Refused> {
    let refuse = |reason: String| Refused {
        value: value.to_string(),
        reason,
    };
    let (text, v6) = checked(kind, value).map_err(refuse)?;
    let mut cmd = template.replace(&format!("{{{name}}}"), &text);
    if v6 {
        if let Some(rest) = cmd.strip_prefix("iptables ") {
            cmd = format!("ip6tables {rest}");
        }
    }
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_leaves_plain_words_and_wraps_the_rest() {
        assert_eq!(
            quote("liwei@oceanlab.example.org"),
            "liwei@oceanlab.example.org"
        );
        assert_eq!(
            quote("/etc/postfix/recipient_bcc"),
            "/etc/postfix/recipient_bcc"
        );
        assert_eq!(quote("$(touch PWNED)"), "'$(touch PWNED)'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote("-F"), "'-F'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn process_ids_are_numbers_above_one() {
        assert_eq!(
            render("kill -STOP {pid}", "pid", Arg::Pid, "pid 4242"),
            Ok("kill -STOP 4242".into())
        );
        for bad in [
            "pid 1",
            "pid 0",
            "pid -1",
            "pid 12; rm -rf /",
            "pid ",
            "pid 99999999",
        ] {
            assert!(
                render("kill -STOP {pid}", "pid", Arg::Pid, bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn addresses_are_parsed_and_bad_targets_refused() {
        let t = |v: &str| ip_target(v).map(|t| (t.text, t.v6));
        assert_eq!(t("203.0.113.9"), Ok(("203.0.113.9".into(), false)));
        assert_eq!(t("::ffff:203.0.113.9"), Ok(("203.0.113.9".into(), false)));
        assert_eq!(t("2001:db8::5"), Ok(("2001:db8::5".into(), true)));
        assert_eq!(t("203.0.113.0/24"), Ok(("203.0.113.0/24".into(), false)));
        for bad in [
            "0.0.0.0/0",
            "0.0.0.0",
            "::/0",
            "10.0.0.0/8",
            "192.168.1.5",
            "127.0.0.1",
            "::1",
            "fd00::1",
            "100.64.1.1",
            "999.1.1.1",
            "-F",
            "203.0.113.9;touch${IFS}PWNED",
            "1.2.3.4/33",
            "203.0.113.9 -j ACCEPT",
        ] {
            assert!(ip_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn accounts_and_paths_are_checked() {
        for ok in [
            "liwei",
            "li.wei+tag@oceanlab.example.org",
            "www-data",
            "Debian-exim",
        ] {
            assert!(account_ok(ok), "{ok}");
        }
        for bad in [
            "$(touch${IFS}PWNED)",
            "x;touch PWNED",
            "a`id`",
            "-rf",
            "a b",
            "",
            "a@",
        ] {
            assert!(!account_ok(bad), "{bad}");
        }
        assert!(path_ok("/var/spool/cron/crontabs/root"));
        assert!(path_ok("/home/x/it's here"));
        for bad in ["relative", "/etc/../shadow", "/tmp/a\nb", "/tmp/\u{202e}x"] {
            assert!(!path_ok(bad), "{bad:?}");
        }
    }

    #[test]
    fn render_substitutes_checked_quoted_values_or_refuses() {
        let ip = "iptables -I INPUT -s {ip} -j DROP";
        assert_eq!(
            render(ip, "ip", Arg::Ip, "2001:db8::5").unwrap(),
            "ip6tables -I INPUT -s 2001:db8::5 -j DROP"
        );
        assert!(render(ip, "ip", Arg::Ip, "0.0.0.0/0").is_err());
        let r = render("doveadm kick {user}", "user", Arg::Account, "$(id)").unwrap_err();
        assert_eq!(r.value, "$(id)");
        assert_eq!(
            render(
                "postmap {file} && postfix reload",
                "file",
                Arg::Path,
                "/etc/postfix/a b"
            )
            .unwrap(),
            "postmap '/etc/postfix/a b' && postfix reload"
        );
    }
}
