//! Review's HTTP API: customers review their delivered orders and edit their reviews, owners
//! reply to their stores' reviews, anyone signed in reads a store's or an order's reviews.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use service_runtime::problem::{ApiJson, ApiPath, ApiQuery, ProblemBody};
use service_runtime::{Identity, Problem, Role};
use sqlx::PgPool;
use std::time::Duration;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::domain::{ChangeRefusal, Rating, Refusal, Review, Text};
use crate::use_cases::{self, ReviewError};

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// How long after posting its author may edit a review.
    pub edit_window: Duration,
}

pub fn router(state: AppState) -> Router {
    let (router, _) = routes().split_for_parts();
    router.with_state(state)
}

/// The review service's part of the API document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) = routes().split_for_parts();
    api
}

/// Every route, declared once for the router and the API document.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(list, post))
        .routes(routes!(edit))
        .routes(routes!(reply))
}

#[derive(OpenApi)]
#[openapi(
    components(schemas(ReviewBody, PostReview, EditReview, Reply)),
    tags((name = "review", description = "Reviews of delivered orders, their stores' replies and ratings"))
)]
struct ApiDoc;

impl From<ReviewError> for Problem {
    fn from(e: ReviewError) -> Self {
        match e {
            ReviewError::NotFound(_) | ReviewError::Refused(Refusal::UnknownOrder(_)) => {
                Problem::not_found(e.to_string())
            }
            ReviewError::InvalidRating(e) => {
                Problem::unprocessable("invalid_rating", e.to_string())
            }
            ReviewError::InvalidText(e) => Problem::unprocessable("invalid_text", e.to_string()),
            ReviewError::Refused(Refusal::NotDelivered(_)) => {
                Problem::conflict("not_delivered", e.to_string())
            }
            ReviewError::AlreadyReviewed => Problem::conflict("already_reviewed", e.to_string()),
            ReviewError::Change(ChangeRefusal::NotTheAuthor | ChangeRefusal::NotTheOwner) => {
                Problem::forbidden(e.to_string())
            }
            ReviewError::Change(ChangeRefusal::EditWindowClosed(_)) => {
                Problem::conflict("edit_window_closed", e.to_string())
            }
            ReviewError::StaleVersion { .. } => Problem::new(
                StatusCode::PRECONDITION_FAILED,
                "stale_version",
                e.to_string(),
            ),
            ReviewError::Database(e) => e.into(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Review)]
pub struct ReviewBody {
    pub id: Uuid,
    pub order_id: Uuid,
    pub store_id: Uuid,
    pub customer_id: String,
    #[schema(minimum = 1, maximum = 5, example = 5)]
    pub rating: u8,
    pub text: String,
    /// The store owner's reply, if any.
    pub reply: Option<String>,
    pub replied_at: Option<DateTime<Utc>>,
    /// 1, then one more at each edit: what `If-Match` names.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Review> for ReviewBody {
    fn from(r: Review) -> Self {
        Self {
            id: r.id,
            order_id: r.order_id,
            store_id: r.store_id,
            customer_id: r.customer_id,
            rating: r.rating.stars(),
            text: r.text,
            reply: r.reply,
            replied_at: r.replied_at,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The store's reviews (give this or `orderId`).
    pub store_id: Option<Uuid>,
    /// The order's review (give this or `storeId`).
    pub order_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostReview {
    pub order_id: Uuid,
    /// 1 to 5.
    #[schema(minimum = 1, maximum = 5, example = 5)]
    #[serde(deserialize_with = "service_runtime::json::whole_number")]
    pub rating: i64,
    /// 1 to 1000 characters, not only white space; no U+0000. Kept without the white space at its ends.
    #[schema(
        example = "Crispy and still hot.",
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\u0000]*[^\u0000\u0009-\u000d\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff][^\u0000]*$"
    )]
    pub text: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EditReview {
    /// 1 to 5.
    #[schema(minimum = 1, maximum = 5, example = 4)]
    #[serde(deserialize_with = "service_runtime::json::whole_number")]
    pub rating: i64,
    /// 1 to 1000 characters, not only white space; no U+0000. Kept without the white space at its ends.
    #[schema(
        example = "Crispy, a little late.",
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\u0000]*[^\u0000\u0009-\u000d\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff][^\u0000]*$"
    )]
    pub text: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Reply {
    /// 1 to 1000 characters, not only white space; no U+0000. Kept without the white space at its ends.
    #[schema(
        example = "Thank you, see you soon!",
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\u0000]*[^\u0000\u0009-\u000d\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff][^\u0000]*$"
    )]
    pub text: String,
}

/// A store's reviews (`storeId`), newest first, or an order's (`orderId`, one at most), for
/// anyone signed in.
#[utoipa::path(
    get,
    path = "/reviews",
    tag = "review",
    params(ListQuery),
    responses(
        (status = 200, description = "the reviews", body = Vec<ReviewBody>),
        (status = 400, description = "neither or both of storeId and orderId, or a malformed one (`malformed_query`)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn list(
    State(state): State<AppState>,
    _identity: Identity,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<ReviewBody>>, Problem> {
    if query.store_id.is_some() == query.order_id.is_some() {
        return Err(Problem::bad_request(
            "malformed_query",
            "give either storeId or orderId",
        ));
    }
    let reviews = use_cases::list(&state.pool, query.store_id, query.order_id).await?;
    Ok(Json(reviews.into_iter().map(ReviewBody::from).collect()))
}

/// The customer reviews a delivered order of theirs, once.
#[utoipa::path(
    post,
    path = "/reviews",
    tag = "review",
    request_body = PostReview,
    responses(
        (status = 201, description = "posted", body = ReviewBody),
        (status = 403, description = "not a customer", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such order of the caller's (as far as this service has heard)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "the order is not delivered yet (`not_delivered`) or already reviewed (`already_reviewed`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "rating out of 1..5 (`invalid_rating`), empty or overlong text (`invalid_text`)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn post(
    State(state): State<AppState>,
    identity: Identity,
    ApiJson(request): ApiJson<PostReview>,
) -> Result<(StatusCode, Json<ReviewBody>), Problem> {
    identity.require(&[Role::Customer])?;
    let rating = Rating::parse(request.rating).map_err(ReviewError::from)?;
    let text = Text::parse(&request.text).map_err(ReviewError::from)?;
    let review = use_cases::post(
        &state.pool,
        &identity.user_id,
        request.order_id,
        rating,
        text,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(review.into())))
}

/// Its author changes a review's rating and text, within the edit window
/// (`REVIEW_EDIT_WINDOW_MS` after posting). With `If-Match`, only if the review is still at
/// that version.
#[utoipa::path(
    put,
    path = "/reviews/{reviewId}",
    tag = "review",
    params(
        ("reviewId" = Uuid, Path),
        ("If-Match" = Option<String>, Header, description = "the version the caller last read (`version`), quoted or not"),
    ),
    request_body = EditReview,
    responses(
        (status = 200, description = "edited", body = ReviewBody),
        (status = 403, description = "not a customer, or not the review's author", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such review", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "the edit window has closed (`edit_window_closed`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, description = "the review is no longer at the version in If-Match (`stale_version`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "rating out of 1..5 (`invalid_rating`), empty or overlong text (`invalid_text`)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn edit(
    State(state): State<AppState>,
    identity: Identity,
    headers: HeaderMap,
    ApiPath(review_id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<EditReview>,
) -> Result<Json<ReviewBody>, Problem> {
    identity.require(&[Role::Customer])?;
    let rating = Rating::parse(request.rating).map_err(ReviewError::from)?;
    let text = Text::parse(&request.text).map_err(ReviewError::from)?;
    // A value that names no version matches none.
    let expected = service_runtime::http::if_match_version(&headers).map(|v| v.unwrap_or(-1));
    let review = use_cases::edit(
        &state.pool,
        &identity.user_id,
        review_id,
        expected,
        (rating, text),
        state.edit_window,
    )
    .await?;
    Ok(Json(review.into()))
}

/// The owner of the review's store replies (a new reply replaces the earlier one).
#[utoipa::path(
    put,
    path = "/reviews/{reviewId}/reply",
    tag = "review",
    params(("reviewId" = Uuid, Path)),
    request_body = Reply,
    responses(
        (status = 200, description = "replied", body = ReviewBody),
        (status = 403, description = "not an owner, or not the owner of the review's store", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such review", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "empty or overlong text (`invalid_text`)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn reply(
    State(state): State<AppState>,
    identity: Identity,
    ApiPath(review_id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<Reply>,
) -> Result<Json<ReviewBody>, Problem> {
    identity.require(&[Role::Owner])?;
    let text = Text::parse(&request.text).map_err(ReviewError::from)?;
    let review = use_cases::reply(&state.pool, &identity.user_id, review_id, text).await?;
    Ok(Json(review.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// JSON has one number type: `4.0` is the whole number 4 (schema-valid, so accepted), and a
    /// fraction is a malformed body, not a rating.
    #[test]
    fn a_rating_is_any_whole_json_number() {
        let post = |rating: &str| {
            serde_json::from_str::<PostReview>(&format!(
                r#"{{"orderId":"253c1c43-418f-1118-92ae-86ad8d40632c","rating":{rating},"text":"ok"}}"#
            ))
            .map(|r| r.rating)
        };
        assert_eq!(post("4").unwrap(), 4);
        assert_eq!(post("4.0").unwrap(), 4);
        assert!(post("4.5").is_err());
        let edit = serde_json::from_str::<EditReview>(r#"{"rating":3.0,"text":"ok"}"#).unwrap();
        assert_eq!(edit.rating, 3);
    }
}
