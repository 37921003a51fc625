#!/usr/bin/env python3
"""The deployment recipes of deploy/ are valid:
- deploy/prometheus: promtool check rules, and promtool test rules on its
  unit tests (the growth alert fires on a service that leaks across a
  restart, not on a flat one; the ranking query ranks leak sites);
- deploy/systemd: systemd-analyze verify, with the unit's leakscan path
  pointed at the built binary and its man page at docs/leakscan.1; any
  warning fails (systemd exits 0 on unknown keys);
- deploy/kubernetes: no Kubernetes schema validator can be installed from
  Debian here (kubectl's dry run needs a server), so a structural check:
  every field is one the Kubernetes API defines where this recipe uses it
  (a typo is an error, as in a strict decode), the selector matches the
  pod's labels, hostPID, only SYS_PTRACE, not privileged, no privilege
  escalation, read-only root filesystem, resource limits, scrape
  annotations on the port the exporter serves, and the PodMonitor selects
  the same pods.  Each part skips only when its tool is missing.
Usage: test_deploy.py LEAKSCAN DEPLOY_DIR MAN_PAGE"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targetlib import Checks  # noqa: E402

check = Checks()
skipped = []

# The fields of the Kubernetes API (apps/v1 DaemonSet, core/v1 PodSpec,
# Container, SecurityContext, ...) that a DaemonSet may hold, as far as this
# recipe goes: a key not listed here is either a typo or a field the check
# must learn.  "*" means any key (labels, annotations).
META = {"name": str, "namespace": str, "labels": "*", "annotations": "*"}
PROBE = {"httpGet": {"path": str, "port": (int, str), "scheme": str}, "periodSeconds": int,
         "initialDelaySeconds": int, "timeoutSeconds": int, "failureThreshold": int}
CONTAINER = {
    "name": str, "image": str, "imagePullPolicy": str, "args": [str], "command": [str],
    "env": [{"name": str, "value": str}],
    "ports": [{"name": str, "containerPort": int, "protocol": str, "hostPort": int}],
    "livenessProbe": PROBE, "readinessProbe": PROBE,
    "resources": {"requests": {"cpu": str, "memory": str}, "limits": {"cpu": str, "memory": str}},
    "securityContext": {"privileged": bool, "allowPrivilegeEscalation": bool, "readOnlyRootFilesystem": bool,
                        "runAsUser": int, "runAsNonRoot": bool,
                        "capabilities": {"add": [str], "drop": [str]},
                        "seccompProfile": {"type": str}},
    "volumeMounts": [{"name": str, "mountPath": str, "readOnly": bool}],
}
DAEMONSET = {
    "apiVersion": str, "kind": str, "metadata": META,
    "spec": {
        "selector": {"matchLabels": "*"},
        "updateStrategy": {"type": str, "rollingUpdate": {"maxUnavailable": (int, str)}},
        "template": {
            "metadata": META,
            "spec": {"hostPID": bool, "hostNetwork": bool, "automountServiceAccountToken": bool,
                     "enableServiceLinks": bool, "serviceAccountName": str, "priorityClassName": str,
                     "nodeSelector": "*", "tolerations": [{"operator": str, "key": str, "effect": str}],
                     "securityContext": {"seccompProfile": {"type": str}, "runAsUser": int},
                     "containers": [CONTAINER], "volumes": [{"name": str, "secret": {"secretName": str}}]},
        },
    },
}
PODMONITOR = {
    "apiVersion": str, "kind": str, "metadata": META,
    "spec": {"selector": {"matchLabels": "*"}, "namespaceSelector": {"matchNames": [str]},
             "podMetricsEndpoints": [{"port": str, "path": str, "interval": str, "scheme": str}]},
}


def conforms(doc, schema, path="$"):
    """Every way doc strays from schema, as strings."""
    if schema == "*":
        return [] if isinstance(doc, dict) and all(isinstance(v, str) for v in doc.values()) else \
            [f"{path}: a map of strings"]
    if isinstance(schema, dict):
        if not isinstance(doc, dict):
            return [f"{path}: an object"]
        errors = []
        for k, v in doc.items():
            if k not in schema:
                errors.append(f"{path}.{k}: not a field here")
            else:
                errors += conforms(v, schema[k], f"{path}.{k}")
        return errors
    if isinstance(schema, list):
        if not isinstance(doc, list):
            return [f"{path}: a list"]
        return [e for i, x in enumerate(doc) for e in conforms(x, schema[0], f"{path}[{i}]")]
    if schema is int and isinstance(doc, bool):
        return [f"{path}: an integer"]
    return [] if isinstance(doc, schema) else [f"{path}: {schema}"]


def prometheus(deploy):
    if not shutil.which("promtool"):
        skipped.append("promtool")
        return
    rules = os.path.join(deploy, "prometheus", "leakscan-rules.yml")
    p = subprocess.run(["promtool", "check", "rules", rules], capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, f"promtool check rules ({(p.stdout + p.stderr).strip()[-300:]})")
    p = subprocess.run(["promtool", "test", "rules", "leakscan-rules.test.yml"], capture_output=True, text=True,
                       timeout=120, cwd=os.path.dirname(rules))
    check(p.returncode == 0, f"promtool test rules: the alerts fire as meant ({(p.stdout + p.stderr).strip()[-600:]})")


def systemd(leakscan, deploy, man, tmp):
    if not shutil.which("systemd-analyze"):
        skipped.append("systemd-analyze")
        return
    units = []
    for name in sorted(os.listdir(os.path.join(deploy, "systemd"))):
        with open(os.path.join(deploy, "systemd", name)) as f:
            text = f.read()
        with open(os.path.join(tmp, name), "w") as f:
            f.write(text.replace("/usr/bin/leakscan", os.path.abspath(leakscan)))
        units.append(name)
    os.makedirs(os.path.join(tmp, "man", "man1"))
    shutil.copy(man, os.path.join(tmp, "man", "man1", "leakscan.1"))
    p = subprocess.run(["systemd-analyze", "verify"] + [f"./{u}" for u in units], capture_output=True, text=True,
                       timeout=120, cwd=tmp, env=dict(os.environ, MANPATH=os.path.join(tmp, "man")))
    check(p.returncode == 0 and not p.stderr.strip() and not p.stdout.strip(),
          f"systemd-analyze verify {' '.join(units)}: clean ({(p.stdout + p.stderr).strip()[-400:]})")
    check({"leakscan-exporter.service", "leakscan-textfile.service", "leakscan-textfile.timer"} <= set(units),
          "the exporter's unit and the textfile timer with its service")


def kubernetes(deploy):
    try:
        import yaml
    except ImportError:
        skipped.append("python3-yaml")
        return
    print("note: structural check of deploy/kubernetes (no Kubernetes schema validator is installable here)")
    with open(os.path.join(deploy, "kubernetes", "daemonset.yaml")) as f:
        ds = yaml.safe_load(f)
    errors = conforms(ds, DAEMONSET)
    check(not errors, f"daemonset.yaml: only fields of the Kubernetes API ({errors[:5]})")
    check(ds.get("apiVersion") == "apps/v1" and ds.get("kind") == "DaemonSet", "an apps/v1 DaemonSet")
    spec = ds["spec"]
    pod = spec["template"]
    check(spec["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items(),
          "the selector matches the pod's labels")
    ps = pod["spec"]
    check(ps.get("hostPID") is True, "hostPID: true")
    (c,) = ps["containers"]
    sc = c["securityContext"]
    check(sc.get("privileged") is False, "not privileged")
    check(sc.get("allowPrivilegeEscalation") is False, "no privilege escalation")
    check(sc.get("readOnlyRootFilesystem") is True, "a read-only root filesystem")
    check(sc["capabilities"].get("add") == ["SYS_PTRACE"] and sc["capabilities"].get("drop") == ["ALL"],
          "only the SYS_PTRACE capability")
    limits = c["resources"].get("limits", {})
    check("cpu" in limits and "memory" in limits, "CPU and memory limits")
    serve = [a for a in c["args"] if a.startswith("--serve=")]
    port = int(serve[0].rsplit(":", 1)[1]) if serve else None
    ann = pod["metadata"]["annotations"]
    check(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/port") == str(port) and
          any(p["containerPort"] == port for p in c["ports"]),
          f"scrape annotations on the port --serve listens on ({port})")
    check(any(a == "--all-processes" for a in c["args"]), "it watches every process of the node")
    with open(os.path.join(deploy, "kubernetes", "podmonitor.yaml")) as f:
        pm = yaml.safe_load(f)
    errors = conforms(pm, PODMONITOR)
    check(not errors and pm["kind"] == "PodMonitor" and pm["apiVersion"] == "monitoring.coreos.com/v1",
          f"podmonitor.yaml: a PodMonitor ({errors[:5]})")
    check(pm["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items() and
          all(e["port"] in [p["name"] for p in c["ports"]] for e in pm["spec"]["podMetricsEndpoints"]),
          "the PodMonitor selects the DaemonSet's pods and their metrics port")
    # the check itself catches a typo
    bad = yaml.safe_load(yaml.safe_dump(ds).replace("readOnlyRootFilesystem", "readOnlyRootFileSystem"))
    check(conforms(bad, DAEMONSET), "the structural check rejects a misspelt field")


def main():
    leakscan, deploy, man = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as tmp:
        prometheus(deploy)
        systemd(leakscan, deploy, man, tmp)
        kubernetes(deploy)
    if len(skipped) == 3:
        print(f"SKIP: none of {', '.join(skipped)} is installed (scripts/setup.sh installs them)")
        return 77
    for s in skipped:
        print(f"note: {s} is not installed: its part is not checked")
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
