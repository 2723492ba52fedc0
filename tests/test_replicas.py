"""Many users: replicas of the app behind a load balancer with session affinity (deploy/, Dockerfile).

Streamlit keeps each session in the memory of the replica that holds its websocket, so every request
of a session (the websocket, /media/... images, /_stcore/upload_file/<session>/... uploads) must reach
that replica. The browser test starts two replicas and a real HAProxy on loopback, running the shipped
deploy/haproxy.cfg with only its bind and server lines swapped for loopback, and drives two browsers
through it: each lands on its own replica and stays there, the map loads, the drag cursor moves, an
upload is encoded, every image loads; then one replica is killed, and the other's session carries on
while the killed one's reconnects to the survivor. The cheap tests check the Dockerfile, .dockerignore,
compose file and HAProxy config against the repository and the code.
"""
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bench.balancer import loopback_config
from conftest import ARTIFACTS, CHROMIUM, ROOT, _free_port

DEPLOY = ROOT / "deploy"
HAPROXY = shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy",) if os.access(p, os.X_OK)), None)
NO_HAPROXY = "HAProxy is not installed (apt-get install -y haproxy); .ci/run installs it"
COOKIE = "lp_replica"
EXCEPTION = '[data-testid="stException"]'


# ---- the shipped files, read as the tools would --------------------------------------------------

def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of each Dockerfile instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, args = line.partition(" ")
            out.append((op.upper(), args.strip()))
    return out


def docker_env() -> dict[str, str]:
    env = {}
    for op, args in dockerfile():
        if op == "ENV":
            env.update(re.findall(r"(\w+)=(\S+)", args))
    return env


def haproxy_check(cfg: Path) -> subprocess.CompletedProcess:
    return subprocess.run([HAPROXY, "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)


# ---- cheap checks: the deployment files agree with the repository and the code ------------------

def test_dockerfile_copies_only_what_exists_and_the_build_context_keeps():
    copies = [args.split() for op, args in dockerfile() if op == "COPY"]
    assert copies, "the Dockerfile copies nothing"
    kept = [l.strip()[1:].rstrip("/") for l in (ROOT / ".dockerignore").read_text().splitlines()
            if l.strip().startswith("!")]
    for *sources, _dest in copies:
        for src in sources:
            assert not src.startswith("--"), f"COPY {src}: from another stage or with options: check by hand"
            assert (ROOT / src).exists(), f"COPY {src}: no such file in the repository"
            assert src.rstrip("/") in kept, f"COPY {src}: .dockerignore leaves it out of the build context"
    # the checkpoints are a volume, not part of the image
    assert not any("checkpoints" in s for *sources, _ in copies for s in sources)
    assert "checkpoints" not in kept


def test_dockerfile_runs_the_readme_server_unprivileged_on_every_address():
    ops = dockerfile()
    cmd = [a for op, a in ops if op == "CMD"]
    assert len(cmd) == 1
    import json
    argv = json.loads(cmd[0])
    assert argv[:3] == ["streamlit", "run", "playground/server.py"] and (ROOT / argv[2]).is_file()
    flags = dict(zip(argv[3::2], argv[4::2]))
    assert flags["--server.address"] == "0.0.0.0" and flags["--server.port"] == "8501"
    assert any(op == "EXPOSE" and "8501" in a.split() for op, a in ops)
    users = [a for op, a in ops if op == "USER"]
    assert users and users[-1] not in ("root", "0"), "the app must not run as root"
    assert ops[0] == ("FROM", "python:3.11-slim")
    # torch from a registry, pinned as requirements.txt pins it
    pin = re.search(r"^torch==(\S+)", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    runs = " ".join(a for op, a in ops if op == "RUN")
    assert f"torch=={pin}" in runs and "-r requirements.txt" in runs


def test_dockerfile_environment_points_the_code_at_the_volumes():
    """The variables the Dockerfile sets are the ones the code reads: run the code with them."""
    env = docker_env()
    assert env.get("LATENT_PLAYGROUND_CHECKPOINTS") == "/checkpoints"
    assert env.get("LATENT_PLAYGROUND_USER_DIR") == "/data"
    probe = ("import models, models.lab, playground.first_map as f; "
             "print(models.CHECKPOINTS, models.lab.user_dir(), f.checkpoints_dir())")
    child = {k: v for k, v in os.environ.items() if not k.startswith("LATENT_PLAYGROUND_")}
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env={**child, **env},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["/checkpoints", "/data", "/checkpoints"], out.stdout


def test_compose_file_mounts_checkpoints_read_only_and_one_user_volume():
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed: the compose file is not parsed")
    spec = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    app, lb = spec["services"]["app"], spec["services"]["balancer"]
    env = docker_env()
    assert (DEPLOY / app["build"]["context"] / app["build"]["dockerfile"]).resolve() == ROOT / "Dockerfile"
    vols = {v["target"]: v for v in app["volumes"]}
    ckpt = vols[env["LATENT_PLAYGROUND_CHECKPOINTS"]]
    assert ckpt["type"] == "bind" and ckpt["read_only"] is True
    assert (DEPLOY / ckpt["source"]).resolve() == ROOT / "checkpoints"
    data = vols[env["LATENT_PLAYGROUND_USER_DIR"]]
    assert data["type"] == "volume" and not data.get("read_only") and data["source"] in spec["volumes"]
    for k, v in app.get("environment", {}).items():
        assert env.get(k) == v, f"compose sets {k}={v}, the Dockerfile {env.get(k)}"
    assert app["deploy"]["replicas"] >= 2
    cfg = next(v for v in lb["volumes"] if v["target"].endswith("haproxy.cfg"))
    assert (DEPLOY / cfg["source"]).resolve() == DEPLOY / "haproxy.cfg" and cfg["read_only"] is True
    text = (DEPLOY / "haproxy.cfg").read_text()
    # the balancer reaches the replicas by the service's name and port, and publishes its bind port
    assert re.search(r"^\s*server-template \S+ \S+ app:8501\b", text, re.M)
    assert any(str(p).endswith(":8080") for p in lb["ports"]) and re.search(r"^\s*bind :8080\s*$", text, re.M)


def test_haproxy_config_is_valid_and_sticky():
    if not HAPROXY:
        pytest.skip(NO_HAPROXY)
    r = haproxy_check(DEPLOY / "haproxy.cfg")
    assert r.returncode == 0, r.stdout + r.stderr
    text = (DEPLOY / "haproxy.cfg").read_text()
    assert re.search(rf"^\s*cookie {COOKIE} insert\b", text, re.M), "no session affinity cookie"


def test_haproxy_check_catches_a_broken_config(tmp_path):
    """The validity check above can fail: a typo in the shipped file is refused."""
    if not HAPROXY:
        pytest.skip(NO_HAPROXY)
    bad = tmp_path / "bad.cfg"
    bad.write_text((DEPLOY / "haproxy.cfg").read_text().replace("balance roundrobin", "balance roundrobbin"))
    assert haproxy_check(bad).returncode != 0


# ---- the real thing: two replicas and HAProxy on loopback, two browsers through it ----------------

def _wait_health(url: str, proc: subprocess.Popen, log: Path, timeout_s: float = 240):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{url}: the process exited ({proc.returncode}); see {log}")
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).status == 200:
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer /_stcore/health in {timeout_s:.0f} s; see {log}")


def _stop(proc: subprocess.Popen):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture(scope="module")
def balanced(tmp_path_factory):
    """Two replicas sharing one user data folder, and HAProxy in front: (url, {name: process}, {name: log})."""
    if not HAPROXY:
        pytest.skip(NO_HAPROXY)
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); .ci/run installs it")
    work = tmp_path_factory.mktemp("replicas")
    env = {**os.environ, "LATENT_PLAYGROUND_USER_DIR": str(work / "user-data")}
    ports = {"r1": _free_port(), "r2": _free_port()}
    procs, logs = {}, {}
    try:
        for name, port in ports.items():
            logs[name] = work / f"{name}.log"
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", str(ROOT / "playground" / "server.py"),
                 "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
                 "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                cwd=ROOT, env=env, stdout=open(logs[name], "w"), stderr=subprocess.STDOUT)
        for name, port in ports.items():
            _wait_health(f"http://127.0.0.1:{port}", procs[name], logs[name])
        lb_port = _free_port()
        cfg = work / "haproxy.cfg"
        cfg.write_text(loopback_config(lb_port, ports))
        r = haproxy_check(cfg)
        assert r.returncode == 0, r.stdout + r.stderr
        logs["haproxy"] = work / "haproxy.log"
        procs["haproxy"] = subprocess.Popen([HAPROXY, "-db", "-f", str(cfg)], stdout=open(logs["haproxy"], "w"),
                                            stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{lb_port}"
        _wait_health(url, procs["haproxy"], logs["haproxy"], 30)
        yield url, procs, logs
    finally:
        for proc in reversed(list(procs.values())):
            _stop(proc)


def wait_idle(page, timeout=120_000):
    """Until Streamlit has finished the current run."""
    page.wait_for_function(
        "() => { const a = document.querySelector('[data-testid=\"stApp\"]');"
        " return a && a.getAttribute('data-test-script-state') === 'notRunning'; }", timeout=timeout)
    page.wait_for_timeout(300)


IMAGES = """() => [...document.querySelectorAll("[data-testid='stImage'] img")]
    .map(i => ({src: i.getAttribute('src') || '', done: i.complete, width: i.naturalWidth}))"""


def assert_images_loaded(page, where: str, at_least: int):
    """Every image the page shows came back from its replica (none broken), at least `at_least`."""
    page.wait_for_function(f"() => ({IMAGES})().every(i => i.done)", timeout=60_000)
    imgs = page.evaluate(IMAGES)
    media = [i for i in imgs if "/media/" in i["src"]]
    assert len(media) >= at_least, f"{where}: {len(media)} media images: {imgs}"
    broken = [i["src"] for i in imgs if not i["width"]]
    assert not broken, f"{where}: images that did not load: {broken}"


class Tab:
    """One browser (its own cookies) and what it saw: the replicas that answered, the failed requests
    of the session's own endpoints, the websockets it opened."""

    def __init__(self, browser, url):
        self.ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
        self.page = self.ctx.new_page()
        self.url, self.replicas, self.failed, self.sockets = url, [], [], []
        self.page.on("response", self._response)
        self.page.on("websocket", lambda ws: self.sockets.append(ws.url))

    def _response(self, r):
        replica = r.headers.get("x-replica")     # (no round trip: safe while a context closes)
        if replica:
            self.replicas.append(replica)
        # (the frontend's probe of /<page>/_stcore/health for a base path 404s on any server)
        if r.status >= 500 or r.status >= 400 and ("/media/" in r.url or "/_stcore/upload_file" in r.url):
            self.failed.append(f"{r.status} {r.request.method} {r.url}")

    def goto(self, path: str) -> str:
        """Open `path`; returns the replica that served the page."""
        resp = self.page.goto(self.url + path)
        assert resp.ok, f"{path}: {resp.status}"
        return resp.headers.get("x-replica")

    def cookie(self) -> str:
        return next(c["value"] for c in self.ctx.cookies() if c["name"] == COOKIE)

    def assert_clean(self, where: str):
        assert self.page.locator(EXCEPTION).count() == 0, f"{where}: an exception on the page"
        assert not self.failed, f"{where}: requests of the session that failed: {self.failed}"


CAUGHT_UP = """() => { const s = window.__latentDrag;
    return !!(s && s.cursor && s.server
              && Math.abs(s.cursor[0] - s.server[0]) < 1e-6 && Math.abs(s.cursor[1] - s.server[1]) < 1e-6); }"""
EXACT_CHANGED = """(b) => { const i = document.querySelector("[data-testid='stImage'] img");
    return !!(i && i.getAttribute('src') !== b && i.complete && i.naturalWidth > 0); }"""


def drag(tab: Tab, where: str, frm=(0.2, 0.25), to=(0.75, 0.7), steps=25):
    """Move the drag cursor across the map; the server catches up and decodes the release exactly."""
    page = tab.page
    canvas = page.locator("canvas.map")
    exact = page.locator("[data-testid='stImage'] img").first
    before = exact.get_attribute("src")
    box = canvas.bounding_box()
    at = lambda u, v: (box["x"] + u * box["width"], box["y"] + v * box["height"])  # noqa: E731
    page.mouse.move(*at(*frm))
    page.mouse.down()
    for i in range(steps):
        t = i / (steps - 1)
        page.mouse.move(*at(frm[0] + (to[0] - frm[0]) * t, frm[1] + (to[1] - frm[1]) * t))
    page.mouse.up()
    page.wait_for_function(CAUGHT_UP, timeout=60_000)                 # the websocket carried the cursor
    page.wait_for_function(EXACT_CHANGED, arg=before, timeout=60_000)  # and the new decoding came back
    wait_idle(page)
    tab.assert_clean(where)


def digit_png() -> bytes:
    """A '7' in dark ink on light paper, as someone would photograph or scan one."""
    from PIL import Image, ImageDraw
    img = Image.new("L", (160, 160), 235)
    d = ImageDraw.Draw(img)
    d.line([(40, 35), (120, 35), (70, 130)], fill=20, width=14)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def upload(tab: Tab, where: str):
    page = tab.page
    page.locator("[data-testid='stMain'] [data-testid='stFileUploader'] input[type=file]").set_input_files(
        files=[{"name": "seven.png", "mimeType": "image/png", "buffer": digit_png()}])
    page.get_by_text("Pixel MSE").first.wait_for(timeout=120_000)     # encoded, decoded, ranked
    wait_idle(page)
    tab.assert_clean(where)
    mse = page.locator("[data-testid='stMetric']", has_text="Pixel MSE")
    assert mse.count() == 1, f"{where}: {mse.count()} encoded inputs, not 1"      # the one digit
    value = mse.locator("[data-testid='stMetricValue']").inner_text()
    assert 0 <= float(value) < 1, f"{where}: Pixel MSE {value!r}"
    assert page.get_by_text("was not used").count() == 0, f"{where}: the upload was refused"
    assert_images_loaded(page, where, at_least=4)


def test_protocol_sessions_through_the_balancer_release_and_upload(balanced):
    """bench/load_test.py --replicas drives sessions through HAProxy with bench/st_client.py: each
    client keeps the affinity cookie as a browser does, so its health check, websocket, media and
    upload all reach its replica, and two new sessions go to two different replicas. Runs while both
    replicas are alive (the browser test below kills one)."""
    import asyncio
    import concurrent.futures
    from bench.load_test import Person
    url, _procs, _logs = balanced

    async def two():
        people = [Person(url, i, "", 2.0, 0) for i in range(2)]
        for p in people:
            await p.open()
            await p.page("drag")
            await p.release()
            await p.upload()
        for p in people:
            await p.close()
        return people

    with concurrent.futures.ThreadPoolExecutor(1) as pool:        # apart from Playwright's loop
        people = pool.submit(asyncio.run, two()).result()
    for p in people:
        assert p.errors == [] and p.s.errors == [], (p.errors, p.s.errors)
        assert p.outcomes["release decoded"] == 1 and p.outcomes["upload encoded"] == 1, p.outcomes
    replicas = [dict(c.split("=", 1) for c in p.s.cookie.split("; ")).get(COOKIE) for p in people]
    assert all(replicas) and replicas[0] != replicas[1], replicas


def test_sessions_stick_to_their_replica_through_the_balancer(browser, balanced):
    url, procs, _logs = balanced
    a, b = Tab(browser, url), Tab(browser, url)
    try:
        # each browser gets a replica of its own, and keeps it: every response came from it
        ra = a.goto("/?model=mnist-vae&proj=tsne")
        rb = b.goto("/drag?model=mnist-vae&proj=pca")
        assert {ra, rb} == {"r1", "r2"}, (ra, rb)
        assert a.cookie() != b.cookie()

        # A: the map (the still picture first on a fresh replica, then the clickable chart)
        a.page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=180_000)
        wait_idle(a.page)
        a.assert_clean("map")
        assert a.page.locator('[data-testid="stPlotlyChart"] canvas').count() >= 1
        assert_images_loaded(a.page, "map", at_least=0)

        # B: the drag page; the cursor follows the pointer and the release is decoded by B's replica
        b.page.locator("canvas.map").wait_for(timeout=180_000)
        wait_idle(b.page)
        b.page.wait_for_function(CAUGHT_UP, timeout=60_000)
        drag(b, "drag")

        # A: an upload goes to the replica that holds A's session, and its images come back
        assert a.goto("/upload?model=mnist-vae&proj=pca") == ra
        a.page.locator("[data-testid='stMain'] [data-testid='stFileUploader']").wait_for(timeout=120_000)
        wait_idle(a.page)
        upload(a, "upload")
        a.page.screenshot(path=str(ARTIFACTS / "replicas-upload.png"), full_page=True)
        assert set(a.replicas) == {ra} and set(b.replicas) == {rb}, (a.replicas, b.replicas)

        # A's replica dies: B's session carries on, on the same websocket, without a reconnect
        sockets_a, sockets_b = len(a.sockets), len(b.sockets)
        procs[ra].send_signal(signal.SIGKILL)
        procs[ra].wait(10)
        drag(b, "drag after the other replica died", frm=(0.7, 0.3), to=(0.3, 0.75))
        assert len(b.sockets) == sockets_b, b.sockets
        b.page.screenshot(path=str(ARTIFACTS / "replicas-drag.png"), full_page=True)

        # ...and A's tab reconnects to the survivor, which starts it a fresh session (its uploads,
        # held in the dead replica's memory, are gone: the cost of losing a replica)
        deadline = time.monotonic() + 90
        while len(a.sockets) == sockets_a and time.monotonic() < deadline:
            a.page.wait_for_timeout(500)
        assert len(a.sockets) > sockets_a, f"A's tab did not reconnect: {a.sockets}"
        a.page.locator("[data-testid='stMain'] [data-testid='stFileUploader']").wait_for(timeout=120_000)
        wait_idle(a.page)
        a.failed.clear()                      # the requests that met the dead replica while it went
        since = len(a.replicas)
        upload(a, "upload after a reconnect")
        assert set(a.replicas[since:]) == {rb}, a.replicas[since:]      # all from the survivor
    finally:
        a.ctx.close()
        b.ctx.close()


def test_kubernetes_manifests_agree_with_the_image_and_ask_for_affinity():
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed: the manifests are not parsed")
    manifests = list(yaml.safe_load_all((DEPLOY / "kubernetes" / "latent-playground.yaml").read_text()))
    docs = {d["kind"]: d for d in manifests}
    claims = {d["metadata"]["name"]: d for d in manifests if d["kind"] == "PersistentVolumeClaim"}
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    app = pod["containers"][0]
    env = docker_env()
    assert {e["name"]: e["value"] for e in app["env"]} == {k: v for k, v in env.items() if k.startswith("LATENT_")}
    mounts = {m["mountPath"]: m for m in app["volumeMounts"]}
    assert mounts[env["LATENT_PLAYGROUND_CHECKPOINTS"]]["readOnly"] is True
    assert not mounts[env["LATENT_PLAYGROUND_USER_DIR"]].get("readOnly")
    assert [p["containerPort"] for p in app["ports"]] == [8501]
    assert app["readinessProbe"]["httpGet"]["path"] == "/_stcore/health"
    uid = re.search(r"useradd .*--uid (\d+)", " ".join(a for op, a in dockerfile() if op == "RUN")).group(1)
    assert pod["securityContext"]["runAsUser"] == int(uid)
    # the user data volume is one node's disk, and every replica runs on that node (judge.sqlite)
    claim = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]}
    data_claim = claim[mounts[env["LATENT_PLAYGROUND_USER_DIR"]]["name"]]
    assert claims[data_claim]["spec"]["accessModes"] == ["ReadWriteOnce"]
    same_node = pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert same_node["topologyKey"] == "kubernetes.io/hostname"
    notes = docs["Ingress"]["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert notes["nginx.ingress.kubernetes.io/affinity-mode"] == "persistent"


def _requirement_closure(lines: list[str]) -> set[str]:
    """Distributions that pip installs for these requirement lines: each one and, recursively, what
    its installed metadata requires (markers evaluated, extras left out)."""
    from importlib import metadata

    from packaging.requirements import Requirement
    norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()  # noqa: E731
    todo = [Requirement(l).name for l in lines]
    seen: set[str] = set()
    while todo:
        name = norm(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for r in map(Requirement, reqs):
            if r.marker is None or r.marker.evaluate({"extra": ""}):
                todo.append(r.name)
    return seen


def test_the_image_installs_every_module_the_app_imports():
    """The image installs requirements.txt only (not requirements-dev.txt): every third-party module
    that playground/ and models/ import must come with it."""
    import ast
    from importlib import metadata
    pins = [l.split("#")[0].strip() for l in (ROOT / "requirements.txt").read_text().splitlines()]
    have = _requirement_closure([p for p in pins if p and not p.startswith("-")])
    providers = metadata.packages_distributions()
    missing = {}
    for path in [*(ROOT / "playground").rglob("*.py"), *(ROOT / "models").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                     else [])
            for top in {n.split(".")[0] for n in names}:
                if top in sys.stdlib_module_names or top in ("models", "playground"):
                    continue
                dists = {re.sub(r"[-_.]+", "-", d).lower() for d in providers.get(top, [top])}
                if not dists & have:
                    missing.setdefault(top, []).append(str(path.relative_to(ROOT)))
    assert not missing, f"imported by the app, not installed by requirements.txt: {missing}"

