//! The one retry policy for everything that talks to Nomad: which failures are worth another
//! attempt, and how long to wait before it.

use std::time::Duration;

use rand::Rng;

use super::NomadError;

/// Whether a failed request may succeed when tried again: a network failure (but not a TLS
/// verdict — an untrusted server certificate or a refused client certificate stays so) or a
/// 5xx answer. Denials, 4xx answers and undecodable answers are final.
pub fn is_transient(error: &NomadError) -> bool {
    match error {
        NomadError::Unreachable { message, .. } => !is_tls_refusal(message),
        NomadError::Status { status, .. } => *status >= 500,
        _ => false,
    }
}

/// Whether a connection error is a TLS verdict rather than a network failure.
fn is_tls_refusal(message: &str) -> bool {
    const TLS: [&str; 5] = [
        "invalid peer certificate",
        "UnknownIssuer",
        "certificate required",
        "CertificateRequired",
        "BadCertificate",
    ];
    TLS.iter().any(|t| message.contains(t))
}

/// Exponential backoff with jitter: half to all of 100 ms, 200 ms, 400 ms ... capped at 3 s.
pub fn backoff(attempt: u32) -> Duration {
    let cap = Duration::from_millis(100 * (1 << attempt.min(5))).min(Duration::from_secs(3));
    let millis = rand::thread_rng().gen_range(cap.as_millis() as u64 / 2..=cap.as_millis() as u64);
    Duration::from_millis(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_refusals_and_denials_are_final_network_and_5xx_are_not() {
        let unreachable = |message: &str| NomadError::Unreachable {
            address: "https://127.0.0.1:4646".into(),
            message: message.into(),
        };
        let status = |status| NomadError::Status {
            status,
            method: "POST".into(),
            path: "/v1/jobs".into(),
            body: String::new(),
        };
        assert!(is_transient(&unreachable("connection refused")));
        assert!(!is_transient(&unreachable(
            "invalid peer certificate: UnknownIssuer"
        )));
        assert!(is_transient(&status(503)));
        assert!(!is_transient(&status(400)));
        assert!(backoff(20) <= Duration::from_secs(3));
    }
}
