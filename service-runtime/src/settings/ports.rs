//! Every process's default ports, from `ports.tsv` at the repository root: the one table of them.
//! `./dev` reads the same file, and a test holds `docker-compose.yml`, `kubernetes/` and the
//! README to it, so a port changes in that file and nowhere else.
//!
//! The table is read at compile time: a row missing for a constant below fails the build.

const TABLE: &str = include_str!("../../../ports.tsv");

/// The order service's HTTP port.
pub const ORDER: u16 = port("order", "http");
/// The order service's gRPC port.
pub const ORDER_GRPC: u16 = port("order", "grpc");
pub const PAYMENT: u16 = port("payment", "http");
pub const STORE: u16 = port("store", "http");
pub const DELIVERY: u16 = port("delivery", "http");
pub const NOTIFICATION: u16 = port("notification", "http");
pub const MYPAGE: u16 = port("mypage", "http");
pub const REVIEW: u16 = port("review", "http");
pub const GATEWAY: u16 = port("gateway", "http");
/// Kafka's client listener.
pub const KAFKA: u16 = port("kafka", "kafka");
/// The local Kafka's listener for clients that authenticate as a Kafka user (SCRAM), whose
/// ACLs then apply.
pub const KAFKA_SASL: u16 = port("kafka-scram", "sasl");
pub const POSTGRES: u16 = port("postgres", "postgresql");
/// MongoDB, or FerretDB in the local stack.
pub const MONGO: u16 = port("mongo", "mongodb");

/// `http://127.0.0.1:<port>`: where a process of the local stack answers.
pub fn local_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// The port of `process` for `protocol` in the table (a tab-separated `process protocol port`
/// row under a header line). Panics when there is none: at compile time for the constants.
pub const fn port(process: &str, protocol: &str) -> u16 {
    let table = TABLE.as_bytes();
    // Skip the header line.
    let mut start = line_end(table, 0) + 1;
    while start < table.len() {
        let end = line_end(table, start);
        let process_end = field_end(table, start, end);
        let protocol_end = field_end(table, process_end + 1, end);
        if process_end < end
            && protocol_end < end
            && same(table, start, process_end, process)
            && same(table, process_end + 1, protocol_end, protocol)
        {
            return number(table, protocol_end + 1, end);
        }
        start = end + 1;
    }
    panic!("ports.tsv has no row for this process and protocol")
}

const fn line_end(table: &[u8], mut at: usize) -> usize {
    while at < table.len() && table[at] != b'\n' {
        at += 1;
    }
    at
}

const fn field_end(table: &[u8], mut at: usize, end: usize) -> usize {
    while at < end && table[at] != b'\t' {
        at += 1;
    }
    at
}

const fn same(table: &[u8], start: usize, end: usize, name: &str) -> bool {
    let name = name.as_bytes();
    if end - start != name.len() {
        return false;
    }
    let mut i = 0;
    while i < name.len() {
        if table[start + i] != name[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn number(table: &[u8], start: usize, end: usize) -> u16 {
    let mut at = start;
    let mut value: u32 = 0;
    while at < end && table[at] != b'\r' {
        let digit = table[at];
        assert!(
            digit.is_ascii_digit(),
            "a port in ports.tsv is not a number"
        );
        value = value * 10 + (digit - b'0') as u32;
        assert!(value <= u16::MAX as u32, "a port in ports.tsv is too large");
        at += 1;
    }
    assert!(at > start, "a port in ports.tsv is empty");
    value as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_the_table_is_read() {
        let rows: Vec<(&str, &str, u16)> = TABLE
            .lines()
            .skip(1)
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let cells: Vec<&str> = line.split('\t').collect();
                assert_eq!(cells.len(), 3, "{line:?}: process, protocol and port");
                (cells[0], cells[1], cells[2].parse().expect("a port"))
            })
            .collect();
        assert!(rows.len() >= 8);
        for (process, protocol, expected) in rows {
            assert_eq!(port(process, protocol), expected, "{process} {protocol}");
        }
        assert_eq!(ORDER_GRPC, port("order", "grpc"));
    }
}
