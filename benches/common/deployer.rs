//! The library deployer the benchmarks and request-count tests drive the simulator with.

/// A library deployer for the simulator at `address`, silent, with a 60 s watch bound.
pub fn deployer(address: String, concurrency: usize) -> opsctl::deploy::Deployer {
    use opsctl::deploy::{DeployOptions, Deployer, Progress};
    use opsctl::nomad::{NomadClient, NomadConfig};
    let config =
        NomadConfig::resolve_with(None, |key| (key == "NOMAD_ADDR").then(|| address.clone()));
    let options = DeployOptions {
        concurrency,
        timeout: std::time::Duration::from_secs(60),
        ..DeployOptions::default()
    };
    Deployer::new(
        NomadClient::new(config).unwrap(),
        options,
        Progress::silent(),
    )
}
