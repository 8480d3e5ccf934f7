//! `GET /v1/me`: the account, as far as clients use it (the NIC handle).

use std::sync::Arc;

use axum::{Json, extract::State};

use crate::{
    state::Shared,
    wire::{Currency, Me},
};

/// The handler.
pub(crate) async fn me(State(shared): State<Arc<Shared>>) -> Json<Me> {
    let nic = shared.settings.nic.clone();
    Json(Me {
        customer_code: "0000-0000-00".to_owned(),
        email: format!("{nic}@example.invalid"),
        nichandle: nic,
        ovh_subsidiary: "FR",
        state: "complete",
        ovh_company: "ovh",
        firstname: "Emulated",
        name: "Account",
        country: "FR",
        currency: Currency {
            code: "EUR",
            symbol: "EURO",
        },
    })
}
