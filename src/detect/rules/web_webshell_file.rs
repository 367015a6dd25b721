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
//! **ATT&CK**: T1505.003. **Phase**: persistence. **Severity**: critical. **False positives**:
//! an administrator's own debugging script left in a web root (it is a web shell all the same:
//! remove it).

use super::super::host::{Cites, ConfigRule, Host};
use super::web::is_script_extension;
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

impl ConfigRule for WebshellFile {
    fn check(&self, host: &Host) -> Vec<Finding> {
        let mut out = Vec::new();
        for (path, f) in &host.conf.files {
            let Some(ext) = extension(path).filter(|e| is_script_extension(e)) else {
                continue;
            };
            let found = shapes(&ext, &f.data);
            if found.is_empty() {
                continue;
            }
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
