//! The accounting: what each service's database holds for an order (its truth), compared with
//! what the ledger expects, and the mypage view compared with that truth. Pure: the checker
//! reads the databases and the view, this decides what is lost, duplicated or different.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::expect::Outcome;

/// Statuses of an order that never became a valid order.
pub const INVALID: [&str; 3] = ["PaymentPending", "PaymentDeclined", "PaymentFailed"];

/// One order as the services that own its parts store it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Truth {
    /// The order service's row: status and cancel reason (None: no row).
    pub order: Option<(String, Option<String>)>,
    /// Statuses of the payment rows for the order (the payment service's).
    pub payments: Vec<String>,
    pub store_orders: Vec<String>,
    pub deliveries: Vec<String>,
    /// Event types of the customer's notifications about the order.
    pub notifications: Vec<String>,
    /// Outbox rows per event type, over every service's outbox (read once, at the end).
    pub events: BTreeMap<String, i64>,
}

/// The mypage view of an order, as the gateway serves it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    pub order_status: Option<String>,
    pub cancel_reason: Option<String>,
    pub payment: Option<String>,
    pub store: Option<String>,
    pub delivery: Option<String>,
    /// Event types in the view's history.
    pub history: Vec<String>,
}

/// Something wrong with one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// Acknowledged, but the order service has no valid order.
    Lost { status: Option<String> },
    /// An effect applied more than once.
    Duplicate { effect: String, count: usize },
    /// An effect missing or not as expected (may still be on its way until the system is quiet).
    Differs {
        what: String,
        expected: String,
        actual: String,
    },
    /// The mypage view says something else than the owners' databases.
    ViewDiffers {
        what: String,
        truth: String,
        view: String,
    },
}

impl Finding {
    /// Whether waiting longer can still resolve it: an effect on its way, a view behind.
    pub fn may_settle(&self) -> bool {
        matches!(self, Finding::Differs { .. } | Finding::ViewDiffers { .. })
    }
}

fn show<T: AsRef<str>>(value: Option<T>) -> String {
    value.map_or_else(|| "none".to_owned(), |v| v.as_ref().to_owned())
}

fn counts<'a>(items: impl IntoIterator<Item = &'a String>) -> BTreeMap<&'a str, usize> {
    let mut counts = BTreeMap::new();
    for item in items {
        *counts.entry(item.as_str()).or_insert(0) += 1;
    }
    counts
}

/// What is wrong with `truth` for an order that may rightly have any of `candidates`.
pub fn audit(candidates: &[Outcome], truth: &Truth) -> Vec<Finding> {
    let mut findings = Vec::new();
    match &truth.order {
        Some((status, _)) if !INVALID.contains(&status.as_str()) => {}
        other => {
            findings.push(Finding::Lost {
                status: other.as_ref().map(|(s, _)| s.clone()),
            });
            return findings;
        }
    }
    let duplicates = [
        ("payment", truth.payments.len()),
        ("store order", truth.store_orders.len()),
        ("delivery", truth.deliveries.len()),
    ];
    for (effect, count) in duplicates {
        if count > 1 {
            findings.push(Finding::Duplicate {
                effect: effect.to_owned(),
                count,
            });
        }
    }
    for (kind, count) in counts(&truth.notifications) {
        if count > 1 {
            findings.push(Finding::Duplicate {
                effect: format!("notification {kind}"),
                count,
            });
        }
    }
    for (kind, &count) in &truth.events {
        if count > 1 {
            findings.push(Finding::Duplicate {
                effect: format!("event {kind}"),
                count: usize::try_from(count).unwrap_or(usize::MAX),
            });
        }
    }
    // The candidate that fits best decides what differs.
    let differences = candidates
        .iter()
        .map(|c| differences(c, truth))
        .min_by_key(Vec::len)
        .unwrap_or_default();
    findings.extend(differences);
    findings
}

fn differences(expected: &Outcome, truth: &Truth) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut differ = |what: &str, expected: String, actual: String| {
        if expected != actual {
            found.push(Finding::Differs {
                what: what.to_owned(),
                expected,
                actual,
            });
        }
    };
    let (status, reason) = truth
        .order
        .as_ref()
        .map(|(s, r)| (Some(s.as_str()), r.as_deref()))
        .unwrap_or_default();
    differ(
        "order status",
        expected.order_status.to_owned(),
        show(status),
    );
    differ("cancel reason", show(expected.cancel_reason), show(reason));
    differ(
        "payment",
        expected.payment.to_owned(),
        show(truth.payments.first()),
    );
    differ(
        "store order",
        expected.store.to_owned(),
        show(truth.store_orders.first()),
    );
    differ(
        "delivery",
        show(expected.delivery),
        show(truth.deliveries.first()),
    );
    let mut kinds: Vec<&str> = truth.notifications.iter().map(String::as_str).collect();
    kinds.sort_unstable();
    kinds.dedup();
    differ(
        "notifications",
        expected.notifications.join(","),
        kinds.join(","),
    );
    found
}

/// How the view differs from the truth recomputed from the owners' databases.
pub fn compare_view(truth: &Truth, view: Option<&View>) -> Vec<Finding> {
    let Some(view) = view else {
        return vec![Finding::ViewDiffers {
            what: "view".into(),
            truth: "an order".into(),
            view: "none".into(),
        }];
    };
    let mut found = Vec::new();
    let mut differ = |what: &str, truth: String, view: String| {
        if truth != view {
            found.push(Finding::ViewDiffers {
                what: what.to_owned(),
                truth,
                view,
            });
        }
    };
    let (status, reason) = truth
        .order
        .as_ref()
        .map(|(s, r)| (Some(s.clone()), r.clone()))
        .unwrap_or_default();
    differ(
        "order status",
        show(status),
        show(view.order_status.clone()),
    );
    differ(
        "cancel reason",
        show(reason),
        show(view.cancel_reason.clone()),
    );
    differ(
        "payment",
        show(truth.payments.first()),
        show(view.payment.clone()),
    );
    differ(
        "store order",
        show(truth.store_orders.first()),
        show(view.store.clone()),
    );
    differ(
        "delivery",
        show(truth.deliveries.first()),
        show(view.delivery.clone()),
    );
    for (kind, count) in counts(&view.history) {
        if count > 1 {
            found.push(Finding::Duplicate {
                effect: format!("view history {kind}"),
                count,
            });
        }
    }
    found
}

/// The figures of one scenario's check.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tally {
    pub acknowledged: usize,
    pub found: usize,
    pub lost: usize,
    /// Orders whose effects are not (yet) as expected.
    pub differing: usize,
    pub duplicates: BTreeMap<String, usize>,
    pub view_differences: usize,
    /// Effects counted over the acknowledged orders.
    pub payments_approved: usize,
    pub refunds: usize,
    pub store_orders: usize,
    pub deliveries: usize,
    pub notifications: usize,
}

impl Tally {
    pub fn add_truth(&mut self, truth: &Truth) {
        if truth
            .order
            .as_ref()
            .is_some_and(|(s, _)| !INVALID.contains(&s.as_str()))
        {
            self.found += 1;
        }
        self.payments_approved += truth.payments.iter().filter(|s| *s == "Approved").count();
        self.refunds += truth.payments.iter().filter(|s| *s == "Refunded").count();
        self.store_orders += truth.store_orders.len();
        self.deliveries += truth.deliveries.len();
        self.notifications += truth.notifications.len();
    }

    pub fn add_findings(&mut self, findings: &[Finding]) {
        if findings.iter().any(|f| matches!(f, Finding::Lost { .. })) {
            self.lost += 1;
        }
        if findings
            .iter()
            .any(|f| matches!(f, Finding::Differs { .. }))
        {
            self.differing += 1;
        }
        if findings
            .iter()
            .any(|f| matches!(f, Finding::ViewDiffers { .. }))
        {
            self.view_differences += 1;
        }
        for finding in findings {
            if let Finding::Duplicate { effect, .. } = finding {
                let kind = effect.split(' ').next().unwrap_or(effect).to_owned();
                *self.duplicates.entry(kind).or_insert(0) += 1;
            }
        }
    }

    pub fn duplicate_total(&self) -> usize {
        self.duplicates.values().sum()
    }

    /// Whether the scenario kept every promise.
    pub fn clean(&self) -> bool {
        self.lost == 0
            && self.differing == 0
            && self.duplicate_total() == 0
            && self.view_differences == 0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::expect::outcome;
    use crate::ledger::Step::*;

    fn delivered_truth() -> Truth {
        let s = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        Truth {
            order: Some(("Delivered".into(), None)),
            payments: s(&["Approved"]),
            store_orders: s(&["Cooked"]),
            deliveries: s(&["Completed"]),
            notifications: s(&[
                "OrderPlaced",
                "StoreOrderAccepted",
                "CookingStarted",
                "CookingFinished",
                "DeliveryStarted",
                "DeliveryCompleted",
            ]),
            events: [("OrderPlaced".to_owned(), 1)].into(),
        }
    }

    fn delivered() -> Vec<Outcome> {
        vec![outcome(&[Placed, Accepted, Cooking, Cooked, Delivered]).unwrap()]
    }

    #[test]
    fn an_order_as_expected_everywhere_has_no_finding() {
        assert_eq!(audit(&delivered(), &delivered_truth()), []);
    }

    #[test]
    fn an_acknowledged_order_missing_or_never_valid_is_lost() {
        let mut truth = delivered_truth();
        truth.order = None;
        assert_eq!(
            audit(&delivered(), &truth),
            [Finding::Lost { status: None }]
        );
        truth.order = Some(("PaymentFailed".into(), None));
        assert!(matches!(
            audit(&delivered(), &truth)[0],
            Finding::Lost { .. }
        ));
    }

    #[test]
    fn an_effect_applied_twice_is_a_duplicate_and_a_missing_one_differs() {
        let mut truth = delivered_truth();
        truth.notifications.push("DeliveryStarted".into());
        truth.events.insert("PaymentApproved".into(), 2);
        truth.deliveries.clear();
        let findings = audit(&delivered(), &truth);
        assert!(findings.contains(&Finding::Duplicate {
            effect: "notification DeliveryStarted".into(),
            count: 2
        }));
        assert!(findings.contains(&Finding::Duplicate {
            effect: "event PaymentApproved".into(),
            count: 2
        }));
        assert!(findings.contains(&Finding::Differs {
            what: "delivery".into(),
            expected: "Completed".into(),
            actual: "none".into()
        }));
        let mut tally = Tally::default();
        tally.add_findings(&findings);
        assert_eq!(tally.duplicate_total(), 2);
        assert_eq!(tally.differing, 1);
        assert!(!tally.clean());
    }

    #[test]
    fn the_best_fitting_candidate_decides() {
        let candidates = vec![
            outcome(&[Placed]).unwrap(),
            outcome(&[Placed, Rejected]).unwrap(),
        ];
        let s = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let truth = Truth {
            order: Some(("Canceled".into(), Some("store_rejected".into()))),
            payments: s(&["Refunded"]),
            store_orders: s(&["Rejected"]),
            deliveries: vec![],
            notifications: s(&[
                "OrderPlaced",
                "StoreOrderRejected",
                "OrderCanceled",
                "PaymentCanceled",
            ]),
            events: BTreeMap::new(),
        };
        assert_eq!(audit(&candidates, &truth), []);
    }

    #[test]
    fn a_view_is_compared_with_the_truth_not_with_the_ledger() {
        let truth = delivered_truth();
        let mut view = View {
            order_status: Some("Delivered".into()),
            cancel_reason: None,
            payment: Some("Approved".into()),
            store: Some("Cooked".into()),
            delivery: Some("Completed".into()),
            history: vec!["OrderPlaced".into(), "DeliveryCompleted".into()],
        };
        assert_eq!(compare_view(&truth, Some(&view)), []);
        view.delivery = Some("Started".into());
        view.history.push("OrderPlaced".into());
        let findings = compare_view(&truth, Some(&view));
        assert_eq!(findings.len(), 2);
        assert!(compare_view(&truth, None)[0].may_settle());
    }

    #[test]
    fn a_tally_counts_effects_and_found_orders() {
        let mut tally = Tally {
            acknowledged: 1,
            ..Tally::default()
        };
        tally.add_truth(&delivered_truth());
        assert_eq!(
            (tally.found, tally.payments_approved, tally.notifications),
            (1, 1, 6)
        );
        assert!(tally.clean());
    }
}
