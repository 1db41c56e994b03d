//! File writes that never leave a half-written file behind.

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;

/// Writes `contents` to `path` through a temporary file in the same directory and a rename,
/// so readers see either the old or the new file. `mode` sets Unix permissions (0o600 for
/// anything holding a secret) before the data is written.
pub fn write_atomic(path: &Path, contents: &[u8], mode: Option<u32>) -> anyhow::Result<()> {
    replace(path, contents, mode, true)
}

/// Writes a generated file that every run can make again (a terraform configuration):
/// nothing at all when `path` already holds exactly `contents` (returns `false`); otherwise
/// a temporary file and a rename as [`write_atomic`] does, so readers still see the old or
/// the new file, but without waiting for the disk (no `fsync`): after a crash the next run
/// writes it again. Returns whether the file was written.
pub fn write_generated(path: &Path, contents: &[u8], mode: Option<u32>) -> anyhow::Result<bool> {
    if std::fs::read(path).is_ok_and(|current| current == contents) {
        return Ok(false);
    }
    replace(path, contents, mode, false)?;
    Ok(true)
}

fn replace(path: &Path, contents: &[u8], mode: Option<u32>, sync: bool) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".opsctl-tmp-")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = mode.unwrap_or(0o644);
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.write_all(contents)
        .and_then(|()| {
            if sync {
                tmp.as_file().sync_all()
            } else {
                Ok(())
            }
        })
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

/// Path relative to `base` for messages, falling back to the path itself.
pub fn display_relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}
