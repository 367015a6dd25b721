//! The Velociraptor artifacts of `fleet/velociraptor/` checked against Velociraptor's artifact
//! schema, and the command line the Linux one builds run for real.
//!
//! No Velociraptor binary can be had from the package registries this project may use (PyPI's
//! `velociraptor` is an astronomy library, `generaptor` downloads the binary from the project's
//! release page at run time, Debian and npm have none), so `velociraptor artifacts verify` cannot
//! run here. Instead [`validate`] checks each YAML against the schema as Velociraptor defines it
//! (the `Artifact`, `ArtifactParameter`, `ArtifactSource`, `Tool` and `Resources` messages of its
//! `artifacts/proto/artifact.proto`, the parameter types of its parameter documentation, the
//! permission names of its ACLs) and reads the VQL with a small lexer: strings and brackets
//! balanced, a source ending in a `SELECT`, every variable a declared parameter, an earlier `LET`,
//! a column alias or a documented column of the plugins used, every function one the VQL
//! reference documents, every `FetchBinary` tool declared in `tools:` and every declared tool and
//! parameter used. The `mailir` argument vectors (`CollectArgv`, `TriageArgv`) are evaluated by
//! [`eval_argv`] (lists, `+`, `if(condition=, then=, else=)`, parameters and the artifact's own
//! `LET` strings) and every flag must be one `mailir collect --help` / `mailir triage --help`
//! prints. Then `Linux.Mailir.Collect`'s command line, evaluated with its defaults and a fake
//! root, is run: it must exit 0 and leave the bundle and sidecar the artifact uploads.
//!
//! To extend: a new artifact goes into `fleet/velociraptor/NAME.yaml` and [`ARTIFACTS`]; a VQL
//! function or plugin column it uses goes into [`FUNCTIONS`] / [`COLUMNS`] (only after checking
//! Velociraptor's VQL reference has it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_norway::Value;
use sha2::{Digest, Sha256};

use crate::util::{self, run_cmd};

/// The artifacts this repository ships.
const ARTIFACTS: [&str; 3] = [
    "Linux.Mailir.Collect",
    "Windows.Mailir.Collect",
    "Server.Mailir.Triage",
];

/// Fields of `Artifact` a definition may set (artifact.proto; `raw`, `compiled`, `built_in`,
/// `compiled_in`, `is_alias`, `is_inherited` and `metadata` are the repository's own).
const TOP_KEYS: [&str; 19] = [
    "name",
    "aliases",
    "description",
    "author",
    "reference",
    "references",
    "required_permissions",
    "implied_permissions",
    "impersonate",
    "resources",
    "tools",
    "precondition",
    "parameters",
    "type",
    "sources",
    "imports",
    "export",
    "reports",
    "column_types",
];

/// `Artifact.type`.
const TYPES: [&str; 6] = [
    "CLIENT",
    "CLIENT_EVENT",
    "SERVER",
    "SERVER_EVENT",
    "NOTEBOOK",
    "INTERNAL",
];

/// `ArtifactParameter` fields.
const PARAM_KEYS: [&str; 9] = [
    "name",
    "default",
    "description",
    "type",
    "choices",
    "friendly_name",
    "validating_regex",
    "artifact_type",
    "sources",
];

/// Parameter types of Velociraptor's parameter documentation (`int`, `integer` and `int64` are
/// one type).
const PARAM_TYPES: [&str; 24] = [
    "string",
    "int",
    "integer",
    "int64",
    "float",
    "bool",
    "timestamp",
    "choices",
    "multichoice",
    "server_metadata",
    "regex",
    "regex_array",
    "yara",
    "json",
    "json_array",
    "csv",
    "hidden",
    "redacted",
    "upload",
    "upload_file",
    "artifactset",
    "xml",
    "yaml",
    "starlark",
];

/// `ArtifactSource` fields (`queries` is the deprecated form of `query`).
const SOURCE_KEYS: [&str; 6] = [
    "name",
    "description",
    "precondition",
    "query",
    "queries",
    "notebook",
];

/// `Tool` fields a definition may set (the rest is the inventory's state).
const TOOL_KEYS: [&str; 8] = [
    "name",
    "url",
    "github_project",
    "github_asset_regex",
    "serve_locally",
    "expected_hash",
    "version",
    "filename",
];

/// `Resources` fields.
const RESOURCE_KEYS: [&str; 9] = [
    "timeout",
    "ops_per_second",
    "cpu_limit",
    "iops_limit",
    "max_rows",
    "max_upload_bytes",
    "max_batch_wait",
    "max_batch_rows",
    "max_batch_rows_buffer",
];

/// Velociraptor's ACL permission names.
const PERMISSIONS: [&str; 22] = [
    "ANY_QUERY",
    "PUBLISH",
    "READ_RESULTS",
    "LABEL_CLIENT",
    "COLLECT_CLIENT",
    "COLLECT_BASIC",
    "START_HUNT",
    "COLLECT_SERVER",
    "ARTIFACT_WRITER",
    "SERVER_ARTIFACT_WRITER",
    "EXECVE",
    "NOTEBOOK_EDITOR",
    "SERVER_ADMIN",
    "ORG_ADMIN",
    "IMPERSONATION",
    "FILESYSTEM_READ",
    "FILESYSTEM_WRITE",
    "NETWORK",
    "MACHINE_STATE",
    "PREPARE_RESULTS",
    "DELETE_RESULTS",
    "DATASTORE_ACCESS",
];

/// The VQL functions and plugins the artifacts call, each in Velociraptor's VQL reference.
const FUNCTIONS: [&str; 20] = [
    "info",
    "if",
    "str",
    "regex_replace",
    "tempdir",
    "path_join",
    "execve",
    "stat",
    "hash",
    "upload",
    "join",
    "scope",
    "uploads",
    "foreach",
    "chain",
    "basename",
    "copy",
    "read_file",
    "len",
    "glob",
];

/// Columns of those plugins the artifacts read unqualified: `info()` (OS, Hostname,
/// Architecture), `Generic.Utils.FetchBinary`, `stat()` and `glob()` (OSPath, Name), `execve()`
/// (Stdout, Stderr, ReturnCode, Complete), `uploads()` (ClientId, FlowId, client_path, vfs_path).
const COLUMNS: [&str; 13] = [
    "OS",
    "Hostname",
    "Architecture",
    "OSPath",
    "Name",
    "Stdout",
    "Stderr",
    "ReturnCode",
    "Complete",
    "ClientId",
    "FlowId",
    "client_path",
    "vfs_path",
];

const KEYWORDS: [&str; 17] = [
    "SELECT", "FROM", "WHERE", "LET", "AS", "AND", "OR", "NOT", "TRUE", "FALSE", "NULL", "ORDER",
    "BY", "GROUP", "LIMIT", "DESC", "IN",
];

fn is_keyword(s: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(s))
}

// ---------------------------------------------------------------------------------------------
// VQL lexer
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Punct(String),
}

/// Splits VQL into tokens: `--` and `//` comments dropped, `'…'`, `"…"` and `'''…'''` strings.
fn lex(vql: &str) -> Result<Vec<(usize, Tok)>, String> {
    let b: Vec<char> = vql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
        } else if (c == '-' && b.get(i + 1) == Some(&'-'))
            || (c == '/' && b.get(i + 1) == Some(&'/'))
        {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '\'' && b.get(i + 1) == Some(&'\'') && b.get(i + 2) == Some(&'\'') {
            let start = i;
            i += 3;
            let mut s = String::new();
            loop {
                if i >= b.len() {
                    return Err(format!("unterminated ''' string at offset {start}"));
                }
                if b[i] == '\'' && b.get(i + 1) == Some(&'\'') && b.get(i + 2) == Some(&'\'') {
                    i += 3;
                    break;
                }
                s.push(b[i]);
                i += 1;
            }
            out.push((start, Tok::Str(s)));
        } else if c == '\'' || c == '"' {
            let start = i;
            i += 1;
            let mut s = String::new();
            loop {
                match b.get(i) {
                    None => return Err(format!("unterminated {c} string at offset {start}")),
                    Some('\\') => {
                        if let Some(n) = b.get(i + 1) {
                            s.push(*n);
                        }
                        i += 2;
                    }
                    Some(x) if *x == c => {
                        i += 1;
                        break;
                    }
                    Some(x) => {
                        s.push(*x);
                        i += 1;
                    }
                }
            }
            out.push((start, Tok::Str(s)));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            out.push((start, Tok::Ident(b[start..i].iter().collect())));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            out.push((start, Tok::Num(b[start..i].iter().collect())));
        } else {
            let two: String = b[i..(i + 2).min(b.len())].iter().collect();
            if ["<=", ">=", "=~", "!=", "=="].contains(&two.as_str()) {
                out.push((i, Tok::Punct(two)));
                i += 2;
            } else if "()[]{},.=+-*/<>:".contains(c) {
                out.push((i, Tok::Punct(c.to_string())));
                i += 1;
            } else {
                return Err(format!("unexpected character {c:?} at offset {i}"));
            }
        }
    }
    Ok(out)
}

fn punct(t: &Tok, p: &str) -> bool {
    matches!(t, Tok::Punct(x) if x == p)
}

fn ident(t: &Tok) -> Option<&str> {
    match t {
        Tok::Ident(s) => Some(s),
        _ => None,
    }
}

/// What one query defines and refers to.
#[derive(Default, Debug)]
struct VqlFacts {
    /// `LET` names with their token index.
    lets: BTreeMap<String, usize>,
    aliases: BTreeSet<String>,
    /// Variable references (name, token index).
    refs: Vec<(String, usize)>,
    /// Artifacts called (`Artifact.X.Y(…)`) with their argument tokens.
    artifact_calls: Vec<(String, Vec<Tok>)>,
}

/// Lexes and reads one query; problems go into `errs`.
fn read_vql(what: &str, vql: &str, errs: &mut Vec<String>) -> (Vec<Tok>, VqlFacts) {
    let toks = match lex(vql) {
        Ok(t) => t.into_iter().map(|(_, t)| t).collect::<Vec<_>>(),
        Err(e) => {
            errs.push(format!("{what}: {e}"));
            return (Vec::new(), VqlFacts::default());
        }
    };
    let mut facts = VqlFacts::default();
    // Brackets: kind and whether a `(` opened a call.
    let mut stack: Vec<(char, bool)> = Vec::new();
    let mut statements: Vec<String> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        let prev = if i > 0 { toks.get(i - 1) } else { None };
        let next = toks.get(i + 1);
        match t {
            Tok::Punct(p) if p == "(" || p == "[" || p == "{" => {
                let call = p == "(" && prev.and_then(ident).is_some_and(|s| !is_keyword(s));
                stack.push((p.chars().next().unwrap_or('('), call));
            }
            Tok::Punct(p) if p == ")" || p == "]" || p == "}" => {
                let want = match p.as_str() {
                    ")" => '(',
                    "]" => '[',
                    _ => '{',
                };
                match stack.pop() {
                    Some((open, _)) if open == want => {}
                    Some((open, _)) => {
                        errs.push(format!("{what}: {open} closed by {p}"));
                        return (toks, facts);
                    }
                    None => {
                        errs.push(format!("{what}: unbalanced {p}"));
                        return (toks, facts);
                    }
                }
            }
            Tok::Ident(s) => {
                if stack.is_empty()
                    && (s.eq_ignore_ascii_case("LET") || s.eq_ignore_ascii_case("SELECT"))
                {
                    statements.push(s.to_ascii_uppercase());
                }
                if s == "Artifact" && next.is_some_and(|n| punct(n, ".")) {
                    // Artifact.A.B.C( … )
                    let mut j = i + 1;
                    let mut name = Vec::new();
                    while j + 1 < toks.len() && punct(&toks[j], ".") {
                        if let Some(part) = ident(&toks[j + 1]) {
                            name.push(part.to_string());
                        }
                        j += 2;
                    }
                    let mut args = Vec::new();
                    if toks.get(j).is_some_and(|t| punct(t, "(")) {
                        let mut depth = 0;
                        let mut k = j;
                        while k < toks.len() {
                            if punct(&toks[k], "(") {
                                depth += 1;
                            } else if punct(&toks[k], ")") {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            if k > j {
                                args.push(toks[k].clone());
                            }
                            k += 1;
                        }
                    }
                    facts.artifact_calls.push((name.join("."), args));
                    // Skip the dotted name; the arguments are read as usual.
                    i = j;
                    continue;
                }
                let after_dot = prev.is_some_and(|p| punct(p, "."));
                let is_call = next.is_some_and(|n| punct(n, "("));
                let named_arg = next.is_some_and(|n| punct(n, "="))
                    && prev.is_some_and(|p| punct(p, "(") || punct(p, ","))
                    && stack.last().is_some_and(|(_, call)| *call);
                let prev_kw = prev.and_then(ident).map(|p| p.to_ascii_uppercase());
                if is_keyword(s) || after_dot || named_arg {
                    // not a variable
                } else if is_call {
                    if !FUNCTIONS.contains(&s.as_str()) {
                        errs.push(format!(
                            "{what}: {s}() is not a VQL function or plugin these artifacts may use"
                        ));
                    }
                } else if prev_kw.as_deref() == Some("LET") {
                    if facts.lets.insert(s.clone(), i).is_some() {
                        errs.push(format!("{what}: LET {s} defined twice"));
                    }
                } else if prev_kw.as_deref() == Some("AS") {
                    facts.aliases.insert(s.clone());
                } else {
                    facts.refs.push((s.clone(), i));
                }
            }
            _ => {}
        }
        i += 1;
    }
    if let Some((open, _)) = stack.last() {
        errs.push(format!("{what}: {open} never closed"));
    }
    match statements.last() {
        Some(s) if s == "SELECT" => {}
        Some(_) => errs.push(format!(
            "{what}: the last statement is a LET, so the source returns nothing"
        )),
        None => errs.push(format!("{what}: no SELECT")),
    }
    (toks, facts)
}

// ---------------------------------------------------------------------------------------------
// Argument vectors
// ---------------------------------------------------------------------------------------------

/// A value of the argv evaluator.
#[derive(Debug, Clone, PartialEq)]
enum V {
    Str(String),
    Bool(bool),
    List(Vec<V>),
}

impl V {
    fn truthy(&self) -> bool {
        match self {
            V::Str(s) => !s.is_empty(),
            V::Bool(b) => *b,
            V::List(l) => !l.is_empty(),
        }
    }
}

/// The tokens of `LET name <= …` up to the next statement.
fn let_tokens(toks: &[Tok], name: &str) -> Option<Vec<Tok>> {
    let start = toks.windows(3).position(|w| {
        ident(&w[0]).is_some_and(|s| s.eq_ignore_ascii_case("LET"))
            && ident(&w[1]) == Some(name)
            && (punct(&w[2], "<=") || punct(&w[2], "="))
    })? + 3;
    let mut depth = 0i32;
    let mut out = Vec::new();
    for t in &toks[start..] {
        if depth == 0
            && ident(t)
                .is_some_and(|s| s.eq_ignore_ascii_case("LET") || s.eq_ignore_ascii_case("SELECT"))
        {
            break;
        }
        if punct(t, "(") || punct(t, "[") || punct(t, "{") {
            depth += 1;
        } else if punct(t, ")") || punct(t, "]") || punct(t, "}") {
            depth -= 1;
        }
        out.push(t.clone());
    }
    Some(out)
}

struct Eval<'a> {
    toks: &'a [Tok],
    pos: usize,
    env: &'a BTreeMap<String, V>,
}

impl Eval<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn expect(&mut self, p: &str) -> Result<(), String> {
        match self.peek() {
            Some(t) if punct(t, p) => {
                self.pos += 1;
                Ok(())
            }
            other => Err(format!("expected {p}, found {other:?}")),
        }
    }

    /// expr := term ('+' term)*
    fn expr(&mut self) -> Result<V, String> {
        let mut v = self.term()?;
        while self.peek().is_some_and(|t| punct(t, "+")) {
            self.pos += 1;
            let r = self.term()?;
            v = match (v, r) {
                (V::List(mut a), V::List(b)) => {
                    a.extend(b);
                    V::List(a)
                }
                (V::Str(a), V::Str(b)) => V::Str(a + &b),
                (a, b) => return Err(format!("cannot add {a:?} and {b:?}")),
            };
        }
        Ok(v)
    }

    fn term(&mut self) -> Result<V, String> {
        let t = self.peek().cloned().ok_or("unexpected end")?;
        self.pos += 1;
        match t {
            Tok::Str(s) => Ok(V::Str(s)),
            Tok::Punct(p) if p == "[" => {
                let mut items = Vec::new();
                if self.peek().is_some_and(|t| punct(t, "]")) {
                    self.pos += 1;
                    return Ok(V::List(items));
                }
                loop {
                    items.push(self.expr()?);
                    match self.peek() {
                        Some(t) if punct(t, ",") => self.pos += 1,
                        Some(t) if punct(t, "]") => {
                            self.pos += 1;
                            return Ok(V::List(items));
                        }
                        other => return Err(format!("in a list: {other:?}")),
                    }
                }
            }
            Tok::Ident(f) if f == "if" => {
                self.expect("(")?;
                let mut args = BTreeMap::new();
                loop {
                    let name = match self.peek() {
                        Some(Tok::Ident(n)) => n.clone(),
                        other => {
                            return Err(format!("if(): argument name expected, found {other:?}"))
                        }
                    };
                    self.pos += 1;
                    self.expect("=")?;
                    args.insert(name, self.expr()?);
                    match self.peek() {
                        Some(t) if punct(t, ",") => self.pos += 1,
                        Some(t) if punct(t, ")") => {
                            self.pos += 1;
                            break;
                        }
                        other => return Err(format!("if(): {other:?}")),
                    }
                }
                let cond = args.get("condition").ok_or("if() without condition")?;
                let pick = if cond.truthy() { "then" } else { "else" };
                Ok(args.get(pick).cloned().unwrap_or(V::List(Vec::new())))
            }
            Tok::Ident(name) => {
                // A dotted name (`Bundles.LocalPath`) is looked up whole.
                let mut full = name;
                while self.peek().is_some_and(|t| punct(t, "."))
                    && matches!(self.toks.get(self.pos + 1), Some(Tok::Ident(_)))
                {
                    if let Some(Tok::Ident(part)) = self.toks.get(self.pos + 1) {
                        full = format!("{full}.{part}");
                    }
                    self.pos += 2;
                }
                self.env
                    .get(&full)
                    .cloned()
                    .ok_or(format!("{full} is not bound"))
            }
            other => Err(format!("cannot evaluate {other:?}")),
        }
    }
}

/// Evaluates `LET name <= …` of `query` with `env`; a list of strings.
fn eval_argv(query: &str, name: &str, env: &BTreeMap<String, V>) -> Result<Vec<String>, String> {
    let toks: Vec<Tok> = lex(query)?.into_iter().map(|(_, t)| t).collect();
    let body = let_tokens(&toks, name).ok_or(format!("no LET {name}"))?;
    let mut e = Eval {
        toks: &body,
        pos: 0,
        env,
    };
    let v = e.expr()?;
    if e.pos != body.len() {
        return Err(format!("{name}: unread tokens from {:?}", body.get(e.pos)));
    }
    match v {
        V::List(items) => items
            .into_iter()
            .map(|i| match i {
                V::Str(s) => Ok(s),
                other => Err(format!("{name}: an argument is not a string: {other:?}")),
            })
            .collect(),
        other => Err(format!("{name} is not a list: {other:?}")),
    }
}

/// Evaluates a string `LET` (e.g. `BundleName`).
fn eval_let(query: &str, name: &str, env: &BTreeMap<String, V>) -> Result<V, String> {
    let toks: Vec<Tok> = lex(query)?.into_iter().map(|(_, t)| t).collect();
    let body = let_tokens(&toks, name).ok_or(format!("no LET {name}"))?;
    let mut e = Eval {
        toks: &body,
        pos: 0,
        env,
    };
    e.expr()
}

// ---------------------------------------------------------------------------------------------
// The artifact
// ---------------------------------------------------------------------------------------------

/// One parameter as the client sees it.
#[derive(Debug, Clone)]
struct Param {
    name: String,
    kind: String,
    default: String,
}

/// What the checks need of a valid artifact.
#[derive(Debug)]
struct Artifact {
    name: String,
    kind: String,
    params: Vec<Param>,
    queries: Vec<String>,
}

impl Artifact {
    /// The parameters with their defaults as VQL values (bool and json_array converted as the
    /// server does).
    fn defaults(&self) -> BTreeMap<String, V> {
        self.params
            .iter()
            .map(|p| (p.name.clone(), param_value(&p.kind, &p.default)))
            .collect()
    }
}

fn param_value(kind: &str, raw: &str) -> V {
    match kind {
        // `LET x <= x =~ '^(Y|TRUE|YES|OK)$'`
        "bool" => V::Bool(
            ["Y", "TRUE", "YES", "OK"]
                .iter()
                .any(|t| t.eq_ignore_ascii_case(raw.trim())),
        ),
        "json_array" => match serde_json::from_str::<Vec<String>>(raw) {
            Ok(l) => V::List(l.into_iter().map(V::Str).collect()),
            Err(_) => V::List(Vec::new()),
        },
        _ => V::Str(raw.to_string()),
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn is_identifier(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// The tool names a `LET` can give: the whole body when it is one string, else the strings of its
/// `then=` and `else=` arguments (not those it compares with, like `'arm64'`).
fn tool_candidates(body: &[Tok]) -> Vec<String> {
    if let [Tok::Str(s)] = body {
        return vec![s.clone()];
    }
    body.windows(3)
        .filter_map(|w| match (&w[0], &w[1], &w[2]) {
            (Tok::Ident(arg), Tok::Punct(eq), Tok::Str(s))
                if (arg == "then" || arg == "else") && eq == "=" =>
            {
                Some(s.clone())
            }
            _ => None,
        })
        .collect()
}

/// Checks one artifact definition against Velociraptor's schema; `file_stem` is its file name
/// without `.yaml`. Every problem found is returned.
/// Names, in `errs`, every key of `m` that `allowed` lacks (`at` says where).
fn unknown_keys(m: &serde_norway::Mapping, allowed: &[&str], at: &str, errs: &mut Vec<String>) {
    for k in m.keys() {
        let k = k.as_str().unwrap_or_default();
        if !allowed.contains(&k) {
            errs.push(format!("{at}: unknown field {k:?}"));
        }
    }
}

fn validate(text: &str, file_stem: &str) -> Result<Artifact, Vec<String>> {
    let mut errs = Vec::new();
    let doc: Value = match serde_norway::from_str(text) {
        Ok(v) => v,
        Err(e) => return Err(vec![format!("not YAML: {e}")]),
    };
    let Some(map) = doc.as_mapping() else {
        return Err(vec!["the artifact is not a YAML mapping".into()]);
    };
    let get = |k: &str| map.get(Value::String(k.into()));
    for k in map.keys() {
        match k.as_str() {
            Some(k) if TOP_KEYS.contains(&k) => {}
            other => errs.push(format!("unknown top-level field {other:?}")),
        }
    }

    // name, type, description
    let name = get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if name.is_empty() {
        errs.push("name is missing".into());
    }
    if name != file_stem {
        errs.push(format!(
            "name {name:?} differs from the file name {file_stem:?}"
        ));
    }
    let kind = get("type")
        .and_then(Value::as_str)
        .unwrap_or("CLIENT")
        .to_string();
    if !TYPES.contains(&kind.as_str()) {
        errs.push(format!("type {kind:?} is not one of {TYPES:?}"));
    }
    let parts: Vec<&str> = name.split('.').collect();
    let prefix_ok = match parts.first().copied() {
        Some("Linux") | Some("Windows") => kind.starts_with("CLIENT"),
        Some("Server") => kind.starts_with("SERVER"),
        _ => false,
    };
    if !prefix_ok
        || parts.len() != 3
        || parts[1] != "Mailir"
        || !parts.iter().all(|p| is_identifier(p))
    {
        errs.push(format!(
            "name {name:?}: must be Linux.Mailir.X or Windows.Mailir.X (CLIENT) or Server.Mailir.X (SERVER)"
        ));
    }
    if get("description")
        .and_then(Value::as_str)
        .is_none_or(|d| d.trim().is_empty())
    {
        errs.push("description is missing".into());
    }
    if get("author").is_some_and(|v| !v.is_string()) {
        errs.push("author must be a string".into());
    }
    for k in ["reference", "references", "aliases", "imports"] {
        if let Some(v) = get(k) {
            if !v
                .as_sequence()
                .is_some_and(|s| s.iter().all(Value::is_string))
            {
                errs.push(format!("{k} must be a list of strings"));
            }
        }
    }

    // permissions
    let mut perms = BTreeSet::new();
    for k in ["required_permissions", "implied_permissions"] {
        if let Some(v) = get(k) {
            match v.as_sequence() {
                Some(s) => {
                    for p in s {
                        match p.as_str() {
                            Some(p) if PERMISSIONS.contains(&p) => {
                                perms.insert(p.to_string());
                            }
                            other => errs
                                .push(format!("{k}: {other:?} is not a Velociraptor permission")),
                        }
                    }
                }
                None => errs.push(format!("{k} must be a list")),
            }
        }
    }

    // resources
    if let Some(r) = get("resources") {
        match r.as_mapping() {
            Some(m) => {
                for (k, v) in m {
                    let k = k.as_str().unwrap_or_default();
                    if !RESOURCE_KEYS.contains(&k) {
                        errs.push(format!("resources: unknown field {k:?}"));
                    }
                    if !v.as_f64().is_some_and(|n| n >= 0.0) {
                        errs.push(format!("resources.{k} must be a non-negative number"));
                    }
                }
            }
            None => errs.push("resources must be a mapping".into()),
        }
    }

    // tools
    let mut tools = BTreeSet::new();
    if let Some(t) = get("tools") {
        for (i, tool) in t
            .as_sequence()
            .map(|s| s.as_slice())
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let Some(m) = tool.as_mapping() else {
                errs.push(format!("tools[{i}] is not a mapping"));
                continue;
            };
            unknown_keys(m, &TOOL_KEYS, &format!("tools[{i}]"), &mut errs);
            match m.get(Value::String("name".into())).and_then(Value::as_str) {
                Some(n) if is_identifier(n) => {
                    if !tools.insert(n.to_string()) {
                        errs.push(format!("tool {n} declared twice"));
                    }
                }
                other => errs.push(format!("tools[{i}]: bad name {other:?}")),
            }
            if let Some(v) = m.get(Value::String("serve_locally".into())) {
                if !v.is_bool() {
                    errs.push(format!("tools[{i}].serve_locally must be true or false"));
                }
            }
            if let Some(h) = m.get(Value::String("expected_hash".into())) {
                if !h
                    .as_str()
                    .is_some_and(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()))
                {
                    errs.push(format!("tools[{i}].expected_hash is not a hex SHA-256"));
                }
            }
        }
        if t.as_sequence().is_none() {
            errs.push("tools must be a list".into());
        }
    }

    // parameters
    let mut params = Vec::new();
    if let Some(p) = get("parameters") {
        let Some(list) = p.as_sequence() else {
            errs.push("parameters must be a list".into());
            return Err(errs);
        };
        for (i, p) in list.iter().enumerate() {
            let Some(m) = p.as_mapping() else {
                errs.push(format!("parameters[{i}] is not a mapping"));
                continue;
            };
            unknown_keys(m, &PARAM_KEYS, &format!("parameters[{i}]"), &mut errs);
            let f = |k: &str| m.get(Value::String(k.into()));
            let pname = f("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if !is_identifier(&pname) {
                errs.push(format!("parameters[{i}]: bad name {pname:?}"));
            }
            let ptype = f("type")
                .and_then(Value::as_str)
                .unwrap_or("string")
                .to_string();
            if !PARAM_TYPES.contains(&ptype.as_str()) {
                errs.push(format!(
                    "parameter {pname}: type {ptype:?} is not a Velociraptor parameter type"
                ));
            }
            let default = match f("default") {
                None => String::new(),
                Some(v) => scalar(v).unwrap_or_else(|| {
                    errs.push(format!("parameter {pname}: default must be a string"));
                    String::new()
                }),
            };
            match ptype.as_str() {
                "bool" => {
                    let d = default.trim().to_ascii_uppercase();
                    if !["", "Y", "N", "YES", "NO", "TRUE", "FALSE", "OK"].contains(&d.as_str()) {
                        errs.push(format!("parameter {pname}: bool default {default:?}"));
                    }
                }
                "int" | "integer" | "int64"
                    if !default.is_empty() && default.parse::<i64>().is_err() =>
                {
                    errs.push(format!("parameter {pname}: int default {default:?}"));
                }
                "choices" | "multichoice" => {
                    let choices: Vec<String> = f("choices")
                        .and_then(Value::as_sequence)
                        .map(|s| s.iter().filter_map(scalar).collect())
                        .unwrap_or_default();
                    if choices.is_empty() {
                        errs.push(format!("parameter {pname}: {ptype} without choices"));
                    } else if ptype == "choices" && !choices.contains(&default) {
                        errs.push(format!(
                            "parameter {pname}: default {default:?} is not one of {choices:?}"
                        ));
                    }
                }
                "json_array"
                    if serde_json::from_str::<Vec<serde_json::Value>>(&default).is_err() =>
                {
                    errs.push(format!(
                        "parameter {pname}: default {default:?} is not a JSON array"
                    ));
                }
                "json"
                    if serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(
                        &default,
                    )
                    .is_err() =>
                {
                    errs.push(format!(
                        "parameter {pname}: default {default:?} is not a JSON object"
                    ));
                }
                "csv" if default.lines().next().is_none_or(|h| h.trim().is_empty()) => {
                    errs.push(format!(
                        "parameter {pname}: a csv default needs its header line"
                    ));
                }
                _ => {}
            }
            if f("choices").is_some() && !["choices", "multichoice"].contains(&ptype.as_str()) {
                errs.push(format!("parameter {pname}: choices on a {ptype} parameter"));
            }
            if params.iter().any(|q: &Param| q.name == pname) {
                errs.push(format!("parameter {pname} declared twice"));
            }
            params.push(Param {
                name: pname,
                kind: ptype,
                default,
            });
        }
    }

    // sources
    let mut queries = Vec::new();
    match get("sources").and_then(Value::as_sequence) {
        Some(s) if !s.is_empty() => {
            for (i, src) in s.iter().enumerate() {
                let Some(m) = src.as_mapping() else {
                    errs.push(format!("sources[{i}] is not a mapping"));
                    continue;
                };
                unknown_keys(m, &SOURCE_KEYS, &format!("sources[{i}]"), &mut errs);
                match m.get(Value::String("query".into())).and_then(Value::as_str) {
                    Some(q) if !q.trim().is_empty() => queries.push(q.to_string()),
                    _ => errs.push(format!("sources[{i}] has no query")),
                }
            }
        }
        _ => errs.push("sources: at least one source with a query".into()),
    }

    // precondition
    let precondition = get("precondition")
        .and_then(Value::as_str)
        .map(str::to_string);
    let want_os = match parts.first().copied() {
        Some("Linux") => Some("linux"),
        Some("Windows") => Some("windows"),
        _ => None,
    };
    if let Some(os) = want_os {
        match &precondition {
            Some(p) if p.contains(&format!("OS = '{os}'")) => {}
            _ => errs.push(format!(
                "a {os} artifact needs the precondition SELECT OS FROM info() WHERE OS = '{os}'"
            )),
        }
    }
    if let Some(p) = &precondition {
        read_vql("precondition", p, &mut errs);
    }

    // The VQL: names, tools, parameters.
    let param_names: BTreeSet<String> = params.iter().map(|p| p.name.clone()).collect();
    let mut used_params = BTreeSet::new();
    let mut used_tools = BTreeSet::new();
    for (qi, q) in queries.iter().enumerate() {
        let what = format!("sources[{qi}].query");
        let (toks, facts) = read_vql(&what, q, &mut errs);
        for (r, pos) in &facts.refs {
            if param_names.contains(r) {
                used_params.insert(r.clone());
                if facts.lets.contains_key(r) {
                    errs.push(format!("{what}: LET {r} shadows the parameter"));
                }
            } else if let Some(def) = facts.lets.get(r) {
                if def >= pos {
                    errs.push(format!("{what}: {r} is used before its LET"));
                }
            } else if !facts.aliases.contains(r) && !COLUMNS.contains(&r.as_str()) {
                errs.push(format!(
                    "{what}: {r} is neither a parameter, a LET, a column alias nor a known column"
                ));
            }
        }
        if toks.iter().any(|t| ident(t) == Some("execve")) && !perms.contains("EXECVE") {
            errs.push(format!(
                "{what}: execve() without EXECVE in required_permissions or implied_permissions"
            ));
        }
        for (called, args) in &facts.artifact_calls {
            if called != "Generic.Utils.FetchBinary" {
                continue;
            }
            let Some(at) = args
                .windows(3)
                .position(|w| ident(&w[0]) == Some("ToolName") && punct(&w[1], "="))
            else {
                errs.push(format!("{what}: FetchBinary without ToolName"));
                continue;
            };
            // A literal, or a LET whose string literals are the candidate tools.
            let names: Vec<String> = match &args[at + 2] {
                Tok::Str(s) => vec![s.clone()],
                Tok::Ident(v) => let_tokens(&toks, v)
                    .map(|body| tool_candidates(&body))
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            if names.is_empty() {
                errs.push(format!(
                    "{what}: cannot tell which tool FetchBinary fetches"
                ));
            }
            for n in names {
                if !tools.contains(&n) {
                    errs.push(format!(
                        "{what}: FetchBinary tool {n} is not declared in tools"
                    ));
                }
                used_tools.insert(n);
            }
        }
        // Templates ({{ X }}) may only name parameters.
        let mut rest = q.as_str();
        while let Some(a) = rest.find("{{") {
            let Some(b) = rest[a..].find("}}") else { break };
            let inner = rest[a + 2..a + b].trim().trim_start_matches('.');
            if !param_names.contains(inner) {
                errs.push(format!(
                    "{what}: template {{{{ {inner} }}}} is not a parameter"
                ));
            }
            rest = &rest[a + b + 2..];
        }
    }
    for p in &param_names {
        if !used_params.contains(p) {
            errs.push(format!("parameter {p} is declared but never used"));
        }
    }
    for t in &tools {
        if !used_tools.contains(t) {
            errs.push(format!("tool {t} is declared but never fetched"));
        }
    }

    if errs.is_empty() {
        Ok(Artifact {
            name,
            kind,
            params,
            queries,
        })
    } else {
        Err(errs)
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers of the tests
// ---------------------------------------------------------------------------------------------

fn artifact_path(name: &str) -> PathBuf {
    util::repo()
        .join("fleet/velociraptor")
        .join(format!("{name}.yaml"))
}

fn load(name: &str) -> (String, Artifact) {
    let text = std::fs::read_to_string(artifact_path(name)).unwrap();
    match validate(&text, name) {
        Ok(a) => (text, a),
        Err(e) => panic!("{name} is not a valid artifact:\n  {}", e.join("\n  ")),
    }
}

/// The long flags a `--help` lists.
fn help_flags(sub: &str) -> BTreeSet<String> {
    let o = util::run(&[sub, "--help"]);
    assert_eq!(o.code, 0, "mailir {sub} --help: {}", o.stderr);
    o.stdout
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| {
            w.trim_end_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .to_string()
        })
        .collect()
}

/// Flags of an argv that `help` does not know.
fn unknown_flags(argv: &[String], help: &BTreeSet<String>) -> Vec<String> {
    argv.iter()
        .filter(|a| a.starts_with("--") && !help.contains(*a))
        .cloned()
        .collect()
}

/// Every parameter set to something that makes its flag appear.
fn all_set(a: &Artifact) -> BTreeMap<String, V> {
    let mut env = a.defaults();
    for p in &a.params {
        let v = match p.kind.as_str() {
            "bool" => V::Bool(true),
            "json_array" => V::List(vec![V::Str("X".into())]),
            "choices" => V::Str(p.default.clone()),
            _ => V::Str("1".into()),
        };
        env.insert(p.name.clone(), v);
    }
    env
}

fn exit_codes_compared(query: &str) -> BTreeSet<i64> {
    let toks: Vec<Tok> = lex(query).unwrap().into_iter().map(|(_, t)| t).collect();
    toks.windows(3)
        .filter(|w| ident(&w[0]) == Some("ExitCode") && punct(&w[1], "="))
        .filter_map(|w| match &w[2] {
            Tok::Num(n) => n.parse().ok(),
            _ => None,
        })
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn velociraptor_artifacts_follow_the_schema() {
    let dir = util::repo().join("fleet/velociraptor");
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".yaml"))
                .map(str::to_string)
        })
        .collect();
    found.sort();
    let mut want: Vec<String> = ARTIFACTS.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(found, want, "the artifacts in {}", dir.display());
    for name in ARTIFACTS {
        let (_, a) = load(name);
        assert_eq!(a.name, name);
        let expected_kind = if name.starts_with("Server.") {
            "SERVER"
        } else {
            "CLIENT"
        };
        assert_eq!(a.kind, expected_kind, "{name}");
    }
}

#[test]
fn velociraptor_validator_refuses_broken_artifacts() {
    let text = std::fs::read_to_string(artifact_path("Linux.Mailir.Collect")).unwrap();
    assert!(validate(&text, "Linux.Mailir.Collect").is_ok());
    // (what is changed, how, a word the problem must contain)
    let cases: [(&str, &str, &str); 12] = [
        ("type: CLIENT", "type: CLIENTS", "type"),
        (
            "type: CLIENT",
            "type: CLIENT\nauthors: x",
            "unknown top-level field",
        ),
        ("type: CLIENT", "type: SERVER", "must be Linux.Mailir.X"),
        (
            "precondition: SELECT OS FROM info() WHERE OS = 'linux'",
            "",
            "precondition",
        ),
        (
            "- name: MailirCollectLinuxArm64",
            "- name: MailirCollectArm",
            "not declared in tools",
        ),
        (
            "then=['--case', CaseId]",
            "then=['--case', CaseID]",
            "CaseID is neither",
        ),
        (
            "LET Done <= SELECT ReturnCode FROM Exec WHERE Complete",
            "LET Done <= SELECT ReturnCode FROM (Exec WHERE Complete",
            "never closed",
        ),
        (
            "type: json_array",
            "type: list",
            "not a Velociraptor parameter type",
        ),
        ("default: zip\n", "default: 7z\n", "is not one of"),
        ("  - EXECVE", "  - EXEC", "not a Velociraptor permission"),
        (
            "FROM scope()\n",
            "FROM scope()\n      LET Unused <= 1\n",
            "last statement is a LET",
        ),
        (
            "join(array=Exec.Stdout",
            "joined(array=Exec.Stdout",
            "joined() is not a VQL function",
        ),
    ];
    for (from, to, word) in cases {
        assert!(text.contains(from), "the artifact no longer has {from:?}");
        let broken = text.replacen(from, to, 1);
        match validate(&broken, "Linux.Mailir.Collect") {
            Ok(_) => panic!("accepted with {from:?} -> {to:?}"),
            Err(e) => assert!(
                e.iter().any(|m| m.contains(word)),
                "{from:?} -> {to:?}: no problem saying {word:?} in {e:?}"
            ),
        }
    }
    // A parameter nobody reads, a tool nobody fetches, a name that is not the file's.
    let extra = text.replacen(
        "parameters:\n",
        "parameters:\n  - name: Orphan\n    default: x\n",
        1,
    );
    assert!(validate(&extra, "Linux.Mailir.Collect")
        .unwrap_err()
        .iter()
        .any(|m| m.contains("Orphan is declared but never used")));
    let tool = text.replacen("tools:\n", "tools:\n  - name: Spare\n", 1);
    assert!(validate(&tool, "Linux.Mailir.Collect")
        .unwrap_err()
        .iter()
        .any(|m| m.contains("Spare is declared but never fetched")));
    assert!(validate(&text, "Linux.Mailir.Other").is_err());
    assert!(validate("name: [", "x").is_err());
}

#[test]
fn velociraptor_argv_flags_are_mailir_flags() {
    let collect_help = help_flags("collect");
    assert!(collect_help.contains("--out") && collect_help.contains("--include-mailboxes"));
    for name in ["Linux.Mailir.Collect", "Windows.Mailir.Collect"] {
        let (_, a) = load(name);
        let q = &a.queries[0];
        let mut env = all_set(&a);
        env.insert("ToolPath".into(), V::Str("mailir".into()));
        env.insert("BundlePath".into(), V::Str("b.zip".into()));
        // Every optional flag set, ExtraArgs left out (they are the responder's).
        env.insert("ExtraArgs".into(), V::List(Vec::new()));
        let argv = eval_argv(q, "CollectArgv", &env).unwrap();
        assert_eq!(
            argv[..2],
            ["mailir".to_string(), "collect".to_string()],
            "{name}"
        );
        let flags: Vec<&String> = argv.iter().filter(|a| a.starts_with("--")).collect();
        assert!(flags.len() >= 7, "{name}: {argv:?}");
        assert_eq!(
            unknown_flags(&argv, &collect_help),
            Vec::<String>::new(),
            "{name}: {argv:?}"
        );
        // The defaults: no flag without a value.
        let mut env = a.defaults();
        env.insert("ToolPath".into(), V::Str("mailir".into()));
        env.insert("BundlePath".into(), V::Str("b.zip".into()));
        let argv = eval_argv(q, "CollectArgv", &env).unwrap();
        assert_eq!(
            argv,
            [
                "mailir",
                "collect",
                "--out",
                "b.zip",
                "--examiner",
                "Velociraptor"
            ],
            "{name} with its defaults"
        );
        // The exit codes of collect (src/exit_codes.rs: 0, 2, 3, 4) each get their meaning.
        assert_eq!(
            exit_codes_compared(q),
            BTreeSet::from([0, 2, 3, 4]),
            "{name}"
        );
    }
    // A flag mailir does not have is caught.
    assert_eq!(
        unknown_flags(&["--out".into(), "--volatile-first".into()], &collect_help),
        vec!["--volatile-first".to_string()]
    );

    let (_, s) = load("Server.Mailir.Triage");
    let q = &s.queries[0];
    let mut env = all_set(&s);
    env.insert("ExtraArgs".into(), V::List(Vec::new()));
    env.insert(
        "Bundles.LocalPath".into(),
        V::List(vec![V::Str("a.zip".into()), V::Str("b.zip".into())]),
    );
    env.insert("TriageOut".into(), V::Str("out".into()));
    let argv = eval_argv(q, "TriageArgv", &env).unwrap();
    assert_eq!(
        argv[1..5],
        ["triage", "a.zip", "b.zip", "--out"].map(String::from),
        "{argv:?}"
    );
    assert!(
        argv.iter().filter(|a| a.starts_with("--")).count() >= 5,
        "{argv:?}"
    );
    // triage's exit codes: 0, 1 (a bundle failed verification), 2.
    assert_eq!(exit_codes_compared(q), BTreeSet::from([0, 1, 2]));
    #[cfg(feature = "analysis")]
    {
        let triage_help = help_flags("triage");
        assert_eq!(
            unknown_flags(&argv, &triage_help),
            Vec::<String>::new(),
            "{argv:?}"
        );
    }
    #[cfg(not(feature = "analysis"))]
    eprintln!(
        "note: the lean build has no `triage`; TriageArgv's flags are checked by the default build"
    );
}

/// The collector: `$MAILIR_COLLECT_EXE` (e.g. `dist/mailir-collect-x86_64-linux`), else the
/// binary under test.
fn collector() -> PathBuf {
    match std::env::var_os("MAILIR_COLLECT_EXE") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_BIN_EXE_mailir")),
    }
}

#[test]
fn velociraptor_linux_command_line_collects_a_root() {
    let (_, a) = load("Linux.Mailir.Collect");
    let q = &a.queries[0];
    let t = tempfile::tempdir().unwrap();
    // A tiny host: the first 40 lines of the sample's mail.log and its main.cf.
    let root = t.path().join("root");
    std::fs::create_dir_all(root.join("var/log")).unwrap();
    std::fs::create_dir_all(root.join("etc/postfix")).unwrap();
    let log = std::fs::read_to_string(util::sample().join("var/log/mail.log")).unwrap();
    let head: String = log.lines().take(40).map(|l| format!("{l}\n")).collect();
    std::fs::write(root.join("var/log/mail.log"), &head).unwrap();
    std::fs::copy(
        util::sample().join("etc/postfix/main.cf"),
        root.join("etc/postfix/main.cf"),
    )
    .unwrap();
    let out_dir = t.path().join("velociraptor-tmp");
    std::fs::create_dir_all(&out_dir).unwrap();

    // The artifact's own LETs: the bundle's name and the sidecar it uploads.
    let mut env = a.defaults();
    env.insert("Root".into(), V::Str(root.display().to_string()));
    env.insert("CaseId".into(), V::Str("VR-21".into()));
    env.insert("SafeHost".into(), V::Str("mx1".into()));
    let V::Str(bundle_name) = eval_let(q, "BundleName", &env).unwrap() else {
        panic!("BundleName is not a string")
    };
    assert_eq!(bundle_name, "mailir-mx1.zip");
    let bundle = out_dir.join(&bundle_name);
    env.insert("BundlePath".into(), V::Str(bundle.display().to_string()));
    let V::Str(sidecar) = eval_let(q, "SidecarPath", &env).unwrap() else {
        panic!("SidecarPath is not a string")
    };
    env.insert("ToolPath".into(), V::Str(collector().display().to_string()));
    let argv = eval_argv(q, "CollectArgv", &env).unwrap();
    assert!(
        argv.windows(2)
            .any(|w| w == ["--root", root.to_str().unwrap()]),
        "{argv:?}"
    );

    let mut c = std::process::Command::new(&argv[0]);
    c.args(&argv[1..]);
    let o = run_cmd(c, Duration::from_secs(120));
    assert_eq!(
        o.code, 0,
        "{argv:?}\nstdout: {}\nstderr: {}",
        o.stdout, o.stderr
    );
    let bytes = std::fs::read(&bundle).unwrap();
    let hash = sha256_hex(&bytes);
    // The sidecar the artifact uploads is the one collect wrote, and it names the bundle's hash;
    // stdout (the artifact's Stdout column) is the same line.
    let side = std::fs::read_to_string(Path::new(&sidecar)).unwrap();
    assert!(side.starts_with(&hash), "sidecar {side:?} vs {hash}");
    assert_eq!(o.stdout.trim(), side.trim());
    let v = util::run(&["verify", bundle.to_str().unwrap()]);
    assert_eq!(v.code, 0, "verify: {}{}", v.stdout, v.stderr);
    // The case and the collected log are in the bundle.
    let e = util::entries(&bundle);
    let custody = String::from_utf8_lossy(&e["custody.json"]).to_string();
    assert!(
        custody.contains("VR-21") && custody.contains("Velociraptor"),
        "{custody}"
    );
    assert_eq!(
        e.get("files/var/log/mail.log").map(|b| b.as_slice()),
        Some(head.as_bytes())
    );
}
