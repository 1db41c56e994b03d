//! Shapes of names and identifiers that end up in hostnames, ARNs and API calls.

use std::sync::LazyLock;

use regex_lite::Regex;

static DNS_LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$").expect("valid regex"));
static REGION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z]{2}(-gov|-iso[a-z]?)?-(central|north|south|east|west|northeast|northwest|southeast|southwest)-[0-9]{1,2}$")
        .expect("valid regex")
});
static KMS_ARN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^arn:aws(-[a-z-]+)?:kms:([a-z0-9-]+):([0-9]{12}):(key/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|key/mrk-[0-9a-f]{32}|alias/[A-Za-z0-9/_-]+)$")
        .expect("valid regex")
});
static AMI: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$").expect("valid regex"));
static BUCKET: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$").expect("valid regex"));
static COMMIT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[0-9a-f]{40}$").expect("valid regex"));

/// Why `name` is not a DNS label (lowercase letters, digits and `-`, at most 63), if it isn't.
pub fn dns_label_error(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("must not be empty".into())
    } else if name.len() > 63 {
        Some(format!(
            "`{name}` is {} characters long; at most 63 fit a DNS label",
            name.len()
        ))
    } else if !DNS_LABEL.is_match(name) {
        Some(format!(
            "`{name}` is not a DNS label: use lowercase letters, digits and `-`, not at either end"
        ))
    } else {
        None
    }
}

/// A DNS name such as `plutus.example.org` (labels of up to 63, 253 in all).
pub fn is_domain(name: &str) -> bool {
    name.len() <= 253
        && name.contains('.')
        && name.split('.').all(|label| DNS_LABEL.is_match(label))
}

/// An AWS region name such as `eu-central-1` or `us-gov-west-1` (shape only, not a list).
pub fn is_region(name: &str) -> bool {
    REGION.is_match(name)
}

/// The region named in a KMS key or alias ARN, if the ARN is well-formed.
pub fn kms_arn_region(arn: &str) -> Option<&str> {
    KMS_ARN
        .captures(arn)
        .and_then(|c| c.get(2))
        .map(|m| m.as_str())
}

/// An AMI id: `ami-` and 8 or 17 lowercase hex digits.
pub fn is_ami(id: &str) -> bool {
    AMI.is_match(id)
}

/// An S3 bucket name: 3-63 of lowercase letters, digits, `.` and `-`, starting and ending with a
/// letter or digit, no `..`, not starting with `xn--`.
pub fn is_bucket_name(name: &str) -> bool {
    BUCKET.is_match(name) && !name.contains("..") && !name.starts_with("xn--")
}

/// A full Git commit id: 40 lowercase hex digits.
pub fn is_commit(rev: &str) -> bool {
    COMMIT.is_match(rev)
}

/// An IPv4 or IPv6 CIDR block.
pub fn parse_cidr(cidr: &str) -> Option<(std::net::IpAddr, u8)> {
    let (addr, len) = cidr.split_once('/')?;
    let addr: std::net::IpAddr = addr.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((addr, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert!(dns_label_error("plutus-staging").is_none());
        assert!(dns_label_error("Staging").is_some());
        assert!(dns_label_error("-x").is_some());
        assert!(dns_label_error(&"a".repeat(64)).is_some());
    }

    #[test]
    fn regions_and_arns() {
        assert!(is_region("eu-central-1"));
        assert!(is_region("us-gov-west-1"));
        assert!(!is_region("eu-centrall-1"));
        assert_eq!(
            kms_arn_region(
                "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
            ),
            Some("eu-central-1")
        );
        assert_eq!(kms_arn_region("arn:aws:kms:eu-central-1:123:key/x"), None);
    }

    #[test]
    fn cidrs() {
        assert!(parse_cidr("10.0.0.0/16").is_some());
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert!(parse_cidr("2001:db8::/32").is_some());
    }
}
