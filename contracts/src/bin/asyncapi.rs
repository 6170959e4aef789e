//! Prints the event contracts: `cargo run -p contracts --bin asyncapi > docs/asyncapi.json`.

use std::io::Write;

fn main() -> anyhow::Result<()> {
    let json = contracts::asyncapi::pretty_json()?;
    std::io::stdout().lock().write_all(json.as_bytes())?;
    Ok(())
}
