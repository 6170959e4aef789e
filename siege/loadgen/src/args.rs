//! Flags as `--name value` pairs: few enough that a parser crate would be the bigger part.

use std::collections::HashMap;
use std::str::FromStr;

use anyhow::Context;

pub struct Args {
    flags: HashMap<String, String>,
}

impl Args {
    pub fn parse(raw: &[String]) -> anyhow::Result<Self> {
        let mut flags = HashMap::new();
        let mut raw = raw.iter();
        while let Some(flag) = raw.next() {
            let name = flag
                .strip_prefix("--")
                .with_context(|| format!("expected a --flag, found {flag}"))?;
            let value = raw
                .next()
                .with_context(|| format!("--{name} needs a value"))?;
            flags.insert(name.to_owned(), value.clone());
        }
        Ok(Self { flags })
    }

    pub fn optional(&mut self, name: &str) -> Option<String> {
        self.flags.remove(name)
    }

    pub fn string(&mut self, name: &str) -> anyhow::Result<String> {
        self.optional(name)
            .with_context(|| format!("--{name} is required"))
    }

    pub fn string_or(&mut self, name: &str, default: &str) -> String {
        self.optional(name).unwrap_or_else(|| default.to_owned())
    }

    /// A number flag; without a default it is required.
    pub fn number<T: FromStr>(&mut self, name: &str, default: Option<T>) -> anyhow::Result<T> {
        match (self.optional(name), default) {
            (Some(value), _) => value
                .parse()
                .ok()
                .with_context(|| format!("--{name} {value} is not a number")),
            (None, Some(default)) => Ok(default),
            (None, None) => anyhow::bail!("--{name} is required"),
        }
    }

    /// Refuses flags nobody asked for: a misspelt one would otherwise be ignored silently.
    pub fn finish(self) -> anyhow::Result<()> {
        let mut unknown: Vec<_> = self.flags.into_keys().collect();
        unknown.sort();
        match unknown.is_empty() {
            true => Ok(()),
            false => anyhow::bail!("unknown flags: --{}", unknown.join(", --")),
        }
    }
}
