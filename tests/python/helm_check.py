"""Lints the Helm chart with the real Helm (Go SDK, bundled by helm-python-sdk), checks values
against values.schema.json, renders several value sets and validates every rendered manifest
against the Kubernetes 1.32 schemas (kubernetes-validate --strict). Also checks what the chart
promises: one hardened Deployment per service, HPA and PDB for token and introspection, the
migration hook, and the ingress routing of deploy/nginx/routes.conf. Exits non-zero on the first
problem; prints a summary line per value set."""
import copy
import subprocess
import sys
import tempfile
from pathlib import Path

import helm_python as helm
import yaml

CHART = str(Path(__file__).resolve().parents[2] / "helm" / "tessera")
KUBE = "1.32.0"


def fail(msg):
    sys.exit(f"helm check: {msg}")


def render(values):
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(values)
        out = chart.render(values, name="tessera", namespace="auth")
    docs = []
    for name, text in sorted(out.items()):
        if not name.endswith(".yaml"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                docs.append(doc)
    return docs


def kube_validate(docs):
    plain = [d for d in docs if d["kind"] != "ServiceMonitor"]  # a CRD: no upstream schema
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump_all(plain, f)
    bin_dir = Path(sys.executable).parent
    r = subprocess.run(
        [str(bin_dir / "kubernetes-validate"), "-k", KUBE, "--strict", f.name],
        capture_output=True, text=True,
    )
    if r.returncode != 0:
        fail(f"kubernetes-validate: {r.stdout}{r.stderr}")


def by_kind(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def check_promises(docs, values):
    deployments = by_kind(docs, "Deployment")
    want = {f"tessera-{c}" for c in ("token", "introspection", "admin", "keys")}
    if set(deployments) != want:
        fail(f"deployments {sorted(deployments)} != {sorted(want)}")
    for name, d in deployments.items():
        pod = d["spec"]["template"]["spec"]
        if pod.get("enableServiceLinks") is not False:
            fail(f"{name} lets Kubernetes inject service-link variables (enableServiceLinks)")
        c = pod["containers"][0]
        component = name.removeprefix("tessera-")
        if c["args"] != ["serve", "--service", component]:
            fail(f"{name} args {c['args']}")
        if not pod["securityContext"].get("runAsNonRoot"):
            fail(f"{name} may run as root")
        sc = c["securityContext"]
        if not sc.get("readOnlyRootFilesystem") or sc.get("allowPrivilegeEscalation") is not False:
            fail(f"{name} container is not locked down: {sc}")
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz")):
            if c.get(probe, {}).get("httpGet", {}).get("path") != path:
                fail(f"{name} {probe} is not {path}")
        env = {e["name"]: e for e in c["env"]}
        for secret_env in ("DATABASE_URL", "REDIS_URL", "TESSERA_MASTER_KEY", "TESSERA_OPERATOR_TOKEN"):
            if "secretKeyRef" not in env.get(secret_env, {}).get("valueFrom", {}):
                fail(f"{name} does not take {secret_env} from a Secret")
        if not c["resources"].get("requests"):
            fail(f"{name} has no resource requests")
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        if ports != {"http": 8080, "metrics": 9464}:
            fail(f"{name} ports {ports}")
    hpas = by_kind(docs, "HorizontalPodAutoscaler")
    pdbs = by_kind(docs, "PodDisruptionBudget")
    for component in ("token", "introspection"):
        if values["services"][component]["autoscaling"]["enabled"] and f"tessera-{component}" not in hpas:
            fail(f"no HPA for {component}")
        if f"tessera-{component}" not in pdbs:
            fail(f"no PDB for {component}")
    jobs = by_kind(docs, "Job")
    job = jobs.get("tessera-migrate")
    if not job or "pre-upgrade" not in job["metadata"]["annotations"]["helm.sh/hook"]:
        fail("no pre-install/pre-upgrade migration hook")
    if job["spec"]["template"]["spec"].get("enableServiceLinks") is not False:
        fail("the migration job lets Kubernetes inject service-link variables")
    if job["spec"]["template"]["spec"]["containers"][0]["args"] != ["migrate"]:
        fail("the migration job does not run `tessera migrate`")
    services = by_kind(docs, "Service")
    if set(services) != want:
        fail(f"services {sorted(services)}")
    ingresses = by_kind(docs, "Ingress")
    if values["ingress"]["enabled"]:
        paths = {
            p["path"]: p["backend"]["service"]["name"]
            for p in ingresses["tessera"]["spec"]["rules"][0]["http"]["paths"]
        }
        expected = {
            "/operator/": "tessera-admin",
            "/t/[^/]+/api/": "tessera-admin",
            "/t/[^/]+/oauth2/v1/clients": "tessera-admin",
            "/t/[^/]+/oauth2/([^/]+/)?v1/(introspect|revoke)$": "tessera-introspection",
            "/t/": "tessera-token",
        }
        if paths != expected:
            fail(f"ingress routing {paths}")
        if any(p["backend"]["service"]["port"].get("name", p["backend"]["service"]["port"].get("number")) in ("metrics", 9464)
               for p in ingresses["tessera"]["spec"]["rules"][0]["http"]["paths"]):
            fail("the ingress routes to the metrics port")
    for name, svc in services.items():
        if {p["name"] for p in svc["spec"]["ports"]} != {"http", "metrics"}:
            fail(f"{name} ports {svc['spec']['ports']}")
    for monitor in by_kind(docs, "ServiceMonitor").values():
        if [e["port"] for e in monitor["spec"]["endpoints"]] != ["metrics"]:
            fail("the ServiceMonitor does not scrape the metrics port")
    for policy in by_kind(docs, "NetworkPolicy").values():
        rules = policy["spec"]["ingress"]
        metrics_rules = [r for r in rules if any(p["port"] == "metrics" for p in r["ports"])]
        if not metrics_rules or any(not r.get("from") for r in metrics_rules):
            fail("the NetworkPolicy leaves the metrics port open to everyone")
    config = by_kind(docs, "ConfigMap")["tessera-config"]["data"]
    if config["TESSERA_PUBLIC_URL"] != values["publicUrl"]:
        fail("public URL not configured")
    if config["TESSERA_METRICS_LISTEN"] != "0.0.0.0:9464":
        fail("metrics are not on their own port")
    return len(docs)


def check_chart_metadata():
    """What Chart.yaml points at exists in this repository (the icon, by its path on main)."""
    meta = yaml.safe_load((Path(CHART) / "Chart.yaml").read_text())
    icon = meta.get("icon", "")
    path = icon.split("/main/", 1)[1] if "/main/" in icon else ""
    if not path or not (Path(CHART).parents[1] / path).is_file():
        fail(f"Chart.yaml's icon {icon!r} names no file of the repository")
    print(f"ok: Chart.yaml's icon is {path}")


def check_connection_budget(values):
    """Every pod's PostgreSQL pool, at each service's largest pod count plus the one extra pod a
    rolling update adds, fits PostgreSQL's default max_connections (100, 3 kept for superusers)."""
    total = 0
    for name, svc in values["services"].items():
        pods = svc["autoscaling"]["maxReplicas"] if svc["autoscaling"]["enabled"] else svc["replicas"]
        total += (pods + 1) * svc["databaseMaxConnections"]
    if total > 97:
        fail(f"the pools can open {total} PostgreSQL connections, more than 97")
    print(f"ok: at most {total} PostgreSQL connections, rolling update included")


def main():
    check_chart_metadata()
    lint = helm.lint(CHART)
    if lint["errors"]:
        fail("lint errors: " + "; ".join(map(str, lint["errors"])))
    if lint["messages"]:
        fail("lint findings: " + "; ".join(map(str, lint["messages"])))
    with open(Path(CHART) / "values.yaml") as f:
        defaults = yaml.safe_load(f)
    check_connection_budget(defaults)

    created = copy.deepcopy(defaults)
    created["secrets"] = {
        "existingSecret": "",
        "create": True,
        "masterKey": "A" * 43,
        "operatorToken": "operator-token-0123456789abcdef",
    }
    created["serviceMonitor"]["enabled"] = True
    created["networkPolicy"]["enabled"] = True
    created["otel"]["endpoint"] = "http://otel-collector:4318"
    fixed = copy.deepcopy(defaults)
    fixed["ingress"]["enabled"] = False
    for c in fixed["services"].values():
        c["autoscaling"]["enabled"] = False
    fixed["services"]["token"]["replicas"] = 6
    variants = {"defaults": defaults, "chart-made secret + monitoring": created, "no ingress, fixed replicas": fixed}
    for label, values in variants.items():
        docs = render(values)
        kube_validate(docs)
        n = check_promises(docs, values)
        if label == "chart-made secret + monitoring":
            if "tessera-secrets" not in by_kind(docs, "Secret") or not by_kind(docs, "ServiceMonitor"):
                fail("secret or ServiceMonitor missing")
            if not by_kind(docs, "NetworkPolicy"):
                fail("NetworkPolicy missing")
        if label == "no ingress, fixed replicas":
            if by_kind(docs, "HorizontalPodAutoscaler") or by_kind(docs, "Ingress"):
                fail("HPA or Ingress rendered though disabled")
            if by_kind(docs, "Deployment")["tessera-token"]["spec"]["replicas"] != 6:
                fail("fixed replica count not used")
        print(f"ok: {label}: {n} manifests rendered and valid for Kubernetes {KUBE}")

    # Values the schema must refuse, and a secret the template must insist on.
    bad = [
        ("replicas as text", lambda v: v["services"]["token"].__setitem__("replicas", "three")),
        ("ftp public URL", lambda v: v.__setitem__("publicUrl", "ftp://auth.example.com")),
        ("short master key", lambda v: v["secrets"].update(existingSecret="", create=True, masterKey="short", operatorToken="x" * 30)),
        ("unknown setting", lambda v: v.__setitem__("replicaCount", 3)),
        ("foreign env name", lambda v: v.__setitem__("extraEnv", {"PATH": "/tmp"})),
    ]
    for label, mutate in bad:
        values = copy.deepcopy(defaults)
        mutate(values)
        try:
            render(values)
        except Exception:  # noqa: BLE001 - any refusal is the expected outcome
            print(f"ok: refused {label}")
            continue
        fail(f"accepted {label}")
    missing = copy.deepcopy(defaults)
    missing["secrets"].update(existingSecret="", create=True)
    try:
        render(missing)
    except Exception as e:  # noqa: BLE001
        if "secrets.masterKey" not in str(e):
            fail(f"unexpected refusal: {e}")
        print("ok: refused a chart-made secret without its values")
    else:
        fail("rendered a chart-made secret without a master key")


if __name__ == "__main__":
    main()
