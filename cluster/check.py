#!/usr/bin/env python3
"""Validates the multi-node deployment assets in cluster/.

    python3 cluster/check.py KNOWN_VARS_JSON

KNOWN_VARS_JSON is a JSON list of every variable the server reads, e.g.
'["HELLOJOHN_PORT", "HELLOJOHN_HOST", ...]' (a name without the HELLOJOHN_ prefix is
taken as having it). The Rust test-suite passes the list from src/config.rs, so a
variable renamed or dropped in the server can't linger in the compose file or the
Kubernetes manifests.

Checks:
  * every *.yaml / *.yml under cluster/ parses (all documents), and every *.json;
  * promtool, when installed: `check config` on prometheus/prometheus.yml (which also
    checks the rule files it names), `test rules` on the rule tests, and every
    dashboard expression as PromQL; without promtool a SKIP line says so;
  * every HELLOJOHN_* variable set in compose.yaml and k8s/ (a trailing _FILE
    removed) is one the server reads, and each node sets the cluster settings;
  * the compose nodes are the targets Prometheus scrapes;
  * the Dockerfile is multi-stage, has a HEALTHCHECK and ends on a non-root USER;
  * every metric named in the Grafana dashboard starts with hellojohn_ or process_
    (the names are printed; those not found in src/ are listed as a note).

Prints `cluster assets: OK (...)` and exits 0, or lists every failure and exits 1.
Exit code 2: bad usage or PyYAML missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CLUSTER = Path(__file__).resolve().parent
REPO = CLUSTER.parent
PREFIX = "HELLOJOHN_"

# Settings every cluster node must have (after a trailing _FILE is removed).
NODE_REQUIRED = [
    "HELLOJOHN_DATABASE_URL",
    "HELLOJOHN_ENCRYPTION_KEY",
    "HELLOJOHN_NODE_NAME",
    "HELLOJOHN_CLUSTER_LISTEN",
    "HELLOJOHN_CLUSTER_ADVERTISE",
    "HELLOJOHN_CLUSTER_COOKIE",
    "HELLOJOHN_CLUSTER_TLS_CERT",
    "HELLOJOHN_CLUSTER_TLS_KEY",
    "HELLOJOHN_CLUSTER_TLS_CA",
    "HELLOJOHN_METRICS_LISTEN",
]

# Words of PromQL that look like metric names but are not.
PROMQL_WORDS = {
    "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
    "group_left", "group_right", "atan2", "inf", "nan", "start", "end",
}

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the machine
    print(
        "cluster/check.py: PyYAML is missing. Install it with:\n"
        "    python3 -m pip install pyyaml\n"
        "(or apt-get install python3-yaml)",
        file=sys.stderr,
    )
    sys.exit(2)


class Report:
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.notes: list[str] = []

    def fail(self, message: str) -> None:
        self.failures.append(message)

    def note(self, message: str) -> None:
        self.notes.append(message)


def rel(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def asset_files(suffixes: tuple[str, ...]) -> list[Path]:
    """Files under cluster/ with one of the suffixes, generated certificates excluded."""
    out = []
    for path in sorted(CLUSTER.rglob("*")):
        if not path.is_file() or path.suffix not in suffixes:
            continue
        if "certs" in path.relative_to(CLUSTER).parts:
            continue
        out.append(path)
    return out


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------


def load_yaml_files(report: Report) -> tuple[dict[Path, list], int]:
    docs: dict[Path, list] = {}
    count = 0
    for path in asset_files((".yaml", ".yml")):
        try:
            with path.open(encoding="utf-8") as f:
                parsed = [d for d in yaml.safe_load_all(f) if d is not None]
        except yaml.YAMLError as e:
            report.fail(f"{rel(path)}: not valid YAML: {e}")
            continue
        docs[path] = parsed
        count += len(parsed)
    return docs, count


def load_json_files(report: Report) -> dict[Path, object]:
    out = {}
    for path in asset_files((".json",)):
        try:
            out[path] = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            report.fail(f"{rel(path)}: not valid JSON: {e}")
    return out


# ---------------------------------------------------------------------------
# promtool
# ---------------------------------------------------------------------------


def find_promtool() -> str | None:
    found = shutil.which("promtool")
    if found:
        return found
    return "/usr/bin/promtool" if os.access("/usr/bin/promtool", os.X_OK) else None


def run_promtool(
    promtool: str, args: list[str], report: Report, what: str, explain=lambda output: ""
) -> None:
    try:
        result = subprocess.run(
            [promtool, *args], cwd=REPO, capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        report.fail(f"promtool {what}: could not run: {e}")
        return
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        report.fail(f"promtool {what} failed:\n{indent(output)}{explain(output)}")


def indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def grafana_to_promql(expr: str) -> str:
    """Replaces Grafana's variables so promtool can parse the expression."""

    def replace(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        return "5m" if name.startswith("__") else ".*"

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", replace, expr)


def check_dashboard_promql(promtool: str, exprs: list[str], report: Report) -> None:
    if not exprs:
        return
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard_expression_{i}", "expr": grafana_to_promql(e)}
                    for i, e in enumerate(exprs)
                ],
            }
        ]
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dashboard-expressions.yml"
        path.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")

        def explain(output: str) -> str:
            numbers = sorted({int(n) for n in re.findall(r"dashboard_expression_(\d+)", output)})
            return "".join(f"\n    dashboard_expression_{n}: {exprs[n]}" for n in numbers)

        run_promtool(
            promtool, ["check", "rules", str(path)], report, "check of the dashboard's PromQL", explain
        )


def check_prometheus(dashboard_exprs: list[str], report: Report) -> str:
    config = CLUSTER / "prometheus" / "prometheus.yml"
    if not config.is_file():
        report.fail(f"{rel(config)} is missing")
        return "no config"
    promtool = find_promtool()
    if promtool is None:
        print(
            "!!!! SKIP: promtool not found: prometheus.yml, the alert rules and the "
            "dashboard's PromQL were NOT checked (apt-get install prometheus) !!!!"
        )
        return "promtool SKIPPED"
    # `check config` also checks every rule file the configuration names.
    run_promtool(promtool, ["check", "config", rel(config)], report, f"check config {rel(config)}")
    tests = sorted((CLUSTER / "prometheus").glob("*.test.yml"))
    for test in tests:
        run_promtool(promtool, ["test", "rules", rel(test)], report, f"test rules {rel(test)}")
    check_dashboard_promql(promtool, dashboard_exprs, report)
    return f"promtool: config, rules, {len(tests)} rule test file(s), dashboard PromQL"


# ---------------------------------------------------------------------------
# Environment variables
# ---------------------------------------------------------------------------


def strip_file(name: str) -> str:
    return name[: -len("_FILE")] if name.endswith("_FILE") else name


def env_names(node) -> set[str]:
    """Every HELLOJOHN_* variable a parsed compose or Kubernetes document sets."""
    found: set[str] = set()

    def walk(value) -> None:
        if isinstance(value, dict):
            # Kubernetes env entry: {name: HELLOJOHN_X, value|valueFrom: ...}
            name = value.get("name")
            if isinstance(name, str) and name.startswith(PREFIX) and (
                "value" in value or "valueFrom" in value
            ):
                found.add(name)
            for key, item in value.items():
                # compose environment mapping: {HELLOJOHN_X: value}
                if isinstance(key, str) and key.startswith(PREFIX):
                    found.add(key)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                # compose environment list: ["HELLOJOHN_X=value"]
                if isinstance(item, str) and item.startswith(PREFIX):
                    found.add(item.split("=", 1)[0])
                walk(item)

    walk(node)
    return found


def compose_env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) + [""] for item in env if isinstance(item, str))
        return {p[0]: p[1] for p in pairs}
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def check_variables(docs: dict[Path, list], known: set[str], report: Report) -> set[str]:
    compose = CLUSTER / "compose.yaml"
    sources = [compose] + sorted(p for p in docs if p.parent == CLUSTER / "k8s")
    used: dict[str, set[str]] = {}
    for path in sources:
        if path not in docs:
            if path == compose and not compose.exists():
                report.fail(f"{rel(compose)} is missing")
            continue
        for doc in docs[path]:
            for name in env_names(doc):
                used.setdefault(strip_file(name), set()).add(rel(path))
    dockerfile = CLUSTER / "Dockerfile"
    if dockerfile.is_file():
        for line in dockerfile.read_text(encoding="utf-8").splitlines():
            if not line.lstrip().startswith("#"):
                for name in re.findall(r"\bHELLOJOHN_[A-Z0-9_]+", line):
                    used.setdefault(strip_file(name), set()).add(rel(dockerfile))
    unknown = sorted(n for n in used if n not in known)
    for name in unknown:
        report.fail(
            f"{name} (in {', '.join(sorted(used[name]))}) is not a variable the server reads"
        )
    return set(used)


def check_compose(docs: dict[Path, list], report: Report) -> list[str]:
    """The compose nodes: cluster settings, distinct names, certificates mounted."""
    path = CLUSTER / "compose.yaml"
    if path not in docs or not docs[path]:
        return []
    services = docs[path][0].get("services") or {}
    nodes = []
    for name, service in services.items():
        image = str(service.get("image", ""))
        build = service.get("build") or {}
        dockerfile = build.get("dockerfile", "") if isinstance(build, dict) else ""
        if image.startswith("hellojohn") or str(dockerfile).endswith("cluster/Dockerfile"):
            nodes.append((name, service))
    if len(nodes) < 2:
        report.fail(f"{rel(path)}: expected several hellojohn nodes, found {len(nodes)}")
    if "postgres" not in services:
        report.fail(f"{rel(path)}: no postgres service")
    node_names, advertised, targets = {}, {}, []
    for name, service in nodes:
        env = {strip_file(k): v for k, v in compose_env(service).items()}
        missing = [v for v in NODE_REQUIRED if v not in env]
        if missing:
            report.fail(f"{rel(path)}: service {name} lacks {', '.join(missing)}")
        for var, seen in (("HELLOJOHN_NODE_NAME", node_names), ("HELLOJOHN_CLUSTER_ADVERTISE", advertised)):
            value = env.get(var)
            if value is not None:
                if value in seen:
                    report.fail(f"{rel(path)}: {name} and {seen[value]} share {var}={value}")
                seen[value] = name
        if not str(env.get("HELLOJOHN_DATABASE_URL", "postgres")).startswith(("postgres", "mysql")):
            report.fail(f"{rel(path)}: {name}: a cluster needs a PostgreSQL or MySQL HELLOJOHN_DATABASE_URL")
        mounted = set()
        for volume in service.get("volumes") or []:
            target = volume.get("target") if isinstance(volume, dict) else str(volume).split(":")[1:2]
            mounted.update([target] if isinstance(target, str) else target)
        for var in ("HELLOJOHN_CLUSTER_TLS_CERT", "HELLOJOHN_CLUSTER_TLS_KEY", "HELLOJOHN_CLUSTER_TLS_CA"):
            file = env.get(var)
            if file and not any(file == m or file.startswith(m.rstrip("/") + "/") for m in mounted):
                report.fail(f"{rel(path)}: {name}: {var}={file} is not in a mounted volume")
        metrics = env.get("HELLOJOHN_METRICS_LISTEN", "")
        if ":" in metrics:
            targets.append(f"{name}:{metrics.rsplit(':', 1)[1]}")
    return targets


def check_scrape_targets(docs: dict[Path, list], expected: list[str], report: Report) -> None:
    path = CLUSTER / "prometheus" / "prometheus.yml"
    if path not in docs or not docs[path] or not expected:
        return
    scraped = set()
    for job in docs[path][0].get("scrape_configs") or []:
        for static in job.get("static_configs") or []:
            scraped.update(static.get("targets") or [])
    missing = sorted(set(expected) - scraped)
    if missing:
        report.fail(f"{rel(path)}: compose nodes not scraped: {', '.join(missing)}")


def check_k8s(docs: dict[Path, list], report: Report) -> int:
    """Every hellojohn container in the manifests has the cluster settings."""
    containers = 0
    for path, parsed in docs.items():
        if path.parent != CLUSTER / "k8s":
            continue
        for doc in parsed:
            if not isinstance(doc, dict):
                continue
            spec = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
            for container in spec.get("containers") or []:
                if not str(container.get("image", "")).startswith("hellojohn"):
                    continue
                containers += 1
                env = {strip_file(e.get("name", "")) for e in container.get("env") or []}
                missing = [v for v in NODE_REQUIRED if v not in env]
                if missing:
                    report.fail(
                        f"{rel(path)}: {doc.get('kind')} {doc['metadata'].get('name')}: "
                        f"container {container.get('name')} lacks {', '.join(missing)}"
                    )
    if containers == 0:
        report.fail("cluster/k8s: no hellojohn container found")
    return containers


# ---------------------------------------------------------------------------
# Dockerfile
# ---------------------------------------------------------------------------


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    if current:
        lines.append(current)
    out = []
    for line in lines:
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def check_dockerfile(report: Report) -> None:
    path = CLUSTER / "Dockerfile"
    if not path.is_file():
        report.fail(f"{rel(path)} is missing")
        return
    instructions = dockerfile_instructions(path.read_text(encoding="utf-8"))
    froms = [args for word, args in instructions if word == "FROM"]
    if len(froms) < 2:
        report.fail(f"{rel(path)}: not multi-stage ({len(froms)} FROM)")
    health = [args for word, args in instructions if word == "HEALTHCHECK"]
    if not health or any(h.upper().startswith("NONE") for h in health):
        report.fail(f"{rel(path)}: no HEALTHCHECK")
    # The USER in force in the final stage.
    final_stage = max((i for i, (w, _) in enumerate(instructions) if w == "FROM"), default=0)
    users = [args for word, args in instructions[final_stage:] if word == "USER"]
    if not users:
        report.fail(f"{rel(path)}: the final stage runs as root (no USER)")
    else:
        user = users[-1].split(":", 1)[0].strip()
        if user in ("root", "0", ""):
            report.fail(f"{rel(path)}: the final stage runs as root (USER {users[-1]})")


# ---------------------------------------------------------------------------
# Grafana dashboard
# ---------------------------------------------------------------------------


def dashboard_queries(dashboard) -> tuple[list[str], list[str]]:
    """(panel expressions, templating queries) of a dashboard, nested rows included."""
    exprs: list[str] = []

    def walk_panels(panels) -> None:
        for panel in panels or []:
            for target in panel.get("targets") or []:
                if isinstance(target, dict) and target.get("expr"):
                    exprs.append(target["expr"])
            walk_panels(panel.get("panels"))

    walk_panels(dashboard.get("panels"))
    templating = []
    for variable in (dashboard.get("templating") or {}).get("list") or []:
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if isinstance(query, str) and query:
            templating.append(query)
    return exprs, templating


def promql_metric_names(expr: str) -> set[str]:
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    s = re.sub(r"\{[^}]*\}", " ", s)  # label matchers
    s = re.sub(r"\[[^\]]*\]", " ", s)  # ranges and subqueries
    s = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    s = re.sub(r"\$\{?\w+(?::\w+)?\}?", " ", s)  # Grafana variables
    names = set()
    for m in re.finditer(r"(?<![\w.:$])([a-zA-Z_:][\w:]*)(?![\w:]|\s*\()", s):
        if m.group(1).lower() not in PROMQL_WORDS:
            names.add(m.group(1))
    return names


def templating_metric_names(query: str) -> set[str]:
    m = re.match(r"\s*label_values\(\s*([a-zA-Z_:][\w:]*)\s*(?:\{[^}]*\})?\s*,", query)
    if m:
        return {m.group(1)}
    m = re.match(r"\s*query_result\((.*)\)\s*$", query, re.S)
    if m:
        return promql_metric_names(m.group(1))
    return set()


def source_text() -> str:
    src = REPO / "src"
    if not src.is_dir():
        return ""
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in src.rglob("*.rs"))


def check_dashboards(jsons: dict[Path, object], report: Report) -> tuple[list[str], set[str]]:
    dashboards = {p: d for p, d in jsons.items() if p.parent == CLUSTER / "grafana" / "dashboards"}
    if not dashboards:
        report.fail("cluster/grafana/dashboards: no dashboard")
    all_exprs: list[str] = []
    metrics: set[str] = set()
    for path, dashboard in dashboards.items():
        if not isinstance(dashboard, dict) or not dashboard.get("uid") or not dashboard.get("panels"):
            report.fail(f"{rel(path)}: not a Grafana dashboard (uid and panels expected)")
            continue
        ids = []

        def collect_ids(panels) -> None:
            for p in panels or []:
                ids.append(p.get("id"))
                collect_ids(p.get("panels"))

        collect_ids(dashboard["panels"])
        duplicates = sorted({i for i in ids if ids.count(i) > 1}, key=str)
        if duplicates:
            report.fail(f"{rel(path)}: duplicate panel ids {duplicates}")
        exprs, templating = dashboard_queries(dashboard)
        all_exprs.extend(exprs)
        names = set()
        for expr in exprs:
            names |= promql_metric_names(expr)
        for query in templating:
            names |= templating_metric_names(query)
        bad = sorted(n for n in names if not n.startswith(("hellojohn_", "process_")))
        if bad:
            report.fail(f"{rel(path)}: metrics that are not hellojohn's: {', '.join(bad)}")
        if not exprs:
            report.fail(f"{rel(path)}: no PromQL expression")
        metrics |= names
    return all_exprs, metrics


def family(name: str) -> str:
    return re.sub(r"_(bucket|sum|count)$", "", name)


# ---------------------------------------------------------------------------


def parse_known(argv: list[str]) -> set[str]:
    if len(argv) != 2:
        print(
            "usage: python3 cluster/check.py KNOWN_VARS_JSON\n"
            '  e.g. python3 cluster/check.py \'["HELLOJOHN_PORT", "HELLOJOHN_HOST"]\'',
            file=sys.stderr,
        )
        sys.exit(2)
    try:
        names = json.loads(argv[1])
    except json.JSONDecodeError as e:
        print(f"cluster/check.py: KNOWN_VARS_JSON is not JSON: {e}", file=sys.stderr)
        sys.exit(2)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or not names:
        print("cluster/check.py: KNOWN_VARS_JSON must be a non-empty JSON list of strings", file=sys.stderr)
        sys.exit(2)
    return {n if n.startswith(PREFIX) else PREFIX + n for n in names}


def main(argv: list[str]) -> int:
    known = parse_known(argv)
    report = Report()

    docs, yaml_docs = load_yaml_files(report)
    jsons = load_json_files(report)

    exprs, metrics = check_dashboards(jsons, report)
    promtool = check_prometheus(exprs, report)
    used = check_variables(docs, known, report)
    targets = check_compose(docs, report)
    check_scrape_targets(docs, targets, report)
    containers = check_k8s(docs, report)
    check_dockerfile(report)

    print(f"HELLOJOHN_ variables used ({len(used)}): {', '.join(sorted(used))}")
    print(f"dashboard metrics ({len(metrics)}): {', '.join(sorted(metrics))}")
    source = source_text()
    if source:
        absent = sorted(
            {family(m) for m in metrics if m.startswith("hellojohn_") and family(m) not in source}
        )
        if absent:
            report.note(f"dashboard metrics not (yet) recorded in src/: {', '.join(absent)}")
    for note in report.notes:
        print(f"note: {note}")

    if report.failures:
        print(f"\ncluster assets: {len(report.failures)} FAILURE(S)", file=sys.stderr)
        for failure in report.failures:
            print(f"  - {failure}", file=sys.stderr)
        return 1
    print(
        f"cluster assets: OK ({sum(len(d) > 0 for d in docs.values())} YAML files / {yaml_docs} documents, "
        f"{len(jsons)} JSON, {len(used)} variables, {containers} k8s container(s), "
        f"{len(targets)} compose nodes scraped, {len(metrics)} dashboard metrics, {promtool})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
