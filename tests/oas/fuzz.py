"""A bounded schemathesis run against a live Tessera, over the operations of Okta's Management
API document that Tessera implements.

Usage: fuzz.py OAS_DIR ORG_URL API_TOKEN ROUTES_JSON WORK_DIR

ROUTES_JSON lists Tessera's management routes as `[["GET", "/api/v1/users/{id}"], ...]`
(relative to the org URL). The script writes a filtered copy of `management.yaml` holding only
those operations (the defects of the document itself, listed in DEFECTS, corrected in the copy),
then runs schemathesis with two checks: no server error (5xx) and every documented response
matches its schema. Exits with schemathesis's status. Where OAS_DIR is absent, says so and
exits 0 (skipped).
"""

import json
import pathlib
import re
import subprocess
import sys
import warnings

from ruamel.yaml import YAML
from ruamel.yaml.error import ReusedAnchorWarning

# Operations left out of the run, each with its reason.
SKIPPED = {
    # It would revoke the very token the run authenticates with.
    "revokeCurrentApiToken",
    # Runs a hook against a URL the run cannot serve; the hook path has its own tests.
    "executeInlineHook",
    # schemathesis cannot generate a body from `AppUserUpdateRequest` (an allOf it cannot
    # satisfy); the operation is covered by the black-box suite and checked by check.py.
    "updateApplicationUser",
}

METHODS = ("get", "post", "put", "patch", "delete")


def normalized(path):
    return re.sub(r"\{[^}]+\}", "{}", path.rstrip("/") or "/")


def correct_defects(doc):
    """The document's own defects (its README): the `TimeDuration` pattern matches only "P"."""
    schemas = doc.get("components", {}).get("schemas", {})
    duration = schemas.get("TimeDuration")
    if isinstance(duration, dict):
        duration.pop("pattern", None)


def main():
    if len(sys.argv) != 6:
        print(__doc__)
        return 2
    oas_dir, org, token, routes_file, work = sys.argv[1:]
    spec_path = pathlib.Path(oas_dir) / "management.yaml"
    if not spec_path.exists():
        print(f"SKIPPED: Okta's OpenAPI documents are not at {oas_dir} (set OKTA_OAS_DIR)")
        return 0
    warnings.simplefilter("ignore", ReusedAnchorWarning)
    doc = YAML(typ="safe").load(spec_path.read_text())
    implemented = {(m.upper(), normalized(p)) for m, p in json.loads(pathlib.Path(routes_file).read_text())}
    kept_paths = {}
    operations = 0
    for path, item in doc["paths"].items():
        kept = {k: v for k, v in item.items() if k not in METHODS}
        for method in METHODS:
            op = item.get(method)
            if not op or (method.upper(), normalized(path)) not in implemented:
                continue
            if op.get("operationId") in SKIPPED:
                continue
            kept[method] = op
            operations += 1
        if any(m in kept for m in METHODS):
            kept_paths[path] = kept
    doc["paths"] = kept_paths
    doc["servers"] = [{"url": org}]
    correct_defects(doc)
    work_dir = pathlib.Path(work)
    work_dir.mkdir(parents=True, exist_ok=True)
    filtered = work_dir / "management.filtered.json"
    filtered.write_text(json.dumps(doc, default=str))
    print(f"{operations} operations of Okta's Management API document are implemented and fuzzed")
    command = [
        str(pathlib.Path(sys.executable).parent / "schemathesis"),
        "run",
        str(filtered),
        "--url", org,
        "--header", f"Authorization: SSWS {token}",
        "--checks", "not_a_server_error,response_schema_conformance",
        "--max-examples", "10",
        "--phases", "examples,fuzzing",
        "--mode", "all",
        "--workers", "1",
        "--seed", "1",
        "--no-shrink",
        "--generation-database", "none",
        "--request-timeout", "10",
        "--output-truncate", "true",
        "--no-color",
        "--warnings", "off",
        "--report", "junit",
        "--report-dir", str(work_dir / "report"),
    ]
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
