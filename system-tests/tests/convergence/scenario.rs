//! Generated scenarios: what the owner, the rider and the customer intend, and a schedule that
//! interleaves their actions with deliveries and redeliveries.

use proptest::prelude::*;
use proptest::sample::Index;

use crate::world::{ChangeIntent, OwnerAction, RiderAction, World};

/// One step of a schedule.
#[derive(Debug, Clone)]
pub enum Step {
    /// Some consumer reads its next message of some topic (among those with one waiting).
    Deliver(Index),
    /// Some consumer goes back on some topic by one to four messages, which it reads again.
    Redeliver(Index, u8),
    Owner,
    Rider,
    Customer,
    /// The customer changes the order.
    Change(ChangeIntent),
    /// A charge request the order service gave up on reaches the payment service.
    LateCharge,
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub owner: Vec<OwnerAction>,
    pub rider: RiderAction,
    pub payment_times_out: bool,
    pub schedule: Vec<Step>,
}

pub fn scenario() -> impl Strategy<Value = Scenario> {
    let owner = prop_oneof![
        3 => Just(vec![OwnerAction::Accept, OwnerAction::StartCooking, OwnerAction::FinishCooking]),
        1 => Just(vec![OwnerAction::Reject]),
    ];
    let rider = prop_oneof![
        3 => Just(RiderAction::Complete),
        1 => Just(RiderAction::ReportAccident),
    ];
    let step = prop_oneof![
        8 => any::<Index>().prop_map(Step::Deliver),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(i, back)| Step::Redeliver(i, back)),
        2 => Just(Step::Owner),
        1 => Just(Step::Rider),
        1 => Just(Step::LateCharge),
    ];
    let schedule = proptest::collection::vec(step, 0..60);
    let payment_times_out = proptest::bool::weighted(0.1);
    let customer = (any::<bool>(), any::<Index>());
    let change =
        proptest::option::of((any::<bool>(), proptest::bool::weighted(0.2), any::<Index>()));
    (owner, rider, payment_times_out, customer, change, schedule).prop_map(
        |(owner, rider, payment_times_out, (customer_cancels, at), change, mut schedule)| {
            if let Some((dearer, dies_after_top_up, at)) = change {
                let at = at.index(schedule.len() + 1);
                let intent = ChangeIntent {
                    dearer,
                    dies_after_top_up,
                };
                schedule.insert(at, Step::Change(intent));
            }
            if customer_cancels {
                let at = at.index(schedule.len() + 1);
                schedule.insert(at, Step::Customer);
            }
            Scenario {
                owner,
                rider,
                payment_times_out,
                schedule,
            }
        },
    )
}

impl Scenario {
    fn world(&self) -> World {
        World::new(self.owner.clone(), vec![self.rider], self.payment_times_out)
    }

    /// Runs the schedule, then lets the world settle. The rider acts whenever the schedule says,
    /// events in flight or not (see `a_cancel_the_rider_would_have_outrun_starts_no_delivery`).
    pub fn run(&self) -> World {
        let mut world = self.world();
        for step in &self.schedule {
            match step {
                Step::Deliver(pick) => {
                    let pending = world.pending();
                    if !pending.is_empty() {
                        let (consumer, topic) = pending[pick.index(pending.len())];
                        world.deliver(consumer, topic);
                    }
                }
                Step::Redeliver(pick, back) => {
                    let rewindable = world.rewindable();
                    if !rewindable.is_empty() {
                        let (consumer, topic) = rewindable[pick.index(rewindable.len())];
                        world.rewind(consumer, topic, usize::from(*back % 4) + 1);
                    }
                }
                Step::Owner => {
                    world.owner_acts();
                }
                Step::Rider => {
                    world.rider_acts();
                }
                Step::Customer => world.customer_cancels(),
                Step::Change(intent) => world.customer_changes(*intent),
                Step::LateCharge => {
                    world.late_charge_arrives();
                }
            }
        }
        world.settle();
        world
    }

    /// The same intentions, each message delivered once and in publication order, the world
    /// settling before anyone acts, and no cancel.
    pub fn canonical(&self) -> World {
        let mut world = self.world();
        world.settle();
        world
    }
}
