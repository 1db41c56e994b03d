//! A synthetic ops repository generated from the worked example, sized for benchmarks.

use std::path::Path;

/// Writes a repository with `envs` environments of one variant with `jobs` jobs each.
pub fn write_repo(root: &Path, envs: usize, jobs: usize) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cluster = std::fs::read_to_string(example.join("clusters/plutus/cluster.toml")).unwrap();
    // Keep the cluster's nodes and sources; replace its variants by one large variant.
    let head = &cluster[..cluster.find("[variants.marlowe]").unwrap()];
    let sources = &cluster[cluster.find("[sources.marlowe-cardano]").unwrap()..];
    let job_names: Vec<String> = (0..jobs).map(|j| format!("service-{j:02}")).collect();
    let quoted: Vec<String> = job_names.iter().map(|j| format!("\"{j}\"")).collect();
    let cluster = format!(
        "{head}[variants.big]\njobs = [{}]\nsources = [\"marlowe-cardano\"]\nport_block = {}\nvars = {{ run_instances = 2 }}\n\n{sources}",
        quoted.join(", "),
        jobs * 2
    );
    let dir = root.join("clusters/plutus/envs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(root.join("clusters/plutus/cluster.toml"), cluster).unwrap();

    let template = std::fs::read_to_string(example.join("jobs/marlowe-run.json.tmpl")).unwrap();
    std::fs::create_dir_all(root.join("jobs")).unwrap();
    for (j, name) in job_names.iter().enumerate() {
        let text = template
            .replace("\"marlowe-run\"", &format!("\"{name}\""))
            .replace("env.port(1)", &format!("env.port({})", 2 * j))
            .replace("env.port(2)", &format!("env.port({})", 2 * j + 1))
            .replace(
                "env.hostname('marlowe-run')",
                &format!("env.hostname('{name}')"),
            );
        std::fs::write(root.join(format!("jobs/{name}.json.tmpl")), text).unwrap();
    }

    let block = jobs * 2;
    for e in 0..envs {
        let name = format!("env-{e:03}");
        std::fs::write(
            dir.join(format!("{name}.toml")),
            format!(
                "variant = \"big\"\nport_base = {}\nbranches = {{ marlowe-cardano = \"{name}\" }}\n",
                1024 + e * block
            ),
        )
        .unwrap();
        let revisions = root.join("revisions").join(&name);
        std::fs::create_dir_all(&revisions).unwrap();
        std::fs::write(
            revisions.join("marlowe-cardano.json"),
            format!(
                "{{\"source\": \"marlowe-cardano\", \"repo\": \"https://github.com/input-output-hk/marlowe-cardano\", \"ref\": \"{name}\", \"rev\": \"{:040x}\", \"updated\": \"2026-11-01T00:00:00Z\"}}\n",
                e + 1
            ),
        )
        .unwrap();
    }
}
