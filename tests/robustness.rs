//! Truncated and mutated versions of every example file end in problems or success, never a
//! panic; the binary never exits with a panic's code.

mod support;

use std::panic::AssertUnwindSafe;

use opsctl::render::Renderer;
use opsctl::repo::Repo;
use rand::{Rng, SeedableRng};
use support::ExampleRepo;

fn example_files() -> Vec<String> {
    let mut files = Vec::new();
    let root = support::project_root();
    for folder in ["clusters", "jobs", "revisions"] {
        collect(&root, &root.join(folder), &mut files);
    }
    files.sort();
    files
}

fn collect(root: &std::path::Path, dir: &std::path::Path, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            files.push(path.strip_prefix(root).unwrap().display().to_string());
        }
    }
}

/// Number of problems found, or the panic message.
fn check(repo: &ExampleRepo) -> Result<usize, String> {
    std::panic::catch_unwind(AssertUnwindSafe(|| match Repo::check(repo.path(), None) {
        Err(_) => 1,
        Ok((model, mut problems)) => {
            if let Some(model) = &model {
                Renderer::new(model).check_all(&mut problems);
            }
            problems.into_vec().len()
        }
    }))
    .map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

#[test]
fn truncated_files_never_panic_and_broken_syntax_is_reported() {
    let files = example_files();
    assert!(files.len() >= 15, "{files:?}");
    let mut cases = 0;
    for file in &files {
        let repo = ExampleRepo::new();
        let original = repo.read(file);
        let cuts: Vec<usize> = (1..24).map(|i| original.len() * i / 24).collect();
        for cut in cuts {
            let mut cut = cut;
            while !original.is_char_boundary(cut) {
                cut -= 1;
            }
            let truncated = &original[..cut];
            repo.write(file, truncated);
            let found = check(&repo)
                .unwrap_or_else(|panic| panic!("panic on {file} truncated at {cut}: {panic}"));
            // A strict prefix of a JSON document (or template of one) is never valid JSON;
            // TOML cut right after `=` or an opening quote is never valid TOML.
            let must_fail = file.ends_with(".json") && !original[cut..].trim().is_empty()
                || truncated.ends_with('=')
                || truncated.ends_with("= \"");
            if must_fail {
                assert!(found > 0, "{file} truncated at {cut} was accepted");
            }
            cases += 1;
        }
        repo.write(file, &original);
    }
    assert!(cases > 300);
}

#[test]
fn mutated_files_never_panic_and_a_nul_byte_is_always_reported() {
    let files = example_files();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x0b5c71);
    let junk = [
        "\"",
        "[",
        "]",
        "{",
        "}",
        "=",
        "\0",
        "\u{feff}",
        "[[",
        "]]",
        "[%",
        "%]",
        "{=",
        "=}",
        "{!",
        "!}",
        "\n\n[x",
        "-1",
        "99999999999999999999",
        "ä",
    ];
    let repo = ExampleRepo::new();
    let mut nul_cases = 0;
    for file in &files {
        let original = repo.read(file);
        for _ in 0..40 {
            let mut text = original.clone();
            let mut at = rng.gen_range(0..text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let mut must_fail = false;
            match rng.gen_range(0..3) {
                0 => {
                    let piece = junk[rng.gen_range(0..junk.len())];
                    // A NUL byte is valid nowhere in TOML or JSON, strings and comments included.
                    must_fail = piece == "\0";
                    text.insert_str(at, piece);
                }
                1 => {
                    let mut end = (at + rng.gen_range(1..20)).min(text.len());
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    text.replace_range(at..end, "");
                }
                _ => {
                    // Duplicate a line: in TOML a repeated key is always an error.
                    let lines: Vec<&str> = text.lines().collect();
                    let i = rng.gen_range(0..lines.len());
                    let mut out: Vec<&str> = lines.clone();
                    out.insert(i, lines[i]);
                    text = out.join("\n");
                }
            }
            repo.write(file, &text);
            match check(&repo) {
                Err(panic) => panic!("panic on mutated {file}: {panic}\n---\n{text}"),
                Ok(0) if must_fail => panic!("{file} with a NUL byte was accepted"),
                Ok(_) => {}
            }
            nul_cases += usize::from(must_fail);
        }
        repo.write(file, &original);
    }
    assert!(nul_cases > 10, "only {nul_cases} NUL insertions were tried");
}

#[test]
fn duplicated_toml_keys_are_reported() {
    let repo = ExampleRepo::new();
    let file = "clusters/plutus/cluster.toml";
    let text = repo
        .read(file)
        .replace("count = 3\n", "count = 3\ncount = 3\n");
    repo.write(file, &text);
    assert_eq!(check(&repo), Ok(1));
}

#[test]
fn the_binary_exits_2_not_101_on_garbage() {
    let repo = ExampleRepo::new();
    for (file, garbage) in [
        ("clusters/plutus/cluster.toml", "\u{0}\u{1}[[[["),
        ("clusters/plutus/envs/staging.toml", "variant = 12"),
        ("jobs/web-ghc.json.tmpl", "{! for !}"),
        ("revisions/staging/marlowe-cardano.json", "[]"),
    ] {
        let original = repo.read(file);
        repo.write(file, garbage);
        // `show` reads the model only; a broken template concerns validate and render.
        let commands: &[&[&str]] = if file.starts_with("jobs/") {
            &[&["validate"], &["render", "staging"]]
        } else {
            &[&["validate"], &["render", "staging"], &["show", "envs"]]
        };
        for &args in commands {
            let code = repo.opsctl().args(args).output().unwrap().status.code();
            assert_eq!(code, Some(2), "{args:?} with garbage in {file}");
        }
        repo.write(file, &original);
    }
    std::fs::write(repo.file("jobs/web-ghc.json.tmpl"), [0xff, 0xfe, 0x00]).unwrap();
    repo.opsctl().arg("validate").assert().code(2);
}
