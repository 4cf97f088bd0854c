//! The server-rendered pages: sign-in, consent, device activation, errors and the `form_post`
//! response.
//! Templates live in `services/token/templates`, are compiled into the binary and rendered by
//! minijinja with HTML autoescaping. Every page carries the same strict security headers; none
//! needs JavaScript except `form_post`, whose one inline script is allowed by its hash.

use std::sync::LazyLock;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, HttpResponseBuilder};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use minijinja::value::Serde;
use minijinja::{Environment, Value, context};
use serde::Serialize;

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:; frame-ancestors 'none'";

/// The only script Tessera serves: it submits the `form_post` form on load.
const SUBMIT_SCRIPT: &str = "document.forms[0].submit()";

/// The `okta_post_message` / `web_message` page's script: it posts the response in its
/// `data-message` to the window that opened or framed it, at the origin in `data-origin` only.
const POST_SCRIPT: &str = "var r=document.getElementById('response');(window.opener||window.parent).postMessage(JSON.parse(r.dataset.message),r.dataset.origin)";

/// The `form_post` page's policy: the base policy plus the submit script, allowed by its hash.
static FORM_POST_CSP: LazyLock<String> = LazyLock::new(|| {
    let hash = ring::digest::digest(&ring::digest::SHA256, SUBMIT_SCRIPT.as_bytes());
    format!("{CSP}; script-src 'sha256-{}'", STANDARD.encode(hash))
});

/// `'sha256-…'` of a script, for `script-src`.
fn script_hash(script: &str) -> String {
    let hash = ring::digest::digest(&ring::digest::SHA256, script.as_bytes());
    format!("'sha256-{}'", STANDARD.encode(hash))
}

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("layout.html", include_str!("../templates/layout.html")),
        ("sign_in.html", include_str!("../templates/sign_in.html")),
        ("consent.html", include_str!("../templates/consent.html")),
        ("activate.html", include_str!("../templates/activate.html")),
        (
            "device_consent.html",
            include_str!("../templates/device_consent.html"),
        ),
        ("error.html", include_str!("../templates/error.html")),
        (
            "form_post.html",
            include_str!("../templates/form_post.html"),
        ),
        (
            "post_message.html",
            include_str!("../templates/post_message.html"),
        ),
    ] {
        if let Err(e) = env.add_template(name, source) {
            // The templates are part of the binary; the unit test below renders each one.
            tracing::error!(template = name, error = %e, "template does not compile");
        }
    }
    env
});

/// The active tenant a hosted page's path names; the "not found" page for anything else.
pub async fn active_tenant(
    state: &tessera_core::AppState,
    name: &str,
) -> Result<
    Result<std::sync::Arc<tessera_hot::TenantSnapshot>, HttpResponse>,
    tessera_oauth::OAuthError,
> {
    Ok(state
        .hot
        .tenant(name)
        .await
        .map_err(tessera_oauth::OAuthError::server_error)?
        .filter(|t| t.active)
        .ok_or_else(|| {
            error_page(
                StatusCode::NOT_FOUND,
                "Not found",
                "This organization does not exist.",
            )
        }))
}

/// A response builder with the security headers of every page.
pub fn page(status: StatusCode) -> HttpResponseBuilder {
    let mut b = HttpResponse::build(status);
    b.insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/html; charset=utf-8");
    b
}

fn html(name: &str, ctx: impl Serialize) -> Result<String, minijinja::Error> {
    TEMPLATES
        .get_template(name)?
        .render(Value::from(Serde(ctx)))
}

/// Renders template `name` with `ctx` as a page with status `status`.
pub fn render(status: StatusCode, name: &str, ctx: impl Serialize) -> HttpResponse {
    match html(name, ctx) {
        Ok(body) => page(status).body(body),
        Err(e) => {
            tracing::error!(template = name, error = %e, "page failed to render");
            page(StatusCode::INTERNAL_SERVER_ERROR).body("Something went wrong on our side.")
        }
    }
}

/// An error page, shown instead of redirecting when it is not safe to send the browser back to
/// the client.
pub fn error_page(status: StatusCode, title: &str, detail: &str) -> HttpResponse {
    render(
        status,
        "error.html",
        context! { title => title, detail => detail },
    )
}

/// The `form_post` response mode: a page that posts `fields` to `action` as soon as it loads.
pub fn form_post(action: &str, fields: &[(&str, &str)]) -> HttpResponse {
    let mut res = render(
        StatusCode::OK,
        "form_post.html",
        context! { action => action, fields => Value::from(Serde(fields)), submit_script => SUBMIT_SCRIPT },
    );
    if let Ok(value) = header::HeaderValue::from_str(&FORM_POST_CSP) {
        res.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    res
}

/// The `okta_post_message` and `web_message` response modes (silent renewal from a hidden
/// iframe, or a pop-up): a page that posts `message` (JSON) to its parent or opener at `origin`
/// (the redirect URI's) and nowhere else. It may be framed by that origin only.
pub fn post_message(origin: &str, message: &serde_json::Value) -> HttpResponse {
    let mut res = render(
        StatusCode::OK,
        "post_message.html",
        context! { message => message.to_string(), origin => origin, post_script => POST_SCRIPT },
    );
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors {origin}; script-src {}",
        script_hash(POST_SCRIPT)
    );
    let headers = res.headers_mut();
    // `frame-ancestors` names the one origin allowed to frame it; X-Frame-Options cannot say
    // that, so it is left out on this page only.
    headers.remove(header::X_FRAME_OPTIONS);
    if let Ok(value) = header::HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders_and_escapes_what_it_is_given() {
        let hostile = "<script>x</script>\"'";
        let pages = [
            html(
                "sign_in.html",
                context! { org => "acme", csrf => "c", pending => "p", username => hostile, error => hostile },
            ),
            html(
                "consent.html",
                context! { org => "acme", app => hostile, consent => "id",
                scopes => vec![context! { name => "email", description => hostile }] },
            ),
            html(
                "error.html",
                context! { title => "Not found", detail => hostile },
            ),
            html(
                "activate.html",
                context! { org => "acme", error => hostile },
            ),
            html(
                "device_consent.html",
                context! { org => "acme", app => hostile, approval => "id", user_code => hostile,
                scopes => vec![context! { name => "email", description => hostile }] },
            ),
            html(
                "form_post.html",
                context! { action => "https://app.example/cb", fields => Value::from(Serde([("code", hostile)])),
                submit_script => SUBMIT_SCRIPT },
            ),
            html(
                "post_message.html",
                context! { message => hostile, origin => "https://app.example", post_script => POST_SCRIPT },
            ),
        ];
        for page in pages {
            let page = page.unwrap();
            assert!(page.starts_with("<!doctype html>"), "{page}");
            assert!(!page.contains(hostile), "{page}");
            assert!(
                page.contains("&lt;script&gt;x&lt;&#x2f;script&gt;"),
                "{page}"
            );
        }
    }

    #[test]
    fn the_form_post_script_is_allowed_by_its_hash_and_nothing_else() {
        let res = form_post("https://app.example/cb", &[("code", "abc")]);
        let csp = res.headers().get(header::CONTENT_SECURITY_POLICY).unwrap();
        let csp = csp.to_str().unwrap();
        // sha256 of "document.forms[0].submit()", base64.
        assert!(
            csp.ends_with("script-src 'sha256-ePniVEkSivX/c7XWBGafqh8tSpiRrKiqYeqbG7N1TOE='"),
            "{csp}"
        );
        assert!(csp.starts_with("default-src 'none'"));
    }

    #[test]
    fn the_post_message_page_is_framable_by_its_origin_only() {
        let res = post_message("https://app.example", &serde_json::json!({"code": "abc"}));
        let csp = res.headers().get(header::CONTENT_SECURITY_POLICY).unwrap();
        let csp = csp.to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors https://app.example;"),
            "{csp}"
        );
        assert!(csp.contains(&script_hash(POST_SCRIPT)), "{csp}");
        assert!(res.headers().get(header::X_FRAME_OPTIONS).is_none());
    }
}
