//! `web.webshell` — web-shell use on a mail server's web roots outside Exchange's own
//! folders (`exchange.webshell` judges those): webmail installs (Roundcube, Zimbra, SOGo,
//! Horde, SnappyMail), the admin panels beside them, any vhost the server hosts.
//!
//! **Why**: the web shell is what an exploited webmail leaves (Zimbra's JSPs after
//! mboximport, PHP files in Roundcube's `temp/` after an upload abuse), and it outlives the
//! patch. **How**: a request for a server-side script (`.php`, `.phtml`, `.jsp`, `.aspx` …)
//! that either sits in a folder that holds no scripts in these applications — uploads,
//! temporary and cache folders, skins, images, styles, static assets, logs — or carries a
//! command in its query: a `cmd`-style parameter (`cmd`, `command`, `exec`, `execute`,
//! `shell`, `run`, `system`, `passthru`) or a value that is a shell command (`whoami`,
//! `uname -a`, `cat /etc/passwd`, `/bin/sh`, `wget http…`, `curl http…`, `nc -e`,
//! `cmd /c`, `powershell -e…`; a webmail search for one of these words alone is not). Paths `exchange.webshell` judges are left to it. Answered 2xx
//! is **access** (the shell exists and ran); refused is a **probe** for a shell name, which
//! scanners send everywhere. One finding per client address. **ATT&CK**: T1505.003.
//! **Phase**: persistence. **Severity**: critical when answered, low for probes only.
//! **False positives**: an application that really serves a script from such a folder (check
//! the file in the collected web root: `collect` lists every script with its hash and times).

use super::exchange_webshell::reason as exchange_reason;
use super::web::{request, BySource, Req, Tries};
use super::{Files, Limit, Rule, Shared, Thresholds};
use crate::detect::fact::Fact;
use crate::detect::finding::{Finding, Severity};

/// Path segments of folders that hold no scripts in webmail installs.
pub const NO_SCRIPTS: &[&str] = &[
    "temp",
    "tmp",
    "upload",
    "uploads",
    "cache",
    "skins",
    "skin",
    "static",
    "images",
    "img",
    "css",
    "assets",
    "logs",
    "attachments",
    "fonts",
];

/// Parameter names web shells take their command in.
const CMD_PARAMS: &[&str] = &[
    "cmd", "command", "exec", "execute", "shell", "run", "system", "passthru",
];

/// Parameter values that are shell commands (a value `whoami` whole, or one holding these).
const COMMANDS: &[&str] = &[
    "uname -a",
    "cat /etc/passwd",
    "/bin/sh",
    "/bin/bash",
    "wget http",
    "curl http",
    "nc -e",
    "cmd /c",
    "cmd.exe /c",
    "powershell -e",
];

/// Why `r` looks like web-shell use, if it does.
pub fn reason(r: &Req) -> Option<&'static str> {
    if !r.is_script() {
        return None;
    }
    if exchange_reason(&r.path, Some(&r.method), r.ua.as_deref()).is_some() {
        return None;
    }
    let dirs = r.path.split('/').collect::<Vec<_>>();
    let folders = &dirs[..dirs.len().saturating_sub(1)];
    if folders.iter().any(|d| NO_SCRIPTS.contains(d)) {
        return Some("a script in a folder that holds no scripts");
    }
    let command = r.params.iter().any(|(n, v)| {
        (CMD_PARAMS.contains(&n.as_str()) && !v.is_empty()) || {
            let v = v.to_ascii_lowercase();
            v.trim() == "whoami" || COMMANDS.iter().any(|c| v.contains(c))
        }
    });
    command.then_some("a command in the query")
}

/// The rule.
pub struct Webshell {
    tries: BySource,
}

impl Webshell {
    /// A new rule.
    pub fn new(_t: &Thresholds) -> Self {
        Webshell {
            tries: BySource::default(),
        }
    }
}

const RULE: &str = "web.webshell";

fn finding(ip: String, t: Tries, files: &Files) -> Finding {
    let (severity, what) = if t.answered > 0 {
        (Severity::Critical, "web shell access")
    } else {
        (Severity::Low, "web shell probing")
    };
    t.group.finding(
        RULE,
        severity,
        vec!["T1505.003"],
        format!("{what} from {ip}"),
        format!(
            "{} request(s) ({} answered 2xx; statuses {}) for scripts where webmail keeps none or with a command in the query: {}",
            t.group.count,
            t.answered,
            t.statuses(),
            super::cloud::some(&t.group.names, 6)
        ),
        vec![
            "isolate.block_ips",
            "clean.remove_webshells_linux",
            "clean.patch_webmail",
        ],
        files,
    )
}

impl Rule for Webshell {
    fn kinds(&self) -> super::Kinds {
        super::Kinds::of(&[crate::events::record::Kind::HttpRequest])
    }

    fn observe(&mut self, f: &Fact) {
        if let Some(r) = request(f).filter(|r| reason(r).is_some()) {
            self.tries.add(f, &r, r.answered());
        }
    }

    fn finish(&mut self, files: &Files, _shared: &Shared) -> Vec<Finding> {
        std::mem::take(&mut self.tries)
            .map
            .into_iter()
            .map(|(ip, t)| finding(ip, t, files))
            .collect()
    }

    fn limits(&self) -> Vec<Limit> {
        self.tries.limit(RULE).into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::web::tests::iis;

    fn req(path: &str, query: &str) -> Req {
        Req::clone(&request(&iis(&format!(
            "2022-08-10 01:02:03 10.0.0.5 GET {path} {query} 443 - 203.0.113.70 Mozilla/5.0 - 200 0 0 20"
        )))
        .unwrap())
    }

    #[test]
    fn shells_and_webmails_own_pages() {
        assert!(reason(&req("/roundcube/temp/x.php", "-")).is_some());
        assert!(reason(&req("/skins/elastic/images/favicon.php", "-")).is_some());
        assert!(reason(&req("/zimbraAdmin/x.jsp", "cmd=id")).is_some());
        assert!(reason(&req("/zimbra/public/jsp/y.jsp", "pwd=023&i=whoami")).is_some());
        assert!(reason(&req("/rainloop/data/z.php", "c=cat%20/etc/passwd")).is_some());
        // Webmail's own requests.
        for (p, q) in [
            (
                "/roundcube/",
                "_task=mail&_action=upload&_id=1&_uploadid=upload1",
            ),
            (
                "/roundcube/index.php",
                "_task=mail&_mbox=INBOX&_uid=12&_action=show",
            ),
            ("/roundcube/skins/elastic/images/logo.svg", "s=1"),
            ("/roundcube/program/js/app.min.js", "s=1"),
            ("/zimbra/public/launchNewWindow.jsp", "skin=harmony"),
            ("/SOGo/so/alice/Mail/view", "-"),
            ("/zimbraAdmin/", "-"),
            (
                "/roundcube/index.php",
                "_task=mail&_sort=id&_q=whoami%20is%20on%20call",
            ),
            // Exchange's folders are `exchange.webshell`'s.
            ("/aspnet_client/system_web/x.aspx", "cmd=id"),
        ] {
            assert!(reason(&req(p, q)).is_none(), "{p}?{q}");
        }
    }

    #[test]
    fn access_is_critical_probing_low() {
        let mut rule = Webshell::new(&Thresholds::default());
        rule.observe(&iis("2022-08-10 01:02:03 10.0.0.5 GET /roundcube/temp/x.php cmd=id 443 - 203.0.113.70 curl/8.0 - 200 0 0 20"));
        rule.observe(&iis("2022-08-10 01:02:04 10.0.0.5 GET /uploads/shell.php - 443 - 198.51.100.9 Mozilla/5.0 - 404 0 0 20"));
        let files: &Files = &[("access.log".to_string(), None)];
        let f = rule.finish(files, &Shared::default());
        let got: Vec<(&str, Severity)> = f.iter().map(|f| (f.title.as_str(), f.severity)).collect();
        assert_eq!(
            got,
            [
                ("web shell probing from 198.51.100.9", Severity::Low),
                ("web shell access from 203.0.113.70", Severity::Critical),
            ]
        );
    }
}
