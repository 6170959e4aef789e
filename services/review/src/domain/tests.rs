use proptest::prelude::*;

use super::*;

fn delivered(order_id: Uuid) -> OrderFacts {
    OrderFacts {
        order_id,
        customer_id: "alice".into(),
        store_id: Uuid::new_v4(),
        delivered: true,
    }
}

fn text(s: &str) -> Text {
    Text::parse(s).unwrap()
}

fn posted() -> Review {
    let order = delivered(Uuid::new_v4());
    let rating = Rating::parse(4).unwrap();
    post(
        Some(&order),
        order.order_id,
        "alice",
        rating,
        text("good"),
        Utc::now(),
    )
    .unwrap()
    .0
}

#[test]
fn ratings_are_one_to_five_stars() {
    for stars in 1..=5 {
        assert_eq!(Rating::parse(stars).unwrap().stars(), stars as u8);
    }
    for bad in [0, 6, -1, 256, i64::MAX] {
        assert_eq!(Rating::parse(bad), Err(InvalidRating));
    }
}

#[test]
fn a_text_is_trimmed_and_one_to_a_thousand_characters() {
    assert_eq!(text("  tasty  ").into_inner(), "tasty");
    assert_eq!(Text::parse("   "), Err(InvalidText));
    assert_eq!(Text::parse("a\0b"), Err(InvalidText));
    assert!(Text::parse(&"맛".repeat(MAX_TEXT_CHARS)).is_ok());
    assert_eq!(
        Text::parse(&"a".repeat(MAX_TEXT_CHARS + 1)),
        Err(InvalidText)
    );
}

#[test]
fn a_customer_reviews_a_delivered_order_of_theirs() {
    let order = delivered(Uuid::new_v4());
    let rating = Rating::parse(5).unwrap();
    let (review, event) = post(
        Some(&order),
        order.order_id,
        "alice",
        rating,
        text("great"),
        Utc::now(),
    )
    .unwrap();
    assert_eq!((review.store_id, review.version), (order.store_id, 1));
    assert_eq!(event.review_id, review.id);
    assert_eq!(
        (event.order_id, event.store_id),
        (order.order_id, order.store_id)
    );
    assert_eq!((event.rating, event.text.as_str()), (5, "great"));
}

#[test]
fn an_order_not_delivered_unknown_or_of_another_customer_is_refused() {
    let order_id = Uuid::new_v4();
    let rating = Rating::parse(3).unwrap();
    let mut order = delivered(order_id);
    let attempt = |order: Option<&OrderFacts>, who: &str| {
        post(order, order_id, who, rating, text("ok"), Utc::now()).map(|_| ())
    };
    assert_eq!(attempt(None, "alice"), Err(Refusal::UnknownOrder(order_id)));
    assert_eq!(
        attempt(Some(&order), "bob"),
        Err(Refusal::UnknownOrder(order_id))
    );
    order.delivered = false;
    assert_eq!(
        attempt(Some(&order), "alice"),
        Err(Refusal::NotDelivered(order_id))
    );
}

#[test]
fn its_author_edits_a_review_within_the_window_only() {
    let window = Duration::from_secs(3600);
    let mut review = posted();
    let later = review.created_at + chrono::Duration::minutes(59);
    let edited = review
        .edit(
            "alice",
            Rating::parse(2).unwrap(),
            text("cold"),
            window,
            later,
        )
        .unwrap();
    assert_eq!((edited.rating, edited.text.as_str()), (2, "cold"));
    assert_eq!((review.version, review.updated_at), (2, later));

    let too_late = review.created_at + chrono::Duration::minutes(61);
    let refused = review.edit(
        "alice",
        Rating::parse(1).unwrap(),
        text("x"),
        window,
        too_late,
    );
    assert_eq!(refused, Err(ChangeRefusal::EditWindowClosed(window)));
    let refused = review.edit("bob", Rating::parse(1).unwrap(), text("x"), window, later);
    assert_eq!(refused, Err(ChangeRefusal::NotTheAuthor));
    assert_eq!((review.rating.stars(), review.version), (2, 2));
}

#[test]
fn only_the_stores_owner_replies() {
    let mut review = posted();
    let now = Utc::now();
    assert_eq!(
        review.reply("oscar", Some("olivia"), text("sorry"), now),
        Err(ChangeRefusal::NotTheOwner)
    );
    assert_eq!(
        review.reply("olivia", None, text("sorry"), now),
        Err(ChangeRefusal::NotTheOwner)
    );
    review
        .reply("olivia", Some("olivia"), text("thanks!"), now)
        .unwrap();
    assert_eq!(review.reply.as_deref(), Some("thanks!"));
    assert_eq!(review.version, 1, "a reply is not an edit");
}

#[test]
fn a_stores_rating_is_the_average_in_hundredths_rounded_half_up() {
    let store = Uuid::new_v4();
    assert_eq!(store_rating(store, 3, 4 + 5 + 5).average_rating, 467);
    assert_eq!(store_rating(store, 2, 4 + 5).average_rating, 450);
    assert_eq!(store_rating(store, 3, 1 + 1 + 2).average_rating, 133);
    assert_eq!(store_rating(store, 0, 0).average_rating, 0);
}

proptest! {
    #[test]
    fn an_average_stays_between_one_and_five_stars(ratings in prop::collection::vec(1u64..=5, 1..200)) {
        let count = u32::try_from(ratings.len()).unwrap();
        let rating = store_rating(Uuid::new_v4(), count, ratings.iter().sum());
        prop_assert!((100..=500).contains(&rating.average_rating));
        prop_assert_eq!(rating.review_count, count);
    }
}
