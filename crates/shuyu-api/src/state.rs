//! What every handler can reach.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use shuyu_app::App;
use shuyu_audit::AuditVerifier;

/// Web settings of the deployment.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Mark cookies `Secure` (and use the `__Host-` prefix). Off only for plain-HTTP loopback demos.
    pub secure_cookies: bool,
    /// Largest accepted request body in bytes.
    pub body_limit: usize,
    /// Largest accepted dataset upload in bytes (`[storage] max_upload_mib`).
    pub upload_limit: u64,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            secure_cookies: true,
            body_limit: 64 * 1024,
            upload_limit: 256 * 1024 * 1024,
        }
    }
}

#[derive(Clone)]
pub struct ApiState {
    pub app: App,
    pub verifier: Arc<AuditVerifier>,
    pub web: Arc<WebSettings>,
    pub metrics: Option<PrometheusHandle>,
}
