//! Snapshots of every environment's rendered jobs: a template change shows up as a reviewed diff.

mod support;

use opsctl::render::Renderer;
use opsctl::repo::Repo;

#[test]
fn rendered_jobs_of_every_environment() {
    let repo = Repo::open(&support::project_root(), None).expect("worked example is valid");
    let renderer = Renderer::new(&repo);
    for env in repo.envs.values() {
        let jobs = renderer.render_env(env, &[]).expect("renders");
        for job in jobs {
            insta::assert_json_snapshot!(format!("{}__{}", env.name, job.name), job.job);
        }
    }
}
