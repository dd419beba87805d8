//! What a template file may contain besides text: `{{ variable }}`, `{% if [not] variable %}`,
//! `{% else %}`, `{% else if [not] variable %}`, `{% endif %}` and `{# comments #}`, each tag
//! optionally trimmed with `-`. Anything else `upon` knows (loops, `with`, includes, formatters,
//! member access) is refused at init: a mail has six flat variables, and a feature that is not
//! checked here could fail only when a user's mail is rendered.

use std::collections::BTreeSet;

/// The variables `source` uses, or why it cannot be used.
pub(super) fn variables(source: &str) -> Result<BTreeSet<String>, String> {
    let mut used = BTreeSet::new();
    let mut rest = source;
    while let Some(at) = rest.find(['{']) {
        let tail = &rest[at..];
        let (close, statement) = if tail.starts_with("{{") {
            ("}}", false)
        } else if tail.starts_with("{%") {
            ("%}", true)
        } else if tail.starts_with("{#") {
            let end = tail.find("#}").ok_or("a comment `{#` is not closed")?;
            rest = &tail[end + 2..];
            continue;
        } else {
            rest = &tail[1..];
            continue;
        };
        let end = tail
            .find(close)
            .ok_or_else(|| format!("`{}` is not closed by `{close}`", &tail[..2]))?;
        let inner = tail[2..end].trim_start_matches('-').trim_end_matches('-');
        let words: Vec<&str> = inner.split_whitespace().collect();
        let expression = if statement {
            match words.as_slice() {
                ["if", expr @ ..] | ["else", "if", expr @ ..] => Some(expr),
                ["else"] | ["endif"] => None,
                _ => {
                    return Err(format!(
                        "unsupported statement `{{% {} %}}` (a mail template has {{% if %}}, {{% else %}} and {{% endif %}})",
                        words.join(" ")
                    ));
                }
            }
        } else {
            Some(words.as_slice())
        };
        if let Some(expr) = expression {
            let name = match expr {
                [name] | ["not", name] => *name,
                _ => {
                    return Err(format!(
                        "unsupported expression `{}` (a variable, or `not` and a variable)",
                        expr.join(" ")
                    ));
                }
            };
            let identifier = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !identifier {
                return Err(format!("unsupported expression `{name}` (a variable name)"));
            }
            used.insert(name.to_owned());
        }
        rest = &tail[end + 2..];
    }
    Ok(used)
}

#[cfg(test)]
mod tests {
    use super::variables;

    #[test]
    fn variables_and_conditions_are_read_and_everything_else_is_refused() {
        let used = variables("{{ a }} {%- if not b -%} {{c}} {% else if d %} {% else %} {% endif %} {# {{ e }} #} { x }").unwrap();
        assert_eq!(used.into_iter().collect::<Vec<_>>(), ["a", "b", "c", "d"]);
        for bad in [
            "{% for x in y %}{% endfor %}",
            "{% include \"x\" %}",
            "{{ a.b }}",
            "{{ a | escape }}",
            "{{ \"lit\" }}",
            "{{ a b }}",
            "{{ a",
            "{# open",
        ] {
            assert!(variables(bad).is_err(), "{bad}");
        }
    }
}
