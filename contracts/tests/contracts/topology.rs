//! The files generated from the topics' declaration are what the code generates, and the
//! declaration's consumers are the services' own.

use std::collections::BTreeSet;

use contracts::topology::{self, TABLE_PATH, TOPICS_PATH, USERS_PATH};
use shared_events::Topic;
use shared_events::topology::{CONSUMERS, SERVICES};

const REGENERATE: &str = "cargo run -p contracts --bin topology\n\n\
     (or UPDATE_CONTRACTS=1 cargo test -p contracts --test contracts topology)";

fn root_file(path: &str) -> String {
    format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_committed_strimzi_topics_and_users_are_what_the_code_generates() {
    let docs = std::fs::read_to_string(root_file(TABLE_PATH)).unwrap();
    let docs = topology::with_table(&docs).expect("docs/operations.md has the topic table's block");
    if std::env::var_os("UPDATE_CONTRACTS").is_some() {
        std::fs::write(root_file(TOPICS_PATH), topology::topics_yaml()).unwrap();
        std::fs::write(root_file(USERS_PATH), topology::users_yaml()).unwrap();
        std::fs::write(root_file(TABLE_PATH), docs).unwrap();
        return;
    }
    test_stack::assert_committed(TOPICS_PATH, &topology::topics_yaml(), REGENERATE);
    test_stack::assert_committed(USERS_PATH, &topology::users_yaml(), REGENERATE);
    test_stack::assert_committed(TABLE_PATH, &docs, REGENERATE);
}

/// Each service's handlers, as its `events.rs` names them: (group, topics).
fn handlers_in_source(service: &str) -> BTreeSet<(String, Vec<&'static str>)> {
    let source =
        std::fs::read_to_string(root_file(&format!("services/{service}/src/events.rs"))).unwrap();
    let mut found = BTreeSet::new();
    let mut rest = source.as_str();
    while let Some(at) = rest.find("fn name(&self) -> &'static str {") {
        rest = &rest[at..];
        let name = rest.split('"').nth(1).unwrap().to_owned();
        let topics_at = rest
            .find("fn topics(&self) -> Vec<Topic> {")
            .unwrap_or_else(|| panic!("{service}: {name} has no topics()"));
        rest = &rest[topics_at..];
        let body = &rest[..rest.find("\n    }").unwrap()];
        // `TOPICS.to_vec()`: the module's own constant.
        let listed = if body.contains("TOPICS") {
            let at = source.find("const TOPICS").unwrap();
            &source[at..at + source[at..].find("];").unwrap()]
        } else {
            body
        };
        let topics = listed
            .split("Topic::")
            .skip(1)
            .map(|t| {
                let ident: String = t.chars().take_while(|c| c.is_alphanumeric()).collect();
                Topic::ALL
                    .iter()
                    .find(|topic| format!("{topic:?}") == ident)
                    .unwrap_or_else(|| panic!("{service}: unknown topic Topic::{ident}"))
                    .base_name()
            })
            .collect();
        found.insert((name, topics));
        rest = &rest[1..];
    }
    found
}

#[test]
fn the_declared_consumers_are_the_services_handlers() {
    for service in SERVICES {
        let declared: BTreeSet<(String, Vec<&'static str>)> = CONSUMERS
            .iter()
            .filter(|c| c.service == service)
            .map(|c| {
                let topics = c.topics.iter().map(|t| t.base_name()).collect();
                (c.group.to_owned(), topics)
            })
            .collect();
        assert_eq!(
            handlers_in_source(service),
            declared,
            "{service}: its handlers (services/{service}/src/events.rs) differ from \
             shared-events/src/topology.rs"
        );
    }
}

#[test]
fn a_service_may_write_only_its_own_topic_and_the_dead_letters() {
    let users = topology::users_yaml();
    for service in SERVICES {
        let user = users
            .split("---\n")
            .find(|doc| doc.contains(&format!("name: {}\n", topology::user_name(service))))
            .unwrap();
        let own = shared_events::topology::produced_by(service).map(Topic::base_name);
        for rule in user.split("- resource:").skip(1) {
            if rule.contains("Write") {
                let name = rule.split("name: ").nth(1).unwrap().lines().next().unwrap();
                assert!(
                    Some(name) == own || name == Topic::DeadLetter.base_name(),
                    "{service} may write {name}"
                );
            }
        }
    }
}
