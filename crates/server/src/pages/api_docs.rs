//! `/api/docs`: the OpenAPI document as a page a person reads, rendered here from the same document
//! `/api/v1/openapi.json` serves, so the two cannot differ. Plain HTML with the app's stylesheet: no
//! script and nothing from another origin, which a hosted viewer (Swagger UI, Redoc) would need.

use super::page;
use crate::openapi::ApiDoc;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// `GET /api/docs`.
pub async fn index() -> Response {
    let document = ApiDoc::document();
    let tags: Vec<(String, String)> = document["tags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .map(|t| (text(&t["name"]), text(&t["description"])))
                .collect()
        })
        .unwrap_or_default();
    let operations = operations(&document);
    let body = html! {
        h1 { "iQuivity Social API" }
        p {
            "Every call takes an API token as " code { "Authorization: Bearer <token>" }
            " (create one under " code { "POST /api/v1/tokens" } ") or a signed-in session. Errors are "
            code { "application/problem+json" } ". The machine-readable document is "
            a href="/api/v1/openapi.json" { "/api/v1/openapi.json" } " (OpenAPI 3.1)."
        }
        nav aria-label="API sections" {
            ul.inline-list {
                @for (name, _) in &tags { li { a href={ "#tag-" (name) } { (name) } } }
                li { a href="#webhooks" { "webhooks" } }
            }
        }
        @for (name, description) in &tags {
            section aria-labelledby={ "tag-" (name) } {
                h2 id={ "tag-" (name) } { (name) }
                p.muted { (description) }
                @for operation in operations.iter().filter(|o| o.tag == *name) {
                    (operation.render())
                }
            }
        }
        section aria-labelledby="webhooks" {
            h2 #webhooks { "webhooks" }
            p.muted { "What the service POSTs to a webhook, by event type." }
            dl {
                @if let Some(events) = document["webhooks"].as_object() {
                    @for (kind, item) in events {
                        dt { code { (kind) } }
                        dd {
                            (text(&item["post"]["summary"])) ". Body: "
                            code { (schema_name(&item["post"]["requestBody"]["content"]["application/json"]["schema"])) }
                        }
                    }
                }
            }
        }
    };
    page(StatusCode::OK, "API", body)
}

struct Operation {
    tag: String,
    method: &'static str,
    path: String,
    summary: String,
    description: String,
    parameters: Vec<(String, String, bool)>,
    body: Option<String>,
    responses: Vec<(String, String)>,
}

impl Operation {
    fn render(&self) -> Markup {
        html! {
            article.operation {
                h3 { code { (self.method.to_uppercase()) " " (self.path) } }
                @if !self.summary.is_empty() { p { (self.summary) } }
                @if !self.description.is_empty() { p.muted { (self.description) } }
                @if !self.parameters.is_empty() {
                    p { "Parameters: "
                        @for (i, (name, place, required)) in self.parameters.iter().enumerate() {
                            @if i > 0 { ", " }
                            code { (name) } " (" (place) @if *required { ", required" } ")"
                        }
                    }
                }
                @if let Some(body) = &self.body { p { "Body: " code { (body) } } }
                p { "Answers: "
                    @for (i, (status, what)) in self.responses.iter().enumerate() {
                        @if i > 0 { "; " }
                        strong { (status) } " " (what)
                    }
                }
            }
        }
    }
}

fn operations(document: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    let Some(paths) = document["paths"].as_object() else {
        return out;
    };
    for (path, item) in paths {
        for method in METHODS {
            let op = &item[method];
            if !op.is_object() {
                continue;
            }
            let description = text(&op["description"]);
            out.push(Operation {
                tag: op["tags"][0].as_str().unwrap_or("other").to_string(),
                method,
                path: path.clone(),
                summary: text(&op["summary"]),
                description: if description == text(&op["summary"]) {
                    String::new()
                } else {
                    description
                },
                parameters: op["parameters"]
                    .as_array()
                    .map(|ps| {
                        ps.iter()
                            .map(|p| {
                                (
                                    text(&p["name"]),
                                    text(&p["in"]),
                                    p["required"].as_bool().unwrap_or(false),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                body: op["requestBody"]["content"]
                    .as_object()
                    .and_then(|c| c.values().next().map(|media| schema_name(&media["schema"]))),
                responses: op["responses"]
                    .as_object()
                    .map(|rs| {
                        rs.iter()
                            .map(|(status, r)| (status.clone(), response_text(document, r)))
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
    }
    out
}

/// A response's description, following a `$ref` to the shared error answers.
fn response_text(document: &Value, response: &Value) -> String {
    match response["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap_or_default();
            text(&document["components"]["responses"][name]["description"])
        }
        None => text(&response["description"]),
    }
}

/// The name of a schema as the document refers to it (`Post`, `[Post]`), or `JSON` for an inline one.
fn schema_name(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        return reference.rsplit('/').next().unwrap_or_default().to_string();
    }
    if schema["type"] == "array" {
        return format!("[{}]", schema_name(&schema["items"]));
    }
    "JSON".to_string()
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}
