//! Every environment variable a process reads is documented in a table of its crate's doc
//! comments (`| variable | default | meaning |`), with the code's default, and the README's
//! tables of variables agree with those.

use std::collections::{BTreeMap, BTreeSet};

use crate::repo::{self, TableRow};

/// Read by a library rather than by a call of ours (tracing's `EnvFilter`).
const READ_ELSEWHERE: &[&str] = &["RUST_LOG"];

/// The crates of the processes (each service, the gateway, and the two libraries they share).
fn crates() -> Vec<String> {
    let mut crates = vec![
        "service-runtime".to_owned(),
        "backbone".to_owned(),
        "gateway".to_owned(),
    ];
    let mut services: Vec<String> = std::fs::read_dir(repo::root().join("services"))
        .unwrap()
        .map(|e| format!("services/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    services.sort();
    crates.extend(services);
    crates
}

/// The Rust sources of those crates (`src/`, tests left out).
pub fn sources() -> Vec<String> {
    crates()
        .iter()
        .flat_map(|c| repo::files(&format!("{c}/src"), ".rs"))
        .filter(|f| !f.ends_with("tests.rs"))
        .collect()
}

/// One environment variable read in the code.
#[derive(Debug)]
struct Read {
    variable: String,
    /// The default's expression as written, if the call has one.
    default: Option<String>,
    at: String,
}

/// The functions through which the code reads a variable: `service_runtime::settings`'s, the
/// settings modules' own (`millis`, the gateway's `upstream`) and `std::env`'s.
const READERS: &[&str] = &["var", "var_os", "string", "secret", "millis", "upstream"];

fn reads(file: &str, source: &str) -> Vec<Read> {
    let mut found = Vec::new();
    for reader in READERS {
        let call = format!("{reader}(");
        let mut from = 0;
        while let Some(at) = source[from..].find(&call) {
            let start = from + at;
            from = start + call.len();
            if source[..start]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                continue;
            }
            let rest = source[from..].trim_start();
            let Some(rest) = rest.strip_prefix('"') else {
                continue;
            };
            let Some((variable, rest)) = rest.split_once('"') else {
                continue;
            };
            if !repo::is_variable(variable) {
                continue;
            }
            let rest = rest.trim_start();
            let default = rest.strip_prefix(',').map(|args| argument(args).to_owned());
            let line = source[..start].lines().count();
            found.push(Read {
                variable: variable.to_owned(),
                default,
                at: format!("{file}:{line}"),
            });
        }
    }
    found
}

/// The argument at the start of `args`, up to its `,` or `)`.
fn argument(args: &str) -> &str {
    let mut depth = 0;
    let mut quoted = false;
    for (i, c) in args.char_indices() {
        match c {
            '"' => quoted = !quoted,
            _ if quoted => {}
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => return args[..i].trim(),
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => return args[..i].trim(),
            _ => {}
        }
    }
    args.trim()
}

/// A default the test can evaluate.
#[derive(Debug, PartialEq)]
enum Value {
    Number(f64),
    Bool(bool),
    Text(String),
}

/// The value of a default written as a literal, a `Duration` in milliseconds or seconds, or a
/// constant of the crate defined so (`None` for anything else: then only the name is checked).
fn evaluate(expression: &str, constants: &BTreeMap<String, String>, depth: u8) -> Option<Value> {
    let e = expression.trim().trim_end_matches('?');
    if let Some(text) = e.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        return Some(Value::Text(text.to_owned()));
    }
    match e {
        "true" => return Some(Value::Bool(true)),
        "false" => return Some(Value::Bool(false)),
        _ => {}
    }
    for (function, scale) in [
        ("Duration::from_millis(", 1.0),
        ("Duration::from_secs(", 1000.0),
    ] {
        if let Some(inner) = e.strip_prefix(function).and_then(|r| r.strip_suffix(')')) {
            return match evaluate(inner, constants, depth)? {
                Value::Number(n) => Some(Value::Number(n * scale)),
                _ => None,
            };
        }
    }
    if e.starts_with(|c: char| c.is_ascii_digit()) {
        // `10_000`, `100usize`, `0.25`
        let digits: String = e.chars().filter(|c| *c != '_').collect();
        let end = digits
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(digits.len());
        return digits[..end].parse().ok().map(Value::Number);
    }
    let name = e.rsplit("::").next()?;
    if depth < 4 && repo::is_variable(name) {
        return evaluate(constants.get(name)?, constants, depth + 1);
    }
    None
}

/// `const NAME: Type = value;` in the crate's sources, by name.
fn constants(files: &[(String, String)]) -> BTreeMap<String, String> {
    let mut constants = BTreeMap::new();
    for (_, source) in files {
        for line in source.lines() {
            let Some((visibility, rest)) = line.trim().split_once("const ") else {
                continue;
            };
            if !matches!(visibility, "" | "pub " | "pub(crate) ") {
                continue;
            }
            let Some((name, rest)) = rest.split_once(':') else {
                continue;
            };
            let Some((_, value)) = rest.split_once('=') else {
                continue;
            };
            if let Some(value) = value.trim().strip_suffix(';') {
                constants.insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }
    constants
}

/// Whether a table's default cell says `value` (its first code span, or the cell).
fn documents(cell: &str, value: &Value) -> bool {
    let said = cell.split('`').nth(1).unwrap_or(cell).trim();
    match value {
        Value::Text(t) if t.is_empty() => {
            ["empty", "(none)", "none", "unset", "—"].contains(&cell.trim()) || said.is_empty()
        }
        Value::Text(t) => said == t,
        Value::Bool(b) => said == b.to_string(),
        Value::Number(n) => said.replace('_', "").parse::<f64>().is_ok_and(|d| d == *n),
    }
}

struct Crate {
    name: String,
    reads: Vec<Read>,
    rows: Vec<TableRow>,
    constants: BTreeMap<String, String>,
}

fn scan() -> Vec<Crate> {
    crates()
        .into_iter()
        .map(|name| {
            let files: Vec<(String, String)> = repo::files(&format!("{name}/src"), ".rs")
                .into_iter()
                .filter(|f| !f.ends_with("tests.rs"))
                .map(|f| {
                    let source = repo::read(&f);
                    (f, source)
                })
                .collect();
            Crate {
                reads: files.iter().flat_map(|(f, s)| reads(f, s)).collect(),
                rows: files
                    .iter()
                    .flat_map(|(f, s)| repo::tables(f, s, true))
                    .collect(),
                constants: constants(&files),
                name,
            }
        })
        .collect()
}

#[test]
fn every_variable_read_is_documented_in_its_crate_with_its_default() {
    let crates = scan();
    let mut problems = Vec::new();
    for krate in &crates {
        for read in &krate.reads {
            let rows: Vec<&TableRow> = krate
                .rows
                .iter()
                .filter(|r| r.variables().contains(&read.variable))
                .collect();
            if rows.is_empty() {
                problems.push(format!(
                    "{}: {} (read at {}) is in no table of {}'s doc comments",
                    krate.name, read.variable, read.at, krate.name
                ));
                continue;
            }
            let Some(value) = read
                .default
                .as_deref()
                .and_then(|d| evaluate(d, &krate.constants, 0))
            else {
                continue;
            };
            let own: Vec<&&TableRow> = rows.iter().filter(|r| r.variables().len() == 1).collect();
            if !own
                .iter()
                .any(|r| r.cell("default").is_some_and(|c| documents(c, &value)))
            {
                problems.push(format!(
                    "{}: {} defaults to {value:?} (at {}), documented as {:?}",
                    krate.name,
                    read.variable,
                    read.at,
                    own.iter()
                        .map(|r| (r.at(), r.cell("default")))
                        .collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_documented_variable_is_read() {
    let crates = scan();
    let read: BTreeSet<&str> = crates
        .iter()
        .flat_map(|c| c.reads.iter().map(|r| r.variable.as_str()))
        .chain(READ_ELSEWHERE.iter().copied())
        .collect();
    let stale: Vec<String> = crates
        .iter()
        .flat_map(|c| &c.rows)
        .flat_map(|row| row.variables().into_iter().map(move |v| (v, row.at())))
        .filter(|(v, _)| !read.contains(v.as_str()))
        .map(|(v, at)| format!("{at}: {v} is documented but read nowhere"))
        .collect();
    assert!(stale.is_empty(), "{}", stale.join("\n"));
}

/// The README's tables of variables say what the code's do: each variable of a row is
/// documented in the code, and a row of one variable gives the default a table of the code gives.
#[test]
fn the_readmes_settings_agree_with_the_code() {
    let crates = scan();
    let normal = |cell: &str| {
        cell.replace('`', "")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut documented: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in crates.iter().flat_map(|c| &c.rows) {
        for variable in row.variables() {
            documented
                .entry(variable)
                .or_default()
                .extend(row.cell("default").map(normal));
        }
    }
    let mut problems = Vec::new();
    for row in repo::tables("README.md", &repo::read("README.md"), false) {
        let variables = row.variables();
        for variable in &variables {
            if !documented.contains_key(variable) {
                problems.push(format!(
                    "{}: {variable} is in no table of the code",
                    row.at()
                ));
            }
        }
        let ([variable], Some(default)) = (variables.as_slice(), row.cell("default")) else {
            continue;
        };
        let Some(defaults) = documented.get(variable) else {
            continue;
        };
        if !defaults.contains(&normal(default)) {
            problems.push(format!(
                "{}: {variable} defaults to {default:?}, the code's tables say {defaults:?}",
                row.at()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
