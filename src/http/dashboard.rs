//! `GET /reports/live`: the live board (`reports::board`) the caller sees, once the reports'
//! projection has caught up with the log (at most `reports::FRESHNESS_WAIT`). Staff only.

use actix_web::{get, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::{Api, ApiError, Caller, NoParams};
use crate::error::ErrorBody;
use crate::presence::PresenceBoard;
use crate::reports::ReportProjection;
use crate::reports::board::{LiveBoard, live_board};

pub fn routes(config: &mut ServiceConfig) {
    config.service(live);
}

/// The queue now, per team the caller sees (open, unassigned, waiting for an agent, at SLA risk,
/// breached), the agents by presence, and today's volumes. Also pushed on the WebSocket topic
/// `dashboard`.
#[utoipa::path(
    tag = "reports",
    responses((status = 200, body = LiveBoard), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody))
)]
#[get("/reports/live")]
async fn live(
    state: Api,
    caller: Caller,
    presence: web::Data<PresenceBoard>,
    projection: web::Data<ReportProjection>,
    _: web::Query<NoParams>,
) -> Result<web::Json<LiveBoard>, ApiError> {
    caller.require_staff()?;
    projection.fresh().await?;
    Ok(web::Json(live_board(state.store.as_ref(), &presence, &caller.user, state.now()).await?))
}
