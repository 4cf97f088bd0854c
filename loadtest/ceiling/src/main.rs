//! The ceiling of `loadtest/bench.sh`'s JWKS and discovery cases: a bare actix-web server that
//! answers `GET /keys` and `GET /discovery` with bytes read once from two files (the bodies
//! Tessera served for the same requests), with the same allocator and worker count as
//! `tessera serve`. Nothing is computed per request, so it is the most this HTTP stack can do
//! on the machine; the bench reports Tessera's rate as a share of it.
//!
//!   tessera-ceiling LISTEN_ADDR KEYS_FILE DISCOVERY_FILE

use actix_web::{App, HttpResponse, HttpServer, web};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn answer(body: &'static [u8]) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "max-age=300, must-revalidate"))
        .body(body)
}

fn read(path: Option<String>) -> std::io::Result<&'static [u8]> {
    let path = path.ok_or_else(|| {
        std::io::Error::other("usage: tessera-ceiling LISTEN_ADDR KEYS_FILE DISCOVERY_FILE")
    })?;
    Ok(std::fs::read(path)?.leak())
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:18482".to_owned());
    let keys = read(args.next())?;
    let discovery = read(args.next())?;
    HttpServer::new(move || {
        App::new()
            .route("/keys", web::get().to(move || async move { answer(keys) }))
            .route(
                "/discovery",
                web::get().to(move || async move { answer(discovery) }),
            )
    })
    .bind(listen)?
    .run()
    .await
}
