"""The driver of loadtest/tenants.sh (Python's standard library only).

    tenants.py provision BASE OPERATOR_TOKEN N OUT.json   tenants with a scope and a service app
    tenants.py touch BASE IN.json                          one token and one JWKS per tenant
"""

import base64
import concurrent.futures
import http.client
import json
import sys
import threading
import urllib.parse

WORKERS = 8
_local = threading.local()


def call(base, method, path, body=None, headers=None, form=False):
    """One request on this thread's keep-alive connection; the decoded JSON answer."""
    url = urllib.parse.urlsplit(base)
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    headers = dict(headers or {})
    if body is not None:
        if form:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
    else:
        data = None
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    text = resp.read()
    if resp.status >= 300:
        raise RuntimeError(f"{method} {path}: {resp.status} {text[:300]!r}")
    return json.loads(text) if text else None


def provision(base, operator, i):
    name = f"load{i:05d}"
    org = call(base, "POST", "/operator/v1/tenants", {"name": name},
               {"Authorization": f"Bearer {operator}"})
    api = {"Authorization": f"SSWS {org['apiToken']}"}
    call(base, "POST", f"/t/{name}/api/v1/authorizationServers/default/scopes",
         {"name": "load.read"}, api)
    app = call(base, "POST", f"/t/{name}/api/v1/apps", {
        "name": "oidc_client", "label": "load", "signOnMode": "OPENID_CONNECT",
        "settings": {"oauthClient": {"application_type": "service",
                                     "grant_types": ["client_credentials"]}},
    }, api)
    oauth = app["credentials"]["oauthClient"]
    return {"name": name, "client_id": oauth["client_id"], "client_secret": oauth["client_secret"]}


def touch(base, t):
    basic = base64.b64encode(f"{t['client_id']}:{t['client_secret']}".encode()).decode()
    tok = call(base, "POST", f"/t/{t['name']}/oauth2/default/v1/token",
               {"grant_type": "client_credentials", "scope": "load.read"},
               {"Authorization": f"Basic {basic}"}, form=True)
    assert tok["token_type"] == "Bearer", tok
    keys = call(base, "GET", f"/t/{t['name']}/oauth2/default/v1/keys")
    assert keys["keys"], keys


def run(fn, items):
    done = 0
    out = []
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        for r in pool.map(fn, items):
            out.append(r)
            done += 1
            if done % 500 == 0:
                print(f"  {done:,} / {len(items):,}", file=sys.stderr, flush=True)
    return out


def main():
    cmd = sys.argv[1]
    if cmd == "provision":
        base, operator, n, path = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
        tenants = run(lambda i: provision(base, operator, i), list(range(n)))
        with open(path, "w") as f:
            json.dump(tenants, f)
    elif cmd == "touch":
        base, path = sys.argv[2], sys.argv[3]
        with open(path) as f:
            tenants = json.load(f)
        run(lambda t: touch(base, t), tenants)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
