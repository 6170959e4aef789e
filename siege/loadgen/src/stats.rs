//! Percentiles and per-second series, computed exactly from every recorded value (a run holds
//! at most a few hundred thousand, so no histogram is needed).

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// Nearest-rank percentiles; None for no values.
pub fn percentiles(values: &[f64]) -> Option<Percentiles> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let index = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        round(sorted[index.clamp(1, sorted.len()) - 1])
    };
    let max = *sorted.last()?;
    Some(Percentiles {
        p50: rank(50.0),
        p90: rank(90.0),
        p99: rank(99.0),
        max: round(max),
    })
}

/// One second of a run, by the second the requests completed in.
#[derive(Debug, Serialize)]
pub struct Second {
    /// Unix time, seconds.
    pub t: u64,
    pub ok: u64,
    pub errors: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// A completed request: when it completed (Unix ms), its latency (ms) and whether it succeeded.
pub struct Completion {
    pub at_ms: u64,
    pub latency_ms: f64,
    pub ok: bool,
}

pub fn per_second(completions: &[Completion]) -> Vec<Second> {
    let mut seconds: BTreeMap<u64, (u64, u64, Vec<f64>)> = BTreeMap::new();
    for c in completions {
        let entry = seconds.entry(c.at_ms / 1000).or_default();
        if c.ok {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
        entry.2.push(c.latency_ms);
    }
    seconds
        .into_iter()
        .map(|(t, (ok, errors, latencies))| {
            let p = percentiles(&latencies);
            Second {
                t,
                ok,
                errors,
                p50_ms: p.map(|p| p.p50),
                p99_ms: p.map(|p| p.p99),
            }
        })
        .collect()
}

/// Milliseconds to one decimal: finer than any of these measurements can tell.
pub fn round(ms: f64) -> f64 {
    (ms * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_of_one_to_a_hundred() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = percentiles(&values).unwrap();
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50.0, 90.0, 99.0, 100.0));
    }

    #[test]
    fn a_single_value_is_every_percentile() {
        let p = percentiles(&[7.0]).unwrap();
        assert_eq!((p.p50, p.p99, p.max), (7.0, 7.0, 7.0));
        assert!(percentiles(&[]).is_none());
    }

    #[test]
    fn completions_are_counted_in_the_second_they_finished() {
        let c = |at_ms, ok| Completion {
            at_ms,
            latency_ms: 1.0,
            ok,
        };
        let series = per_second(&[c(1_000, true), c(1_999, false), c(2_000, true)]);
        assert_eq!(series.len(), 2);
        assert_eq!((series[0].t, series[0].ok, series[0].errors), (1, 1, 1));
        assert_eq!((series[1].t, series[1].ok, series[1].errors), (2, 1, 0));
    }
}
