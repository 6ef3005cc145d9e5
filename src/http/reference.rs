//! `docs/api-reference.md`, rendered from the OpenAPI document (`hellojohn openapi
//! --markdown`), so the reference can't describe a route the server doesn't serve. A test
//! fails when the committed file differs from what this renders.

use std::fmt::Write;

use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "patch", "put", "delete"];

/// The reference page for `document` (the OpenAPI document as JSON).
pub fn markdown(document: &Value) -> String {
    let mut out = String::new();
    let title = document["info"]["title"].as_str().unwrap_or("API");
    let _ = writeln!(out, "# {title} HTTP API reference (generated)\n");
    let _ = writeln!(
        out,
        "Generated from the OpenAPI 3.1 document the server serves at `GET /openapi.json` \
         (`hellojohn openapi --markdown > docs/api-reference.md`); do not edit by hand. \
         Conventions, errors, limits and behaviour are described in [api.md](api.md).\n"
    );
    let _ = writeln!(
        out,
        "Every operation answers errors in the envelope `{{\"error\": {{code, message, status, request_id, …}}}}` \
         (schema `ErrorEnvelope`).\n"
    );
    for tag in document["tags"].as_array().into_iter().flatten() {
        let name = tag["name"].as_str().unwrap_or_default();
        let _ = writeln!(out, "## {name}\n");
        if let Some(description) = tag["description"].as_str() {
            let _ = writeln!(out, "{description}\n");
        }
        let _ = writeln!(out, "| Method | Path | Credential | Summary | Request | Success |");
        let _ = writeln!(out, "|---|---|---|---|---|---|");
        for (path, item) in document["paths"].as_object().into_iter().flatten() {
            for method in METHODS {
                let operation = &item[method];
                let tagged = operation["tags"]
                    .as_array()
                    .is_some_and(|tags| tags.iter().any(|t| t == name));
                if tagged {
                    let _ = writeln!(
                        out,
                        "| {} | `{path}` | {} | {} | {} | {} |",
                        method.to_uppercase(),
                        credentials(operation),
                        cell(operation["summary"].as_str().unwrap_or_default()),
                        request(operation),
                        success(operation),
                    );
                }
            }
        }
        out.push('\n');
    }
    schemas(document, &mut out);
    out
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn credentials(operation: &Value) -> String {
    let names: Vec<String> = operation["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|requirement| requirement.as_object()?.keys().next().cloned())
        .collect();
    match names.is_empty() {
        true => "none".to_owned(),
        false => names.join(" or "),
    }
}

/// The schema's name for a `$ref`, or its type.
fn schema_name(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        return format!("`{}`", reference.rsplit('/').next().unwrap_or(reference));
    }
    match schema["type"].as_str() {
        Some("array") => format!("array of {}", schema_name(&schema["items"])),
        Some(kind) => kind.to_owned(),
        None => "any".to_owned(),
    }
}

fn request(operation: &Value) -> String {
    let Some(content) = operation["requestBody"]["content"].as_object() else {
        return "—".to_owned();
    };
    content
        .iter()
        .map(|(media, body)| match media.as_str() {
            "application/json" => schema_name(&body["schema"]),
            other => format!("`{other}`"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn success(operation: &Value) -> String {
    operation["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(status, _)| status.starts_with('2'))
        .map(|(status, response)| {
            let body = response["content"]
                .as_object()
                .and_then(|content| content.iter().next())
                .map(|(media, body)| match media.as_str() {
                    "application/json" => format!(" {}", schema_name(&body["schema"])),
                    other => format!(" `{other}`"),
                })
                .unwrap_or_default();
            format!("{status}{body}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn schemas(document: &Value, out: &mut String) {
    let _ = writeln!(out, "## Schemas\n");
    for (name, schema) in document["components"]["schemas"].as_object().into_iter().flatten() {
        let _ = writeln!(out, "### {name}\n");
        if let Some(description) = schema["description"].as_str() {
            let _ = writeln!(out, "{}\n", description.trim());
        }
        let required: Vec<&str> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let Some(properties) = schema["properties"].as_object() else {
            continue;
        };
        let _ = writeln!(out, "| Field | Type | Required | Description |");
        let _ = writeln!(out, "|---|---|---|---|");
        for (field, property) in properties {
            let _ = writeln!(
                out,
                "| `{field}` | {} | {} | {} |",
                property_type(property),
                if required.contains(&field.as_str()) { "yes" } else { "" },
                cell(property["description"].as_str().unwrap_or_default().trim()),
            );
        }
        out.push('\n');
    }
}

/// A property's type; OpenAPI 3.1 writes a nullable one as `oneOf [null, …]` or `type: [t, "null"]`.
fn property_type(property: &Value) -> String {
    if let Some(choices) = property["oneOf"].as_array() {
        return choices
            .iter()
            .filter(|c| c["type"] != "null")
            .map(schema_name)
            .chain(choices.iter().any(|c| c["type"] == "null").then(|| "null".to_owned()))
            .collect::<Vec<_>>()
            .join(" or ");
    }
    if let Some(types) = property["type"].as_array() {
        let base: Vec<String> = types.iter().filter_map(Value::as_str).map(str::to_owned).collect();
        let mut item = property.clone();
        if let Some(first) = base.iter().find(|t| *t != "null") {
            item["type"] = Value::String(first.clone());
        }
        let shown = schema_name(&item);
        return match base.iter().any(|t| t == "null") {
            true => format!("{shown} or null"),
            false => shown,
        };
    }
    schema_name(property)
}
