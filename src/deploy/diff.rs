//! A plan's diff in the layout of `nomad job plan`: `+` added, `-` deleted, `+/-` edited,
//! nested objects indented, task groups with the scheduler's intended updates.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::nomad::types::{FieldDiff, JobDiff, ObjectDiff};
use crate::output::Style;

fn marker(kind: &str) -> &'static str {
    match kind {
        "Added" => "+",
        "Deleted" => "-",
        "Edited" => "+/-",
        _ => " ",
    }
}

fn paint(style: &Style, kind: &str, text: &str) -> String {
    match kind {
        "Added" => style.good(text),
        "Deleted" => style.bad(text),
        "Edited" => style.warn(text),
        _ => text.to_string(),
    }
}

/// The diff of one job, ready to print (empty when nothing changes).
pub fn format_diff(
    diff: &JobDiff,
    updates: &BTreeMap<String, BTreeMap<String, u64>>,
    style: &Style,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} Job: \"{}\"",
        paint(style, &diff.kind, marker(&diff.kind)),
        diff.id
    );
    fields(&mut out, diff.fields.as_deref(), 0, style);
    objects(&mut out, diff.objects.as_deref(), 0, style);
    for group in diff.task_groups.iter().flatten() {
        let counts = updates
            .get(&group.name)
            .or(group.updates.as_ref())
            .map(|u| {
                u.iter()
                    .filter(|(_, n)| **n > 0)
                    .map(|(what, n)| format!("{n} {}", what.replace('_', " ")))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .filter(|s| !s.is_empty())
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{} Task Group: \"{}\"{counts}",
            paint(style, &group.kind, marker(&group.kind)),
            group.name
        );
        fields(&mut out, group.fields.as_deref(), 1, style);
        objects(&mut out, group.objects.as_deref(), 1, style);
        for task in group.tasks.iter().flatten() {
            if task.kind == "None" {
                continue;
            }
            let notes = task
                .annotations
                .as_ref()
                .filter(|a| !a.is_empty())
                .map(|a| format!(" ({})", a.join(", ")))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} Task: \"{}\"{notes}",
                paint(style, &task.kind, marker(&task.kind)),
                task.name
            );
            fields(&mut out, task.fields.as_deref(), 2, style);
            objects(&mut out, task.objects.as_deref(), 2, style);
        }
    }
    out
}

fn fields(out: &mut String, fields: Option<&[FieldDiff]>, depth: usize, style: &Style) {
    for field in fields.into_iter().flatten().filter(|f| f.kind != "None") {
        let value = match field.kind.as_str() {
            "Added" => format!("\"{}\"", field.new),
            "Deleted" => format!("\"{}\"", field.old),
            _ => format!("\"{}\" => \"{}\"", field.old, field.new),
        };
        let notes = field
            .annotations
            .as_ref()
            .filter(|a| !a.is_empty())
            .map(|a| format!(" ({})", a.join(", ")))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{}{} {}: {value}{notes}",
            "  ".repeat(depth),
            paint(style, &field.kind, marker(&field.kind)),
            field.name
        );
    }
}

fn objects(out: &mut String, objects: Option<&[ObjectDiff]>, depth: usize, style: &Style) {
    for object in objects.into_iter().flatten().filter(|o| o.kind != "None") {
        let indent = "  ".repeat(depth);
        let _ = writeln!(
            out,
            "{indent}{} {} {{",
            paint(style, &object.kind, marker(&object.kind)),
            object.name
        );
        fields(out, object.fields.as_deref(), depth + 1, style);
        self::objects(out, object.objects.as_deref(), depth + 1, style);
        let _ = writeln!(out, "{indent}}}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edited_fields_are_shown_like_nomad_job_plan() {
        let diff: JobDiff = serde_json::from_value(serde_json::json!({
            "Type": "Edited", "ID": "web",
            "Fields": [{"Type": "Edited", "Name": "Meta[rev]", "Old": "a", "New": "b"},
                       {"Type": "None", "Name": "Priority", "Old": "50", "New": "50"}],
            "TaskGroups": [{"Type": "Edited", "Name": "web",
                "Tasks": [{"Type": "Edited", "Name": "server", "Annotations": ["forces create/destroy update"],
                    "Objects": [{"Type": "Edited", "Name": "Config",
                        "Fields": [{"Type": "Edited", "Name": "image", "Old": "web:1", "New": "web:2"}]}]}]}]
        }))
        .unwrap();
        let updates = [(
            "web".to_string(),
            [("create/destroy update".to_string(), 2)].into(),
        )]
        .into();
        let style = Style {
            color: false,
            tty: false,
        };
        let text = format_diff(&diff, &updates, &style);
        assert_eq!(
            text,
            "+/- Job: \"web\"\n\
             +/- Meta[rev]: \"a\" => \"b\"\n\
             +/- Task Group: \"web\" (2 create/destroy update)\n  \
               +/- Task: \"server\" (forces create/destroy update)\n    \
                 +/- Config {\n      \
                   +/- image: \"web:1\" => \"web:2\"\n    \
                 }\n"
        );
    }
}
