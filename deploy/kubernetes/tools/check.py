"""Renders every overlay of deploy/kubernetes and checks what a cluster would reject or
what would break a run, without a cluster:

- `kustomize build` succeeds;
- every object validates against Kubernetes' OpenAPI schemas (kubernetes-validate --strict);
- every Service selects some pod template, and every URL in a TGBENCH_API_URL or
  TGBENCH_PUBLIC_URL names a Service and one of its ports;
- a StatefulSet's REPLICAS variable (the shard count) equals its spec.replicas;
- every scenario in a ConfigMap passes `tgbench validate`, and `tgbench tokens` reads it.

Usage: python check.py --kustomize BIN --tgbench BIN [OVERLAY_DIR ...]
(default: every folder under deploy/kubernetes/overlays). Exit 0 when all hold; otherwise
one line per problem and exit 1. Run by tests/kubernetes.rs.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import yaml

HERE = Path(__file__).resolve().parent
OVERLAYS = HERE.parent / "overlays"


def pod_templates(objs):
    """(kind/name, labels, pod spec) of every object that makes pods."""
    for o in objs:
        kind, spec = o["kind"], o.get("spec", {})
        if kind in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
            t = spec["template"]
            yield f"{kind}/{o['metadata']['name']}", t["metadata"].get("labels", {}), t["spec"]


def containers(pod):
    return pod.get("initContainers", []) + pod.get("containers", [])


def check_overlay(overlay, kustomize, tgbench):
    problems = []
    out = subprocess.run([kustomize, "build", str(overlay)], capture_output=True, text=True)
    if out.returncode != 0:
        return [f"kustomize build {overlay}: {out.stderr.strip()}"]
    rendered = out.stdout
    objs = [o for o in yaml.safe_load_all(rendered) if o]

    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "rendered.yaml"
        manifest.write_text(rendered)
        validate = Path(sys.executable).parent / "kubernetes-validate"
        v = subprocess.run([str(validate), "--strict", "--quiet", str(manifest)],
                           capture_output=True, text=True)
        if v.returncode != 0:
            problems.append(f"schema: {(v.stdout + v.stderr).strip()}")

        services = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Service"}
        templates = list(pod_templates(objs))
        for name, svc in services.items():
            sel = svc["spec"].get("selector", {})
            if not any(all(labels.get(k) == v for k, v in sel.items()) for _, labels, _ in templates):
                problems.append(f"Service {name}: its selector {sel} matches no pod template")

        for what, _, pod in templates:
            for c in containers(pod):
                for e in c.get("env", []):
                    if e["name"] in ("TGBENCH_API_URL", "TGBENCH_PUBLIC_URL") and "value" in e:
                        u = urlparse(e["value"])
                        host = u.hostname.split(".")[0]
                        svc = services.get(host)
                        ports = [p["port"] for p in svc["spec"]["ports"]] if svc else []
                        if u.port not in ports:
                            problems.append(f"{what} {c['name']}: {e['name']}={e['value']} "
                                            f"names no Service port (Services: {sorted(services)})")

        for o in objs:
            if o["kind"] != "StatefulSet":
                continue
            for c in containers(o["spec"]["template"]["spec"]):
                for e in c.get("env", []):
                    if e["name"] == "REPLICAS" and str(o["spec"]["replicas"]) != e.get("value"):
                        problems.append(f"StatefulSet/{o['metadata']['name']}: REPLICAS={e.get('value')} "
                                        f"but spec.replicas={o['spec']['replicas']} (the shards would not cover every bot)")

        for o in objs:
            if o["kind"] != "ConfigMap" or "scenario.toml" not in o.get("data", {}):
                continue
            path = Path(tmp) / f"{o['metadata']['name']}.toml"
            path.write_text(o["data"]["scenario.toml"])
            env = dict(os.environ, TGBENCH_CONTROL_TOKEN="rendered-manifest-check")
            for args in (["validate", str(path)], ["tokens", str(path), "--bots", "1"]):
                r = subprocess.run([tgbench, *args], capture_output=True, text=True, env=env)
                if r.returncode != 0:
                    problems.append(f"ConfigMap/{o['metadata']['name']}: tgbench {args[0]}: "
                                    f"{(r.stdout + r.stderr).strip()}")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kustomize", required=True)
    ap.add_argument("--tgbench", required=True)
    ap.add_argument("overlays", nargs="*")
    args = ap.parse_args()
    overlays = [Path(o) for o in args.overlays] or sorted(p for p in OVERLAYS.iterdir() if p.is_dir())
    failed = False
    for overlay in overlays:
        problems = check_overlay(overlay, args.kustomize, args.tgbench)
        for p in problems:
            print(f"{overlay.name}: {p}")
        if problems:
            failed = True
        else:
            print(f"{overlay.name}: ok")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
