-- Each store's rating as the review service last published it (StoreRatingChanged): how many
-- reviews it has and their average in hundredths, as of the event's time. No row until the
-- store's first review.
create table store_rating (
    store_id uuid primary key,
    review_count integer not null check (review_count >= 0),
    average_rating integer not null check (average_rating between 0 and 500),
    rated_at timestamptz not null,
    updated_at timestamptz not null default now()
);
