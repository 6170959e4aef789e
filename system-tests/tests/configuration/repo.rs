//! Reading the repository: its files, the port table, and the Markdown tables of the README and
//! of the Rust doc comments.

use std::fs;
use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A file of the repository, by its path from the root.
pub fn read(path: &str) -> String {
    fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The files under `dir` (from the root) whose names end with `suffix`, as paths from the root.
pub fn files(dir: &str, suffix: &str) -> Vec<String> {
    fn walk(dir: &Path, suffix: &str, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, suffix, out);
            } else if path.to_string_lossy().ends_with(suffix) {
                out.push(path);
            }
        }
    }
    let root = root();
    let mut out = Vec::new();
    walk(&root.join(dir), suffix, &mut out);
    let mut paths: Vec<String> = out
        .iter()
        .map(|p| {
            p.strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    paths.sort();
    paths
}

/// One row of `ports.tsv`.
#[derive(Debug, Clone)]
pub struct Port {
    pub process: String,
    pub protocol: String,
    pub port: u16,
}

/// `ports.tsv`: the port of every process, by protocol.
pub struct Ports(pub Vec<Port>);

impl Ports {
    pub fn load() -> Self {
        let text = read("ports.tsv");
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("process\tprotocol\tport"),
            "ports.tsv's header"
        );
        Self(
            lines
                .filter(|line| !line.trim().is_empty())
                .map(|line| {
                    let cells: Vec<&str> = line.split('\t').collect();
                    assert_eq!(
                        cells.len(),
                        3,
                        "ports.tsv: {line:?} is not process, protocol, port"
                    );
                    Port {
                        process: cells[0].to_owned(),
                        protocol: cells[1].to_owned(),
                        port: cells[2]
                            .parse()
                            .unwrap_or_else(|e| panic!("ports.tsv: {line:?}: {e}")),
                    }
                })
                .collect(),
        )
    }

    pub fn get(&self, process: &str, protocol: &str) -> u16 {
        self.find(process, protocol)
            .unwrap_or_else(|| panic!("ports.tsv has no {process} {protocol} row"))
    }

    pub fn find(&self, process: &str, protocol: &str) -> Option<u16> {
        self.0
            .iter()
            .find(|p| p.process == process && p.protocol == protocol)
            .map(|p| p.port)
    }

    /// Every port of `process`.
    pub fn of(&self, process: &str) -> Vec<u16> {
        self.0
            .iter()
            .filter(|p| p.process == process)
            .map(|p| p.port)
            .collect()
    }

    pub fn is_process(&self, name: &str) -> bool {
        self.0.iter().any(|p| p.process == name)
    }

    /// Our own processes (the services and the gateway): those with an HTTP port.
    pub fn ours(&self) -> Vec<&str> {
        self.0
            .iter()
            .filter(|p| p.protocol == "http")
            .map(|p| p.process.as_str())
            .collect()
    }

    /// The process and protocol whose address the variable names (`ORDER_URL`, `KAFKA_BROKERS`,
    /// ...), or whose port it is (`PORT` of `process`, `GRPC_PORT`), if any.
    pub fn address_of(&self, variable: &str, process: Option<&str>) -> Option<(String, String)> {
        let fixed = |p: &str, k: &str| Some((p.to_owned(), k.to_owned()));
        match variable {
            "PORT" => process.map(|p| (p.to_owned(), "http".to_owned())),
            "GRPC_PORT" | "ORDER_GRPC_URL" => fixed("order", "grpc"),
            "KAFKA_BROKERS" => fixed("kafka", "kafka"),
            "DATABASE_URL" => fixed("postgres", "postgresql"),
            "MONGODB_URL" => fixed("mongo", "mongodb"),
            _ => {
                let name = variable.strip_suffix("_URL")?.to_lowercase();
                self.find(&name, "http").map(|_| (name, "http".to_owned()))
            }
        }
    }
}

/// One row of a Markdown table, with its table's header.
#[derive(Debug, Clone)]
pub struct TableRow {
    pub file: String,
    pub line: usize,
    pub header: Vec<String>,
    pub cells: Vec<String>,
}

impl TableRow {
    /// The cell under the first header cell starting with `name` (e.g. "variable", "default").
    pub fn cell(&self, name: &str) -> Option<&str> {
        let at = self.header.iter().position(|h| h.starts_with(name))?;
        self.cells.get(at).map(String::as_str)
    }

    /// The environment variables the row's "variable" cell names.
    pub fn variables(&self) -> Vec<String> {
        self.cell("variable").map(variables).unwrap_or_default()
    }

    pub fn at(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// The `UPPER_CASE` names in backticks in `text`.
pub fn variables(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| is_variable(s))
        .map(str::to_owned)
        .collect()
}

pub fn is_variable(s: &str) -> bool {
    s.len() > 1
        && s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The Markdown tables of `text`; `rust` reads those in doc comments (`//! |`, `/// |`).
pub fn tables(file: &str, text: &str, rust: bool) -> Vec<TableRow> {
    let mut rows = Vec::new();
    let mut header: Option<Vec<String>> = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start();
        let content = if rust {
            line.strip_prefix("//!")
                .or_else(|| line.strip_prefix("///"))
                .map(str::trim)
        } else {
            Some(line.trim())
        };
        let Some(content) = content.filter(|c| c.starts_with('|')) else {
            header = None;
            continue;
        };
        let cells = cells(content);
        match &header {
            None => header = Some(cells),
            Some(_) if content.starts_with("|---") || content.starts_with("| ---") => {}
            Some(h) => rows.push(TableRow {
                file: file.to_owned(),
                line: i + 1,
                header: h.clone(),
                cells,
            }),
        }
    }
    rows
}

fn cells(row: &str) -> Vec<String> {
    let inner = row.trim().trim_start_matches('|').trim_end_matches('|');
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => cell.push(chars.next().unwrap()),
            '|' => cells.push(std::mem::take(&mut cell).trim().to_owned()),
            _ => cell.push(c),
        }
    }
    cells.push(cell.trim().to_owned());
    cells
}

/// The numbers following `host:` in `text` (`http://order:8081`, `kafka:9092`).
pub fn ports_after(text: &str, host: &str) -> Vec<u16> {
    let needle = format!("{host}:");
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(&needle) {
        let start = from + at;
        from = start + needle.len();
        let before = text[..start].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.') {
            continue;
        }
        let digits: String = text[from..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        // An image tag (`mongo:8.0`, `postgres:17-bookworm`) is no port.
        let after = text[from + digits.len()..].chars().next();
        if after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') {
            continue;
        }
        if let Ok(port) = digits.parse() {
            found.push(port);
        }
    }
    found
}

/// The first number of at least two digits after a `:` in `text` (a URL's or address's port).
pub fn port_in(text: &str) -> Option<u16> {
    text.split(':').skip(1).find_map(|s| {
        let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
        (digits.len() >= 2).then(|| digits.parse().ok()).flatten()
    })
}
