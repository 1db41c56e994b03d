//! Confirmations: `--yes` answers them; without a terminal there is nobody to ask, so the
//! command refuses instead of hanging or guessing.

use std::io::{BufRead, IsTerminal, Write};

use crate::error::{Error, Result};

/// Asks `question` on the terminal. Returns `Ok(true)` with `yes`, an input error when stdin is
/// not a terminal, and the user's answer otherwise (anything but y/yes is a no).
pub fn confirm(question: &str, yes: bool) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::invalid(format!(
            "{question} — no terminal to ask on; pass --yes to proceed"
        )));
    }
    let mut stderr = std::io::stderr().lock();
    write!(stderr, "{question} [y/N] ")?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
