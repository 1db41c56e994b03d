//! AWS SDK configuration shared by every AWS-facing module.
//!
//! The SDK's own defaults resolve credentials and honour `AWS_ENDPOINT_URL` and the
//! per-service `AWS_ENDPOINT_URL_<SERVICE>` variables, so a local endpoint (moto, LocalStack)
//! needs no opsctl setting.

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// SDK configuration for `region`.
pub async fn config(region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .load()
        .await
}

/// True when an endpoint override is configured, for S3 in particular (asked of the SDK
/// configuration exactly as the S3 client asks it: `AWS_ENDPOINT_URL_S3`, profile files).
pub fn s3_endpoint_overridden(config: &SdkConfig) -> bool {
    let key = aws_types::service_config::ServiceConfigKey::builder()
        .service_id("S3")
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build();
    config.endpoint_url().is_some()
        || config
            .service_config()
            .zip(key.ok())
            .is_some_and(|(service, key)| service.load_config(key).is_some())
}

/// S3 client; path-style addressing when an endpoint override is set, since local
/// endpoints on an IP address cannot serve virtual-hosted bucket names.
pub fn s3(config: &SdkConfig) -> aws_sdk_s3::Client {
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(s3_endpoint_overridden(config))
        .build();
    aws_sdk_s3::Client::from_conf(s3_config)
}

/// An SDK error with its whole cause chain, so the service's own message (AccessDenied,
/// NoSuchBucket, ...) reaches the user rather than a generic "service error".
pub fn error_text<E: std::error::Error + ?Sized>(error: &E) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let next = inner.to_string();
        if !text.contains(&next) {
            text = format!("{text}: {next}");
        }
        source = inner.source();
    }
    if let Some(hint) = access_hint(&text) {
        text = format!("{text} ({hint})");
    }
    text
}

/// What to check when AWS refused the credentials rather than the request.
fn access_hint(text: &str) -> Option<&'static str> {
    const DENIED: [&str; 4] = [
        "AccessDenied",
        "UnauthorizedOperation",
        "is not authorized to perform",
        "AccessDeniedException",
    ];
    const REFUSED: [&str; 5] = [
        "AuthFailure",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "OptInRequired",
        "security token included in the request is invalid",
    ];
    if DENIED.iter().any(|d| text.contains(d)) {
        Some("no access: the credentials' IAM policy does not allow this call here")
    } else if REFUSED.iter().any(|r| text.contains(r)) {
        Some("no access: the credentials are not valid here; is the region enabled for the account, and are the credentials current?")
    } else {
        None
    }
}
