//! Load + validate + render a synthetic repository of 200 environments x 10 jobs.
//! Run: `cargo bench --bench repo`.

use criterion::{criterion_group, criterion_main, Criterion};
use opsctl::render::Renderer;
use opsctl::repo::Repo;

#[path = "common/synthetic.rs"]
mod synthetic;

fn load_validate_render(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    synthetic::write_repo(dir.path(), 200, 10);
    // Sanity: the synthetic repository is valid and renders 2,000 jobs.
    let repo = Repo::open(dir.path(), None).expect("synthetic repository is valid");
    let renderer = Renderer::new(&repo);
    let rendered: usize = repo
        .envs
        .values()
        .map(|env| renderer.render_env(env, &[]).expect("renders").len())
        .sum();
    assert_eq!(rendered, 2000);

    let mut group = c.benchmark_group("repo");
    group.sample_size(20);
    group.bench_function("load+validate+render 200 envs x 10 jobs", |b| {
        b.iter(|| {
            let repo = Repo::open(dir.path(), None).unwrap();
            let renderer = Renderer::new(&repo);
            let mut problems = opsctl::repo::Problems::default();
            renderer.check_all(&mut problems);
            assert!(problems.is_empty());
        })
    });
    group.finish();
}

criterion_group!(benches, load_validate_render);
criterion_main!(benches);
