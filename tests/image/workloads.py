"""A Deployment of rendered manifests (``helm template``, ``kubectl kustomize``) as a ``podman run``:
the container's command, arguments (``$(VAR)`` expanded as Kubernetes does), environment (its
ConfigMaps and ``env``), user and group, read-only root filesystem, and its volumes as tmpfs mounts
(the only writable paths). Nothing here knows the chart: it reads what was rendered."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Manifest = dict[str, Any]
_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


@dataclass(frozen=True)
class Workload:
    name: str
    command: list[str]
    env: dict[str, str]
    user: str
    read_only: bool
    writable: list[str]
    port: int

    def podman_run(self, image: str, network: list[str], tmp_size: str = "256m") -> list[str]:
        """``podman run`` arguments of this workload, detached; ``network``: e.g. ``--network host``."""
        args = ["podman", "run", "--detach", "--rm", "--name", self.name, "--user", self.user, *network]
        if self.read_only:
            args += ["--read-only", "--read-only-tmpfs=false"]  # no implicit /tmp, /var/tmp, /run
        for path in self.writable:
            args += ["--tmpfs", f"{path}:rw,size={tmp_size},mode=1777"]
        for key, value in sorted(self.env.items()):
            args += ["--env", f"{key}={value}"]
        return [*args, "--entrypoint", self.command[0], image, *self.command[1:]]


def _expand(text: str, env: dict[str, str]) -> str:
    return _VAR.sub(lambda m: env.get(m.group(1), m.group(0)), text)


def workload(manifests: list[Manifest], deployment: str, name: str) -> Workload:
    """The first container of Deployment ``deployment`` of ``manifests``, to run as ``name``."""
    found = [m for m in manifests if m.get("kind") == "Deployment" and m["metadata"]["name"] == deployment]
    assert found, f"no Deployment {deployment} in the rendered manifests"
    pod = found[0]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    config_maps = {
        m["metadata"]["name"]: m.get("data", {}) for m in manifests if m.get("kind") == "ConfigMap"
    }
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(config_maps[source["configMapRef"]["name"]])
    for item in container.get("env", []):
        env[item["name"]] = _expand(str(item["value"]), env)
    security = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
    command = [_expand(part, env) for part in container.get("command", []) + container.get("args", [])]
    return Workload(
        name=name,
        command=command,
        env=env,
        user=f"{security['runAsUser']}:{security['runAsGroup']}",
        read_only=bool(security.get("readOnlyRootFilesystem")),
        writable=[mount["mountPath"] for mount in container.get("volumeMounts", [])],
        port=int(container["ports"][0]["containerPort"]),
    )
