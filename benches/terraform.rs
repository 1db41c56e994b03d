//! Rendering every workspace of a large synthetic cluster (5 core nodes, 30 ASGs across 6
//! regions) to Terraform JSON bytes, in-process. Target: under 20 ms.

use criterion::{criterion_group, criterion_main, Criterion};
use opsctl::terraform::aws::AwsProvider;
use opsctl::terraform::backend::Endpoints;
use opsctl::terraform::provider::render_workspace;
use opsctl::terraform::{Backend, Version, Workspace};

#[path = "../tests/support/large_cluster.rs"]
#[allow(dead_code)]
mod large_cluster;

fn render_all(c: &mut Criterion) {
    let cluster = large_cluster::large_cluster();
    let version = Version::new(1, 11, 4);
    let backend = Backend::new(&cluster, version, Endpoints::default());
    c.bench_function("render all workspaces of the large cluster", |b| {
        b.iter(|| {
            let mut bytes = 0;
            for workspace in Workspace::ALL {
                let document = futures::executor::block_on(render_workspace(
                    &AwsProvider,
                    &cluster,
                    &backend,
                    workspace,
                    Some(version),
                ))
                .expect("renders");
                bytes += document.to_bytes().len();
            }
            bytes
        })
    });
}

criterion_group!(benches, render_all);
criterion_main!(benches);
