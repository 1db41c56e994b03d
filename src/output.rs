//! How results reach the user: human text (tables, colour when allowed) or JSON for machines.
//! Work code returns typed reports; only this module prints them.

use std::io::{IsTerminal, Write};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Text,
    Json,
}

/// A command's result: serializable for `--output json`, with a human rendering.
pub trait Report: Serialize {
    fn human(&self, style: &Style) -> String;
}

/// Terminal capabilities decided once: colour (off with `--no-color`, `NO_COLOR` or no TTY).
#[derive(Debug, Clone)]
pub struct Style {
    pub color: bool,
    pub tty: bool,
}

impl Style {
    pub fn detect(no_color_flag: bool) -> Self {
        let tty = std::io::stdout().is_terminal();
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = tty && !no_color_flag && !no_color_env;
        console::set_colors_enabled(color);
        console::set_colors_enabled_stderr(color && std::io::stderr().is_terminal());
        Style { color, tty }
    }

    pub fn bold(&self, text: &str) -> String {
        console::style(text).bold().to_string()
    }

    pub fn good(&self, text: &str) -> String {
        console::style(text).green().to_string()
    }

    pub fn bad(&self, text: &str) -> String {
        console::style(text).red().bold().to_string()
    }

    pub fn warn(&self, text: &str) -> String {
        console::style(text).yellow().to_string()
    }

    pub fn dim(&self, text: &str) -> String {
        console::style(text).dim().to_string()
    }

    /// A table without borders, in the style of `nomad status`.
    pub fn table(&self, header: &[&str]) -> comfy_table::Table {
        let mut table = comfy_table::Table::new();
        table
            .load_preset(comfy_table::presets::NOTHING)
            .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
            .set_header(header.iter().map(|h| self.bold(h)));
        if !self.color {
            table.force_no_tty();
        }
        table
    }
}

#[derive(Debug, Clone)]
pub struct Output {
    pub format: OutputFormat,
    pub style: Style,
    pub quiet: bool,
}

impl Output {
    pub fn emit<R: Report>(&self, report: &R) -> std::io::Result<()> {
        let mut stdout = std::io::stdout().lock();
        match self.format {
            OutputFormat::Json => {
                serde_json::to_writer_pretty(&mut stdout, report)?;
                writeln!(stdout)
            }
            OutputFormat::Text => {
                let text = report.human(&self.style);
                if text.is_empty() {
                    return Ok(());
                }
                write!(stdout, "{text}")?;
                if !text.ends_with('\n') {
                    writeln!(stdout)?;
                }
                Ok(())
            }
        }
    }
}
