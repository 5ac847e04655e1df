//! `shuyu query` and `shuyu workspace`: the secure domain from the command line, acting as a named
//! analyst (the host operator vouches for them; events carry the source `cli`).

use std::io::Read;
use std::process::ExitCode;

use anyhow::Context;
use shuyu_app::{App, AppError, Ctx, DevMode, Env, QueryRequest, QueryView, ResultTable};
use shuyu_core::{RequestId, WorkspaceId};

use crate::WorkspaceCmd;
use crate::config::Config;
use crate::runtime::{open_app, os_rng};

async fn as_person(app: &App, username: &str) -> anyhow::Result<Ctx> {
    let random: [u8; 10] = rand::RngExt::random(&mut os_rng());
    Ok(app
        .cli_ctx_as(RequestId::mint(app.now(), random), username)
        .await?)
}

fn workspace_id(text: &str) -> anyhow::Result<WorkspaceId> {
    text.parse()
        .with_context(|| format!("`{text}` is not a workspace id (see `shuyu workspace list`)"))
}

/// The differential privacy options of `shuyu query`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DpOptions {
    /// The ε the query spends.
    pub epsilon: Option<f64>,
    /// `L` (`--groups-per-unit`).
    pub groups_per_unit: Option<u32>,
    /// `C` (`--rows-per-unit`).
    pub rows_per_unit: Option<u32>,
}

/// Runs one query; prints its result (or refusal) and where it is stored.
pub async fn query(
    config: &Config,
    workspace: &str,
    env: &str,
    as_user: &str,
    dp: DpOptions,
    json: bool,
    sql: Option<String>,
) -> anyhow::Result<ExitCode> {
    let workspace = workspace_id(workspace)?;
    let env: Env = env.parse()?;
    let sql = match sql {
        Some(sql) => sql,
        None => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read the query from standard input")?;
            text
        }
    };
    let (app, _) = open_app(config).await?;
    let ctx = as_person(&app, as_user).await?;
    let request = QueryRequest {
        env,
        sql,
        epsilon: dp.epsilon,
        bounds: Default::default(),
        max_groups_per_unit: dp.groups_per_unit,
        max_rows_per_unit: dp.rows_per_unit,
    };
    match app.run_query(&ctx, workspace, request).await {
        Ok(view) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                print_query(&view);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(AppError::Query {
            query,
            refused,
            reason,
        }) => {
            println!(
                "{} (query {query}): {reason}",
                if refused { "refused" } else { "stopped" }
            );
            Ok(ExitCode::from(2))
        }
        Err(other) => Err(other.into()),
    }
}

fn print_query(view: &QueryView) {
    if let Some(result) = &view.result {
        print_table(result);
    }
    println!(
        "{} query {}: {} rows, result SM3 {}",
        view.env,
        view.id,
        view.result_rows,
        view.result_sm3.as_deref().unwrap_or("-")
    );
    if view.budget_spent.epsilon > 0.0 {
        println!(
            "spent ε {} δ {}",
            view.budget_spent.epsilon, view.budget_spent.delta
        );
    }
    if let Some(c) = view.contribution {
        println!(
            "contribution bounds: L = {} groups, C = {} rows per group and unit",
            c.groups_per_unit, c.rows_per_unit
        );
    }
    if let Some(repeat) = view.repeat_of {
        println!("a repeat of query {repeat}: its recorded answer, nothing spent");
    }
    if view.suppressed_groups > 0 {
        println!(
            "suppressed: {} groups below the minimum group size ({} rows)",
            view.suppressed_groups, view.suppressed_rows
        );
    }
    if let Some(production) = &view.production {
        match (&production.reason, &production.estimate) {
            (Some(reason), _) => println!("production would refuse it: {reason}"),
            (None, Some(estimate)) => {
                let errors: Vec<String> = estimate
                    .columns
                    .iter()
                    .map(|c| {
                        if c.per_rows {
                            format!("{} ±{:.1}/n (n rows in the group)", c.column, c.ci95)
                        } else {
                            format!("{} ±{:.1}", c.column, c.ci95)
                        }
                    })
                    .collect();
                let contribution = estimate
                    .contribution
                    .map(|c| {
                        format!(
                            "; each unit in at most {} groups, {} rows per group",
                            c.groups_per_unit, c.rows_per_unit
                        )
                    })
                    .unwrap_or_default();
                println!(
                    "production accepts it: costs ε {} δ {}; 95% noise {}{contribution}",
                    estimate.cost.epsilon,
                    estimate.cost.delta,
                    errors.join(", ")
                );
            }
            (None, None) => println!("production accepts it"),
        }
    }
    println!(
        "scanned {} rows, fetched {} bytes, {:.1} ms",
        view.metering.rows_scanned, view.metering.bytes_fetched, view.metering.elapsed_ms
    );
}

fn cell(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "NULL".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Prints a result as aligned text columns.
fn print_table(result: &ResultTable) {
    let rows: Vec<Vec<String>> = result
        .rows
        .iter()
        .map(|r| r.iter().map(cell).collect())
        .collect();
    let widths: Vec<usize> = result
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|v| v.chars().count())
                .chain(std::iter::once(c.name.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}", w = *w))
            .collect::<Vec<_>>()
            .join("  ")
    };
    println!(
        "{}",
        line(result.columns.iter().map(|c| c.name.as_str()).collect())
    );
    println!(
        "{}",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  ")
    );
    for row in &rows {
        println!("{}", line(row.iter().map(String::as_str).collect()));
    }
}

/// `shuyu workspace …`.
pub async fn workspace(config: &Config, action: WorkspaceCmd) -> anyhow::Result<ExitCode> {
    let (app, _) = open_app(config).await?;
    match action {
        WorkspaceCmd::List => {
            let random: [u8; 10] = rand::RngExt::random(&mut os_rng());
            let system = Ctx::system(RequestId::mint(app.now(), random));
            for view in app.workspaces(&system).await? {
                let g = &view.grant;
                println!(
                    "{}  {}  {}  {}  (grant {})",
                    g.workspace(),
                    view.status.as_str(),
                    g.usage().as_str(),
                    g.scenario().name,
                    g.id()
                );
            }
        }
        WorkspaceCmd::Show { workspace, as_user } => {
            let ctx = as_person(&app, &as_user).await?;
            let view = app.workspace(&ctx, workspace_id(&workspace)?).await?;
            println!(
                "{} — {} ({}, {})",
                view.id,
                view.grant.grant.scenario().name,
                view.grant.grant.usage().as_str(),
                view.grant.status.as_str()
            );
            for table in &view.tables {
                println!(
                    "\n{} ({}): {} rows in production; development: {}",
                    table.name,
                    table.resource_name,
                    table.rows.map_or("no data".into(), |r| r.to_string()),
                    table
                        .dev
                        .as_ref()
                        .map_or("not prepared".into(), |d| format!(
                            "{} rows, {}",
                            d.rows, d.mode
                        ))
                );
                for f in &table.fields {
                    println!(
                        "  {:<28} {:<9} {:<4} {}",
                        f.name,
                        f.field_type.as_str(),
                        f.grade,
                        f.column_control
                            .map_or("privacy unit (counted, not usable)".into(), |c| c
                                .as_str()
                                .to_owned())
                    );
                }
            }
        }
        WorkspaceCmd::Prepare {
            workspace,
            as_user,
            mode,
            rows,
        } => {
            let ctx = as_person(&app, &as_user).await?;
            let mode: DevMode = mode.parse()?;
            let view = app
                .prepare_dev(&ctx, workspace_id(&workspace)?, mode, rows)
                .await?;
            for table in &view.tables {
                if let Some(dev) = &table.dev {
                    println!("{}: {} rows ({})", table.name, dev.rows, dev.mode);
                }
            }
        }
        WorkspaceCmd::Ledger { workspace, as_user } => {
            let ctx = as_person(&app, &as_user).await?;
            let ledger = app
                .workspace_ledger(&ctx, workspace_id(&workspace)?)
                .await?;
            println!("{}", serde_json::to_string_pretty(&ledger)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
