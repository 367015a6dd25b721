//! Per-user delivery rules: what `.forward`, `.qmail*`, `.procmailrc`, sieve scripts and Exim
//! filters send mail to, line by line, as [`Target`]s.
//!
//! Each reader knows one syntax; [`of_file`] picks it by file name and content (a `.forward`
//! starting with `# Exim filter` or `# Sieve filter` is a filter, not a list). To support a new
//! delivery agent, add a reader and a name in [`of_file`].

use super::maps::{targets, Target};
use super::numbered;

/// A delivery target and the line that sets it.
pub type Rule = (u64, Target);

/// The targets of a delivery file at host path `path`.
pub fn of_file(path: &str, text: &str) -> Vec<Rule> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if filter_header(text).is_some() || name.starts_with(".forward") {
        forward_file(text)
    } else if name.ends_with(".sieve") || name == ".dovecot.sieve" {
        sieve(text)
    } else if name.starts_with(".qmail") {
        qmail(text)
    } else if name == ".procmailrc" || name.ends_with(".rc") {
        procmail(text)
    } else if path.contains("/sieve/") || path.contains("/.sieve/") {
        sieve(text)
    } else {
        Vec::new()
    }
}

/// A file read the way a `.forward` is, whatever its name (Exim's redirect router `file`
/// option): an Exim or Sieve filter when its first line says so, else a list of targets.
pub fn forward_file(text: &str) -> Vec<Rule> {
    match filter_header(text) {
        Some(Filter::Exim) => exim_filter(text),
        Some(Filter::Sieve) => sieve(text),
        None => forward(text),
    }
}

/// The filter languages a delivery file names on its first line.
enum Filter {
    Exim,
    Sieve,
}

/// The filter a file's first line names (`# Exim filter`, `# Sieve filter`), if any.
fn filter_header(text: &str) -> Option<Filter> {
    let first = text.lines().next().unwrap_or("").to_ascii_lowercase();
    if first.starts_with("# exim filter") {
        Some(Filter::Exim)
    } else if first.starts_with("# sieve filter") {
        Some(Filter::Sieve)
    } else {
        None
    }
}

/// `.forward`: comma/space separated targets, `#` comments.
pub fn forward(text: &str) -> Vec<Rule> {
    numbered(text)
        .filter(|(_, l)| !l.trim_start().starts_with('#'))
        .flat_map(|(n, l)| targets(l).into_iter().map(move |t| (n, t)))
        .collect()
}

/// `.qmail`: one delivery per line; `|` program, `/` or `.` mailbox, `&addr` or `addr`.
pub fn qmail(text: &str) -> Vec<Rule> {
    numbered(text)
        .filter_map(|(n, l)| {
            let l = l.trim();
            let t = if let Some(c) = l.strip_prefix('|') {
                Target::Pipe(c.trim().to_string())
            } else if l.starts_with('/') || l.starts_with('.') {
                Target::File(l.to_string())
            } else if l.is_empty() || l.starts_with('#') {
                return None;
            } else {
                let a = l.trim_start_matches('&');
                if a.contains('@') {
                    Target::Address(a.to_string())
                } else {
                    Target::Local(a.to_string())
                }
            };
            Some((n, t))
        })
        .collect()
}

/// procmail: action lines of recipes (`! addresses`, `| program`).
pub fn procmail(text: &str) -> Vec<Rule> {
    let mut out = Vec::new();
    let mut in_recipe = false;
    for (n, l) in numbered(text) {
        let t = l.trim();
        if t.starts_with(":0") {
            in_recipe = true;
            continue;
        }
        if t.is_empty() || t.starts_with('#') || t.starts_with('*') || t == "{" {
            continue;
        }
        if in_recipe {
            if let Some(a) = t.strip_prefix('!') {
                out.extend(
                    a.split_whitespace()
                        .filter(|w| !w.starts_with('-'))
                        .map(|w| (n, targets(w).pop().unwrap_or(Target::Local(w.into())))),
                );
            } else if let Some(c) = t.strip_prefix('|') {
                out.push((n, Target::Pipe(c.trim().to_string())));
            }
            in_recipe = false;
        }
    }
    out
}

/// One token of a sieve script.
#[derive(Debug, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
}

fn sieve_tokens(text: &str) -> Vec<(u64, Tok)> {
    let mut out = Vec::new();
    let mut line = 1u64;
    let mut it = text.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\n' => line += 1,
            '#' => {
                for c in it.by_ref() {
                    if c == '\n' {
                        line += 1;
                        break;
                    }
                }
            }
            '/' if it.peek() == Some(&'*') => {
                let mut prev = ' ';
                for c in it.by_ref() {
                    if c == '\n' {
                        line += 1;
                    }
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
            }
            '"' => {
                let start = line;
                let mut s = String::new();
                while let Some(c) = it.next() {
                    match c {
                        '\\' => {
                            if let Some(e) = it.next() {
                                s.push(e);
                            }
                        }
                        '"' => break,
                        '\n' => {
                            line += 1;
                            s.push(c);
                        }
                        _ => s.push(c),
                    }
                }
                out.push((start, Tok::Str(s)));
            }
            c if c.is_alphanumeric() || c == ':' || c == '_' || c == '.' => {
                let mut w = String::from(c);
                while let Some(&d) = it.peek() {
                    if d.is_alphanumeric() || d == '_' || d == '.' || d == '-' {
                        w.push(d);
                        it.next();
                    } else {
                        break;
                    }
                }
                out.push((line, Tok::Word(w.to_ascii_lowercase())));
            }
            _ => {}
        }
    }
    out
}

/// Sieve: `redirect` (forward), `pipe`/`execute` (vnd.dovecot extensions).
pub fn sieve(text: &str) -> Vec<Rule> {
    let toks = sieve_tokens(text);
    let mut out = Vec::new();
    for (i, (_, t)) in toks.iter().enumerate() {
        let Tok::Word(w) = t else { continue };
        if !matches!(w.as_str(), "redirect" | "pipe" | "execute") {
            continue;
        }
        // Skip tagged arguments (`:copy`, `:try`) to the first string.
        let arg = toks[i + 1..]
            .iter()
            .take_while(|(_, t)| {
                matches!(t, Tok::Str(_)) || matches!(t, Tok::Word(x) if x.starts_with(':'))
            })
            .find_map(|(n, t)| match t {
                Tok::Str(s) => Some((*n, s.clone())),
                Tok::Word(_) => None,
            });
        if let Some((n, s)) = arg {
            let target = if w == "redirect" {
                if s.contains('@') {
                    Target::Address(s)
                } else {
                    Target::Local(s)
                }
            } else {
                Target::Pipe(s)
            };
            out.push((n, target));
        }
    }
    out
}

/// Exim filter: `deliver addr`, `unseen deliver addr`, `pipe "command"`.
pub fn exim_filter(text: &str) -> Vec<Rule> {
    let mut out = Vec::new();
    for (n, l) in numbered(text) {
        let words: Vec<&str> = l.split_whitespace().collect();
        for (i, w) in words.iter().enumerate() {
            let arg = words.get(i + 1).map(|a| a.trim_matches('"').to_string());
            match (w.to_ascii_lowercase().as_str(), arg) {
                ("deliver", Some(a)) => {
                    out.push((n, targets(&a).pop().unwrap_or(Target::Local(a))))
                }
                ("pipe", Some(_)) => {
                    let rest = l.split_once("pipe").map(|(_, r)| r).unwrap_or("");
                    out.push((n, Target::Pipe(rest.trim().trim_matches('"').to_string())));
                }
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_qmail_procmail() {
        assert_eq!(
            of_file("/home/l/.forward", "\\liwei, liwei.mobile@out.example\n"),
            [
                (1, Target::Local("liwei".into())),
                (1, Target::Address("liwei.mobile@out.example".into()))
            ]
        );
        assert_eq!(
            of_file(
                "/var/backups/.forward",
                "\"|/var/backups/.cache/sync.sh\"\n"
            ),
            [(1, Target::Pipe("/var/backups/.cache/sync.sh".into()))]
        );
        assert_eq!(
            of_file(
                "/home/q/.qmail-list",
                "# c\n./Maildir/\n&x@out.example\n|/tmp/y\n"
            ),
            [
                (2, Target::File("./Maildir/".into())),
                (3, Target::Address("x@out.example".into())),
                (4, Target::Pipe("/tmp/y".into()))
            ]
        );
        let p = of_file(
            "/home/c/.procmailrc",
            "MAILDIR=$HOME/Maildir/\n:0c\n* ^From:.*boss\n! copy@out.example\n:0\n| /usr/bin/spamc\n:0:\nspam/\n",
        );
        assert_eq!(
            p,
            [
                (4, Target::Address("copy@out.example".into())),
                (6, Target::Pipe("/usr/bin/spamc".into()))
            ]
        );
    }

    #[test]
    fn sieve_redirects_and_pipes() {
        let s = "require [\"fileinto\",\"copy\"];\n# redirect \"not@this\";\nif true\n{\n\tredirect :copy \"wf.backup@out.example\";\n}\n/* pipe \"no\" */\nif header :contains \"subject\" \"x\" { pipe :try \"sync\"; redirect \"colleague\"; }\n";
        assert_eq!(
            sieve(s),
            [
                (5, Target::Address("wf.backup@out.example".into())),
                (8, Target::Pipe("sync".into())),
                (8, Target::Local("colleague".into()))
            ]
        );
    }

    #[test]
    fn exim_filters() {
        let f = "# Exim filter\nif $h_subject: contains \"x\" then\n  unseen deliver spy@out.example\n  pipe \"/tmp/.p/run $sender_address\"\nendif\n";
        assert_eq!(
            of_file("/home/e/.forward", f),
            [
                (3, Target::Address("spy@out.example".into())),
                (4, Target::Pipe("/tmp/.p/run $sender_address".into()))
            ]
        );
    }
}
