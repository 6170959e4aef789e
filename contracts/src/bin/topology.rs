//! Writes what is generated from the topics' declaration, from the workspace root:
//! `cargo run -p contracts --bin topology` (the Strimzi topics and users, the docs' topic table).

use anyhow::Context;
use contracts::topology::{self, TABLE_PATH, TOPICS_PATH, USERS_PATH};

fn main() -> anyhow::Result<()> {
    std::fs::write(TOPICS_PATH, topology::topics_yaml()).context(TOPICS_PATH)?;
    std::fs::write(USERS_PATH, topology::users_yaml()).context(USERS_PATH)?;
    let docs = std::fs::read_to_string(TABLE_PATH).context(TABLE_PATH)?;
    let docs = topology::with_table(&docs)
        .with_context(|| format!("{TABLE_PATH} has no block for the topic table"))?;
    std::fs::write(TABLE_PATH, docs).context(TABLE_PATH)?;
    Ok(())
}
