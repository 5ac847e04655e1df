//! The console in a real browser: headless Chromium, driven through WebDriver (`chromedriver`),
//! against the app served in-process on a loopback port with the demo city (console merged with
//! the API, as the binary does). A supervisor signs in with a TOTP code, sees their home, switches
//! to English (remembered on the next page), searches the audit trail and signs out; a merchant has
//! no audit link and is refused the audit page; a source department registers a resource through
//! the form (a problem named, nothing typed lost), the authority approves it, and the department
//! drafts a new version whose diff shows the change; a source department uploads a CSV through the
//! resource page's file input and watches the job page reload itself until the import succeeded; a
//! merchant analyst prepares development tables in the workspace, runs a development query (its
//! rows shown) and the same query in production (its released result and digest shown).
//!
//! Needs Debian's `chromium` and `chromium-driver`. Without them each test prints
//! `==> SKIPPED browser test: …` and passes, unless `SHUYU_REQUIRE_BROWSER=1` (set by `.ci/run`)
//! makes a missing browser a failure. Screenshots of the key pages go to
//! `$CARGO_TARGET_TMPDIR/screenshots/`; their paths are printed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write as _;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;
use shuyu_testkit::TestApp;
use shuyu_testkit::demo::DEMO_PASSWORD;
use thirtyfour::extensions::query::ElementPollerWithTimeout;
use thirtyfour::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest any one wait may take: generous, for a busy two-core machine.
const WAIT: Duration = Duration::from_secs(30);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(100);

/// One browser at a time: Chromium is heavy and the machine has two cores.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Where Debian's packages put the driver and the browser.
struct Installed {
    chromedriver: PathBuf,
    chromium: PathBuf,
}

/// The first of `names` found on `PATH`.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// The browser, or `None` after a loud skip line (a failure under `SHUYU_REQUIRE_BROWSER=1`).
fn installed_browser(test: &str) -> Option<Installed> {
    let chromedriver = on_path(&["chromedriver"]);
    let chromium = on_path(&["chromium", "chromium-browser"]);
    if let (Some(chromedriver), Some(chromium)) = (&chromedriver, &chromium) {
        return Some(Installed {
            chromedriver: chromedriver.clone(),
            chromium: chromium.clone(),
        });
    }
    let missing: Vec<&str> = [
        chromedriver.is_none().then_some("chromedriver"),
        chromium.is_none().then_some("chromium"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let missing = missing.join(" and ");
    if std::env::var("SHUYU_REQUIRE_BROWSER").as_deref() == Ok("1") {
        panic!(
            "SHUYU_REQUIRE_BROWSER=1 but the browser is missing: {missing} not found on PATH \
             (apt-get install chromium chromium-driver)"
        );
    }
    // Straight to stderr: libtest's capture would hide an eprintln! of a passing test.
    let _ = writeln!(
        std::io::stderr(),
        "==> SKIPPED browser test: {test}: {missing} not found on PATH \
         (apt-get install chromium chromium-driver; SHUYU_REQUIRE_BROWSER=1 makes this a failure)"
    );
    None
}

/// Our own folder under the target directory's scratch space.
fn scratch(folder: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(folder);
    std::fs::create_dir_all(&dir).expect("create scratch folder");
    dir
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A `chromedriver` child process, killed when dropped.
struct ChromeDriver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl ChromeDriver {
    /// Starts chromedriver on a free port and waits until it says it is ready (another process
    /// can take the port between our check and its bind; then it exits and we try another).
    async fn start(binary: &Path, log: PathBuf) -> ChromeDriver {
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let child = Command::new(binary)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
            let mut driver = ChromeDriver {
                child,
                port,
                log: log.clone(),
            };
            match driver.wait_until_ready().await {
                Ok(()) => return driver,
                Err(e) => last_error = e,
            }
        }
        panic!("chromedriver did not start: {last_error}")
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn wait_until_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "it exited ({status}); its log is {}",
                    self.log.display()
                ));
            }
            if status_says_ready(self.port).await {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "no ready answer on port {} within {WAIT:?}; its log is {}",
                    self.port,
                    self.log.display()
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether chromedriver's `GET /status` answers `"ready": true`. (It keeps the connection open
/// whatever the request asks, so read until the answer says so, the connection ends, or time is up.)
async fn status_says_ready(port: u16) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        let request =
            format!("GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut reply = Vec::new();
        let mut chunk = [0_u8; 1024];
        loop {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return Some(false);
            }
            reply.extend_from_slice(chunk.get(..n)?);
            let compact: String = String::from_utf8_lossy(&reply)
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            if compact.contains(r#""ready":true"#) {
                return Some(true);
            }
        }
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(5), attempt).await,
        Ok(Some(true))
    )
}

/// Runs `body` with a fresh headless Chromium (its own throw-away profile) and quits it afterwards,
/// also when `body` fails or panics (then with a screenshot of the page as it was); then stops
/// chromedriver.
async fn in_browser<F, Fut>(installed: &Installed, test: &str, body: F)
where
    F: FnOnce(WebDriver) -> Fut,
    Fut: Future<Output = WebDriverResult<()>>,
{
    let profile = tempfile::Builder::new()
        .prefix("shuyu-e2e-chromium-")
        .tempdir()
        .expect("a temporary Chromium profile");
    let log = scratch("e2e-logs").join(format!("{test}-chromedriver.log"));
    let chromedriver = ChromeDriver::start(&installed.chromedriver, log).await;

    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(&installed.chromium.to_string_lossy())
        .unwrap();
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
        "--window-size=1280,960",
    ] {
        caps.add_arg(arg).unwrap();
    }
    caps.add_arg(&format!("--user-data-dir={}", profile.path().display()))
        .unwrap();

    let driver = WebDriver::builder(chromedriver.url(), caps)
        .poller(Arc::new(ElementPollerWithTimeout::new(WAIT, POLL)))
        .request_timeout(Duration::from_secs(120))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "Chromium did not start through chromedriver: {e}\nchromedriver log: {}",
                chromedriver.log.display()
            )
        });
    // Like `WebDriver::run_and_quit`, plus a screenshot of the page where the body failed.
    let failure_shot = scratch("screenshots").join(format!("{test}-FAILED.png"));
    let _ = std::fs::remove_file(&failure_shot);
    let outcome = AssertUnwindSafe(body(driver.clone())).catch_unwind().await;
    if !matches!(outcome, Ok(Ok(())))
        && let Ok(Ok(())) = tokio::time::timeout(WAIT, driver.screenshot(&failure_shot)).await
    {
        let _ = writeln!(
            std::io::stderr(),
            "screenshot of the failure: {}",
            failure_shot.display()
        );
    }
    let quit = driver.quit().await;
    match outcome {
        Err(panic) => std::panic::resume_unwind(panic),
        Ok(Err(e)) => panic!(
            "browser test {test}: {e}\nchromedriver log: {}",
            chromedriver.log.display()
        ),
        Ok(Ok(())) => quit.expect("Chromium quits"),
    }
    drop(chromedriver);
}

/// The app with the demo city, console merged with the API as the binary does, on a loopback port.
async fn serve(t: &TestApp) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let router = shuyu_console::router(t.state.clone()).merge(shuyu_api::router(t.state.clone()));
    TestApp::serve(router).await
}

/// Screenshots of one test, numbered in the order taken.
struct Screenshots {
    test: &'static str,
    taken: std::sync::atomic::AtomicUsize,
}

impl Screenshots {
    fn new(test: &'static str) -> Self {
        Self {
            test,
            taken: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Saves the visible page as `<test>-<n>-<what>.png` and prints the path.
    async fn take(&self, driver: &WebDriver, what: &str) -> WebDriverResult<()> {
        let n = self.taken.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let path = scratch("screenshots").join(format!("{}-{n:02}-{what}.png", self.test));
        driver.screenshot(&path).await?;
        let _ = writeln!(std::io::stderr(), "screenshot: {}", path.display());
        Ok(())
    }
}

/// Waits until the browser is at `path` (the path alone, any query), and says where it is instead
/// and what the page shows if it never gets there.
async fn wait_for_path(driver: &WebDriver, path: &str) -> WebDriverResult<()> {
    let deadline = Instant::now() + WAIT;
    loop {
        let url = driver.current_url().await?;
        if url.path() == path {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let shown = match driver.find(By::Css("main")).await {
                Ok(main) => main.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            panic!("waited {WAIT:?} to be at {path}, still at {url}; the page shows:\n{shown}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Clicks `element`, which submits a form or follows a link, and waits until the next page has
/// replaced this one.
async fn click_and_wait_for_next_page(
    driver: &WebDriver,
    element: &WebElement,
) -> WebDriverResult<()> {
    let old_page = driver.find(By::Css("html")).await?;
    element.click().await?;
    old_page.wait_until().wait(WAIT, POLL).stale().await?;
    driver.query(By::Css("main")).first().await?;
    Ok(())
}

/// The text of the page's first `h1`, once there is one.
async fn heading(driver: &WebDriver) -> WebDriverResult<String> {
    driver.query(By::Css("main h1")).first().await?.text().await
}

/// The `lang` of the page's `<html>`.
async fn page_lang(driver: &WebDriver) -> WebDriverResult<Option<String>> {
    driver
        .query(By::Css("html"))
        .first()
        .await?
        .attr("lang")
        .await
}

/// Fills in the sign-in form on `/login` and submits it.
async fn sign_in(driver: &WebDriver, username: &str, code: Option<&str>) -> WebDriverResult<()> {
    let form = driver
        .query(By::Css("form[action='/login']"))
        .desc("the sign-in form")
        .single()
        .await?;
    form.find(By::Css("input[name='username']"))
        .await?
        .send_keys(username)
        .await?;
    form.find(By::Css("input[name='password']"))
        .await?
        .send_keys(DEMO_PASSWORD)
        .await?;
    if let Some(code) = code {
        form.find(By::Css("input[name='code']"))
            .await?
            .send_keys(code)
            .await?;
    }
    let submit = form.find(By::Css("button[type='submit']")).await?;
    click_and_wait_for_next_page(driver, &submit).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisor_signs_in_with_totp_switches_language_searches_audit_and_signs_out() {
    let test = "supervisor";
    let Some(installed) = installed_browser(test) else {
        return;
    };
    let _one_browser = ONE_BROWSER.lock().await;
    let t = TestApp::sqlite().await;
    let (addr, server) = serve(&t).await;
    let base = format!("http://{addr}");
    let supervisor = t.logins.get("supervisor").clone();
    let code = t.code("supervisor");
    let shots = Screenshots::new(test);

    in_browser(&installed, test, |driver| async move {
        // The sign-in page, in Chinese by default.
        driver.goto(format!("{base}/login")).await?;
        assert_eq!(page_lang(&driver).await?.as_deref(), Some("zh-CN"));
        assert_eq!(heading(&driver).await?, "登录");
        shots.take(&driver, "login-zh").await?;

        // Password and the 6-digit code: home, with the supervisor's name and role.
        sign_in(&driver, "supervisor", Some(&code)).await?;
        wait_for_path(&driver, "/").await?;
        assert_eq!(
            heading(&driver).await?,
            format!("{}，您好", supervisor.display_name)
        );
        let badge = driver.query(By::Css("main .badge")).first().await?;
        assert_eq!(badge.text().await?, "监管人员");
        let who = driver.query(By::Css("header .who-name")).first().await?;
        assert_eq!(who.text().await?, supervisor.display_name);
        driver
            .query(By::Css("nav.mainnav a[href='/audit']"))
            .desc("the audit link in the navigation")
            .single()
            .await?;
        shots.take(&driver, "home-zh").await?;

        // Switch to English from the header.
        let switch = driver
            .query(By::Css("header form.lang-switch button"))
            .single()
            .await?;
        assert_eq!(switch.text().await?, "English");
        click_and_wait_for_next_page(&driver, &switch).await?;
        wait_for_path(&driver, "/").await?;
        assert_eq!(page_lang(&driver).await?.as_deref(), Some("en"));
        assert_eq!(
            heading(&driver).await?,
            format!("Hello, {}", supervisor.display_name)
        );
        let badge = driver.query(By::Css("main .badge")).first().await?;
        assert_eq!(badge.text().await?, "Supervisor / auditor");
        shots.take(&driver, "home-en").await?;

        // Remembered on the next page load.
        driver.goto(format!("{base}/profile")).await?;
        wait_for_path(&driver, "/profile").await?;
        assert_eq!(page_lang(&driver).await?.as_deref(), Some("en"));
        assert_eq!(heading(&driver).await?, "Regulation profile");
        let nav = driver.query(By::Css("nav.mainnav")).single().await?;
        let nav_text = nav.text().await?;
        assert!(
            nav_text.contains("Home") && nav_text.contains("Audit"),
            "{nav_text}"
        );
        shots.take(&driver, "profile-en").await?;

        // The audit page from the navigation; search by the action prefix auth.*.
        let audit_link = driver
            .query(By::Css("nav.mainnav a[href='/audit']"))
            .single()
            .await?;
        click_and_wait_for_next_page(&driver, &audit_link).await?;
        wait_for_path(&driver, "/audit").await?;
        assert_eq!(heading(&driver).await?, "Audit search");
        let filters = driver.query(By::Css("form.filters")).single().await?;
        filters
            .find(By::Css("input[name='action']"))
            .await?
            .send_keys("auth.*")
            .await?;
        let search = filters.find(By::Css("button[type='submit']")).await?;
        assert_eq!(search.text().await?, "Search");
        click_and_wait_for_next_page(&driver, &search).await?;
        wait_for_path(&driver, "/audit").await?;
        let url = driver.current_url().await?;
        assert!(
            url.query_pairs()
                .any(|(k, v)| k == "action" && v == "auth.*"),
            "the search is in the address: {url}"
        );
        let actions = driver
            .query(By::Css("table.audit tbody tr td:nth-child(5) code"))
            .desc("the action column of the results")
            .all_from_selector_required()
            .await?;
        let mut listed = Vec::new();
        for action in &actions {
            listed.push(action.text().await?);
        }
        assert!(
            listed.iter().any(|a| a == "auth.login"),
            "the sign-in is listed: {listed:?}"
        );
        assert!(
            listed.iter().all(|a| a.starts_with("auth.")),
            "only auth.* events: {listed:?}"
        );
        let kept = driver
            .find(By::Css("form.filters input[name='action']"))
            .await?
            .value()
            .await?;
        assert_eq!(
            kept.as_deref(),
            Some("auth.*"),
            "the filter stays in the form"
        );
        shots.take(&driver, "audit-auth").await?;

        // Sign out: back at the sign-in page (still in English), and home is closed again.
        let sign_out = driver
            .query(By::Css("header form[action='/logout'] button"))
            .single()
            .await?;
        assert_eq!(sign_out.text().await?, "Sign out");
        click_and_wait_for_next_page(&driver, &sign_out).await?;
        wait_for_path(&driver, "/login").await?;
        assert_eq!(heading(&driver).await?, "Sign in");
        shots.take(&driver, "signed-out").await?;
        driver.goto(format!("{base}/")).await?;
        wait_for_path(&driver, "/login").await?;
        driver
            .query(By::Css("form[action='/login']"))
            .desc("the sign-in form after going home signed out")
            .single()
            .await?;
        Ok(())
    })
    .await;
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merchant_has_no_audit_link_and_is_refused_the_audit_page() {
    let test = "merchant";
    let Some(installed) = installed_browser(test) else {
        return;
    };
    let _one_browser = ONE_BROWSER.lock().await;
    let t = TestApp::sqlite().await;
    let (addr, server) = serve(&t).await;
    let base = format!("http://{addr}");
    let merchant = t.logins.get("merchant").clone();
    let shots = Screenshots::new(test);

    in_browser(&installed, test, |driver| async move {
        // No second factor for a merchant.
        driver.goto(format!("{base}/login")).await?;
        sign_in(&driver, "merchant", None).await?;
        wait_for_path(&driver, "/").await?;
        assert_eq!(
            heading(&driver).await?,
            format!("{}，您好", merchant.display_name)
        );
        let badge = driver.query(By::Css("main .badge")).first().await?;
        assert_eq!(badge.text().await?, "数据商分析人员");
        let audit_links = driver.find_all(By::Css("a[href='/audit']")).await?;
        assert!(audit_links.is_empty(), "no audit link for a merchant");
        let nav_text = driver
            .query(By::Css("nav.mainnav"))
            .single()
            .await?
            .text()
            .await?;
        assert!(!nav_text.contains("审计"), "{nav_text}");
        shots.take(&driver, "home-zh").await?;

        // Typing the address anyway: the 403 page, naming the refused action.
        driver.goto(format!("{base}/audit")).await?;
        wait_for_path(&driver, "/audit").await?;
        assert_eq!(heading(&driver).await?, "无权办理");
        let card = driver
            .query(By::Css("main .error-card"))
            .single()
            .await?
            .text()
            .await?;
        assert!(card.contains("audit.search"), "{card}");
        let status = driver
            .execute(
                "return fetch('/audit', { credentials: 'same-origin' }).then(r => r.status);",
                Vec::new(),
            )
            .await?
            .convert::<u16>()?;
        assert_eq!(status, 403, "the browser is answered 403 Forbidden");
        shots.take(&driver, "audit-403").await?;
        Ok(())
    })
    .await;
    server.abort();
}

/// The value of the form control named `name` (its `value` property: what the person typed).
async fn value_of(driver: &WebDriver, name: &str) -> WebDriverResult<String> {
    let control = driver
        .query(By::Css(format!("[name='{name}']")))
        .first()
        .await?;
    Ok(control.prop("value").await?.unwrap_or_default())
}

/// Types `text` into the control named `name`, replacing what was there.
async fn type_into(driver: &WebDriver, name: &str, text: &str) -> WebDriverResult<()> {
    let control = driver
        .query(By::Css(format!("[name='{name}']")))
        .first()
        .await?;
    control.clear().await?;
    control.send_keys(text).await
}

/// Chooses the option with `value` in the select named `name`.
async fn choose(driver: &WebDriver, name: &str, value: &str) -> WebDriverResult<()> {
    let select = driver
        .query(By::Css(format!("select[name='{name}']")))
        .first()
        .await?;
    thirtyfour::components::SelectElement::new(&select)
        .await?
        .select_by_value(value)
        .await
}

/// Fills in one data item row of the resource form.
async fn fill_row(
    driver: &WebDriver,
    row: usize,
    (name, field_type, description, grade): (&str, &str, &str, &str),
) -> WebDriverResult<()> {
    type_into(driver, &format!("fields[{row}].name"), name).await?;
    choose(driver, &format!("fields[{row}].type"), field_type).await?;
    type_into(driver, &format!("fields[{row}].description"), description).await?;
    choose(driver, &format!("fields[{row}].grade"), grade).await
}

/// Signs out through the header's button and waits for the sign-in page.
async fn sign_out(driver: &WebDriver) -> WebDriverResult<()> {
    let button = driver
        .query(By::Css("form[action='/logout'] button"))
        .single()
        .await?;
    click_and_wait_for_next_page(driver, &button).await?;
    wait_for_path(driver, "/login").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_department_registers_and_edits_a_resource_through_the_forms() {
    let test = "resource-form";
    let Some(installed) = installed_browser(test) else {
        return;
    };
    let _one_browser = ONE_BROWSER.lock().await;
    let t = TestApp::sqlite().await;
    let (addr, server) = serve(&t).await;
    let base = format!("http://{addr}");
    let catalog = t.app.profile().catalog();
    let grades: Vec<String> = catalog
        .grades
        .value
        .iter()
        .map(|g| g.code.clone())
        .collect();
    let domain = catalog.domains.value[0].code.clone();
    let authority_code = t.code("authority");
    let shots = Screenshots::new(test);
    let name = "特种设备使用登记信息";

    in_browser(&installed, test, |driver| async move {
        driver.goto(format!("{base}/login")).await?;
        sign_in(&driver, "source", None).await?;
        wait_for_path(&driver, "/").await?;

        // The register button on the list leads to the form.
        driver.goto(format!("{base}/resources")).await?;
        let register = driver
            .query(By::Css("a[href='/resources/new']"))
            .single()
            .await?;
        click_and_wait_for_next_page(&driver, &register).await?;
        wait_for_path(&driver, "/resources/new").await?;
        assert_eq!(heading(&driver).await?, "登记数据资源");

        // A row with a description but no name: the problem is named and nothing typed is lost.
        type_into(&driver, "name", name).await?;
        type_into(
            &driver,
            "summary",
            "特种设备（电梯、锅炉等）的使用登记情况。",
        )
        .await?;
        choose(&driver, "domain", &domain).await?;
        type_into(&driver, "coverage.spatial", "全市").await?;
        type_into(&driver, "legal_basis", "《特种设备安全法》第三十三条").await?;
        choose(&driver, "grade", &grades[1]).await?;
        fill_row(
            &driver,
            0,
            ("device_code", "string", "设备代码", &grades[0]),
        )
        .await?;
        fill_row(
            &driver,
            1,
            ("", "string", "使用单位统一社会信用代码", &grades[0]),
        )
        .await?;
        choose(&driver, "fields[1].format", "credit_code").await?;
        driver
            .query(By::Css("input[name='fields[1].flags.privacy_unit']"))
            .single()
            .await?
            .click()
            .await?;
        shots.take(&driver, "form-zh").await?;
        let save = driver
            .query(By::Css(".form-buttons.save button[value='save']"))
            .single()
            .await?;
        click_and_wait_for_next_page(&driver, &save).await?;
        let problems = driver
            .query(By::Css("main .notice.error"))
            .single()
            .await?
            .text()
            .await?;
        assert!(problems.contains("数据项第 2 行的名称"), "{problems}");
        assert_eq!(value_of(&driver, "name").await?, name);
        assert_eq!(
            value_of(&driver, "fields[1].description").await?,
            "使用单位统一社会信用代码"
        );
        assert_eq!(value_of(&driver, "fields[1].format").await?, "credit_code");
        let unit = driver
            .query(By::Css("input[name='fields[1].flags.privacy_unit']"))
            .single()
            .await?;
        assert!(unit.is_selected().await?, "the ticked flag stays ticked");
        shots.take(&driver, "form-problems").await?;

        // Corrected, with a third row: registered as a draft. Enter in a text input saves.
        fill_row(
            &driver,
            2,
            ("registered_on", "date", "登记日期", &grades[0]),
        )
        .await?;
        type_into(&driver, "fields[1].name", "user_credit_code").await?;
        let old_page = driver.find(By::Css("html")).await?;
        driver
            .query(By::Css("input[name='fields[1].name']"))
            .single()
            .await?
            .send_keys(Key::Enter)
            .await?;
        old_page.wait_until().wait(WAIT, POLL).stale().await?;
        driver.query(By::Css("main")).first().await?;
        assert!(heading(&driver).await?.contains(name));
        let notice = driver.query(By::Css("main .notice.ok")).single().await?;
        assert!(notice.text().await?.contains("资源已登记为草稿"));
        let resource_path = driver.current_url().await?.path().to_owned();
        let fields = driver
            .query(By::Css("table.fields"))
            .single()
            .await?
            .text()
            .await?;
        for field in ["device_code", "user_credit_code", "registered_on"] {
            assert!(fields.contains(field), "{fields}");
        }
        driver.goto(format!("{base}/resources")).await?;
        let list = driver.query(By::Css("main")).single().await?.text().await?;
        assert!(list.contains(name), "listed: {list}");

        // Submitted, then approved by the authority.
        driver.goto(format!("{base}{resource_path}")).await?;
        let submit = driver
            .query(By::Css("form[action$='/submit'] button"))
            .single()
            .await?;
        click_and_wait_for_next_page(&driver, &submit).await?;
        sign_out(&driver).await?;
        sign_in(&driver, "authority", Some(&authority_code)).await?;
        wait_for_path(&driver, "/").await?;
        driver.goto(format!("{base}{resource_path}")).await?;
        let approve = driver
            .query(By::Css("form[action$='/approve'] button"))
            .single()
            .await?;
        click_and_wait_for_next_page(&driver, &approve).await?;
        sign_out(&driver).await?;

        // The department drafts a new version: one more field, one grade raised.
        sign_in(&driver, "source", None).await?;
        wait_for_path(&driver, "/").await?;
        driver.goto(format!("{base}{resource_path}")).await?;
        let edit = driver.query(By::Css("a[href$='/edit']")).single().await?;
        click_and_wait_for_next_page(&driver, &edit).await?;
        assert_eq!(value_of(&driver, "fields[2].name").await?, "registered_on");
        choose(&driver, "fields[0].grade", &grades[1]).await?;
        fill_row(
            &driver,
            3,
            ("inspected_on", "date", "最近一次定期检验日期", &grades[0]),
        )
        .await?;
        shots.take(&driver, "edit-zh").await?;
        let save = driver
            .query(By::Css(".form-buttons.save button[value='save']"))
            .single()
            .await?;
        click_and_wait_for_next_page(&driver, &save).await?;
        wait_for_path(&driver, &resource_path).await?;
        let diff = driver
            .query(By::Css("table.changes"))
            .single()
            .await?
            .text()
            .await?;
        assert!(diff.contains("新增数据项 inspected_on"), "{diff}");
        assert!(diff.contains("数据项 device_code 的"), "{diff}");
        shots.take(&driver, "diff").await?;
        Ok(())
    })
    .await;
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_department_uploads_a_csv_and_watches_its_import() {
    use shuyu_testkit::demo::data::{DemoDataset, resource_titled};
    let test = "upload";
    let Some(installed) = installed_browser(test) else {
        return;
    };
    let _one_browser = ONE_BROWSER.lock().await;
    let t = TestApp::sqlite().await;
    let (addr, server) = serve(&t).await;
    let base = format!("http://{addr}");
    let social = DemoDataset::SocialInsurance;
    let resource = resource_titled(&t.app, social.title()).await.unwrap();
    let username = social.provider_username();
    let code = t
        .logins
        .get(username)
        .totp
        .as_ref()
        .map(|_| t.code(username));
    let files = tempfile::tempdir().unwrap();
    let csv = files.path().join("社保缴费.csv");
    std::fs::write(&csv, social.csv(400, shuyu_synth::CsvEncoding::Gb18030)).unwrap();
    let shots = Screenshots::new(test);

    in_browser(&installed, test, |driver| async move {
        driver.goto(format!("{base}/login")).await?;
        sign_in(&driver, username, code.as_deref()).await?;
        wait_for_path(&driver, "/").await?;

        let page = format!("/resources/{resource}");
        driver.goto(format!("{base}{page}")).await?;
        let before = driver
            .find_all(By::Css("table.dataset-versions tbody tr"))
            .await?
            .len();
        let form = driver
            .query(By::Css(format!("form[action='{page}/datasets']")))
            .desc("the upload form")
            .single()
            .await?;
        let input = form.find(By::Css("input[type='file']")).await?;
        input.send_keys(csv.to_string_lossy()).await?;
        form.scroll_into_view().await?;
        shots.take(&driver, "resource-with-file").await?;
        let submit = form.find(By::Css("button[type='submit']")).await?;
        click_and_wait_for_next_page(&driver, &submit).await?;
        let url = driver.current_url().await?;
        assert!(url.path().starts_with("/imports/"), "{url}");
        assert_eq!(
            heading(&driver).await?.split_whitespace().next(),
            Some("导入任务")
        );

        // The page reloads itself every 2 s until the import has ended.
        let done = driver
            .query(By::Css(".import-job .notice.ok"))
            .desc("the success notice")
            .first()
            .await?;
        let text = done.text().await?;
        assert!(
            text.contains(&format!("已添加为数据集第 {} 版", before + 1)),
            "{text}"
        );
        shots.take(&driver, "job-succeeded").await?;

        let back = driver
            .query(By::Css(format!(
                ".import-job .notice.ok a[href='{page}#datasets']"
            )))
            .single()
            .await?;
        click_and_wait_for_next_page(&driver, &back).await?;
        wait_for_path(&driver, &page).await?;
        let after = driver
            .find_all(By::Css("table.dataset-versions tbody tr"))
            .await?
            .len();
        assert_eq!(after, before + 1, "the new dataset version is listed");
        let jobs = driver
            .find_all(By::Css(format!(
                "table.import-jobs a[href='{}']",
                url.path()
            )))
            .await?;
        assert_eq!(jobs.len(), 1, "the job is listed on the resource page");
        Ok(())
    })
    .await;
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merchant_prepares_development_tables_and_runs_queries_in_the_workspace() {
    let test = "workspace";
    let Some(installed) = installed_browser(test) else {
        return;
    };
    let _one_browser = ONE_BROWSER.lock().await;
    let t = TestApp::sqlite().await;
    shuyu_testkit::demo::data::seed_datasets(&t.app, 300, |_, _| {})
        .await
        .unwrap();
    let (addr, server) = serve(&t).await;
    let base = format!("http://{addr}");
    let grouped =
        "SELECT insurance_type, COUNT(*) AS n FROM social_insurance GROUP BY insurance_type";
    let shots = Screenshots::new(test);

    in_browser(&installed, test, |driver| async move {
        driver.goto(format!("{base}/login")).await?;
        sign_in(&driver, "merchant", None).await?;
        wait_for_path(&driver, "/").await?;

        // The menu entry, the list, the workspace.
        let entry = driver
            .query(By::Css("nav.mainnav a[href='/workspaces']"))
            .single()
            .await?;
        assert_eq!(entry.text().await?, "工作空间");
        click_and_wait_for_next_page(&driver, &entry).await?;
        wait_for_path(&driver, "/workspaces").await?;
        let open = driver
            .query(By::Css("table.workspaces td a"))
            .first()
            .await?;
        click_and_wait_for_next_page(&driver, &open).await?;
        let workspace = driver.current_url().await?.path().to_owned();
        assert!(workspace.starts_with("/workspaces/"), "{workspace}");
        let tables = driver
            .query(By::Css("section.tables"))
            .single()
            .await?
            .text()
            .await?;
        assert!(
            tables.contains("social_insurance") && tables.contains("clinic_visits"),
            "{tables}"
        );

        // Development tables: simulated rows, 40 per table.
        let form = driver
            .query(By::Css(format!("form[action='{workspace}/dev']")))
            .single()
            .await?;
        form.find(By::Css("input[name='mode'][value='simulated']"))
            .await?
            .click()
            .await?;
        let rows = form.find(By::Css("input[name='rows']")).await?;
        rows.clear().await?;
        rows.send_keys("40").await?;
        let submit = form.find(By::Css("button[type='submit']")).await?;
        click_and_wait_for_next_page(&driver, &submit).await?;
        wait_for_path(&driver, &workspace).await?;
        let done = driver
            .query(By::Css("main .notice.ok"))
            .first()
            .await?
            .text()
            .await?;
        assert!(done.contains("开发表已准备"), "{done}");
        let tables = driver
            .query(By::Css("section.tables"))
            .single()
            .await?
            .text()
            .await?;
        assert!(
            tables.contains("模拟数据") && tables.contains("40 行"),
            "{tables}"
        );

        // A development query: its rows are shown.
        type_into(&driver, "sql", grouped).await?;
        let editor = driver
            .query(By::Css("section.sql-editor form"))
            .single()
            .await?;
        editor
            .find(By::Css("input[name='env'][value='dev']"))
            .await?
            .click()
            .await?;
        editor.scroll_into_view().await?;
        shots.take(&driver, "editor-dev").await?;
        let run = editor.find(By::Css("button[type='submit']")).await?;
        click_and_wait_for_next_page(&driver, &run).await?;
        let url = driver.current_url().await?;
        assert!(
            url.path().starts_with(&format!("{workspace}/queries/")),
            "{url}"
        );
        let dev_rows = driver.find_all(By::Css("table.result tbody tr")).await?;
        assert!(!dev_rows.is_empty(), "development rows are shown");
        let verdict = driver
            .query(By::Css("section.production"))
            .single()
            .await?
            .text()
            .await?;
        assert!(verdict.contains("生产环境可接受"), "{verdict}");
        shots.take(&driver, "query-dev").await?;

        // "Run in production": the editor comes back with the query and production chosen.
        let again = driver
            .query(By::Css("a.button[href*='env=prod']"))
            .single()
            .await?;
        click_and_wait_for_next_page(&driver, &again).await?;
        wait_for_path(&driver, &workspace).await?;
        assert_eq!(value_of(&driver, "sql").await?, grouped);
        let prod = driver
            .query(By::Css("input[name='env'][value='prod']"))
            .single()
            .await?;
        assert_eq!(prod.prop("checked").await?.as_deref(), Some("true"));
        let run = driver
            .query(By::Css("section.sql-editor button[type='submit']"))
            .single()
            .await?;
        click_and_wait_for_next_page(&driver, &run).await?;
        let url = driver.current_url().await?;
        assert!(
            url.path().starts_with(&format!("{workspace}/queries/")),
            "{url}"
        );
        let heading = heading(&driver).await?;
        assert!(heading.contains("成功"), "{heading}");
        let result = driver
            .query(By::Css("section.result"))
            .single()
            .await?
            .text()
            .await?;
        assert!(
            result.contains("insurance_type") && result.contains("SM3"),
            "{result}"
        );
        let facts = driver
            .query(By::Css("section.query"))
            .single()
            .await?
            .text()
            .await?;
        assert!(facts.contains("生产"), "{facts}");
        shots.take(&driver, "query-prod").await?;
        Ok(())
    })
    .await;
    server.abort();
}
