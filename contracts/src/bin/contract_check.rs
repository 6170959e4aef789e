//! Fails when the event contracts of this build break those of a base revision:
//!
//! ```sh
//! cargo run -p contracts --bin contract-check -- [--base REV]   # default HEAD~1
//! ```
//!
//! The current contracts are generated from the code; the base ones are `docs/asyncapi.json` as
//! committed at `REV` (`git show REV:docs/asyncapi.json`). A base without that file has nothing to
//! break. `compat` says what is breaking.

use std::process::{Command, ExitCode};

use anyhow::{Context, bail};
use contracts::asyncapi::{self, COMMITTED_PATH};
use contracts::compat::breaking_changes;

fn main() -> anyhow::Result<ExitCode> {
    let base = base_revision()?;
    let Some(old) = committed_at(&base)? else {
        println!("contract-check: {base} has no {COMMITTED_PATH}: nothing to compare");
        return Ok(ExitCode::SUCCESS);
    };
    let old: serde_json::Value = serde_json::from_str(&old)
        .with_context(|| format!("{COMMITTED_PATH} at {base} is not JSON"))?;
    let breaking = breaking_changes(&old, &asyncapi::document());
    if breaking.is_empty() {
        println!("contract-check: the event contracts are compatible with {base}");
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("contract-check: breaking changes to the event contracts since {base}:");
    for change in &breaking {
        eprintln!("  - {change}");
    }
    eprintln!(
        "\nMake the change as a new version of the event, keeping the old one readable \
         (shared_events::versions::LEGACY); docs/contracts.md says how."
    );
    Ok(ExitCode::FAILURE)
}

fn base_revision() -> anyhow::Result<String> {
    let mut args = std::env::args().skip(1);
    let mut base = "HEAD~1".to_owned();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--base" => base = args.next().context("--base needs a revision")?,
            other => bail!("unknown argument {other} (usage: contract-check [--base REV])"),
        }
    }
    Ok(base)
}

/// The committed document at `base`, `None` if it did not exist there.
fn committed_at(base: &str) -> anyhow::Result<Option<String>> {
    let root = repository_root();
    let commit = Command::new("git")
        .args(["-C", &root, "rev-parse", "--verify", "--quiet"])
        .arg(format!("{base}^{{commit}}"))
        .output()
        .context("cannot run git")?;
    if !commit.status.success() {
        bail!("{base} is not a revision of this repository (a shallow clone? fetch more history)");
    }
    let show = Command::new("git")
        .args(["-C", &root, "show"])
        .arg(format!("{base}:{COMMITTED_PATH}"))
        .output()
        .context("cannot run git")?;
    if !show.status.success() {
        return Ok(None);
    }
    Ok(Some(String::from_utf8(show.stdout).context("not UTF-8")?))
}

/// The checkout this runs in: `cargo run` names the package's folder at run time; a binary started
/// by itself falls back on the folder it was built from. (The build-time path alone goes stale
/// when checkouts share a target directory.)
fn repository_root() -> String {
    let package = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    format!("{package}/..")
}
