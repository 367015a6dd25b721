//! Which mail domains are the host's own, so a forward or BCC can be called *external*.
//!
//! Derived from Postfix `mydestination`, `virtual_alias_domains` (and the domains of
//! `virtual_alias_maps` keys), `virtual_mailbox_domains`, `relay_domains`, `myhostname`,
//! `mydomain`; `/etc/mailname`; `/etc/hostname`; Exim's Debian `dc_other_hostnames` /
//! `dc_local_domains` and `domainlist local_domains`; sendmail `local-host-names`; plus any
//! `--local-domain` the responder gives. A subdomain of an own domain is own too
//! (for names with a dot: a single label such as `localhost` or a `mydomain` derived as a bare
//! top-level name matches only itself).

use std::collections::BTreeSet;

use super::maps::{Map, Syntax};
use super::postfix::{list, map_refs, MainCf};
use super::HostConf;

/// The host's own domains.
#[derive(Debug, Clone, Default)]
pub struct Domains {
    /// Lower-case domain names.
    pub own: BTreeSet<String>,
}

impl Domains {
    /// Derives the own domains of `host` (with `main` its parsed main.cf) and `extra`.
    pub fn derive(host: &HostConf, main: Option<&MainCf>, extra: &[String]) -> Domains {
        let mut d = Domains::default();
        let mut add = |s: &str| {
            let s = s.trim().trim_end_matches('.').to_ascii_lowercase();
            if !s.is_empty() && !s.contains(['$', '/', ':', '{']) {
                d.own.insert(s);
            }
        };
        for e in extra {
            add(e);
        }
        for p in ["/etc/mailname", "/etc/hostname"] {
            if let Some(f) = host.get(p) {
                add(f.text().lines().next().unwrap_or(""));
            }
        }
        if let Some(m) = main {
            for p in [
                "myhostname",
                "mydomain",
                "mydestination",
                "virtual_alias_domains",
                "virtual_mailbox_domains",
                "relay_domains",
            ] {
                for item in list(&m.get(p).unwrap_or_default()) {
                    add(&item);
                }
            }
            for r in map_refs(&m.get("virtual_alias_maps").unwrap_or_default()) {
                for e in Map::load(host, &r, Syntax::Table).effective() {
                    match e.key.rsplit_once('@') {
                        Some((_, dom)) => add(dom),
                        None if e.key.contains('.') => add(&e.key),
                        None => {}
                    }
                }
            }
        }
        if let Some(f) = host.get("/etc/exim4/update-exim4.conf.conf") {
            for l in f.text().lines() {
                if let Some((k, v)) = l.split_once('=') {
                    if matches!(k.trim(), "dc_other_hostnames" | "dc_local_domains") {
                        v.trim_matches(['\'', '"']).split(':').for_each(&mut add);
                    }
                }
            }
        }
        for (_, f) in host.under("/etc/exim") {
            for l in f.text().lines() {
                if let Some(v) = l.trim().strip_prefix("domainlist local_domains") {
                    v.trim_start_matches([' ', '='])
                        .split(':')
                        .for_each(&mut add);
                }
            }
        }
        for p in ["/etc/mail/local-host-names", "/etc/mail/sendmail.cw"] {
            if let Some(f) = host.get(p) {
                f.text()
                    .lines()
                    .filter(|l| !l.starts_with('#'))
                    .for_each(&mut add);
            }
        }
        d
    }

    /// Whether `addr` (`user@domain`) leaves the host's own domains. Bare names are local.
    pub fn is_external(&self, addr: &str) -> bool {
        let Some((_, dom)) = addr.trim_matches(['<', '>', '"']).rsplit_once('@') else {
            return false;
        };
        let dom = dom.trim_end_matches('.').to_ascii_lowercase();
        !self
            .own
            .iter()
            .any(|o| dom == *o || (o.contains('.') && dom.ends_with(&format!(".{o}"))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_domains_from_main_cf_and_mailname() {
        let mut host = HostConf::default();
        host.files.insert(
            "/etc/mailname".into(),
            super::super::ConfFile {
                shown: String::new(),
                data: b"oceanlab.example.org\n".to_vec(),
                mtime: None,
                mtime_recorded: false,
                sha256: None,
            },
        );
        let main =
            MainCf::parse("myhostname = mx1.lab.example\nmydestination = $myhostname, localhost\n");
        let d = Domains::derive(&host, Some(&main), &["partner.example".into()]);
        assert!(!d.is_external("a@oceanlab.example.org"));
        assert!(!d.is_external("a@lists.oceanlab.example.org"));
        assert!(!d.is_external("a@lab.example"));
        assert!(!d.is_external("a@partner.example"));
        assert!(!d.is_external("chenjing"));
        assert!(d.is_external("x@mailsafe.example.com"));
        assert!(d.is_external("<x@notoceanlab.example.org>"));
    }
}
