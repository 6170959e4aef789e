//! The web console in a real browser, and its live stream read by a program (`stream`): the
//! whole system starts in this process as for the
//! system tests, and a Playwright script (Python) drives Debian's Chromium, headless, through
//! the gateway's console: a customer orders while an owner and a rider act in two other
//! browsers, and the customer's page follows each step live; a cancellation and a rejection;
//! another customer kept out of the order. It writes a screenshot of each page to
//! `docs/console/`.
//!
//! `./dev test` provisions the browser and the Playwright virtualenv and names them in
//! `CONSOLE_TEST_CHROMIUM` and `CONSOLE_TEST_PYTHON`; without them the test fails, saying so.

#![allow(clippy::unwrap_used)]

mod stream;
#[path = "../system/system.rs"]
#[allow(dead_code)]
mod system;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use system::System;

/// The whole script's time limit (it takes about half a minute).
const SCRIPT_LIMIT: Duration = Duration::from_secs(180);

/// One whole system at a time in this binary: two of them beside a browser, on a small shared
/// machine, slowed events past the tests' patience now and then.
pub static ONE_SYSTEM: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The program named by `variable`, or the reason the test cannot run.
fn program(variable: &str, fallback: &str) -> PathBuf {
    let path = std::env::var_os(variable).map_or_else(|| PathBuf::from(fallback), PathBuf::from);
    assert!(
        path.is_file(),
        "{variable} names no program ({}): run the browser tests with `./dev test`, which \
         installs Chromium and Playwright, or set {variable}",
        path.display()
    );
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn customers_owners_and_riders_use_the_console_and_see_each_order_move_live() {
    let home = std::env::var("HOME").unwrap_or_default();
    let python = program(
        "CONSOLE_TEST_PYTHON",
        &format!("{home}/.cache/fooddelivery/playwright-1.65.3/bin/python"),
    );
    let chromium = program("CONSOLE_TEST_CHROMIUM", "/usr/bin/chromium");
    let _alone = ONE_SYSTEM.lock().await;
    let system = System::start().await;

    let script = repo().join("system-tests/tests/console/browser.py");
    let mut child = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(&system.gateway.address)
        .arg(repo().join("docs/console"))
        .env("CHROMIUM", &chromium)
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let status = tokio::time::timeout(SCRIPT_LIMIT, child.wait())
        .await
        .expect("the browser script took too long")
        .unwrap();
    system.finish().await;
    assert!(status.success(), "the browser script failed: {status}");
}
