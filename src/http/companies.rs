//! Companies: staff read them (the customer card, the console's Companies page), admins create
//! and change them. A company's domains let customers who prove an address there join it; its
//! SLA tier is the lowest priority its members' new tickets open with.

use actix_web::{HttpResponse, get, patch, post, web};
use garde::Validate;
use serde::Deserialize;
use switchboard_actors::companies::{CompanyPatch, NewCompany, normalise_domain};
use switchboard_actors::domain::{Company, CompanyId, Priority, User};
use switchboard_actors::store::StoreError;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::json::ApiJson;
use super::tickets::{Page, double_option};
use super::{Api, ApiError, Caller, NoParams};
use crate::error::{ErrorBody, ErrorCode};

pub fn routes(config: &mut ServiceConfig) {
    config
        .service(list_companies)
        .service(create_company)
        .service(get_company)
        .service(update_company)
        .service(company_members);
}

/// The most domains one company holds.
const MAX_DOMAINS: usize = 50;

/// The domains as stored: each a valid hostname (refused naming `domains[i]`), lower case, once.
fn domains(given: &[String]) -> Result<Vec<String>, ApiError> {
    if given.len() > MAX_DOMAINS {
        return Err(ApiError::invalid("domains", format!("at most {MAX_DOMAINS} domains")));
    }
    let mut kept: Vec<String> = Vec::with_capacity(given.len());
    for (index, domain) in given.iter().enumerate() {
        let domain = normalise_domain(domain)
            .map_err(|error| ApiError::invalid(format!("domains[{index}]"), error.to_string()))?;
        if !kept.contains(&domain) {
            kept.push(domain);
        }
    }
    Ok(kept)
}

/// A company's name, trimmed: not blank, and without `"` (the query language's `company:` quotes
/// names, and a quoted value cannot hold one, so such a company's tickets could not be listed).
fn company_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::invalid("name", "a company needs a name"));
    }
    if name.contains('"') {
        return Err(ApiError::invalid("name", "a company name cannot contain `\"` (queries quote names with it)"));
    }
    Ok(name.to_owned())
}

/// A store refusal as the API says it: a taken domain names it, a taken name is `company_exists`.
fn refusal(error: StoreError) -> ApiError {
    match error {
        StoreError::Conflict(reason) if reason.starts_with("domain_taken") || reason.contains("company_domains") => {
            let domain = reason.strip_prefix("domain_taken ").unwrap_or("a domain");
            ApiError::Conflict {
                code: ErrorCode::DomainTaken,
                message: format!("`{domain}` already belongs to another company"),
            }
        }
        StoreError::Conflict(_) => ApiError::Conflict {
            code: ErrorCode::CompanyExists,
            message: "a company with this name already exists".to_owned(),
        },
        StoreError::NotFound => ApiError::NotFound("company"),
        other => other.into(),
    }
}

/// Companies of the account, by name, with their domains and member counts (staff only).
#[utoipa::path(tag = "people", responses((status = 200, body = Page<Company>), (status = 403, body = ErrorBody)))]
#[get("/companies")]
async fn list_companies(
    state: Api,
    caller: Caller,
    _: web::Query<NoParams>,
) -> Result<web::Json<Page<Company>>, ApiError> {
    caller.require_staff()?;
    Ok(web::Json(Page { items: state.store.list_companies(caller.account()).await?, next: None }))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCompany {
    #[garde(length(min = 1, max = 200))]
    pub name: String,
    /// Whether its members may read every ticket of the company.
    #[garde(skip)]
    #[serde(default)]
    pub members_see_company_tickets: bool,
    /// Whether they may also write on each other's tickets (otherwise only on their own).
    #[garde(skip)]
    #[serde(default)]
    pub members_write_company_tickets: bool,
    /// Email domains (`acme.com`): customers who prove an address there join the company.
    #[garde(skip)]
    #[serde(default)]
    pub domains: Vec<String>,
    /// The lowest priority a member's new ticket opens with.
    #[garde(skip)]
    #[serde(default)]
    pub sla_tier: Option<Priority>,
}

/// Create a company (admin only). Customers with a password account at one of its domains, in
/// no company yet, join it.
#[utoipa::path(
    tag = "people",
    request_body = CreateCompany,
    responses(
        (status = 201, body = Company), (status = 403, body = ErrorBody),
        (status = 409, description = "company_exists, domain_taken", body = ErrorBody), (status = 422, body = ErrorBody)
    )
)]
#[post("/companies")]
async fn create_company(state: Api, caller: Caller, body: ApiJson<CreateCompany>) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let body = body.into_inner();
    body.validate()?;
    let company = state
        .store
        .create_company(NewCompany {
            account_id: caller.account(),
            name: company_name(&body.name)?,
            members_see_company_tickets: body.members_see_company_tickets,
            members_write_company_tickets: body.members_write_company_tickets && body.members_see_company_tickets,
            domains: domains(&body.domains)?,
            sla_tier: body.sla_tier,
        })
        .await
        .map_err(refusal)?;
    Ok(HttpResponse::Created().json(company))
}

/// One company (staff only).
#[utoipa::path(
    tag = "people",
    params(("id" = i64, Path)),
    responses((status = 200, body = Company), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[get("/companies/{id}")]
async fn get_company(
    state: Api,
    caller: Caller,
    id: web::Path<CompanyId>,
    _: web::Query<NoParams>,
) -> Result<web::Json<Company>, ApiError> {
    caller.require_staff()?;
    state.store.company(caller.account(), *id).await?.map(web::Json).ok_or(ApiError::NotFound("company"))
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCompany {
    #[garde(inner(length(min = 1, max = 200)))]
    pub name: Option<String>,
    #[garde(skip)]
    pub members_see_company_tickets: Option<bool>,
    /// Only with `members_see_company_tickets` (turned off with it).
    #[garde(skip)]
    pub members_write_company_tickets: Option<bool>,
    /// Replaces the domains; customers at a domain added join (see `POST /companies`).
    #[garde(skip)]
    pub domains: Option<Vec<String>>,
    /// `null` removes the tier.
    #[garde(skip)]
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Priority>)]
    pub sla_tier: Option<Option<Priority>>,
}

/// Change a company (admin only). The SLA tier applies to tickets opened afterwards.
#[utoipa::path(
    tag = "people",
    params(("id" = i64, Path)),
    request_body = UpdateCompany,
    responses(
        (status = 200, body = Company), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "company_exists, domain_taken", body = ErrorBody), (status = 422, body = ErrorBody)
    )
)]
#[patch("/companies/{id}")]
async fn update_company(
    state: Api,
    caller: Caller,
    id: web::Path<CompanyId>,
    body: ApiJson<UpdateCompany>,
) -> Result<web::Json<Company>, ApiError> {
    caller.require_admin()?;
    let body = body.into_inner();
    body.validate()?;
    let patch = CompanyPatch {
        name: body.name.as_deref().map(company_name).transpose()?,
        members_see_company_tickets: body.members_see_company_tickets,
        members_write_company_tickets: body.members_write_company_tickets,
        domains: body.domains.as_deref().map(domains).transpose()?,
        sla_tier: body.sla_tier,
    };
    let company = state.store.update_company(caller.account(), *id, patch).await.map_err(refusal)?;
    Ok(web::Json(company))
}

/// The company's active customers, by name (staff only).
#[utoipa::path(
    tag = "people",
    params(("id" = i64, Path)),
    responses((status = 200, body = Page<User>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[get("/companies/{id}/members")]
async fn company_members(
    state: Api,
    caller: Caller,
    id: web::Path<CompanyId>,
    _: web::Query<NoParams>,
) -> Result<web::Json<Page<User>>, ApiError> {
    caller.require_staff()?;
    let account = caller.account();
    state.store.company(account, *id).await?.ok_or(ApiError::NotFound("company"))?;
    Ok(web::Json(Page { items: state.store.company_members(account, *id).await?, next: None }))
}
