//! What the requests of a run met: answers by status, availability, the latency of orders,
//! and when the last failure happened (against the faults' timeline). Pure.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::ledger::Line;

#[derive(Debug, Clone, Default, Serialize)]
pub struct RequestStats {
    pub sent: usize,
    /// Answers that say the system failed the request: 5xx, 429, or no answer at all.
    pub failed: usize,
    pub availability_pct: f64,
    /// "op status" → count.
    pub by_status: BTreeMap<String, usize>,
    /// First tries of POST /orders answered 2xx.
    pub place_first_ok_pct: f64,
    pub place_p50_ms: u64,
    pub place_p99_ms: u64,
    pub place_max_ms: u64,
    pub last_failure_ms: Option<u64>,
    /// The last failure that was not admission control refusing work in time (a `503
    /// overloaded` or `deadline_exceeded`: nothing done, retry later): when the system stopped
    /// *failing* rather than stopped *shedding* the catch-up burst of retries.
    pub last_fault_ms: Option<u64>,
}

pub fn failed(status: u16) -> bool {
    status == 0 || status == 429 || status >= 500
}

/// Admission control's refusals: the request was turned away before any work, on purpose.
pub fn refused(status: u16, code: Option<&str>) -> bool {
    status == 503 && matches!(code, Some("overloaded" | "deadline_exceeded"))
}

impl RequestStats {
    pub fn of(lines: &[Line]) -> Self {
        let mut stats = RequestStats::default();
        let mut place_latencies = Vec::new();
        let (mut first_tries, mut first_ok) = (0usize, 0usize);
        for line in lines {
            let Line::Request {
                op,
                status,
                at_ms,
                latency_ms,
                first,
                code,
            } = line
            else {
                continue;
            };
            stats.sent += 1;
            let key = match code {
                Some(code) => format!("{op} {status} {code}"),
                None => format!("{op} {status}"),
            };
            *stats.by_status.entry(key).or_insert(0) += 1;
            if failed(*status) {
                stats.failed += 1;
                let end = at_ms + latency_ms;
                stats.last_failure_ms = Some(stats.last_failure_ms.map_or(end, |l| l.max(end)));
                if !refused(*status, code.as_deref()) {
                    stats.last_fault_ms = Some(stats.last_fault_ms.map_or(end, |l| l.max(end)));
                }
            }
            if op == "place" {
                place_latencies.push(*latency_ms);
                if *first {
                    first_tries += 1;
                    first_ok += usize::from((200..300).contains(status));
                }
            }
        }
        let pct = |part: usize, all: usize| {
            if all == 0 {
                100.0
            } else {
                part as f64 * 100.0 / all as f64
            }
        };
        stats.availability_pct = pct(stats.sent - stats.failed, stats.sent);
        stats.place_first_ok_pct = pct(first_ok, first_tries);
        place_latencies.sort_unstable();
        let at = |q: f64| {
            place_latencies
                .get(
                    ((place_latencies.len() as f64 * q) as usize)
                        .min(place_latencies.len().saturating_sub(1)),
                )
                .copied()
                .unwrap_or(0)
        };
        stats.place_p50_ms = at(0.5);
        stats.place_p99_ms = at(0.99);
        stats.place_max_ms = place_latencies.last().copied().unwrap_or(0);
        stats
    }
}

/// The faults' timeline, as siege/chaos.sh writes it: `<unix ms> <start|end> <what>` lines.
#[derive(Debug, Default)]
pub struct Faults {
    pub events: Vec<(u64, String, String)>,
}

impl Faults {
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Ok(Self::parse(&text))
    }

    pub fn parse(text: &str) -> Self {
        let events = text
            .lines()
            .filter_map(|line| {
                let mut parts = line.splitn(3, ' ');
                let at = parts.next()?.parse().ok()?;
                let kind = parts.next()?.to_owned();
                Some((at, kind, parts.next().unwrap_or_default().to_owned()))
            })
            .collect();
        Self { events }
    }

    pub fn last_end_ms(&self) -> Option<u64> {
        self.events
            .iter()
            .filter(|(_, kind, _)| kind == "end")
            .map(|(at, _, _)| *at)
            .max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(op: &str, status: u16, at_ms: u64, first: bool) -> Line {
        Line::Request {
            op: op.into(),
            status,
            at_ms,
            latency_ms: 10,
            first,
            code: (status == 503).then(|| "overloaded".to_owned()),
        }
    }

    #[test]
    fn the_last_fault_is_the_last_failure_that_was_not_a_refusal() {
        let unavailable = Line::Request {
            op: "accepted".into(),
            status: 503,
            at_ms: 20,
            latency_ms: 10,
            first: true,
            code: Some("database_unavailable".into()),
        };
        let stats = RequestStats::of(&[
            request("place", 500, 5, true),
            unavailable,
            request("place", 503, 40, true),
        ]);
        assert_eq!(stats.last_failure_ms, Some(50));
        assert_eq!(stats.last_fault_ms, Some(30));
    }

    #[test]
    fn failures_are_server_errors_refusals_for_load_and_silence_not_client_answers() {
        let stats = RequestStats::of(&[
            request("place", 201, 1, true),
            request("place", 503, 2, true),
            request("place", 201, 3, false),
            request("accepted", 404, 4, true),
            request("accepted", 0, 50, false),
            request("accepted", 409, 60, false),
        ]);
        assert_eq!((stats.sent, stats.failed), (6, 2));
        assert_eq!(stats.last_failure_ms, Some(60));
        assert!((stats.place_first_ok_pct - 50.0).abs() < 1e-9);
        assert_eq!(stats.by_status["place 201"], 2);
        assert_eq!(stats.by_status["place 503 overloaded"], 1);
    }

    #[test]
    fn the_faults_timeline_gives_the_end_of_the_last_fault() {
        let faults = Faults::parse(
            "100 start kill -9 delivery\n150 end delivery back\n300 start x\n400 end x\nnot a line\n",
        );
        assert_eq!(faults.events.len(), 4);
        assert_eq!(faults.last_end_ms(), Some(400));
        assert_eq!(Faults::default().last_end_ms(), None);
    }
}
