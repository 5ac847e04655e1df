//! The subcommands.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::StreamExt;
use shuyu_api::{ApiState, WebSettings};
use shuyu_app::{App, AuditQuery, Ctx, ImportSource, NewOrg, NewPerson};
use shuyu_audit::AuditSigner;
use shuyu_core::{OrgId, RequestId, ResourceId};
use shuyu_profile::Profile;
use shuyu_store::VerifyOutcome;

use crate::config::{Config, MasterKeyText, Overrides};
use crate::runtime::{SystemClock, demo_master_key, load_profile, open_app, os_rng};
use crate::{AuditCmd, Command, DataCmd, DemoCmd, OrgCmd, ProfileCmd, UserCmd};

pub async fn run(
    command: Command,
    config_file: Option<&Path>,
    overrides: &Overrides,
) -> anyhow::Result<ExitCode> {
    let mut config = Config::load(config_file, overrides)?;
    match command {
        Command::Version => {
            println!("shuyu {}", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let (app, _) = open_app(&config).await?;
            println!(
                "database is at the newest schema ({})",
                redact(&config.database_url())
            );
            app.store().close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve => {
            if config.master_key.is_none() {
                tracing::warn!(
                    "no master key is configured (`master_key` or SHUYU_MASTER_KEY): the server runs, but dataset imports answer 503 until one is set"
                );
            }
            let (app, signer) = open_app(&config).await?;
            serve(app, signer, &config).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            action: Some(DemoCmd::Code { username }),
            ..
        } => {
            let (app, _) = open_app(&config).await?;
            let person = app.person_by_username(&system_ctx(&app), &username).await?;
            let Some(secret) = person.totp else {
                bail!("{username} has no second factor; sign in with the password alone")
            };
            let unix = u64::try_from(app.now().unix_micros() / 1_000_000).unwrap_or(0);
            println!("{}", secret.code_at(unix)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            action: None, rows, ..
        } => {
            // The demo serves plain HTTP on loopback, where Secure cookies are not sent back by every
            // browser; a real deployment keeps them (and puts TLS in front).
            config.security.secure_cookies = false;
            let generated = if config.master_key.is_none() {
                let path = config.demo_master_key_file();
                let (key, created) = demo_master_key(&path)?;
                config.master_key = Some(MasterKeyText(key));
                Some((path, created))
            } else {
                None
            };
            let (app, signer) = open_app(&config).await?;
            let logins = shuyu_testkit::demo::seed(&app).await?;
            if let Some((path, created)) = generated {
                println!(
                    "{} the demo's master key {} (0600). A real deployment sets SHUYU_MASTER_KEY instead: a key beside the data does not protect it.",
                    if created { "generated" } else { "using" },
                    path.display()
                );
            }
            seed_demo_data(&app, rows).await?;
            print_demo(&app, &config, &logins);
            serve(app, signer, &config).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Data { action } => data(&config, action).await,
        Command::Query {
            workspace,
            env,
            as_user,
            epsilon,
            groups_per_unit,
            rows_per_unit,
            json,
            sql,
        } => {
            let dp = crate::workspace::DpOptions {
                epsilon,
                groups_per_unit,
                rows_per_unit,
            };
            crate::workspace::query(&config, &workspace, &env, &as_user, dp, json, sql).await
        }
        Command::Workspace { action } => crate::workspace::workspace(&config, action).await,
        Command::Audit {
            action: AuditCmd::Verify,
        } => {
            let (app, signer) = open_app(&config).await?;
            let started = std::time::Instant::now();
            let outcome = app
                .verify_audit(&system_ctx(&app), signer.verifier())
                .await?;
            let seconds = started.elapsed().as_secs_f64();
            match outcome {
                VerifyOutcome::Intact(r) => {
                    println!(
                        "audit chain intact: {} events, {} signed checkpoints (last at event {}), {} events after it not yet signed; {:.1} MB verified in {:.2} s",
                        r.events,
                        r.checkpoints,
                        r.last_checkpoint_seq,
                        r.unsigned_tail,
                        r.bytes as f64 / 1e6,
                        seconds
                    );
                    Ok(ExitCode::SUCCESS)
                }
                VerifyOutcome::Broken(b) => {
                    println!("audit chain BROKEN at event {}: {b}", b.seq());
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Audit {
            action:
                AuditCmd::Export {
                    format,
                    out,
                    from,
                    to,
                    action,
                },
        } => {
            let (app, _) = open_app(&config).await?;
            let query = AuditQuery {
                from,
                to,
                action,
                ..AuditQuery::default()
            };
            let mut events = Box::pin(app.export_audit(&system_ctx(&app), &query, &format).await?);
            let mut sink: Box<dyn Write> = match &out {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("cannot create {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let mut count = 0u64;
            if format == "csv" {
                sink.write_all(&shuyu_api::audit_csv_header())?;
            }
            while let Some(event) = events.next().await {
                let event = shuyu_api::AuditEventOut::from(&event?);
                sink.write_all(&if format == "csv" {
                    shuyu_api::audit_csv_line(&event)
                } else {
                    shuyu_api::audit_jsonl_line(&event)
                })?;
                count += 1;
            }
            sink.flush()?;
            eprintln!("exported {count} events");
            Ok(ExitCode::SUCCESS)
        }
        Command::User {
            action:
                UserCmd::Add {
                    org,
                    username,
                    name,
                    role,
                    password_stdin,
                    verified,
                },
        } => {
            let (app, _) = open_app(&config).await?;
            let ctx = system_ctx(&app);
            let org_id = resolve_org(&app, &ctx, &org).await?;
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                (line.trim_end_matches(['\r', '\n']).to_owned(), false)
            } else {
                (generated_password(), true)
            };
            let with_totp = app
                .profile()
                .requires_second_factor(role.parse().map_err(|e| anyhow::anyhow!("--role: {e}"))?);
            let input = NewPerson {
                org: org_id,
                username,
                display_name: name,
                role,
                password: Some(password.clone()),
                with_totp,
                verified,
            };
            let (person, totp) = app.create_person(&ctx, input).await?;
            println!(
                "created {} ({}) with id {}",
                person.username, person.role, person.id
            );
            if generated {
                println!("password (shown once): {password}");
            }
            if let Some(secret) = totp {
                println!("TOTP secret (shown once): {}", secret.base32());
                println!(
                    "enrol it:  {}",
                    secret.otpauth_uri(person.username.as_str())?
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::User {
            action:
                UserCmd::LinkSso {
                    username,
                    subject,
                    unlink,
                },
        } => {
            let (app, _) = open_app(&config).await?;
            let ctx = system_ctx(&app);
            let person = app.person_by_username(&ctx, &username).await?;
            let subject = if unlink { None } else { subject };
            if let (Some(subject), Some(oidc)) = (&subject, &config.oidc)
                && !subject.starts_with(&format!("{}|", oidc.issuer))
            {
                bail!(
                    "--subject: this deployment's unified identity system is {0}; give the identity as {0}|<sub>",
                    oidc.issuer
                );
            }
            app.link_sso(&ctx, person.id, subject.as_deref()).await?;
            match subject {
                Some(_) => println!("linked {username} to the unified identity"),
                None => println!("removed the unified identity link of {username}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Org {
            action:
                OrgCmd::Add {
                    name,
                    org_type,
                    credit_code,
                },
        } => {
            let (app, _) = open_app(&config).await?;
            let org = app
                .create_org(
                    &system_ctx(&app),
                    NewOrg {
                        name,
                        org_type,
                        credit_code,
                    },
                )
                .await?;
            println!("created {} ({}) with id {}", org.name, org.org_type, org.id);
            Ok(ExitCode::SUCCESS)
        }
        Command::Org {
            action: OrgCmd::List,
        } => {
            let (app, _) = open_app(&config).await?;
            for org in app.orgs(&system_ctx(&app)).await? {
                println!(
                    "{}  {:<20} {}  {}",
                    org.id,
                    org.org_type.as_str(),
                    org.credit_code,
                    org.name
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Profile {
            action: ProfileCmd::List,
        } => {
            for name in Profile::BUILTIN {
                let p = Profile::builtin(name)?;
                println!("{name:<10} {}", p.regulation().name);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Profile {
            action: ProfileCmd::Check { file },
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let key = file
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("custom");
            Profile::from_toml(key, &text)?;
            println!("{} is a valid profile", file.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Profile {
            action: ProfileCmd::Show { name },
        } => {
            let profile = match name {
                Some(name) => Profile::builtin(&name)?,
                None => load_profile(&config)?,
            };
            print_profile(&profile);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn system_ctx(app: &App) -> Ctx {
    let random: [u8; 10] = rand::RngExt::random(&mut os_rng());
    Ctx::system(RequestId::mint(app.now(), random))
}

async fn resolve_org(app: &App, ctx: &Ctx, text: &str) -> anyhow::Result<OrgId> {
    if let Ok(id) = text.parse::<OrgId>() {
        return Ok(app.org(ctx, id).await?.id);
    }
    let code = text.trim().to_ascii_uppercase();
    app.orgs(ctx)
        .await?
        .into_iter()
        .find(|o| o.credit_code.as_str() == code)
        .map(|o| o.id)
        .with_context(|| {
            format!("no organisation has the id or credit code {text}; see `shuyu org list`")
        })
}

fn generated_password() -> String {
    let bytes: [u8; 12] = rand::RngExt::random(&mut os_rng());
    // Upper, lower, digit and symbol guaranteed, then 24 hex characters of entropy.
    format!(
        "Sy-7{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://…{}", &url[..scheme], &url[at..]),
        _ => url.to_owned(),
    }
}

fn print_profile(profile: &Profile) {
    let reg = profile.regulation();
    println!("{} ({})", reg.name, profile.key());
    println!(
        "{}",
        profile
            .validity_on(shuyu_app::Clock::now(&SystemClock).date())
            .describe(true)
    );
    println!();
    for rule in profile.rules() {
        println!("{} / {}", rule.label_zh, rule.label_en);
        println!("    {}", rule.value);
        println!("    [{}]  ({})", rule.article, rule.key);
    }
}

fn bar(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = if len > 0 {
        indicatif::ProgressBar::new(len)
    } else {
        indicatif::ProgressBar::new_spinner()
    };
    let template = if len > 0 {
        "{prefix} [{bar:30}] {bytes}/{total_bytes} {msg} ({eta})"
    } else {
        "{prefix} {spinner} {msg}"
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(what.to_owned());
    bar
}

/// Imports the four synthetic datasets as their source departments (skipping those done before).
async fn seed_demo_data(app: &App, rows: u64) -> anyhow::Result<()> {
    let spinner = bar(0, "demo data");
    let shown = spinner.clone();
    let done = shuyu_testkit::demo::data::seed_datasets(app, rows, move |title, n| {
        shown.set_message(format!("{title}: {n} rows"));
        shown.tick();
    })
    .await?;
    spinner.finish_and_clear();
    for view in &done {
        println!(
            "imported {} rows into resource {} (dataset version {})",
            view.rows, view.resource, view.number
        );
    }
    let workspace = shuyu_testkit::demo::prepare_workspace(app).await?;
    println!(
        "the demo merchant's workspace {workspace} has development tables ({} simulated rows each)",
        shuyu_testkit::demo::DEMO_DEV_ROWS
    );
    println!(
        "  try: shuyu query --workspace {workspace} --as merchant \"SELECT insurance_type, COUNT(*) AS n FROM social_insurance GROUP BY insurance_type\""
    );
    Ok(())
}

async fn data(config: &Config, action: DataCmd) -> anyhow::Result<ExitCode> {
    let (app, _) = open_app(config).await?;
    match action {
        DataCmd::Import {
            resource,
            as_user,
            file,
        } => {
            let resource: ResourceId = resource.parse()?;
            let random: [u8; 10] = rand::RngExt::random(&mut os_rng());
            let ctx = app
                .cli_ctx_as(RequestId::mint(app.now(), random), &as_user)
                .await?;
            let mut handle = std::fs::File::open(&file)
                .with_context(|| format!("cannot open {}", file.display()))?;
            let len = handle.metadata().map(|m| m.len()).unwrap_or(0);
            let mut magic = [0_u8; 4];
            let is_parquet =
                std::io::Read::read_exact(&mut handle, &mut magic).is_ok() && &magic == b"PAR1";
            std::io::Seek::rewind(&mut handle)?;
            let progress = bar(if is_parquet { 0 } else { len }, "import");
            let shown = progress.clone();
            let source = if is_parquet {
                ImportSource::ParquetFile(handle)
            } else {
                ImportSource::Csv(Box::new(std::io::BufReader::new(handle)))
            };
            let result = app
                .import_dataset(
                    &ctx,
                    resource,
                    source,
                    Box::new(move |p| {
                        if p.input_bytes > 0 {
                            shown.set_position(p.input_bytes);
                        }
                        shown.set_message(format!("{} rows", p.rows));
                        shown.tick();
                    }),
                )
                .await;
            progress.finish_and_clear();
            let view = result?;
            println!(
                "imported dataset version {} of resource {}: {} rows, {} input bytes{} (id {})",
                view.number,
                view.resource,
                view.rows,
                view.input_bytes,
                view.encoding
                    .as_deref()
                    .map(|e| format!(", {e}"))
                    .unwrap_or_default(),
                view.id
            );
            print_quality(&view);
        }
        DataCmd::List { resource } => {
            let resource: ResourceId = resource.parse()?;
            let all = app.datasets(&system_ctx(&app), resource).await?;
            if all.is_empty() {
                println!("no dataset version yet");
            }
            for view in &all {
                println!(
                    "version {} ({}): {} rows, resource version {}, imported {} — SM3 {}",
                    view.number,
                    view.id,
                    view.rows,
                    view.resource_number,
                    view.created_at,
                    view.sm3
                );
                print_quality(view);
            }
        }
        DataCmd::RotateKey { new_key_file } => {
            let text = std::fs::read_to_string(&new_key_file)
                .with_context(|| format!("cannot read {}", new_key_file.display()))?;
            let new = shuyu_app::KeyRing::from_config(Some(&text), None)
                .with_context(|| format!("{} holds no valid master key", new_key_file.display()))?;
            let rotation = app.rotate_master_key(&system_ctx(&app), new).await?;
            println!(
                "re-wrapped {} data keys from master key {} to {}; no data file was rewritten. Restart the server with the new key (SHUYU_MASTER_KEY).",
                rotation.rewrapped, rotation.from_key, rotation.to_key
            );
        }
        DataCmd::Sweep { dry_run } => {
            let sweep = app
                .sweep_datasets(&system_ctx(&app), config.sweep_grace_seconds(), dry_run)
                .await?;
            print_sweep(&sweep);
        }
        DataCmd::Verify => {
            let checked = app.verify_datasets(&system_ctx(&app)).await?;
            println!(
                "{} dataset files read with the configured master key; every digest matches",
                checked.len()
            );
        }
    }
    app.store().close().await;
    Ok(ExitCode::SUCCESS)
}

fn print_sweep(sweep: &shuyu_app::Sweep) {
    let verb = if sweep.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    for object in &sweep.objects {
        println!(
            "{verb} {} ({} bytes, last modified {})",
            object.path, object.bytes, object.last_modified
        );
    }
    println!(
        "{verb} {} unreferenced dataset objects ({} bytes) of {} datasets; kept {} younger than the grace period or in use{}",
        sweep.objects.len(),
        sweep.bytes,
        sweep.datasets().len(),
        sweep.kept_recent,
        if sweep.dry_run {
            "; nothing was deleted (dry run)"
        } else {
            ""
        }
    );
}

/// The start-up sweep of the server: deletes what a crashed import left behind. A failure is
/// logged, not fatal (the objects are garbage either way; imports report their own errors).
async fn sweep_at_start(app: App, grace_seconds: i64) {
    match app
        .sweep_datasets(&system_ctx(&app), grace_seconds, false)
        .await
    {
        Ok(sweep) if !sweep.objects.is_empty() => tracing::info!(
            objects = sweep.objects.len(),
            bytes = sweep.bytes,
            "swept unreferenced dataset objects"
        ),
        Ok(_) => {}
        Err(err) => tracing::warn!(error = %err, "could not sweep unreferenced dataset objects"),
    }
}

fn print_quality(view: &shuyu_app::DatasetView) {
    for q in &view.quality {
        let p = &q.profile;
        println!(
            "  {:<24} null {:>6.2}%  distinct {:>10}{}{}",
            q.field,
            p.null_rate * 100.0,
            p.distinct,
            if p.distinct_is_estimate { "~" } else { " " },
            p.validity_rate
                .map(|v| format!("  valid {:>6.2}%", v * 100.0))
                .unwrap_or_default()
        );
    }
}

fn print_demo(app: &App, config: &Config, logins: &shuyu_testkit::demo::DemoLogins) {
    let addr = &config.listen;
    println!();
    println!(
        "数域 shuyu demo — profile: {} ({})",
        app.profile().regulation().name,
        app.profile().key()
    );
    println!("data dir: {}", config.data_dir.display());
    println!("console:  http://{addr}/    API docs: http://{addr}/api/docs");
    println!();
    println!(
        "Every demo account's password: {}",
        shuyu_testkit::demo::DEMO_PASSWORD
    );
    println!(
        "{:<12} {:<28} {:<34} TOTP secret (code: shuyu demo code USER)",
        "username", "role", "organisation"
    );
    for login in &logins.0 {
        let totp = login
            .totp
            .as_ref()
            .map_or_else(|| "-".to_owned(), |t| t.base32().to_owned());
        println!(
            "{:<12} {:<28} {:<34} {}",
            login.username,
            login.role.label(false),
            login.org_name,
            totp
        );
    }
    println!();
    println!("Accounts with a TOTP secret need the 6-digit code: in another terminal run");
    println!(
        "  shuyu --data-dir {} demo code authority",
        config.data_dir.display()
    );
    println!();
}

/// Single sign-on from `[oidc]`: the provider is discovered now (a failure is logged and retried
/// when someone starts a sign-on). Without `[oidc]`, a profile that requires the unified identity
/// system is named in a warning.
async fn with_sso(app: App, config: &Config) -> anyhow::Result<App> {
    let Some(oidc) = &config.oidc else {
        let rule = &app.profile().identity().unified_identity_sso;
        if rule.value {
            tracing::warn!(
                profile = app.profile().key(),
                article = %rule.article,
                "the profile requires sign-in through the unified identity system ({}), but [oidc] is not configured: single sign-on is off",
                rule.article
            );
        }
        return Ok(app);
    };
    let extra_roots_pem = match &oidc.ca_file {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("cannot read `oidc.ca_file` {}", path.display()))?,
        ),
        None => None,
    };
    let provider = shuyu_oidc::OidcProvider::new(shuyu_oidc::OidcConfig {
        issuer: oidc.issuer.clone(),
        client_id: oidc.client_id.clone(),
        client_secret: oidc.client_secret.clone(),
        redirect_url: oidc.redirect_url.clone(),
        scopes: oidc.scope_list(),
        extra_roots_pem,
        timeout: Duration::from_secs(oidc.timeout_seconds),
    })
    .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    match provider.discover(app.now()).await {
        Ok(()) => tracing::info!(issuer = %oidc.issuer, "single sign-on: provider discovered"),
        Err(err) => tracing::error!(
            issuer = %oidc.issuer,
            error = %err,
            "single sign-on: cannot reach the provider now; it is tried again when someone signs on"
        ),
    }
    Ok(app.with_sso(shuyu_app::SsoSettings {
        provider: Arc::new(provider),
        second_factor_amr: oidc.second_factor_amr.clone(),
        label_zh: oidc.label_zh.clone(),
        label_en: oidc.label_en.clone(),
    }))
}

async fn serve(app: App, signer: AuditSigner, config: &Config) -> anyhow::Result<()> {
    let addr: SocketAddr = config.listen_addr()?;
    let app = with_sso(app, config).await?;
    let state = ApiState {
        app: app.clone(),
        verifier: Arc::new(signer.verifier()),
        web: Arc::new(WebSettings {
            secure_cookies: config.security.secure_cookies,
            body_limit: config.security.body_limit_kib * 1024,
            upload_limit: config.storage.max_upload_mib * 1024 * 1024,
        }),
        metrics: shuyu_api::install_metrics(),
    };
    let router = shuyu_console::router(state.clone()).merge(shuyu_api::router(state));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(
        storage = %config.object_storage()?.describe(),
        credentials = config.storage.s3_credentials.as_ref().map_or("none", |c| c.from),
        "dataset objects"
    );
    // In the background: an unreachable bucket must not hold up serving.
    tokio::spawn(sweep_at_start(app.clone(), config.sweep_grace_seconds()));
    tracing::info!(%addr, profile = app.profile().key(), "serving");

    let housekeeping = tokio::spawn(housekeeping(
        app.clone(),
        config.audit.checkpoint_interval_seconds,
        config.security.session_idle_minutes * 60,
    ));
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    housekeeping.abort();
    if let Some(seq) = app.store().checkpoint_now(app.now()).await? {
        tracing::info!(seq, "signed a final audit checkpoint");
    }
    app.store().close().await;
    Ok(())
}

/// Signs a checkpoint when events arrived since the last one, and purges dead sessions.
async fn housekeeping(app: App, every_seconds: u64, idle_seconds: i64) {
    let mut tick = tokio::time::interval(Duration::from_secs(every_seconds.max(1)));
    loop {
        tick.tick().await;
        match app.store().checkpoint_now(app.now()).await {
            Ok(Some(seq)) => tracing::debug!(seq, "signed an audit checkpoint"),
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "could not sign an audit checkpoint"),
        }
        if let Err(err) = app.store().purge_sessions(app.now(), idle_seconds).await {
            tracing::warn!(error = %err, "could not purge sessions");
        }
        let _ = app
            .store()
            .purge_sso_logins(app.now().plus_seconds(-600))
            .await;
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
