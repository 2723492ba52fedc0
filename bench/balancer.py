"""HAProxy on loopback in front of local replicas, with the shipped configuration (deploy/haproxy.cfg):
used by bench/load_test.py --replicas and tests/test_replicas.py."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
HAPROXY = shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy",) if Path(p).is_file()), None)


def loopback_config(port: int, replicas: dict[str, int], text: str | None = None) -> str:
    """deploy/haproxy.cfg with its bind line on loopback:`port` and its server-template (compose's
    DNS) replaced by one server line per replica; everything else is the shipped file."""
    text = (DEPLOY / "haproxy.cfg").read_text() if text is None else text
    bind = re.compile(r"^(\s*)bind :8080\s*$", re.M)
    template = re.compile(r"^(\s*)server-template .*$", re.M)
    assert len(bind.findall(text)) == 1 and len(template.findall(text)) == 1, \
        "deploy/haproxy.cfg: expected one 'bind :8080' and one 'server-template' line"
    text = bind.sub(lambda m: f"{m.group(1)}bind 127.0.0.1:{port}", text)
    servers = "\n".join(f"    server {name} 127.0.0.1:{p}" for name, p in replicas.items())
    return template.sub(lambda m: servers, text)


def check(cfg: Path) -> subprocess.CompletedProcess:
    """HAProxy's own check of a configuration file."""
    return subprocess.run([HAPROXY, "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
