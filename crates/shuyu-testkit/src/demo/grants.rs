//! The demo city's grant: the demo merchant (示范数据科技有限公司) may use the social insurance
//! contributions and the clinic visits, all their fields at their catalog defaults, for the
//! public-interest scenario 区域就医与参保情况统计分析, run by the demo operator. Seeded through
//! `App::seed_grant` as the system, the one way a grant is made until development agreements are.

use shuyu_app::{
    App, AppError, ClampBounds, Ctx, FieldRequest, NewGrant, ResourceRequest, Scenario,
    ScenarioCategory, Term,
};
use shuyu_catalog::{FieldType, Resource};
use shuyu_core::OrgId;
use shuyu_profile::UsageMethod;

/// The scenario of the demo grant.
pub const DEMO_SCENARIO: &str = "区域就医与参保情况统计分析";

/// The workspace tables of the demo grant's two resources.
pub const DEMO_TABLES: [&str; 2] = ["social_insurance", "clinic_visits"];

/// Clamping bounds of the demo grant's money fields (yuan), for differentially private sums:
/// a contribution base up to 30 000 a month, contributions and fees up to 3 000.
fn money_bounds(field: &str) -> ClampBounds {
    ClampBounds {
        lower: 0,
        upper: if field.contains("base") {
            30_000
        } else {
            3_000
        },
    }
}

/// Days the demo grant runs from the seeding day (within every shipped profile's longest term).
const DEMO_TERM_DAYS: i64 = 180;

/// Seeds the demo grant over `approved[1]` (social insurance) and `approved[2]` (clinic visits).
pub(super) async fn seed(
    app: &App,
    ctx: &Ctx,
    approved: &[Resource],
    merchant: OrgId,
    operator: OrgId,
) -> Result<(), AppError> {
    let mut resources = Vec::new();
    for (resource, table) in approved
        .iter()
        .skip(1)
        .take(2)
        .zip(DEMO_TABLES.iter().copied())
    {
        let version = resource
            .current()
            .ok_or_else(|| AppError::Internal("a demo resource has no approved version".into()))?;
        resources.push(ResourceRequest {
            resource: resource.id(),
            version: version.id(),
            table: table.into(),
            fields: version
                .content()
                .fields()
                .iter()
                .map(|f| FieldRequest {
                    bounds: (f.field_type() == FieldType::Decimal)
                        .then(|| money_bounds(f.name().as_str())),
                    ..FieldRequest::default_handling(f.name().as_str())
                })
                .collect(),
        });
    }
    // Differential privacy wherever the profile allows it for every granted field's grade, else
    // plain aggregates: the profile decides, not the demo.
    let sandbox = app.profile().sandbox();
    let grades: Vec<String> = approved
        .iter()
        .skip(1)
        .take(2)
        .filter_map(Resource::current)
        .flat_map(|v| v.content().fields().iter().map(|f| f.grade().to_owned()))
        .collect();
    let usage = [UsageMethod::DpAggregate, UsageMethod::Aggregate]
        .into_iter()
        .find(|m| grades.iter().all(|g| sandbox.allows(g, *m)))
        .unwrap_or(UsageMethod::DpAggregate);
    let now = app.now();
    app.seed_grant(
        ctx,
        NewGrant {
            merchant,
            operator,
            scenario: Scenario {
                name: DEMO_SCENARIO.into(),
                category: ScenarioCategory::PublicInterest,
            },
            resources,
            usage,
            term: Term {
                from: now,
                to: now.plus_seconds(DEMO_TERM_DAYS * 86_400),
            },
            min_group_size: None,
            budget: None,
        },
    )
    .await?;
    Ok(())
}

/// Rows of each development table the demo prepares.
pub const DEMO_DEV_ROWS: u32 = 500;

/// Prepares the demo workspace's development tables (simulated rows: every column has values to develop with; a desensitized sample nulls the money fields) as the demo analyst,
/// unless they exist already; returns the workspace id. Needs the datasets imported first.
pub async fn prepare_workspace(app: &App) -> Result<shuyu_core::WorkspaceId, AppError> {
    let system = Ctx::system(shuyu_core::RequestId::mint(app.now(), [0x60; 10]));
    let analyst = app.person_by_username(&system, "merchant").await?;
    let ctx = super::person_ctx(app, &analyst);
    let grants = app.grants(&ctx).await?;
    let grant = grants
        .iter()
        .find(|g| g.grant.scenario().name == DEMO_SCENARIO)
        .ok_or(AppError::NotFound { kind: "grant" })?;
    let workspace = grant.grant.workspace();
    let view = app.workspace(&ctx, workspace).await?;
    if view.tables.iter().all(|t| t.dev.is_some()) {
        return Ok(workspace);
    }
    app.prepare_dev(
        &ctx,
        workspace,
        shuyu_app::DevMode::Simulated,
        DEMO_DEV_ROWS,
    )
    .await?;
    Ok(workspace)
}
