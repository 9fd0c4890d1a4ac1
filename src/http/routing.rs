//! A team's routing settings: `GET`/`PUT /teams/{id}/routing`. Admins and supervisors may read
//! them; only admins change them. A change wakes the account's router here at once (other
//! nodes' routers read settings again within seconds).

use actix_web::{get, put, web};
use switchboard_actors::domain::{Role, TeamId};
use switchboard_actors::routing::TeamRouting;
use switchboard_actors::store::StoreError;
use utoipa_actix_web::service_config::ServiceConfig;

use super::json::ApiJson;
use super::{Api, ApiError, Caller, NoParams};
use crate::audit::{Target, snapshot};
use crate::error::ErrorBody;
use crate::routing::Router;

pub(super) fn routes(config: &mut ServiceConfig) {
    config.service(get_routing).service(put_routing);
}

fn require_supervisor(caller: &Caller) -> Result<(), ApiError> {
    if matches!(caller.user.role, Role::Admin | Role::Supervisor) {
        Ok(())
    } else {
        Err(ApiError::forbidden("this needs a supervisor or admin"))
    }
}

/// The team's routing settings (admins and supervisors); a team never configured is manual.
#[utoipa::path(
    tag = "people",
    params(("id" = i64, Path)),
    responses((status = 200, body = TeamRouting), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[get("/teams/{id}/routing")]
async fn get_routing(
    state: Api,
    caller: Caller,
    id: web::Path<TeamId>,
    _params: web::Query<NoParams>,
) -> Result<web::Json<TeamRouting>, ApiError> {
    require_supervisor(&caller)?;
    state.store.team(caller.account(), *id).await?.ok_or(ApiError::NotFound("team"))?;
    let routing = state
        .store
        .team_routings(caller.account())
        .await?
        .into_iter()
        .find(|(team, _)| team == &*id)
        .map(|(_, routing)| routing)
        .unwrap_or_default();
    Ok(web::Json(routing))
}

/// Replace the team's routing settings (admin only). `mode` is required; the rest default
/// (capacity respected, nothing matched, offline tickets kept, a 300 s grace, no no-reply limit).
#[utoipa::path(
    tag = "people",
    params(("id" = i64, Path)),
    request_body = TeamRouting,
    responses(
        (status = 200, body = TeamRouting),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)
    )
)]
#[put("/teams/{id}/routing")]
async fn put_routing(
    state: Api,
    router: web::Data<Router>,
    caller: Caller,
    id: web::Path<TeamId>,
    body: ApiJson<TeamRouting>,
) -> Result<web::Json<TeamRouting>, ApiError> {
    caller.require_admin()?;
    let routing = body.into_inner().validated().map_err(|error| ApiError::invalid(error.field, error.message))?;
    let before = state.store.team_routings(caller.account()).await?.into_iter().find(|(team, _)| team == &*id);
    state.store.set_team_routing(caller.account(), *id, &routing).await.map_err(|error| match error {
        StoreError::NotFound => ApiError::NotFound("team"),
        other => other.into(),
    })?;
    router.wake(caller.account());
    let before = before.and_then(|(_, routing)| snapshot(&routing));
    state.audit(&caller, "routing.updated", Target::new("team", *id), before, snapshot(&routing)).await;
    Ok(web::Json(routing))
}
