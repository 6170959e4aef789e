//! Prints the API document: `cargo run -p api-docs > docs/openapi.json`.

use std::io::Write;

fn main() -> anyhow::Result<()> {
    let json = api_docs::pretty_json()?;
    std::io::stdout().lock().write_all(json.as_bytes())?;
    Ok(())
}
