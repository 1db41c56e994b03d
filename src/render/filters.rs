//! Template helpers beyond minijinja's built-ins: `fromjson`, `toyaml`, `duration`.

use minijinja::{Error, ErrorKind, Value};

pub(super) fn register(engine: &mut minijinja::Environment<'_>) {
    engine.add_filter("fromjson", fromjson);
    engine.add_filter("toyaml", toyaml);
    engine.add_filter("duration", duration);
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, message)
}

/// `'{"a": 1}' | fromjson`: the parsed value.
fn fromjson(text: &str) -> Result<Value, Error> {
    serde_json::from_str::<serde_json::Value>(text)
        .map(Value::from_serialize)
        .map_err(|e| invalid(format!("fromjson: not JSON: {e}")))
}

/// `value | toyaml`: YAML text of the value (for YAML files in `EmbeddedTmpl`).
fn toyaml(value: &Value) -> Result<String, Error> {
    serde_yaml::to_string(value).map_err(|e| invalid(format!("toyaml: {e}")))
}

/// `"10s" | duration`: nanoseconds, as Nomad's API writes durations. Numbers pass through.
fn duration(value: &Value) -> Result<Value, Error> {
    if let Some(text) = value.as_str() {
        let parsed = humantime::parse_duration(text.trim()).map_err(|e| {
            invalid(format!(
                "duration: `{text}` is not a duration such as \"10s\": {e}"
            ))
        })?;
        let nanos = u64::try_from(parsed.as_nanos())
            .map_err(|_| invalid(format!("duration: `{text}` is too long")))?;
        return Ok(Value::from(nanos));
    }
    match i64::try_from(value.clone()) {
        Ok(n) => Ok(Value::from(n)),
        Err(_) => Err(invalid(format!(
            "duration: expected a string such as \"10s\" or nanoseconds, got {}",
            value.kind()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use minijinja::Environment;

    fn render(source: &str) -> Result<String, minijinja::Error> {
        let mut engine = Environment::new();
        engine.set_syntax(super::super::syntax());
        engine.set_keep_trailing_newline(true);
        super::register(&mut engine);
        engine.render_str(source, ())
    }

    #[test]
    fn durations_are_nanoseconds() {
        assert_eq!(render(r#"{= "10s" | duration =}"#).unwrap(), "10000000000");
        assert_eq!(
            render(r#"{= "1h 30m" | duration =}"#).unwrap(),
            "5400000000000"
        );
        assert_eq!(render("{= 5 | duration =}").unwrap(), "5");
        let e = render(r#"{= "soon" | duration =}"#).unwrap_err();
        assert!(e.to_string().contains("`soon` is not a duration"), "{e}");
    }

    #[test]
    fn json_and_yaml() {
        assert_eq!(
            render(r#"{= ('{"a": [1, 2]}' | fromjson).a[1] =}"#).unwrap(),
            "2"
        );
        assert_eq!(
            render(r#"{= {"a": [1, "x"]} | toyaml =}"#).unwrap(),
            "a:\n- 1\n- x\n"
        );
        assert!(render(r#"{= "{" | fromjson =}"#).is_err());
    }

    #[test]
    fn job_content_is_not_template_syntax() {
        for text in [
            "%d [%thread] %-5level [%logger{36}] - %msg%n",
            "log_line_prefix = '[%p] '",
            "{{ with secret \"kv/x\" }}{{ .Data.data.p }}{{ end }}",
            "[[ .levant ]] [[ -f /x ]]",
            "${NOMAD_PORT_http} ${attr.cpu.numcores}",
            "%{ for x in y }${x}%{ endfor }",
            "cat <<EOF\nkey = \"v\"\nEOF\n[section]\nk=v\n",
            "%h %l %u %t \"%r\" %>s %b {# jinja #} {% raw %}",
        ] {
            assert_eq!(render(text).unwrap(), text);
        }
        assert_eq!(
            render("{! raw !}{= not rendered =}{! endraw !}").unwrap(),
            "{= not rendered =}"
        );
    }
}
