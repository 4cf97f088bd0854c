"""Okta's published OpenAPI documents as the test oracle.

Reads the responses the black-box suite received (recorded by the test build's wire capture,
`shared/web/src/capture.rs`, one JSON object per line in the files of a directory) and validates
each body against the response schema of its operation in Okta's Management API and OAuth 2.0
documents (`management.yaml`, `oauth.yaml`, as Okta publishes them with its SDKs). Operations
that Okta's documents do not describe (Tessera's operator API, its health endpoints) are
counted and skipped.

Usage: check.py CAPTURE_DIR OAS_DIR. Where OAS_DIR is absent, says so and exits 0 (skipped).
Exits 1 when a body fails its schema and the failure is not in KNOWN below.
"""

import hashlib
import json
import pathlib
import re
import sys
import warnings
from collections import Counter, defaultdict

from ruamel.yaml import YAML
from ruamel.yaml.error import ReusedAnchorWarning
from openapi_schema_validator import OAS30Validator

# What a body whose schema refers to itself without end is reported as.
RECURSIVE = "(schema): the schema refers to itself without end"

# Failures that are not Tessera's to fix, each with its reason. A key is (operationId, status,
# the start of the validation message); a failure matching one is reported but does not fail
# the check. Keep this list short: anything else is a gap in Tessera.
KNOWN = [
    # The documents' own defects (their README): the `TimeDuration` pattern matches only "P",
    # so no duration (Okta's own `tokenWindow` "P30D" included) validates.
    ("listApiTokens", 200, "tokenWindow: 'P30D' does not match"),
    ("getApiToken", 200, "tokenWindow: 'P30D' does not match"),
    # The inline-hook response is a oneOf of hook shapes with no discriminator: any
    # `{commands: [...]}` matches several of them, which oneOf forbids.
    ("executeInlineHook", 200, "(body): "),
    # The Client API's `jwks` keys: `JsonSigningWebKey` is a oneOf of `JsonWebKeyEC` and
    # `JsonWebKeyRsa`, each an allOf of `JsonSigningWebKey` again, so validating any client with
    # a key never ends. The bodies are not judged; the rest of these operations' bodies are.
    # RFC 9126 §2.2 says a pushed request is answered `201 Created`, and openid-client refuses
    # anything else; Okta's document lists 200 (docs/architecture.md, "Departures").
    ("parCustomAS", 201, "status not documented"),
    ("par", 201, "status not documented"),
    # Okta answers DPoP-bound tokens with `token_type` `DPoP` (its DPoP guide, RFC 9449 §5);
    # the document's enum lists only Bearer and N_A.
    ("token", 200, "token_type: 'DPoP' is not one of"),
    ("tokenCustomAS", 200, "token_type: 'DPoP' is not one of"),
    # Cross App Access: the org server issues identity assertions with `issued_token_type`
    # `urn:ietf:params:oauth:token-type:id-jag` (draft-ietf-oauth-identity-assertion-authz-grant,
    # Okta's Cross App Access); the document's enum predates it.
    ("token", 200, "issued_token_type: 'urn:ietf:params:oauth:token-type:id-jag' is not one of"),
] + [
    (op, status, RECURSIVE)
    for op, status in [("listClients", 200), ("getClient", 200), ("createClient", 201), ("replaceClient", 200)]
]

DOCUMENTS = ["management.yaml", "oauth.yaml"]
# Bodies validated per operation and status at most: the suite repeats itself, and the
# validator is the slow part.
PER_OPERATION = 200


def normalized(path):
    """`/api/v1/users/{userId}` and `/api/v1/users/{id}` alike: `/api/v1/users/{}`."""
    return re.sub(r"\{[^}]+\}", "{}", path.rstrip("/") or "/")


def tenant_relative(pattern):
    """The route as Okta would spell it: without Tessera's `/t/{tenant}` prefix."""
    pattern = re.sub(r"^/t/\{[^}]+\}", "", pattern)
    return pattern or "/"


def load_operations(oas_dir):
    warnings.simplefilter("ignore", ReusedAnchorWarning)
    operations = {}
    roots = {}
    for name in DOCUMENTS:
        # ruamel: the documents redefine YAML anchors, which YAML 1.2 allows and PyYAML refuses.
        doc = YAML(typ="safe").load((oas_dir / name).read_text())
        roots[name] = doc
        for path, item in doc.get("paths", {}).items():
            for method, op in item.items():
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                key = (method.upper(), normalized(path))
                # management.yaml wins where both describe a path.
                operations.setdefault(key, (name, path, op))
    return operations, roots


def response_schema(op, status):
    responses = op.get("responses", {})
    for key in (str(status), f"{str(status)[0]}XX", "default"):
        if key in responses:
            resp = responses[key]
            break
    else:
        return None, False
    return resp, True


def resolve(doc, node):
    while isinstance(node, dict) and "$ref" in node and node["$ref"].startswith("#/"):
        target = doc
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    capture_dir, oas_dir = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    if not all((oas_dir / d).exists() for d in DOCUMENTS):
        print(f"SKIPPED: Okta's OpenAPI documents are not at {oas_dir} (set OKTA_OAS_DIR)")
        return 0
    operations, roots = load_operations(oas_dir)
    validators = {}
    seen = set()
    counts = Counter()
    per_op = Counter()
    failures = defaultdict(list)
    unknown_ops = Counter()
    files = sorted(capture_dir.glob("*.jsonl"))
    for file in files:
        for line in file.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                counts["unreadable"] += 1
                continue
            counts["responses"] += 1
            pattern = rec.get("pattern") or rec["path"]
            key = (rec["method"], normalized(tenant_relative(pattern)))
            found = operations.get(key)
            if not found:
                unknown_ops[f"{key[0]} {key[1]}"] += 1
                continue
            doc_name, spec_path, op = found
            op_id = op.get("operationId", f"{key[0]} {spec_path}")
            status = rec["status"]
            doc = roots[doc_name]
            resp, documented = response_schema(op, status)
            if not documented and status >= 400:
                # Okta documents few error statuses per operation, but every error of its
                # APIs has one shape: its management error body, or RFC 6749's on the
                # protocol endpoints.
                error = "OAuthError" if "error" in (rec["body"] or {}) else "Error"
                error_doc = roots["oauth.yaml"]
                resp = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{error}"}}}}
                doc_name, doc = "oauth.yaml", error_doc
                op_id = f"{op_id} (error body)"
            elif not documented:
                failures[(op_id, status, "status not documented")].append(rec["path"])
                continue
            resp = resolve(doc, resp)
            content = (resp.get("content") or {})
            media = content.get("application/json") or next(iter(content.values()), None)
            if not media or "schema" not in media:
                counts["no schema"] += 1
                continue
            body = rec["body"]
            digest = hashlib.sha256(
                json.dumps([op_id, status, body], sort_keys=True).encode()
            ).hexdigest()
            if digest in seen or per_op[(op_id, status)] >= PER_OPERATION:
                counts["duplicates"] += 1
                continue
            seen.add(digest)
            per_op[(op_id, status)] += 1
            vkey = (doc_name, op_id, status)
            if vkey not in validators:
                schema = dict(media["schema"])
                schema["components"] = doc.get("components", {})
                validators[vkey] = OAS30Validator(schema)
            counts["validated"] += 1
            try:
                errors = list(validators[vkey].iter_errors(body))
            except RecursionError:
                failures[(op_id, status, RECURSIVE)].append(rec["path"])
                continue
            for e in errors:
                where = "/".join(str(p) for p in e.absolute_path) or "(body)"
                # One entry per kind of failure: list indexes do not make a new one.
                where = re.sub(r"^\d+/", "", where)
                failures[(op_id, status, f"{where}: {e.message[:200]}")].append(rec["path"])
    known, unexpected = [], []
    for (op_id, status, message), paths in sorted(failures.items()):
        is_known = any(
            op_id == k[0] and status == k[1] and message.startswith(k[2]) for k in KNOWN
        )
        (known if is_known else unexpected).append((op_id, status, message, paths))
    print(
        f"{counts['responses']} JSON responses in {len(files)} files; "
        f"{counts['validated']} validated against Okta's documents, "
        f"{counts['duplicates']} repeats, {sum(unknown_ops.values())} on operations Okta does "
        f"not document ({len(unknown_ops)} routes), {counts['no schema']} without a schema"
    )
    for op_id, status, message, paths in known:
        print(f"known: {op_id} {status}: {message} ({len(paths)}x)")
    for op_id, status, message, paths in unexpected:
        print(f"FAIL: {op_id} {status}: {message} ({len(paths)}x, e.g. {paths[0]})")
    print(f"{len(unexpected)} schema failures, {len(known)} known")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
