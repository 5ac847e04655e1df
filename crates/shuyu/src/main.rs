//! `shuyu`: the public data authorized operation platform (数域).
//!
//! This binary reads configuration, wires the store, the app, the API and the console together, and
//! runs one command. It is the only place that reads the wall clock and the OS's randomness.
#![allow(clippy::print_stdout, clippy::print_stderr)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod commands;
mod config;
mod runtime;
mod workspace;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Overrides;

#[derive(Debug, Parser)]
#[command(
    name = "shuyu",
    version,
    about = "数域 shuyu: public data authorized operation platform",
    propagate_version = true
)]
struct Cli {
    /// Configuration file (TOML). Default: <data-dir>/shuyu.toml if it exists.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory for the SQLite database, data files and keys.
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Address to serve on.
    #[arg(long, global = true, value_name = "ADDR")]
    listen: Option<String>,
    /// Log as JSON lines instead of text.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (API and console).
    Serve,
    /// Create (or reuse) a data dir with the demo city, print its logins, and serve it.
    Demo {
        /// Regulation profile to run.
        #[arg(long, default_value = shuyu_profile::Profile::DEFAULT)]
        profile: String,
        /// Rows imported into each of the four synthetic datasets (1000000 gives millions).
        #[arg(long, default_value_t = shuyu_testkit::demo::data::DEFAULT_DEMO_ROWS)]
        rows: u64,
        #[command(subcommand)]
        action: Option<DemoAction>,
    },
    /// Datasets: data hooked to approved resources.
    Data {
        #[command(subcommand)]
        action: DataAction,
    },
    /// Run a SQL query in a workspace of the secure domain, as one of the merchant's analysts.
    /// Development shows (desensitized or simulated) rows; production shows only what the grant's
    /// output control releases, and only for a query first run in development. Refusals print
    /// their reason and are recorded like every query.
    Query {
        /// The workspace's id.
        #[arg(long)]
        workspace: String,
        /// `dev` or `prod`.
        #[arg(long, default_value = "dev")]
        env: String,
        /// Username of the analyst (the merchant's cleared personnel); the host operator running
        /// this command vouches that the person asked for it (the event's source is `cli`).
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: String,
        /// Differentially private grants: the ε this query spends (default: a tenth of the grant's).
        #[arg(long)]
        epsilon: Option<f64>,
        /// Differentially private grants: `L`, the most groups one person or enterprise counts
        /// in (default and cap: the profile's `[sandbox] dp_contribution`); more means more noise.
        #[arg(long = "groups-per-unit", value_name = "L")]
        groups_per_unit: Option<u32>,
        /// Differentially private grants: `C`, the most rows one person or enterprise counts
        /// with per group (default and cap: the profile's `[sandbox] dp_contribution`).
        #[arg(long = "rows-per-unit", value_name = "C")]
        rows_per_unit: Option<u32>,
        /// Print the stored query as JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// The SQL; read from standard input when left out.
        sql: Option<String>,
    },
    /// Workspaces of the secure domain.
    Workspace {
        #[command(subcommand)]
        action: WorkspaceAction,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// The audit chain.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Accounts.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Organisations.
    Org {
        #[command(subcommand)]
        action: OrgAction,
    },
    /// Regulation profiles.
    Profile {
        #[command(subcommand)]
        action: ProfileAction,
    },
    /// Print the version.
    Version,
}

#[derive(Debug, Subcommand)]
enum DemoAction {
    /// Print the current TOTP code of a demo account.
    Code { username: String },
}

#[derive(Debug, Subcommand)]
enum WorkspaceAction {
    /// List every workspace (grant, scenario, usage, status).
    List,
    /// Show a workspace's tables and fields, as an analyst (`--as`) sees them.
    Show {
        #[arg(long)]
        workspace: String,
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: String,
    },
    /// Build (or rebuild) a workspace's development tables as an analyst of its merchant.
    Prepare {
        #[arg(long)]
        workspace: String,
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: String,
        /// `sample` (desensitized real rows) or `simulated` (rows drawn from the marginals).
        #[arg(long, default_value = "sample")]
        mode: String,
        /// Rows per table.
        #[arg(long, default_value_t = 1000)]
        rows: u32,
    },
    /// The privacy budget ledgers and the metering of a workspace.
    Ledger {
        #[arg(long)]
        workspace: String,
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: String,
    },
}

#[derive(Debug, Subcommand)]
enum DataAction {
    /// Import a CSV (UTF-8 or GB18030, detected) or Parquet file as the next dataset version of a
    /// resource. Imports are acts of the resource's source department (or the data service
    /// agency): `--as` names that person, who must exist, be active and cleared. The host
    /// operator running this command vouches that the person asked for it; the audit event
    /// records them with source `cli`. Needs the master key (`SHUYU_MASTER_KEY`).
    Import {
        /// The resource's id.
        #[arg(long)]
        resource: String,
        /// Username of the person importing.
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: String,
        /// The file (`.parquet` files are recognised by their content).
        file: PathBuf,
    },
    /// List a resource's dataset versions with their quality profiles.
    List {
        #[arg(long)]
        resource: String,
    },
    /// Re-wrap every data key under a new master key (no data file is rewritten), then restart
    /// the server with the new key.
    RotateKey {
        /// A file holding the new master key (32 hex digits or base64 of 16 bytes).
        #[arg(long, value_name = "FILE")]
        new_key_file: PathBuf,
    },
    /// Re-read every dataset file with the configured master key and check its digest.
    Verify,
    /// Delete dataset objects that no dataset version references (left by a crash during an
    /// import) and that are older than `storage.sweep_grace_minutes`; prints what it deletes.
    /// The server also sweeps when it starts.
    Sweep {
        /// Only print what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
enum AuditAction {
    /// Recompute the SM3 chain and check the SM2-signed checkpoints. Exit 0 if intact; otherwise 1,
    /// naming the first broken event.
    Verify,
    /// Export the trail (oldest first) as CSV or JSON Lines.
    Export {
        #[arg(long, default_value = "jsonl", value_parser = ["csv", "jsonl"])]
        format: String,
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// From this date or RFC 3339 time (inclusive).
        #[arg(long)]
        from: Option<String>,
        /// Until this date or time (exclusive).
        #[arg(long)]
        to: Option<String>,
        /// Only this action, or a prefix ending in `*`.
        #[arg(long)]
        action: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum UserAction {
    /// Add an account. The password is read from standard input (one line) or generated and printed.
    Add {
        /// Organisation id or unified social credit code.
        #[arg(long)]
        org: String,
        #[arg(long)]
        username: String,
        /// Display name.
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: String,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Record the person's real name as verified now (bootstrap of the first administrator).
        #[arg(long)]
        verified: bool,
    },
    /// Link an account to its identity in the unified identity system (single sign-on), or unlink.
    LinkSso {
        #[arg(long)]
        username: String,
        /// `<issuer>|<sub>`: the provider's issuer URL and the person's subject identifier there.
        #[arg(long, required_unless_present = "unlink", conflicts_with = "unlink")]
        subject: Option<String>,
        /// Remove the link instead.
        #[arg(long)]
        unlink: bool,
    },
}

#[derive(Debug, Subcommand)]
enum OrgAction {
    /// Register an organisation.
    Add {
        #[arg(long)]
        name: String,
        /// authority, approver, expert_panel, source_department, data_service_agency, operator,
        /// merchant, consumer or supervisor.
        #[arg(long = "type")]
        org_type: String,
        /// Unified social credit code.
        #[arg(long)]
        credit_code: String,
    },
    /// List organisations.
    List,
}

#[derive(Debug, Subcommand)]
enum ProfileAction {
    /// Print a profile's effective rules with their articles (default: the configured one).
    Show { name: Option<String> },
    /// Validate a profile file.
    Check { file: PathBuf },
    /// List the built-in profiles.
    List,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    runtime::init_logging(cli.log_json);
    let overrides = Overrides {
        data_dir: cli.data_dir.clone(),
        listen: cli.listen.clone(),
        profile: match &cli.command {
            Command::Demo { profile, .. } => Some(profile.clone()),
            _ => None,
        },
    };
    let tokio = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match tokio.block_on(commands::run(
        cli.command,
        cli.config.as_deref(),
        &overrides,
    )) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) use crate::{
    AuditAction as AuditCmd, DataAction as DataCmd, DemoAction as DemoCmd, OrgAction as OrgCmd,
    ProfileAction as ProfileCmd, UserAction as UserCmd, WorkspaceAction as WorkspaceCmd,
};
