//! What a user sees at a terminal and what a pipe receives: tables line up with colour on a
//! pseudo-terminal (util-linux `script`), piped data is pure, a closed pipe ends quietly.

mod support;

use std::process::{Command, Stdio};

use support::{require_tool, ExampleRepo};

/// Runs `opsctl --repo <repo> ARGS` with stdout and stderr on a pseudo-terminal, colour allowed;
/// returns what the terminal received, line endings as the program wrote them.
fn on_a_terminal(repo: &ExampleRepo, args: &str) -> String {
    let script = require_tool("script", "apt-get install bsdutils (util-linux)");
    let line = format!(
        "{} --repo {} {args}",
        env!("CARGO_BIN_EXE_opsctl"),
        repo.path().display()
    );
    let output = Command::new(script)
        .args(["-qec", &line, "/dev/null"])
        .env_remove("NO_COLOR")
        .env_remove("OPSCTL_OUTPUT")
        .env("TERM", "xterm-256color")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .replace("\r\n", "\n")
}

#[test]
fn tables_line_up_with_colour_on_a_terminal() {
    let repo = ExampleRepo::new();
    for args in ["show envs", "show cluster", "show env staging"] {
        let terminal = on_a_terminal(&repo, args);
        assert!(
            terminal.contains("\u{1b}[1m"),
            "{args}: no bold header on a terminal: {terminal:?}"
        );
        let plain = repo.opsctl().args(args.split(' ')).output().unwrap();
        let plain = String::from_utf8(plain.stdout).unwrap();
        let seen = console::strip_ansi_codes(&terminal).to_string();
        // Same column positions character for character: colour adds codes, never width.
        assert_eq!(seen, plain, "{args}");
        let header = seen.lines().next().unwrap();
        let second_column = header.find("NAMESPACE").or(header.find("REGION"));
        if let (Some(at), Some(row)) = (second_column, seen.lines().nth(1)) {
            assert_eq!(&row[at - 2..at], "  ", "{args}: {header:?} / {row:?}");
        }
    }
}

#[test]
fn a_single_rendered_job_on_stdout_is_the_api_json() {
    let repo = ExampleRepo::new();
    let output = repo
        .opsctl()
        .args(["render", "staging", "--job", "web-ghc"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let job: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("stdout is not one JSON document ({e}): {output:?}");
    });
    assert_eq!(job["Job"]["ID"], "web-ghc");
    assert_eq!(job["Job"]["Namespace"], "staging");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "# jobs/web-ghc.json.tmpl → staging/web-ghc\n"
    );
    // Several jobs: a stream of JSON documents, one per job.
    let output = repo.opsctl().args(["render", "staging"]).output().unwrap();
    let jobs: Vec<serde_json::Value> = serde_json::Deserializer::from_slice(&output.stdout)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(jobs.len() > 1 && jobs.iter().all(|j| j["Job"]["ID"].is_string()));
}

#[test]
fn a_closed_pipe_ends_quietly_with_141() {
    let repo = ExampleRepo::new();
    for args in [
        &["render", "staging"][..],
        &["show", "envs"],
        &["-o", "json", "show", "envs"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_opsctl"))
            .arg("--repo")
            .arg(repo.path())
            .args(args)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before opsctl writes (it loads the repository first).
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(141), "{args:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("error"), "{args:?}: {stderr}");
    }
}
