//! The functions the page's script calls. Values cross as JSON text, so the module needs no
//! JavaScript binding beyond strings (no js-sys or web-sys).

use serde::Serialize;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::{Error, Field, Form, Generated};

/// What the script reads: `{"ok": …}` or `{"error": {"field", "message", "hint"}}`.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum Answer<T> {
    Ok(T),
    Error(Refusal),
}

#[derive(Serialize)]
struct Refusal {
    field: Option<Field>,
    message: String,
    hint: Option<String>,
}

/// The result of a check: the URNs the request will carry, and the notes.
#[derive(Serialize)]
struct CheckedView<'a> {
    identity_urns: &'a [String],
    warnings: &'a [String],
}

fn answer<T: Serialize>(result: Result<T, Error>) -> String {
    let answer = match result {
        Ok(v) => Answer::Ok(v),
        Err(e) => Answer::Error(Refusal {
            field: e.field(),
            hint: e.hint().map(str::to_owned),
            message: e.to_string(),
        }),
    };
    serde_json::to_string(&answer).unwrap_or_else(|e| {
        // Only a value serde cannot write gets here; say so in the shape the page reads (a
        // `Value` always serializes).
        serde_json::json!({"error": {"field": null, "message": format!("cannot encode the answer: {e}"), "hint": null}})
            .to_string()
    })
}

/// Checks the form (JSON) without generating anything; the page calls it before it starts
/// a key, so that it can say "generating…" only for a form that will go through.
#[wasm_bindgen]
#[must_use]
pub fn check(form_json: &str) -> String {
    answer(Form::from_json(form_json).and_then(|f| {
        let checked = crate::check(&f)?;
        Ok(serde_json::json!(CheckedView {
            identity_urns: checked.identity_urns(),
            warnings: checked.warnings(),
        }))
    }))
}

/// Checks the form (JSON), then makes the key, the CSR and the request.
#[wasm_bindgen]
#[must_use]
pub fn generate(form_json: &str) -> String {
    answer::<Generated>(Form::from_json(form_json).and_then(|f| crate::generate(&f)))
}

/// The algorithms the page offers, `csr new`'s default first.
#[wasm_bindgen]
#[must_use]
pub fn algorithms() -> String {
    let names: Vec<&str> = okms_csr::KeyAlgorithm::ALL
        .iter()
        .map(okms_csr::KeyAlgorithm::as_str)
        .collect();
    serde_json::to_string(&names).unwrap_or_else(|_| "[]".to_owned())
}
