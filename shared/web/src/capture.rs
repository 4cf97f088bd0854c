//! Test builds only (the `wire-capture` feature): every JSON response the server sends is
//! appended, with its method, matched route and status, to a file under the directory named by
//! `TESSERA_WIRE_CAPTURE_DIR`, one JSON object per line. The test suite validates them against
//! Okta's published OpenAPI documents (`tests/oas/check.py`). Bodies hold tokens and secrets,
//! which is why no release build contains this.

use std::io::Write as _;
use std::sync::{Mutex, OnceLock};

use actix_web::Error;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::Next;
use serde_json::{Value, json};

/// The capture file of this process, if capturing is on.
fn sink() -> Option<&'static Mutex<std::fs::File>> {
    static SINK: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
    SINK.get_or_init(|| {
        let dir = std::env::var_os("TESSERA_WIRE_CAPTURE_DIR")?;
        std::fs::create_dir_all(&dir).ok()?;
        let name = format!("{}-{:x}.jsonl", std::process::id(), rand_suffix());
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(std::path::Path::new(&dir).join(name))
            .ok()?;
        Some(Mutex::new(file))
    })
    .as_ref()
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

/// Records the response when capturing is on and it is JSON.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, actix_web::web::Bytes>>, Error> {
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let pattern = req.match_pattern();
    let res = next.call(req).await?;
    let Some(sink) = sink() else {
        return Ok(res.map_into_left_body());
    };
    let content_type = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if !content_type.contains("json") {
        return Ok(res.map_into_left_body());
    }
    let (http, res) = res.into_parts();
    let (res, body) = res.into_parts();
    let bytes = actix_web::body::to_bytes(body)
        .await
        .map_err(|_| actix_web::error::ErrorInternalServerError("response body"))?;
    let line = json!({
        "method": method,
        "path": path,
        "pattern": pattern,
        "status": res.status().as_u16(),
        "contentType": content_type,
        "body": serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
    });
    if let Ok(mut file) = sink.lock() {
        let _ = writeln!(file, "{line}");
    }
    let res = res.set_body(bytes);
    Ok(ServiceResponse::new(http, res).map_into_right_body())
}
