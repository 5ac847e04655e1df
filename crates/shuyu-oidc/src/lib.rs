//! The network side of shuyu's OpenID Connect relying party, behind `shuyu_app::IdentityProvider`:
//! discovery (`<issuer>/.well-known/openid-configuration`) and the JWKS, the authorization URL
//! (code flow, PKCE S256, nonce), the code exchange (`client_secret_basic`) and the ID token checks
//! (signature by a JWKS key with an asymmetric algorithm, `iss`, `aud`, `exp`, `iat`, `nonce`, and
//! `at_hash` when present), all through the `openidconnect` crate.
//!
//! The binary creates an [`OidcProvider`] from its `[oidc]` section; tests point one at a real
//! provider on loopback. Time comes from the caller (`now`), never from the wall clock.
//!
//! Must never: follow redirects (SSRF), talk plain HTTP to anything but a loopback address, log a
//! code, a token, the client secret or a PKCE verifier, or accept an unsigned or HMAC-signed ID
//! token.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::url::Url;
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, JsonWebKeySet, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenResponse,
    reqwest,
};
use shuyu_app::{IdentityProvider, LoginSecrets, ProviderError, ProviderFuture, VerifiedIdentity};
use shuyu_core::Timestamp;

/// What the relying party needs to know (the binary's `[oidc]` section, validated).
#[derive(Clone)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Our callback, e.g. `https://shuyu.example/sso/callback`, registered at the provider.
    pub redirect_url: String,
    /// Scopes to ask for; `openid` is always asked.
    pub scopes: Vec<String>,
    /// Extra trusted root certificates (PEM), for a provider behind a private CA.
    pub extra_roots_pem: Option<Vec<u8>>,
    /// Timeout of each request to the provider.
    pub timeout: Duration,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("redirect_url", &self.redirect_url)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// A configuration the relying party cannot work with; the text names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    #[error("`{key}` {why}")]
    Invalid { key: &'static str, why: String },
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

/// The unified identity system over HTTP.
pub struct OidcProvider {
    config: OidcConfig,
    issuer: IssuerUrl,
    redirect: RedirectUrl,
    http: reqwest::Client,
    /// Provider metadata and keys; `None` until discovery succeeds.
    discovered: RwLock<Option<Arc<Discovered>>>,
    /// When discovery or a JWKS refresh was last tried, to try at most every [`RETRY_SECONDS`].
    last_fetch: Mutex<Option<Timestamp>>,
}

/// Discovery and JWKS fetches are not repeated more often than this.
const RETRY_SECONDS: i64 = 10;
/// Accepted clock difference between us and the provider for `iat`.
const SKEW_SECONDS: i64 = 300;
/// An ID token issued longer ago than this is refused (a login takes at most 10 minutes).
const MAX_TOKEN_AGE_SECONDS: i64 = 900;

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

struct Discovered {
    metadata: CoreProviderMetadata,
    client: Client,
}

/// The signature algorithms an ID token may use: asymmetric only, so a leaked client secret cannot
/// mint identities.
const ALLOWED_ALGS: &[CoreJwsSigningAlgorithm] = &[
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
];

impl OidcProvider {
    /// Checks the configuration and prepares the HTTP client; no request is made yet (see
    /// [`OidcProvider::discover`]).
    pub fn new(config: OidcConfig) -> Result<Self, OidcError> {
        check_url("oidc.issuer", &config.issuer)?;
        check_url("oidc.redirect_url", &config.redirect_url)?;
        if config.client_id.trim().is_empty() {
            return Err(invalid("oidc.client_id", "must not be empty"));
        }
        if config.client_secret.is_empty() {
            return Err(invalid(
                "oidc.client_secret",
                "must not be empty (set it in the file or in SHUYU_OIDC__CLIENT_SECRET)",
            ));
        }
        let issuer = IssuerUrl::new(config.issuer.clone())
            .map_err(|e| invalid("oidc.issuer", format!("is not a URL: {e}")))?;
        let redirect = RedirectUrl::new(config.redirect_url.clone())
            .map_err(|e| invalid("oidc.redirect_url", format!("is not a URL: {e}")))?;
        let mut http = reqwest::Client::builder()
            // Following redirects would let the provider's metadata send us anywhere (SSRF).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout);
        if let Some(pem) = &config.extra_roots_pem {
            let roots = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                invalid(
                    "oidc.ca_file",
                    format!("is not a PEM certificate bundle: {e}"),
                )
            })?;
            for root in roots {
                http = http.add_root_certificate(root);
            }
        }
        let http = http.build().map_err(|e| OidcError::Http(e.to_string()))?;
        Ok(Self {
            config,
            issuer,
            redirect,
            http,
            discovered: RwLock::new(None),
            last_fetch: Mutex::new(None),
        })
    }

    /// Fetches the provider's metadata and keys (at start, and again when they are missing).
    pub async fn discover(&self, now: Timestamp) -> Result<(), ProviderError> {
        self.note_fetch(now);
        self.fetch_metadata().await
    }

    async fn fetch_metadata(&self) -> Result<(), ProviderError> {
        let metadata = CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| ProviderError::Unavailable(format!("discovery failed: {}", chain(&e))))?;
        self.install(metadata)
    }

    /// Whether discovery has succeeded.
    pub fn is_ready(&self) -> bool {
        self.current().is_some()
    }

    fn install(&self, metadata: CoreProviderMetadata) -> Result<(), ProviderError> {
        for (what, url) in [
            (
                "authorization_endpoint",
                Some(metadata.authorization_endpoint().url()),
            ),
            ("token_endpoint", metadata.token_endpoint().map(|u| u.url())),
            ("jwks_uri", Some(metadata.jwks_uri().url())),
        ] {
            let Some(url) = url else {
                return Err(ProviderError::Unavailable(format!(
                    "the provider's metadata has no {what}"
                )));
            };
            if !secure_or_loopback(url) {
                return Err(ProviderError::Unavailable(format!(
                    "the provider's {what} is neither https nor on loopback"
                )));
            }
        }
        let client = CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(self.config.client_secret.clone())),
        )
        .set_redirect_uri(self.redirect.clone());
        let discovered = Arc::new(Discovered { metadata, client });
        *self
            .discovered
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(discovered);
        Ok(())
    }

    fn current(&self) -> Option<Arc<Discovered>> {
        self.discovered
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Records a fetch attempt; `false` if one was made less than [`RETRY_SECONDS`] ago.
    fn note_fetch(&self, now: Timestamp) -> bool {
        let mut last = self
            .last_fetch
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let due = last.is_none_or(|t| now.seconds_since(t).abs() >= RETRY_SECONDS);
        if due {
            *last = Some(now);
        }
        due
    }

    /// The discovered provider, discovering now if that has not happened (rate-limited).
    async fn ready(&self, now: Timestamp) -> Result<Arc<Discovered>, ProviderError> {
        if let Some(d) = self.current() {
            return Ok(d);
        }
        if !self.note_fetch(now) {
            return Err(ProviderError::Unavailable(
                "discovery failed recently; waiting before trying again".into(),
            ));
        }
        self.fetch_metadata().await?;
        self.current()
            .ok_or_else(|| ProviderError::Unavailable("discovery did not complete".into()))
    }

    /// Fetches the JWKS again (the provider rotated its keys); `false` if not due yet.
    async fn refresh_keys(&self, now: Timestamp) -> Result<bool, ProviderError> {
        let Some(current) = self.current() else {
            return Ok(false);
        };
        if !self.note_fetch(now) {
            return Ok(false);
        }
        let jwks = JsonWebKeySet::fetch_async(current.metadata.jwks_uri(), &self.http)
            .await
            .map_err(|e| ProviderError::Unavailable(format!("JWKS fetch failed: {}", chain(&e))))?;
        let metadata = current.metadata.clone().set_jwks(jwks);
        self.install(metadata)?;
        tracing::info!(issuer = %self.issuer.as_str(), "refreshed the identity provider's signing keys");
        Ok(true)
    }

    async fn redeem_code(
        &self,
        code: &str,
        secrets: LoginSecrets<'_>,
        now: Timestamp,
    ) -> Result<VerifiedIdentity, ProviderError> {
        let discovered = self.ready(now).await?;
        let request = discovered
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| ProviderError::Unavailable(format!("no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(secrets.pkce_verifier.to_owned()));
        let response = request
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => {
                    ProviderError::Rejected(format!("token endpoint answered {}", r.error()))
                }
                RequestTokenError::Request(e) => {
                    ProviderError::Unavailable(format!("token endpoint unreachable: {}", chain(&e)))
                }
                RequestTokenError::Parse(e, _) => {
                    ProviderError::Unavailable(format!("token endpoint answer unreadable: {e}"))
                }
                RequestTokenError::Other(e) => {
                    ProviderError::Unavailable(format!("token endpoint: {e}"))
                }
            })?;
        let Some(id_token) = response.id_token() else {
            return Err(ProviderError::InvalidToken(
                "the token response has no id_token".into(),
            ));
        };
        let nonce = Nonce::new(secrets.nonce.to_owned());
        match check_id_token(
            &discovered.client,
            id_token,
            &nonce,
            response.access_token(),
            now,
        ) {
            Err(Checked::UnknownKey) => {
                // An unknown `kid`: the provider may have rotated its keys. Fetch them once more.
                if !self.refresh_keys(now).await? {
                    return Err(ProviderError::InvalidToken(
                        "no key of the provider matches the ID token's signature".into(),
                    ));
                }
                let discovered = self.current().ok_or_else(|| {
                    ProviderError::Unavailable("the provider's keys are gone".into())
                })?;
                check_id_token(
                    &discovered.client,
                    id_token,
                    &nonce,
                    response.access_token(),
                    now,
                )
                .map_err(Checked::into_error)
            }
            other => other.map_err(Checked::into_error),
        }
    }
}

/// Why an ID token was refused: an unknown key (worth refreshing the JWKS for) or anything else.
enum Checked {
    UnknownKey,
    Refused(ProviderError),
}

impl Checked {
    fn into_error(self) -> ProviderError {
        match self {
            Checked::UnknownKey => ProviderError::InvalidToken(
                "no key of the provider matches the ID token's signature".into(),
            ),
            Checked::Refused(e) => e,
        }
    }
}

/// Validates the ID token (signature, `iss`, `aud`, `exp`, `iat`, `nonce`, `at_hash` if present)
/// at `now` and returns the identity in it.
fn check_id_token(
    client: &Client,
    id_token: &openidconnect::core::CoreIdToken,
    nonce: &Nonce,
    access_token: &openidconnect::AccessToken,
    now: Timestamp,
) -> Result<VerifiedIdentity, Checked> {
    let refused = |e: String| Checked::Refused(ProviderError::InvalidToken(e));
    let verifier = verifier(client, now);
    let claims = match id_token.claims(&verifier, nonce) {
        Ok(claims) => claims,
        Err(openidconnect::ClaimsVerificationError::SignatureVerification(
            openidconnect::SignatureVerificationError::NoMatchingKey,
        )) => return Err(Checked::UnknownKey),
        Err(e) => return Err(refused(e.to_string())),
    };
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token.signing_alg().map_err(|e| refused(e.to_string()))?;
        let key = id_token
            .signing_key(&verifier)
            .map_err(|e| refused(e.to_string()))?;
        let actual = AccessTokenHash::from_token(access_token, alg, key)
            .map_err(|e| refused(e.to_string()))?;
        if actual != *expected {
            return Err(refused("at_hash does not match the access token".into()));
        }
    }
    Ok(VerifiedIdentity {
        issuer: claims.issuer().as_str().to_owned(),
        subject: claims.subject().as_str().to_owned(),
        amr: claims
            .auth_method_refs()
            .map(|methods| methods.iter().map(|m| m.as_str().to_owned()).collect())
            .unwrap_or_default(),
    })
}

/// The ID token verifier at `now`: asymmetric algorithms only, `iat` within bounds.
fn verifier(client: &Client, now: Timestamp) -> openidconnect::core::CoreIdTokenVerifier<'_> {
    let at = now.to_datetime();
    client
        .id_token_verifier()
        .set_allowed_algs(ALLOWED_ALGS.to_vec())
        .set_time_fn(move || at)
        .set_issue_time_verifier_fn(move |iat| {
            let iat = Timestamp::from_datetime(iat);
            if iat.seconds_since(now) > SKEW_SECONDS {
                Err("the ID token was issued in the future".into())
            } else if now.seconds_since(iat) > MAX_TOKEN_AGE_SECONDS {
                Err("the ID token was issued too long ago".into())
            } else {
                Ok(())
            }
        })
}

impl IdentityProvider for OidcProvider {
    fn issuer(&self) -> &str {
        self.issuer.as_str()
    }

    fn authorization_url<'a>(
        &'a self,
        secrets: LoginSecrets<'a>,
        now: Timestamp,
    ) -> ProviderFuture<'a, String> {
        Box::pin(async move {
            let discovered = self.ready(now).await?;
            let state = secrets.state.to_owned();
            let nonce = secrets.nonce.to_owned();
            let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
                secrets.pkce_verifier.to_owned(),
            ));
            let mut request = discovered
                .client
                .authorize_url(
                    CoreAuthenticationFlow::AuthorizationCode,
                    move || CsrfToken::new(state),
                    move || Nonce::new(nonce),
                )
                .set_pkce_challenge(challenge);
            for scope in &self.config.scopes {
                if scope != "openid" {
                    request = request.add_scope(Scope::new(scope.clone()));
                }
            }
            let (url, _, _) = request.url();
            Ok(url.to_string())
        })
    }

    fn redeem<'a>(
        &'a self,
        code: &'a str,
        secrets: LoginSecrets<'a>,
        now: Timestamp,
    ) -> ProviderFuture<'a, VerifiedIdentity> {
        Box::pin(self.redeem_code(code, secrets, now))
    }
}

fn invalid(key: &'static str, why: impl Into<String>) -> OidcError {
    OidcError::Invalid {
        key,
        why: why.into(),
    }
}

/// Checks that `text` is an absolute URL that is https, or http on a loopback address.
pub fn check_url(key: &'static str, text: &str) -> Result<(), OidcError> {
    let url = Url::parse(text).map_err(|e| invalid(key, format!("is not a URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return Err(invalid(key, "must be an https:// URL"));
    }
    if !secure_or_loopback(&url) {
        return Err(invalid(
            key,
            "must be an https:// URL (plain http:// only on a loopback address such as 127.0.0.1)",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(key, "must not have a query or a fragment"));
    }
    Ok(())
}

fn secure_or_loopback(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => match url.host() {
            Some(openidconnect::url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(openidconnect::url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
            Some(openidconnect::url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
            None => false,
        },
        _ => false,
    }
}

/// An error with its sources, on one line.
fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        out.push_str(": ");
        out.push_str(&e.to_string());
        source = e.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(issuer: &str) -> OidcConfig {
        OidcConfig {
            issuer: issuer.into(),
            client_id: "shuyu".into(),
            client_secret: "secret".into(),
            redirect_url: "https://shuyu.example/sso/callback".into(),
            scopes: vec!["openid".into(), "profile".into()],
            extra_roots_pem: None,
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn plain_http_is_accepted_only_on_loopback() {
        assert!(OidcProvider::new(config("https://idp.example.gov.cn/realms/shuyu")).is_ok());
        assert!(OidcProvider::new(config("http://127.0.0.1:9000")).is_ok());
        assert!(OidcProvider::new(config("http://[::1]:9000")).is_ok());
        assert!(OidcProvider::new(config("http://localhost:9000")).is_ok());
        let err = OidcProvider::new(config("http://idp.example.gov.cn"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("`oidc.issuer`") && err.contains("https"),
            "{err}"
        );
        assert!(OidcProvider::new(config("http://10.0.0.5")).is_err());
        assert!(OidcProvider::new(config("ftp://idp.example")).is_err());
    }

    #[test]
    fn missing_ids_are_refused_with_the_key_named() {
        let mut c = config("https://idp.example");
        c.client_id = " ".into();
        let err = OidcProvider::new(c).err().unwrap().to_string();
        assert!(err.contains("`oidc.client_id`"), "{err}");
        let mut c = config("https://idp.example");
        c.client_secret = String::new();
        let err = OidcProvider::new(c).err().unwrap().to_string();
        assert!(err.contains("`oidc.client_secret`"), "{err}");
        let mut c = config("https://idp.example");
        c.redirect_url = "/sso/callback".into();
        let err = OidcProvider::new(c).err().unwrap().to_string();
        assert!(err.contains("`oidc.redirect_url`"), "{err}");
    }

    #[test]
    fn the_debug_form_shows_no_secret() {
        let text = format!("{:?}", config("https://idp.example"));
        assert!(!text.contains("\"secret\""), "{text}");
        assert!(text.contains("idp.example"));
    }
}
