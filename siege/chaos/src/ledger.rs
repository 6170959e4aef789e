//! The ledger: one JSON line per fact the driver learned from the system — the run's setup,
//! every request it sent (with its answer), and every step of an order that the system
//! acknowledged. The checker reads nothing else from the driver: what was promised is here.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// A step of an order's life that a request asks for and a 2xx answer acknowledges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Placed,
    Accepted,
    Cooking,
    Cooked,
    Delivered,
    Accident,
    Canceled,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Line {
    /// The run: what it ordered from, as whom, and where the dead-letter topic stood.
    Run {
        run: String,
        store_id: String,
        menu_items: Vec<String>,
        customers: Vec<String>,
        started_ms: u64,
        /// Partition (as text: a JSON key) → end offset of the dead-letter topic when the run
        /// started.
        #[serde(default)]
        dlq_offsets: BTreeMap<String, i64>,
    },
    /// One request and its answer (`status` 0: no answer — a connection error or a timeout).
    Request {
        op: String,
        status: u16,
        at_ms: u64,
        latency_ms: u64,
        first: bool,
        /// The problem's `code` of an answer that is not a 2xx (`overloaded`,
        /// `upstream_unavailable`, …), which says who refused and why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
    /// The system acknowledged `step` of `order`.
    Ack {
        order: String,
        customer: String,
        step: Step,
        at_ms: u64,
    },
    /// The driver gave up on `step` of `order` without knowing whether it was applied (its
    /// answers were timeouts or errors that do not say).
    Doubt {
        order: String,
        step: Step,
        at_ms: u64,
    },
    /// An order request that never got a definite answer, under its idempotency key.
    Unanswered {
        customer: String,
        idempotency_key: String,
        at_ms: u64,
    },
    /// The load is over.
    End { ended_ms: u64 },
}

/// Appends lines to the ledger file, from any task.
pub struct Writer {
    out: Mutex<BufWriter<File>>,
}

impl Writer {
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self {
            out: Mutex::new(BufWriter::new(file)),
        })
    }

    pub fn write(&self, line: &Line) {
        let Ok(text) = serde_json::to_string(line) else {
            return;
        };
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{text}");
        }
    }

    pub fn flush(&self) -> anyhow::Result<()> {
        let mut out = self
            .out
            .lock()
            .map_err(|_| anyhow::anyhow!("ledger lock poisoned"))?;
        out.flush().context("cannot write the ledger")
    }
}

pub fn read(path: &Path) -> anyhow::Result<Vec<Line>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut lines = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.context("cannot read the ledger")?;
        if line.trim().is_empty() {
            continue;
        }
        lines.push(
            serde_json::from_str(&line)
                .with_context(|| format!("ledger line {} is not a ledger entry", n + 1))?,
        );
    }
    Ok(lines)
}

/// What the ledger says about one order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderRecord {
    pub customer: String,
    /// Acknowledged steps, in the order they were acknowledged.
    pub acked: Vec<Step>,
    pub doubt: Option<Step>,
}

/// The ledger, gathered: the run line, each acknowledged order's record, the unanswered keys.
#[derive(Debug, Default)]
pub struct Book {
    pub run: Option<Line>,
    pub orders: BTreeMap<String, OrderRecord>,
    pub unanswered: Vec<(String, String)>,
    pub requests: Vec<Line>,
    pub ended_ms: Option<u64>,
}

impl Book {
    pub fn gather(lines: Vec<Line>) -> Self {
        let mut book = Book::default();
        for line in lines {
            match line {
                Line::Run { .. } => book.run = Some(line),
                Line::Ack {
                    order,
                    customer,
                    step,
                    ..
                } => {
                    let record = book.orders.entry(order).or_default();
                    record.customer = customer;
                    record.acked.push(step);
                }
                Line::Doubt { order, step, .. } => {
                    book.orders.entry(order).or_default().doubt = Some(step);
                }
                Line::Unanswered {
                    customer,
                    idempotency_key,
                    ..
                } => book.unanswered.push((customer, idempotency_key)),
                Line::Request { .. } => book.requests.push(line),
                Line::End { ended_ms } => book.ended_ms = Some(ended_ms),
            }
        }
        // An order is in the book only once its placing was acknowledged.
        book.orders
            .retain(|_, record| record.acked.first() == Some(&Step::Placed));
        book
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_line_reads_back_as_written() {
        let line = Line::Ack {
            order: "o1".into(),
            customer: "c1".into(),
            step: Step::Accepted,
            at_ms: 5,
        };
        let text = serde_json::to_string(&line).unwrap();
        assert_eq!(
            text,
            r#"{"kind":"ack","order":"o1","customer":"c1","step":"accepted","at_ms":5}"#
        );
        assert_eq!(serde_json::from_str::<Line>(&text).unwrap(), line);
    }

    #[test]
    fn the_book_keeps_acknowledged_orders_with_their_steps_and_doubts() {
        let ack = |order: &str, step| Line::Ack {
            order: order.into(),
            customer: "c".into(),
            step,
            at_ms: 0,
        };
        let book = Book::gather(vec![
            ack("a", Step::Placed),
            ack("a", Step::Accepted),
            ack("b", Step::Placed),
            Line::Doubt {
                order: "b".into(),
                step: Step::Rejected,
                at_ms: 1,
            },
            // A doubt about an order whose placing was never acknowledged is no order.
            Line::Doubt {
                order: "c".into(),
                step: Step::Accepted,
                at_ms: 1,
            },
            Line::Unanswered {
                customer: "c".into(),
                idempotency_key: "k".into(),
                at_ms: 2,
            },
        ]);
        assert_eq!(book.orders.len(), 2);
        assert_eq!(book.orders["a"].acked, [Step::Placed, Step::Accepted]);
        assert_eq!(book.orders["b"].doubt, Some(Step::Rejected));
        assert_eq!(book.unanswered, [("c".to_owned(), "k".to_owned())]);
    }
}
