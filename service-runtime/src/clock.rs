//! The current time, at the precision PostgreSQL and the event envelope keep (microseconds), so
//! that what a request answers equals what a later read of the same row returns.

use chrono::{DateTime, SubsecRound, Utc};

pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
