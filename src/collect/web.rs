//! Web server configuration discovery: the logs and web roots nginx and Apache name.
//!
//! Every file under `/etc/nginx`, `/etc/apache2` and `/etc/httpd` is read (small, capped, as
//! [`super::discover`] reads mail configs), and so is every file an `include` /
//! `Include` / `IncludeOptional` names elsewhere in the root (followed to [`MAX_FILES`]).
//! From them come:
//! - logs: nginx `access_log` / `error_log`, Apache `CustomLog` / `TransferLog` / `ErrorLog`
//!   (piped `rotatelogs` targets included). Variables (`$host`, `${APACHE_LOG_DIR}` when
//!   `envvars` or a `Define` does not give it, `%Y` of rotatelogs) become `*`; each becomes a
//!   directory and a name glob that also takes rotations ([`FoundLog`]);
//! - web roots: nginx `root` / `alias`, Apache `DocumentRoot` / `Alias` / `ScriptAlias`; a
//!   component holding a variable cuts the root to the directories above it;
//! - the included files outside the three default trees, to collect as web config.
//!
//! To read another web server: a `scan_*` function returning [`Directive`]s and one more
//! default tree in [`web_config`].

use std::collections::BTreeSet;

use globset::GlobBuilder;

use super::discover::FoundLog;
use crate::evidence::pathname::HostPath;
use crate::evidence::root::HostRoot;

/// Largest config file read.
const CONFIG_CAP: u64 = 4 << 20;
/// Most config files read (includes included).
const MAX_FILES: usize = 4096;
/// Deepest a default config tree is walked.
const MAX_DEPTH: usize = 8;

/// What one config statement names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Directive {
    /// A log file path (absolute, or relative to the server root).
    Log(String, &'static str),
    /// A web root.
    Root(String, &'static str),
    /// An included file or glob.
    Include(String),
    /// `Define NAME value` / `ServerRoot` (Apache).
    Define(String, String),
}

/// What the web server configs of a root name.
#[derive(Debug, Default)]
pub struct WebFound {
    /// Log locations (directory + name glob), with the file and directive naming them.
    pub logs: Vec<FoundLog>,
    /// Web roots with where they were named, in first-seen order, without duplicates.
    pub roots: Vec<(HostPath, String)>,
    /// Included config files outside `/etc/nginx`, `/etc/apache2`, `/etc/httpd`.
    pub included: Vec<HostPath>,
    /// What was found and what was not used (for `collect.log`).
    pub notes: Vec<String>,
}

/// Splits a statement into words; double and single quotes group, backslash escapes.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (_, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// nginx statements: `;`, `{` and `}` end one; `#` starts a comment outside quotes.
fn scan_nginx(text: &str) -> Vec<Directive> {
    let mut out = Vec::new();
    let mut stmt = String::new();
    let mut quote: Option<char> = None;
    let mut comment = false;
    for c in text.chars() {
        if comment {
            comment = c != '\n';
            continue;
        }
        match (quote, c) {
            (None, '#') => comment = true,
            (None, ';' | '{' | '}') => {
                nginx_statement(&words(&stmt), &mut out);
                stmt.clear();
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                stmt.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                stmt.push(c);
            }
            _ => stmt.push(c),
        }
        if stmt.len() > 64 << 10 {
            stmt.clear();
        }
    }
    out
}

fn nginx_statement(w: &[String], out: &mut Vec<Directive>) {
    let (Some(key), Some(arg)) = (w.first(), w.get(1)) else {
        return;
    };
    match key.as_str() {
        "access_log" | "error_log" => {
            let named = !(arg == "off"
                || arg == "stderr"
                || arg.starts_with("syslog:")
                || arg.starts_with("memory:"));
            if named {
                let k = if key == "access_log" {
                    "access_log"
                } else {
                    "error_log"
                };
                out.push(Directive::Log(arg.clone(), k));
            }
        }
        "root" => out.push(Directive::Root(arg.clone(), "root")),
        "alias" => out.push(Directive::Root(arg.clone(), "alias")),
        "include" => out.push(Directive::Include(arg.clone())),
        _ => {}
    }
}

/// Apache lines (a trailing `\` continues one), directives case-insensitive.
fn scan_apache(text: &str) -> Vec<Directive> {
    let mut out = Vec::new();
    let mut joined = String::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(head) = line.strip_suffix('\\') {
            joined.push_str(head);
            joined.push(' ');
            if joined.len() > 64 << 10 {
                joined.clear();
            }
            continue;
        }
        joined.push_str(line);
        let stmt = std::mem::take(&mut joined);
        let t = stmt.trim();
        if t.starts_with('#') || t.starts_with('<') {
            continue;
        }
        apache_statement(&words(t), &mut out);
    }
    out
}

fn apache_statement(w: &[String], out: &mut Vec<Directive>) {
    let Some(key) = w.first() else {
        return;
    };
    let arg = |i: usize| w.get(i).cloned();
    match key.to_ascii_lowercase().as_str() {
        "customlog" | "transferlog" | "errorlog" | "globallog" => {
            let Some(a) = arg(1) else { return };
            let k = match key.to_ascii_lowercase().as_str() {
                "errorlog" => "ErrorLog",
                "transferlog" => "TransferLog",
                _ => "CustomLog",
            };
            if let Some(pipe) = a.strip_prefix('|') {
                // `|/usr/bin/rotatelogs -l /var/log/apache2/x.%Y%m%d 86400`: the files are
                // the program's absolute arguments after the program itself.
                for p in words(pipe.trim_start_matches('$')).iter().skip(1) {
                    if p.starts_with('/') {
                        out.push(Directive::Log(p.clone(), k));
                    }
                }
            } else if !a.starts_with("syslog") {
                out.push(Directive::Log(a, k));
            }
        }
        "documentroot" => out.extend(arg(1).map(|a| Directive::Root(a, "DocumentRoot"))),
        "alias" => out.extend(arg(2).map(|a| Directive::Root(a, "Alias"))),
        "scriptalias" => out.extend(arg(2).map(|a| Directive::Root(a, "ScriptAlias"))),
        "include" | "includeoptional" => out.extend(arg(1).map(Directive::Include)),
        "define" => {
            if let (Some(n), Some(v)) = (arg(1), arg(2)) {
                out.push(Directive::Define(n, v));
            }
        }
        "serverroot" => out.extend(arg(1).map(|v| Directive::Define("\0ServerRoot".into(), v))),
        _ => {}
    }
}

/// `export NAME=value` lines of Debian's `/etc/apache2/envvars` (`$SUFFIX` dropped).
fn envvars(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(n, v)| {
            let v = v.trim().trim_matches('"').replace("$SUFFIX", "");
            (n.trim().to_string(), v)
        })
        .collect()
}

/// Replaces `${NAME}` by its defined value where known.
fn expand(s: &str, defines: &[(String, String)]) -> String {
    let mut s = s.to_string();
    for (n, v) in defines {
        s = s.replace(&format!("${{{n}}}"), v);
    }
    s
}

fn is_var(c: &str) -> bool {
    c.contains('$') || c.contains('%')
}

/// A component with variables (`$host`, `${X}`, `%Y`) as a glob; glob characters escaped.
pub fn component_glob(c: &str) -> String {
    let mut g = String::new();
    let mut chars = c.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '$' => {
                if chars.peek() == Some(&'{') {
                    for n in chars.by_ref() {
                        if n == '}' {
                            break;
                        }
                    }
                } else {
                    while chars
                        .peek()
                        .is_some_and(|n| n.is_ascii_alphanumeric() || *n == '_')
                    {
                        chars.next();
                    }
                }
                if !g.ends_with('*') {
                    g.push('*');
                }
            }
            '%' => {
                chars.next();
                if !g.ends_with('*') {
                    g.push('*');
                }
            }
            '*' | '?' | '[' | ']' | '{' | '}' => {
                g.push('[');
                g.push(ch);
                g.push(']');
            }
            ch => g.push(ch),
        }
    }
    g
}

/// An absolute path (relative ones are joined to `base`), its `..` and `.` resolved lexically.
fn absolute(p: &str, base: &str) -> Option<String> {
    let p = p.trim();
    if p.is_empty() || p.starts_with("/dev/") || p.starts_with("/proc/") || p == "/dev/null" {
        return None;
    }
    let joined = if p.starts_with('/') {
        p.to_string()
    } else {
        format!("{}/{p}", base.trim_end_matches('/'))
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in joined.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// A log path as a directory and a name glob that also matches rotations.
fn log_location(path: &str, origin: String) -> Option<FoundLog> {
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let (name, dirs) = comps.split_last()?;
    let literal = dirs.iter().position(|c| is_var(c)).unwrap_or(dirs.len());
    let dir = format!("/{}", dirs[..literal].join("/"));
    let mut glob: Vec<String> = dirs[literal..].iter().map(|c| component_glob(c)).collect();
    let mut last = component_glob(name);
    if !last.ends_with('*') {
        last.push('*');
    }
    glob.push(last);
    Some(FoundLog {
        dir: HostPath::new(&dir),
        name_glob: glob.join("/"),
        origin,
    })
}

/// A web root: the path up to the first component holding a variable.
fn root_location(path: &str) -> Option<HostPath> {
    let comps: Vec<&str> = path
        .split('/')
        .filter(|c| !c.is_empty())
        .take_while(|c| !is_var(c) && !c.contains(['*', '?', '[']))
        .collect();
    (!comps.is_empty()).then(|| HostPath::new(&format!("/{}", comps.join("/"))))
}

/// The files in `root` matching an absolute glob (links to files included), sorted.
fn expand_glob(root: &HostRoot, pattern: &str) -> Vec<HostPath> {
    let comps: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    let first = comps
        .iter()
        .position(|c| c.contains(['*', '?', '[', '{']))
        .unwrap_or(comps.len());
    let base = HostPath::new(&format!("/{}", comps[..first].join("/")));
    if first == comps.len() {
        return vec![base];
    }
    let rest = comps[first..].join("/");
    let Ok(glob) = GlobBuilder::new(&rest).literal_separator(true).build() else {
        return Vec::new();
    };
    let glob = glob.compile_matcher();
    let Ok(resolved) = root.resolve(&base) else {
        return Vec::new();
    };
    let real = root.real(&resolved);
    let mut out: Vec<HostPath> = walkdir::WalkDir::new(&real)
        .follow_links(false)
        .min_depth(1)
        .max_depth(comps.len() - first)
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .filter(|e| !e.file_type().is_dir())
        .filter(|e| e.path().strip_prefix(&real).is_ok_and(|r| glob.is_match(r)))
        .map(|e| super::plan::host_of(&real, &resolved, e.path()))
        .collect();
    out.sort();
    out
}

/// Every regular file (or link) under a default config tree, sorted.
fn tree_files(root: &HostRoot, dir: &str) -> Vec<HostPath> {
    let Ok(base) = root.resolve(&HostPath::new(dir)) else {
        return Vec::new();
    };
    let real = root.real(&base);
    walkdir::WalkDir::new(&real)
        .follow_links(false)
        .max_depth(MAX_DEPTH)
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .filter(|e| !e.file_type().is_dir())
        .map(|e| super::plan::host_of(&real, &base, e.path()))
        .collect()
}

/// One web server's scan state.
struct Scan<'a> {
    root: &'a HostRoot,
    read: BTreeSet<HostPath>,
    found: WebFound,
    roots: BTreeSet<HostPath>,
    logs: BTreeSet<FoundLog>,
}

impl Scan<'_> {
    /// Reads the files of one server (`apache`: Apache syntax), following includes.
    fn server(&mut self, dir: &str, apache: bool) {
        let mut defines: Vec<(String, String)> = Vec::new();
        if apache {
            if let Some(t) = self
                .root
                .read_small(&HostPath::new(&format!("{dir}/envvars")), CONFIG_CAP)
            {
                defines = envvars(&String::from_utf8_lossy(&t));
            }
        }
        let mut server_root = dir.to_string();
        let mut todo: Vec<HostPath> = tree_files(self.root, dir);
        todo.reverse();
        while let Some(file) = todo.pop() {
            if self.read.len() >= MAX_FILES {
                self.found.notes.push(format!(
                    "web config: more than {MAX_FILES} files; the rest not read"
                ));
                return;
            }
            if !self.read.insert(file.clone()) {
                continue;
            }
            let Some(bytes) = self.root.read_small(&file, CONFIG_CAP) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            let origin = file.display();
            let directives = if apache {
                scan_apache(&text)
            } else {
                scan_nginx(&text)
            };
            for d in directives {
                match d {
                    Directive::Define(n, v) if n == "\0ServerRoot" => server_root = v,
                    Directive::Define(n, v) => defines.push((n, v)),
                    Directive::Include(p) => {
                        let Some(p) = absolute(&expand(&p, &defines), &server_root) else {
                            continue;
                        };
                        let mut more = expand_glob(self.root, &p);
                        more.retain(|m| !self.read.contains(m));
                        for m in &more {
                            let inside = ["/etc/nginx", "/etc/apache2", "/etc/httpd"]
                                .iter()
                                .any(|d| m.starts_with(&HostPath::new(d)));
                            if !inside && !self.found.included.contains(m) {
                                self.found.included.push(m.clone());
                            }
                        }
                        more.reverse();
                        todo.extend(more);
                    }
                    Directive::Log(p, key) => {
                        let p = expand(&p, &defines);
                        match absolute(&p, &server_root)
                            .and_then(|a| log_location(&a, format!("{origin}: {key}")))
                        {
                            Some(l) => {
                                self.logs.insert(l);
                            }
                            None => self
                                .found
                                .notes
                                .push(format!("{origin}: {key} {p}: not a file path; not taken")),
                        }
                    }
                    Directive::Root(p, key) => {
                        let p = expand(&p, &defines);
                        match absolute(&p, &server_root).and_then(|a| root_location(&a)) {
                            Some(r) if self.roots.insert(r.clone()) => {
                                self.found.roots.push((r, format!("{origin}: {key}")));
                            }
                            Some(_) => {}
                            None => self
                                .found
                                .notes
                                .push(format!("{origin}: {key} {p}: no directory; not listed")),
                        }
                    }
                }
            }
        }
    }
}

/// What the root's nginx and Apache configs name.
pub fn web_config(root: &HostRoot) -> WebFound {
    let mut scan = Scan {
        root,
        read: BTreeSet::new(),
        found: WebFound::default(),
        roots: BTreeSet::new(),
        logs: BTreeSet::new(),
    };
    scan.server("/etc/nginx", false);
    scan.server("/etc/apache2", true);
    scan.server("/etc/httpd", true);
    let mut found = scan.found;
    found.logs = scan.logs.into_iter().collect();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_directives() {
        let d = scan_nginx(
            "http {\n  access_log /var/log/nginx/access.log combined; # c ; x\n  error_log off;\n  server { root \"/srv/my site\";\n    access_log /srv/logs/$host.access.log;\n    location /rc { alias /usr/share/roundcube/; }\n    access_log syslog:server=unix:/dev/log;\n  }\n  include /etc/nginx/sites-enabled/*;\n}\n",
        );
        assert_eq!(
            d,
            [
                Directive::Log("/var/log/nginx/access.log".into(), "access_log"),
                Directive::Root("/srv/my site".into(), "root"),
                Directive::Log("/srv/logs/$host.access.log".into(), "access_log"),
                Directive::Root("/usr/share/roundcube/".into(), "alias"),
                Directive::Include("/etc/nginx/sites-enabled/*".into()),
            ]
        );
    }

    #[test]
    fn apache_directives() {
        let d = scan_apache(
            "ServerRoot \"/etc/httpd\"\n<VirtualHost *:80>\n  DocumentRoot /var/www/html\n  ErrorLog ${APACHE_LOG_DIR}/error.log\n  CustomLog \"|/usr/bin/rotatelogs -l /var/log/web/acc.%Y%m%d 86400\" combined\n  customlog logs/access_log \\\n   combined\n  Alias /webmail /usr/share/roundcube\n  ErrorLog syslog:local1\n</VirtualHost>\nIncludeOptional sites-enabled/*.conf\n",
        );
        assert_eq!(
            d,
            [
                Directive::Define("\0ServerRoot".into(), "/etc/httpd".into()),
                Directive::Root("/var/www/html".into(), "DocumentRoot"),
                Directive::Log("${APACHE_LOG_DIR}/error.log".into(), "ErrorLog"),
                Directive::Log("/var/log/web/acc.%Y%m%d".into(), "CustomLog"),
                Directive::Log("logs/access_log".into(), "CustomLog"),
                Directive::Root("/usr/share/roundcube".into(), "Alias"),
                Directive::Include("sites-enabled/*.conf".into()),
            ]
        );
    }

    #[test]
    fn locations_become_globs() {
        let l = log_location("/srv/logs/$host.access.log", "o".into()).unwrap();
        assert_eq!(
            (l.dir.display(), l.name_glob.as_str()),
            ("/srv/logs".into(), "*.access.log*")
        );
        let l = log_location("/srv/$site/logs/a[1].log", "o".into()).unwrap();
        assert_eq!(
            (l.dir.display(), l.name_glob.as_str()),
            ("/srv".into(), "*/logs/a[[]1[]].log*")
        );
        let l = log_location("/var/log/web/acc.%Y%m%d", "o".into()).unwrap();
        assert_eq!(l.name_glob, "acc.*");
        assert_eq!(
            root_location("/var/www/$host/public"),
            Some(HostPath::new("/var/www"))
        );
        assert_eq!(root_location("/$x"), None);
        assert_eq!(
            absolute("logs/access_log", "/etc/httpd").as_deref(),
            Some("/etc/httpd/logs/access_log")
        );
        assert_eq!(absolute("/a/../b/./c", "/").as_deref(), Some("/b/c"));
        assert_eq!(
            expand(
                "${APACHE_LOG_DIR}/e.log",
                &envvars("export APACHE_LOG_DIR=/var/log/apache2$SUFFIX\n")
            ),
            "/var/log/apache2/e.log"
        );
    }
}
