use axum::Json;
use iquivity_domain::{Platform, PlatformInfo};

/// The five platforms: what can be connected, the requirements and the permissions asked for.
#[utoipa::path(get, path = "/api/v1/platforms", tag = "platforms",
    responses((status = 200, body = [PlatformInfo])))]
pub async fn list() -> Json<Vec<PlatformInfo>> {
    Json(
        Platform::ALL
            .into_iter()
            .map(|p| iquivity_platforms::descriptor(p).info())
            .collect(),
    )
}
