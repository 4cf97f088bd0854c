//! The client address a request is attributed to (sign-in throttling, the System Log). The
//! peer address, unless the peer is a trusted proxy (`trusted_proxies`): then the right-most
//! address of `X-Forwarded-For` that is not itself a trusted proxy, which is the one the first
//! trusted proxy saw. Addresses a client wrote into the header itself are never used, so it
//! cannot pick the address its failures count against.

use std::net::IpAddr;

use actix_web::HttpRequest;
use tessera_core::AppState;
use tessera_core::syslog::Origin;
use tessera_outbound::Allowed;

/// The address `req` is attributed to, with the process's trusted proxies.
pub fn client_address(state: &AppState, req: &HttpRequest) -> Option<IpAddr> {
    address(req, &state.proxies)
}

/// Where a request came from, for the System Log: the client address, the user agent (512
/// characters at most), the path (never the query, which may carry codes or tokens) and the
/// trace id.
pub fn origin(req: &HttpRequest) -> Origin {
    Origin {
        ip: req
            .app_data::<actix_web::web::Data<AppState>>()
            .and_then(|s| client_address(s, req))
            .map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect()),
        path: Some(req.path().to_owned()),
        transaction: crate::telemetry::trace_id_of(req),
    }
}

/// The client's address, if the request has a peer.
pub fn address(req: &HttpRequest, trusted: &[Allowed]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !trusted.iter().any(|t| t.contains(peer)) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !trusted.iter().any(|t| t.contains(*ip)))
            .unwrap_or(peer),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(peer: &str, xff: Option<&str>) -> HttpRequest {
        let mut r = actix_web::test::TestRequest::default().peer_addr(peer.parse().unwrap());
        if let Some(x) = xff {
            r = r.insert_header(("X-Forwarded-For", x));
        }
        r.to_http_request()
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let trusted = vec![
            "127.0.0.0/8".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // A direct client cannot claim another address.
        assert_eq!(
            address(&req("203.0.113.9:5000", Some("1.2.3.4")), &trusted),
            ip("203.0.113.9")
        );
        // Behind the proxy, the address the proxy appended; what the client wrote is ignored.
        assert_eq!(
            address(
                &req("127.0.0.1:5000", Some("6.6.6.6, 198.51.100.7")),
                &trusted
            ),
            ip("198.51.100.7")
        );
        // Through two trusted hops.
        assert_eq!(
            address(
                &req("127.0.0.1:5000", Some("198.51.100.7, 10.1.2.3")),
                &trusted
            ),
            ip("198.51.100.7")
        );
        assert_eq!(
            address(&req("127.0.0.1:5000", None), &trusted),
            ip("127.0.0.1")
        );
    }
}
