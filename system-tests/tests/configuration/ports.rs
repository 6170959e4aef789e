//! Every port comes from `ports.tsv`: the services' defaults are compiled from it and `./dev`
//! reads it; everything else that names a port is held to it here.

use std::collections::BTreeSet;

use crate::repo::{self, Ports};

#[test]
fn the_services_default_ports_are_the_tables() {
    use service_runtime::settings::ports;
    let table = Ports::load();
    let compiled = [
        ("order", "http", ports::ORDER),
        ("order", "grpc", ports::ORDER_GRPC),
        ("payment", "http", ports::PAYMENT),
        ("store", "http", ports::STORE),
        ("delivery", "http", ports::DELIVERY),
        ("notification", "http", ports::NOTIFICATION),
        ("mypage", "http", ports::MYPAGE),
        ("review", "http", ports::REVIEW),
        ("gateway", "http", ports::GATEWAY),
        ("kafka", "kafka", ports::KAFKA),
        ("postgres", "postgresql", ports::POSTGRES),
        ("mongo", "mongodb", ports::MONGO),
    ];
    for (process, protocol, port) in compiled {
        assert_eq!(port, table.get(process, protocol), "{process} {protocol}");
    }
}

#[test]
fn docker_compose_gives_each_process_its_ports() {
    let table = Ports::load();
    let text = repo::read("docker-compose.yml");
    let mut problems = addresses("docker-compose.yml", &text, &table);
    let blocks = compose_services(&text);
    for process in table.ours() {
        let Some(block) = blocks
            .iter()
            .find(|(name, _)| name == process)
            .map(|(_, b)| b)
        else {
            problems.push(format!("docker-compose.yml: no service {process}"));
            continue;
        };
        let mut published = BTreeSet::new();
        for line in block.iter().map(|l| l.trim()) {
            if let Some(value) = line.strip_prefix("PORT:") {
                expect(
                    &mut problems,
                    process,
                    "PORT",
                    value,
                    table.get(process, "http"),
                );
            } else if let Some(value) = line.strip_prefix("GRPC_PORT:") {
                expect(
                    &mut problems,
                    process,
                    "GRPC_PORT",
                    value,
                    table.get(process, "grpc"),
                );
            } else if let Some(mapping) = line.strip_prefix("- ") {
                let mapping = mapping.trim_matches('"');
                let Some((host, container)) = mapping.split_once(':') else {
                    continue;
                };
                let (Ok(host), Ok(container)) = (host.parse::<u16>(), container.parse::<u16>())
                else {
                    continue;
                };
                if host != container {
                    problems.push(format!("{process}: published as {mapping}"));
                }
                published.insert(container);
            }
        }
        let expected: BTreeSet<u16> = table.of(process).into_iter().collect();
        if published != expected {
            problems.push(format!(
                "{process}: publishes {published:?}, ports.tsv has {expected:?}"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "docker-compose.yml:\n{}",
        problems.join("\n")
    );
}

#[test]
fn kubernetes_gives_each_process_its_ports() {
    let table = Ports::load();
    let mut problems = Vec::new();
    for file in repo::files("kubernetes", ".yaml") {
        let text = repo::read(&file);
        problems.extend(addresses(&file, &text, &table));
        let stem = file.rsplit('/').next().unwrap().trim_end_matches(".yaml");
        for document in text.split("\n---") {
            // A service's own file, or the object's first named app (a network policy's target).
            let process = if table.is_process(stem) {
                stem.to_owned()
            } else {
                match document
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("app.kubernetes.io/name:"))
                {
                    Some(name) if table.is_process(name.trim()) => name.trim().to_owned(),
                    _ => continue,
                }
            };
            problems.extend(kubernetes_ports(&file, &process, document, &table));
        }
    }
    assert!(problems.is_empty(), "kubernetes/:\n{}", problems.join("\n"));
}

/// The numbers given as ports in one Kubernetes object of `process`.
fn kubernetes_ports(file: &str, process: &str, document: &str, table: &Ports) -> Vec<String> {
    let mut problems = Vec::new();
    let own = table.of(process);
    let mut container_ports = BTreeSet::new();
    let mut variable = None;
    for line in document.lines().map(str::trim) {
        let line = line.trim_start_matches("- ");
        let number = |value: &str| value.trim().trim_matches('"').parse::<u16>().ok();
        let (key, value) = line.split_once(':').unwrap_or((line, ""));
        match key {
            "containerPort" | "port" | "prometheus.io/port" => {
                let Some(port) = number(value) else { continue };
                if key == "containerPort" {
                    container_ports.insert(port);
                }
                if key == "prometheus.io/port" && Some(port) != table.find(process, "http") {
                    problems.push(format!("{file}: {process} is scraped on {port}"));
                }
                if !own.contains(&port) {
                    problems.push(format!(
                        "{file}: {key} {port} is no port of {process} in ports.tsv"
                    ));
                }
            }
            "name" => variable = Some(value.trim().to_owned()),
            "value" => {
                let expected = match variable.as_deref() {
                    Some("PORT") => table.find(process, "http"),
                    Some("GRPC_PORT") => table.find(process, "grpc"),
                    _ => None,
                };
                if let Some(expected) = expected {
                    expect(
                        &mut problems,
                        process,
                        variable.as_deref().unwrap(),
                        value,
                        expected,
                    );
                }
            }
            _ => {}
        }
    }
    if !container_ports.is_empty() && container_ports != own.iter().copied().collect() {
        problems.push(format!(
            "{file}: {process}'s containers listen on {container_ports:?}, ports.tsv has {own:?}"
        ));
    }
    problems
}

#[test]
fn the_image_exposes_the_services_ports() {
    let table = Ports::load();
    let dockerfile = repo::read("Dockerfile");
    let exposed: BTreeSet<u16> = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("EXPOSE "))
        .flat_map(|l| l.split_whitespace().map(|p| p.parse::<u16>().unwrap()))
        .collect();
    let ours: BTreeSet<u16> = table.ours().iter().flat_map(|p| table.of(p)).collect();
    assert_eq!(exposed, ours, "the Dockerfile's EXPOSE");
}

#[test]
fn the_local_kafka_listens_on_the_tables_ports() {
    let table = Ports::load();
    let properties = repo::read("infra/kafka/server.properties");
    let used: BTreeSet<u16> = repo::ports_after(&properties, "127.0.0.1")
        .into_iter()
        .collect();
    // Its client and controller listeners, and the SCRAM listener only it has.
    let kafka: BTreeSet<u16> = table
        .of("kafka")
        .into_iter()
        .chain(table.of("kafka-scram"))
        .collect();
    assert_eq!(used, kafka, "infra/kafka/server.properties");
}

/// The README's table of processes, and every documented default that is an address or a port
/// (`PORT`, `ORDER_URL`, `KAFKA_BROKERS`, ...), in the Rust doc comments and in the README.
#[test]
fn the_docs_name_the_tables_ports() {
    let table = Ports::load();
    let mut problems = Vec::new();
    let readme = repo::tables("README.md", &repo::read("README.md"), false);
    for row in readme
        .iter()
        .filter(|r| r.header.first().is_some_and(|h| h == "process"))
    {
        let (Some(process), Some(cell)) = (row.cells.first(), row.cell("port")) else {
            continue;
        };
        let named: BTreeSet<u16> = cell
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect();
        let expected: BTreeSet<u16> = table.of(process).into_iter().collect();
        if named != expected {
            problems.push(format!(
                "{}: {process} on {named:?}, ports.tsv has {expected:?}",
                row.at()
            ));
        }
    }
    let mut rows = readme;
    for file in crate::settings::sources() {
        rows.extend(repo::tables(&file, &repo::read(&file), true));
    }
    for row in rows {
        let variables = row.variables();
        let ([variable], Some(default)) = (variables.as_slice(), row.cell("default")) else {
            continue;
        };
        let process = ["services/", "gateway/"]
            .iter()
            .find_map(|dir| row.file.strip_prefix(dir))
            .map(|rest| {
                rest.split('/')
                    .next()
                    .filter(|p| *p != "src")
                    .unwrap_or("gateway")
            });
        let (Some((owner, protocol)), Some(port)) = (
            table.address_of(variable, process),
            repo::port_in(&default.replace('`', "")),
        ) else {
            continue;
        };
        if table.find(&owner, &protocol) != Some(port) {
            problems.push(format!(
                "{}: {variable} defaults to port {port}, ports.tsv gives {owner} {protocol} {:?}",
                row.at(),
                table.find(&owner, &protocol)
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every `process:port` in `text` is a port of that process.
fn addresses(file: &str, text: &str, table: &Ports) -> Vec<String> {
    let mut problems = Vec::new();
    let processes: BTreeSet<&str> = table.0.iter().map(|p| p.process.as_str()).collect();
    for process in processes {
        for port in repo::ports_after(text, process) {
            if !table.of(process).contains(&port) {
                problems.push(format!(
                    "{file}: {process}:{port} is no port of {process} in ports.tsv"
                ));
            }
        }
    }
    problems
}

fn expect(problems: &mut Vec<String>, process: &str, variable: &str, value: &str, port: u16) {
    let value = value.trim().trim_matches('"');
    if value != port.to_string() {
        problems.push(format!(
            "{process}: {variable}={value}, ports.tsv has {port}"
        ));
    }
}

/// The services of a compose file: name and lines, line-based (no YAML parser at hand).
fn compose_services(text: &str) -> Vec<(String, Vec<&str>)> {
    let mut services: Vec<(String, Vec<&str>)> = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() && !line.starts_with('#') {
            inside = line.trim_end() == "services:";
            continue;
        }
        if !inside {
            continue;
        }
        let service = line
            .strip_prefix("  ")
            .filter(|rest| !rest.starts_with([' ', '#']))
            .and_then(|rest| rest.trim_end().strip_suffix(':'));
        match service {
            Some(name) => services.push((name.to_owned(), Vec::new())),
            None => {
                if let Some((_, lines)) = services.last_mut() {
                    lines.push(line);
                }
            }
        }
    }
    services
}
