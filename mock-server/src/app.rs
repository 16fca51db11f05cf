//! The router: appliance routes behind the auth layer, pages and the admin API
//! beside it.

use axum::middleware;
use axum::routing::{get, post};
use axum::Router;

use crate::routes::{data, pages, status, unknown_route};
use crate::state::AppState;
use crate::{admin, auth, faults};

/// Builds the whole application for a state. Tests can drive it without a socket.
pub fn app(state: AppState) -> Router {
    let appliance = Router::new()
        .route("/status", get(status::status))
        .route("/devices", get(data::devices))
        .route("/details", get(data::details))
        .route("/modelbreaches", get(data::modelbreaches))
        .route("/modelbreaches/{pbid}", get(data::modelbreach))
        .route("/advancedsearch/api/search", post(data::search_post))
        .route("/advancedsearch/api/search/{*query}", get(data::search_get))
        .fallback(unknown_route)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        // Outermost: a fault answers before the appliance (and its auth) sees the request.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            faults::inject,
        ));
    let mut router = Router::new()
        .route("/login", get(pages::login))
        .route("/403", get(pages::forbidden));
    if state.settings.admin {
        router = router
            .nest("/_mock", admin::router())
            // The live page; a nested "/" matches only "/_mock" in axum 0.8.
            .route("/_mock/", get(crate::ui::page));
    }
    router.merge(appliance).with_state(state)
}
