//! How results reach the user: human text (tables, colour when allowed) or JSON for machines.
//! Work code returns typed reports; only this module prints them.

use std::io::{BufRead, IsTerminal, Write};

use serde::Serialize;

use crate::error::Error;

/// `--output`: how a command's report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// Human text: tables and messages, notes on stderr (the default).
    Text,
    /// One pretty-printed JSON document on stdout, for machines; prompts are refused (`--yes`).
    Json,
}

/// A command's result: serializable for `--output json`, with a human rendering.
pub trait Report: Serialize {
    /// The text rendering: one document for stdout.
    fn human(&self, style: &Style) -> String;

    /// The text rendering split into data (stdout) and notes (stderr), in reading order.
    /// Reports whose stdout must stay pure data (a rendered job `jq` reads) put their headers
    /// in notes; the default is the whole [`Report::human`] text as data.
    fn parts(&self, style: &Style) -> Vec<Part> {
        vec![Part::Data(self.human(style))]
    }
}

/// A piece of a text report: data goes to stdout, notes (headers, hints) to stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// What a user pipes: written to stdout.
    Data(String),
    /// Context for a reader at the terminal: written to stderr, left out with `--quiet`.
    Note(String),
}

/// Terminal capabilities decided once: colour (off with `--no-color`, `NO_COLOR` or no TTY).
#[derive(Debug, Clone)]
pub struct Style {
    /// Whether escape codes are written: stdout is a terminal and neither `--no-color` nor a
    /// non-empty `NO_COLOR` turned colour off.
    pub color: bool,
    /// Whether stdout is a terminal.
    pub tty: bool,
}

impl Style {
    /// Decides colour for this process (also switching `console`'s global colour flags for stdout
    /// and stderr); `no_color` is `--no-color` or `NO_COLOR`
    /// ([`crate::settings::Settings::no_color`]).
    pub fn detect(no_color: bool) -> Self {
        let tty = std::io::stdout().is_terminal();
        let color = tty && !no_color;
        console::set_colors_enabled(color);
        console::set_colors_enabled_stderr(color && std::io::stderr().is_terminal());
        Style { color, tty }
    }

    /// `text` in bold (plain when colour is off).
    pub fn bold(&self, text: &str) -> String {
        console::style(text).bold().to_string()
    }

    /// `text` in green, for success (plain when colour is off).
    pub fn good(&self, text: &str) -> String {
        console::style(text).green().to_string()
    }

    /// `text` in bold red, for failures and `error:` (plain when colour is off).
    pub fn bad(&self, text: &str) -> String {
        console::style(text).red().bold().to_string()
    }

    /// `text` in yellow, for warnings (plain when colour is off).
    pub fn warn(&self, text: &str) -> String {
        console::style(text).yellow().to_string()
    }

    /// `text` dimmed, for secondary detail (plain when colour is off).
    pub fn dim(&self, text: &str) -> String {
        console::style(text).dim().to_string()
    }

    /// A table without borders, in the style of `nomad status`. The header is bold when colour
    /// is on; cells may carry colour codes: widths are measured without them.
    pub fn table(&self, header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| self.bold(h)).collect(),
            rows: Vec::new(),
        }
    }
}

/// Rows of cells laid out in columns, one space of padding either side of every cell (the
/// layout of comfy-table's `NOTHING` preset). Widths are the visible widths: colour escape
/// codes count for nothing, so coloured and plain cells line up.
#[derive(Debug, Clone, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// Appends a row; missing cells are empty, extra cells widen the table.
    pub fn add_row<S: Into<String>>(&mut self, cells: Vec<S>) -> &mut Self {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lines = std::iter::once(&self.header).chain(&self.rows);
        let columns = lines.clone().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0; columns];
        for line in lines.clone() {
            for (width, cell) in widths.iter_mut().zip(line) {
                *width = (*width).max(console::measure_text_width(cell));
            }
        }
        for (i, line) in lines.enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            for (column, width) in widths.iter().enumerate() {
                let cell = line.get(column).map_or("", String::as_str);
                let pad = width - console::measure_text_width(cell);
                write!(f, " {cell}{:pad$} ", "")?;
            }
        }
        Ok(())
    }
}

/// Where a command's results go: the only writer of reports to stdout (and of notes,
/// prompts and the final error to stderr), configured from the global flags.
#[derive(Debug, Clone)]
pub struct Output {
    /// `--output`: text or JSON.
    pub format: OutputFormat,
    /// Colour and terminal detection.
    pub style: Style,
    /// `--quiet`: notes (stderr context, hints) are left out; data and errors are not.
    pub quiet: bool,
}

impl Output {
    /// Writes a command's final document: JSON, or the text parts (data on stdout, notes on
    /// stderr). Nothing else in a command writes to stdout.
    pub fn emit<R: Report>(&self, report: &R) -> std::io::Result<()> {
        match self.format {
            OutputFormat::Json => {
                let mut stdout = std::io::stdout().lock();
                serde_json::to_writer_pretty(&mut stdout, report)?;
                writeln!(stdout)?;
                stdout.flush()
            }
            OutputFormat::Text => {
                for part in report.parts(&self.style) {
                    match part {
                        Part::Data(text) => write_text(&mut std::io::stdout().lock(), &text)?,
                        Part::Note(text) if !self.quiet => {
                            write_text(&mut std::io::stderr().lock(), &text)?
                        }
                        Part::Note(_) => {}
                    }
                }
                Ok(())
            }
        }
    }

    /// Writes bytes asked for explicitly (a decrypted secret, `terraform output -json`,
    /// completions) to stdout as they are.
    pub fn raw(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(bytes)?;
        stdout.flush()
    }

    /// Writes a JSON value asked for explicitly to stdout, pretty-printed.
    pub fn raw_json<T: Serialize>(&self, value: &T) -> std::io::Result<()> {
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut stdout, value)?;
        writeln!(stdout)?;
        stdout.flush()
    }

    /// A text note on stderr (a preview before a confirmation, the node `ssh` connects to),
    /// left out with `--quiet`.
    pub fn note(&self, text: &str) -> std::io::Result<()> {
        if self.quiet || text.is_empty() {
            return Ok(());
        }
        write_text(&mut std::io::stderr().lock(), text)
    }

    /// Asks `question` on the terminal. `--yes` answers it; without a terminal on stdin, or
    /// with `--output json` (a machine reads the output, nobody answers), the command refuses
    /// with an input error (exit 2) instead of hanging or guessing; anything but y/yes is
    /// [`Error::Declined`] (exit 1, nothing changed).
    pub fn confirm(&self, question: &str, yes: bool) -> Result<(), Error> {
        if yes {
            return Ok(());
        }
        if !std::io::stdin().is_terminal() || self.format == OutputFormat::Json {
            return Err(Error::invalid(format!(
                "{question} — no terminal to ask on; pass --yes to proceed"
            )));
        }
        let mut stderr = std::io::stderr().lock();
        write!(stderr, "{question} [y/N] ")?;
        stderr.flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            Ok(())
        } else {
            Err(Error::Declined)
        }
    }

    /// Reports a command's failure: the message on stderr; with `--output json` also a JSON
    /// object on stdout for CI. A closed stdout ends the program quietly instead (see
    /// [`crate::error::Exit::ClosedPipe`]).
    pub fn error(&self, error: &Error) {
        if error.is_closed_pipe() {
            return;
        }
        let _ = writeln!(
            std::io::stderr().lock(),
            "{} {error}",
            self.style.bad("error:")
        );
        if self.format == OutputFormat::Json {
            let problems = match error {
                Error::Problems(problems) => problems.clone(),
                _ => Vec::new(),
            };
            let body = serde_json::json!({
                "error": {
                    "message": error.to_string(),
                    "exit_code": error.exit().code(),
                    "problems": problems,
                }
            });
            let _ = writeln!(std::io::stdout().lock(), "{body:#}");
        }
    }
}

/// Writes `text`, ending it with a newline if it has none; empty text writes nothing.
fn write_text(out: &mut impl Write, text: &str) -> std::io::Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        writeln!(out)?;
    }
    out.flush()
}

/// A report preceded by the plan's diff in text; the JSON is the report alone.
#[derive(Serialize)]
#[serde(transparent)]
pub struct Previewed<'a, R: Report> {
    /// Text shown ahead of the report (empty: none).
    #[serde(skip)]
    pub preview: String,
    /// The report itself.
    pub report: &'a R,
}

impl<R: Report> Report for Previewed<'_, R> {
    fn human(&self, style: &Style) -> String {
        format!("{}{}", self.preview, self.report.human(style))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Vec<&'static str>> {
        vec![
            vec!["staging", "web-ghc", "update", "3 → 4"],
            vec!["production-long", "x", "unchanged", "12"],
            vec!["a", "", "", ""],
        ]
    }

    #[test]
    fn plain_tables_keep_comfy_tables_nothing_layout() {
        let style = Style {
            color: false,
            tty: false,
        };
        let header = ["ENVIRONMENT", "JOB", "ACTION", "VERSION"];
        let mut ours = style.table(&header);
        let mut comfy = comfy_table::Table::new();
        comfy
            .load_preset(comfy_table::presets::NOTHING)
            .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
            .set_header(header)
            .force_no_tty();
        for row in rows() {
            ours.add_row(row.clone());
            comfy.add_row(row);
        }
        assert_eq!(ours.to_string(), comfy.to_string());
    }

    #[test]
    fn colour_codes_do_not_count_as_width() {
        let bold = |s: &str| format!("\u{1b}[1m{s}\u{1b}[0m");
        let green = |s: &str| format!("\u{1b}[32m{s}\u{1b}[0m");
        let mut table = Table {
            header: vec![bold("NAME"), bold("STATUS"), bold("N")],
            rows: Vec::new(),
        };
        table.add_row(vec!["node-01".to_string(), green("done"), "1".into()]);
        table.add_row(vec!["n".to_string(), "failed".into(), "22".into()]);
        let text = console::strip_ansi_codes(&table.to_string()).to_string();
        let starts: Vec<Vec<usize>> = text
            .lines()
            .map(|line| {
                line.char_indices()
                    .filter(|&(i, c)| c != ' ' && (i == 0 || line.as_bytes()[i - 1] == b' '))
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect();
        assert_eq!(starts, vec![vec![1, 10, 18]; 3], "{text}");
    }
}
