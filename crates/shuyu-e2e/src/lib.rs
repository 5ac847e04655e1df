//! End-to-end browser tests of shuyu: `tests/browser.rs` drives the console in real, headless
//! Chromium through WebDriver (`chromedriver`), against the app served in-process on a loopback
//! port with the demo city. This library is empty; the crate exists for its tests.
//!
//! The tests need Debian's `chromium` and `chromium-driver` packages (`.ci/run` installs them).
//! Without them they print `==> SKIPPED browser test: …` and pass, unless `SHUYU_REQUIRE_BROWSER=1`
//! is set, which makes a missing browser a failure (CI sets it).
