//! Web roots and webmail installs: what exploitation of a mail server's web side leaves.
//!
//! Three things are planned here, after the fixed catalog:
//! - every script file ([`SCRIPT_EXTS`], any case) below every web root — the defaults in
//!   [`WEB_ROOTS`] (webmail install folders included) and those the nginx / Apache configs
//!   name ([`super::web`]) — as [`Category::WebScript`]: stored and hashed up to its 2 MiB
//!   cap, listed with its metadata above it. Maildir folders are never descended, links are
//!   recorded and never followed (see `collect::Run::execute_in`), FIFOs and devices are
//!   never opened ([`super::take`]). Folders that are a whole system tree (`/`, `/usr` …) are
//!   refused as roots with a note;
//! - the included web config files outside the default config trees ([`Category::WebConfig`]);
//! - Exim spool bodies: every planned `-D` file of a spool `input` folder becomes a `skipped`
//!   row with its metadata ([`skip_spool_bodies`]); only `-H` headers (and `-J` journals) are
//!   taken.
//!
//! To cover another webmail: its install folders in [`WEB_ROOTS`] and its version / config
//! files as `WebApp` rows in [`super::catalog::CATALOG`].

use super::plan::{Item, Planner};
use super::web::WebFound;
use crate::evidence::manifest::{Category, ManifestRow, Outcome};
use crate::evidence::pathname::HostPath;
use crate::evidence::root::HostRoot;

/// Script file extensions listed and stored from web roots (matched without regard to case).
pub const SCRIPT_EXTS: &[&str] = &[
    "php", "phtml", "php3", "php4", "php5", "php7", "phar", "inc", "jsp", "jspx", "asp", "aspx",
    "ashx", "cgi", "pl", "py", "sh",
];

/// Web roots and webmail install folders looked at on every host.
pub const WEB_ROOTS: &[&str] = &[
    "/var/www",
    "/srv/www",
    "/srv/http",
    "/usr/share/nginx/html",
    "/usr/share/roundcube",
    "/usr/share/roundcubemail",
    "/var/lib/roundcube",
    "/usr/share/horde",
    "/usr/share/snappymail",
    "/usr/share/rainloop",
    "/usr/lib/GNUstep/SOGo",
    "/usr/local/lib/GNUstep/SOGo",
    "/opt/zimbra/jetty/webapps",
    "/opt/zimbra/jetty_base/webapps",
];

/// Folders never walked as a web root: a config naming one would list a whole system.
const TOO_BROAD: &[&str] = &[
    "/",
    "/usr",
    "/var",
    "/etc",
    "/home",
    "/opt",
    "/root",
    "/srv",
    "/proc",
    "/sys",
    "/dev",
    "/run",
    "/boot",
    "/lib",
    "/bin",
    "/sbin",
    "/usr/share",
    "/usr/lib",
    "/var/lib",
];

/// The relative glob that matches script files at any depth.
pub fn script_glob() -> String {
    format!("**/*.{{{}}}", SCRIPT_EXTS.join(","))
}

/// Plans the script listing of every web root and the included web configs.
pub fn plan_web(planner: &mut Planner, found: &WebFound, log: &mut Vec<String>) {
    for inc in &found.included {
        log.push(format!("web config included: {}", inc.display()));
        planner.take(inc.clone(), Category::WebConfig);
    }
    let mut roots: Vec<(HostPath, String)> = WEB_ROOTS
        .iter()
        .map(|r| (HostPath::new(r), "default web root".to_string()))
        .collect();
    roots.extend(found.roots.iter().cloned());
    let glob = script_glob();
    planner.case_insensitive(true);
    let mut walked: Vec<HostPath> = Vec::new();
    for (root, origin) in roots {
        if TOO_BROAD.iter().any(|b| HostPath::new(b) == root) {
            log.push(format!(
                "web root {} ({origin}): a system folder; scripts not listed",
                root.display()
            ));
            let mut row = ManifestRow::new(&root, Category::WebScript, Outcome::Skipped);
            row.error = Some(format!(
                "web root named by {origin} is a system folder: not walked"
            ));
            planner.items.push(Item::Row(Box::new(row)));
            continue;
        }
        // A root inside one already walked adds nothing.
        if walked.iter().any(|w| root.starts_with(w)) {
            continue;
        }
        walked.push(root.clone());
        if origin != "default web root" {
            log.push(format!("web root from {origin}: {}", root.display()));
        }
        planner.add(&root, glob.as_bytes(), Category::WebScript, true);
    }
    planner.case_insensitive(false);
}

/// Whether a host path is an Exim spool body (`…/input/…/<id>-D`).
pub fn is_spool_body(p: &HostPath) -> bool {
    let s = p.as_bytes();
    s.ends_with(b"-D") && s.windows(b"/input/".len()).any(|w| w == b"/input/")
}

/// Turns every planned spool body into a `skipped` row with its metadata: message bodies
/// are mail content and never copied.
pub fn skip_spool_bodies(root: &HostRoot, items: &mut [Item]) {
    for item in items.iter_mut() {
        let Item::Take { path, category } = item else {
            continue;
        };
        if *category != Category::SpoolHeader || !is_spool_body(path) {
            continue;
        }
        let mut row = ManifestRow::new(path, *category, Outcome::Skipped);
        if let Ok(dir) = root.resolve(&path.parent()) {
            if let Ok(m) = root.lstat(&dir.join(path.file_name())) {
                row.set_meta(&m);
            }
        }
        row.error = Some("message body (spool -D file): mail content, never copied".into());
        *item = Item::Row(Box::new(row));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spool_bodies_are_recognised() {
        assert!(is_spool_body(&HostPath::new(
            "/var/spool/exim4/input/1tAbCd-000123-Ab-D"
        )));
        assert!(is_spool_body(&HostPath::new(
            "/var/spool/exim/input/X/1tAbCd-000123-Ab-D"
        )));
        assert!(!is_spool_body(&HostPath::new(
            "/var/spool/exim4/input/1tAbCd-000123-Ab-H"
        )));
        assert!(globset::Glob::new(&script_glob()).is_ok());
    }
}
