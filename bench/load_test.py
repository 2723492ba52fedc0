"""Many people at once: N real Streamlit sessions against one server on loopback.

    python bench/load_test.py --sessions 30 --duration 60              # the issue's classroom
    python bench/load_test.py --sessions 50 --duration 60 --with-training
    python bench/load_test.py --sessions 5 --duration 30 --model mnist-gan   # inversions queue

Each session is a client that speaks Streamlit's own websocket protocol with the protobuf messages
that ship in `streamlit` (bench/st_client.py), so 50 sessions cost the client little. Each one:
opens the app (its default page, the Latent map), goes to the Drag page, and releases the cursor at
a new random point every `--every` seconds (the drag component's `cursor` state value, exactly as
dragmap.js sends it, rerunning the page's fragment); once, at a random moment, it opens the
Interpolate page (one interpolation rendered) and comes back; once it opens the Encode page,
uploads a picture of a hand-drawn 7 through `/_stcore/upload_file` and waits until it is encoded (a
GAN: inverted, maybe after queueing), and comes back. Sessions start `--ramp` seconds apart.

A release is timed from sending the rerun to the delta that carries the drag map with the server's
exact decoding of that very send (its `seq` and `mount` echoed, its cursor at the released point,
the image changed), and to the end of the run. A page load is timed from the GET of the page to the
end of its first run with every /media/ image fetched. `--with-training` adds one more session that
presses Train on the Train page (the default preset) and keeps its page open (it reruns its live
fragment every second, as a browser does).

The server is started here (`streamlit run playground/server.py`, disconnected sessions expire after
`--ttl` seconds) unless `--url` names a running one (then no CPU or memory figures). Before the
sessions, one warm-up session does the whole round once and closes, and the server's memory is
read once that session has expired: that is the baseline. Printed: release-to-image p50/p95, page
loads, errors (every one, counted by kind), the server's CPU (cores busy, its own and its
children's: training), resident memory at the baseline, with all sessions open and idle (per
session), and after they closed and expired, against the issue's targets.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.st_client import ProtocolError, Session  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# ---- the server and what it costs ---------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(ttl: int, env: dict | None = None) -> tuple[subprocess.Popen, str, str]:
    port = free_port()
    log = tempfile.mktemp(prefix="load-test-server-", suffix=".log")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "playground" / "server.py"),
         "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
         "--server.disconnectedSessionTTL", str(ttl)],
        cwd=ROOT, stdout=open(log, "w"), stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).status == 200:
                return proc, url, log
        except OSError:
            time.sleep(0.5)
        if proc.poll() is not None:
            break
    proc.kill()
    sys.exit(f"The server did not start; see {log}")


def rss_parts(pid: int) -> tuple[int, int]:
    """(anonymous, file-backed) resident bytes (RssAnon, RssFile): file-backed pages are the code
    and data of loaded libraries (torch's kernels) paged in on first use and droppable by the
    kernel; anonymous pages are the heap."""
    parts = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("RssAnon:", "RssFile:")):
                parts[line.split(":")[0]] = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return parts.get("RssAnon", 0), parts.get("RssFile", 0)


def swapped(pid: int) -> int:
    """Bytes of the process swapped out (VmSwap): counted with resident memory, so memory the
    kernel pushed out on a busy machine does not look like memory given back."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmSwap:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _stat(pid: int) -> tuple[int, int, int]:
    """(parent pid, CPU ticks user+system, resident pages) of a process; zeros if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[21])
    except (OSError, IndexError, ValueError):
        return 0, 0, 0


def descendants(pid: int) -> list[int]:
    parents = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            parents[int(d.name)] = _stat(int(d.name))[0]
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parents.items() if pp == p]
        out += kids
        todo += kids
    return out


class Meter:
    """CPU seconds and resident memory (with what is swapped out) of the server processes (one, or
    every replica) and, apart, of their children."""

    def __init__(self, pids):
        self.pids = [p for p in (pids if isinstance(pids, (list, tuple)) else [pids]) if p is not None]
        self.pid = self.pids[0] if self.pids else None

    def read(self) -> dict:
        out = dict(t=time.monotonic(), cpu=0.0, cpu_children=0.0, rss=0, rss_children=0, anon=0, file=0)
        for pid in self.pids:
            _, ticks, pages = _stat(pid)
            kids = [_stat(k) for k in descendants(pid)]
            anon, file = rss_parts(pid)
            out["cpu"] += ticks / TICK
            out["cpu_children"] += sum(k[1] for k in kids) / TICK
            out["rss"] += pages * PAGE + swapped(pid)
            out["rss_children"] += sum(k[2] for k in kids) * PAGE
            out["anon"] += anon
            out["file"] += file
        return out


def streamlit_memory_all(urls) -> dict:
    """streamlit_memory summed over servers (every replica, asked directly)."""
    out: dict[str, int] = {}
    for url in urls:
        for k, v in streamlit_memory(url).items():
            out[k] = out.get(k, 0) + v
    return out


def start_balanced(n: int, ttl: int) -> tuple[list[subprocess.Popen], str, list[str], list[str]]:
    """n replicas sharing one user data folder, and HAProxy in front with the shipped configuration
    (deploy/haproxy.cfg: sticky sessions by cookie): (processes, the balancer's URL, the replicas'
    URLs, logs). The balancer's process is the last one."""
    from bench.balancer import HAPROXY, check, loopback_config
    if not HAPROXY:
        sys.exit("--replicas needs HAProxy (apt-get install -y haproxy)")
    user = tempfile.mkdtemp(prefix="load-test-user-")
    procs, urls, logs = [], [], []
    try:
        for _ in range(n):
            proc, url, log = start_server(ttl, env={"LATENT_PLAYGROUND_USER_DIR": user})
            procs.append(proc)
            urls.append(url)
            logs.append(log)
        port = free_port()
        cfg = Path(tempfile.mktemp(prefix="load-test-haproxy-", suffix=".cfg"))
        cfg.write_text(loopback_config(port, {f"app{i + 1}": int(u.rsplit(":", 1)[1]) for i, u in enumerate(urls)}))
        r = check(cfg)
        if r.returncode:
            sys.exit(f"HAProxy refused {cfg}: {r.stdout}{r.stderr}")
        log = tempfile.mktemp(prefix="load-test-haproxy-", suffix=".log")
        procs.append(subprocess.Popen([HAPROXY, "-db", "-f", str(cfg)], stdout=open(log, "w"),
                                      stderr=subprocess.STDOUT))
        logs.append(log)
        base = f"http://127.0.0.1:{port}"
        for _ in range(60):
            try:
                if urllib.request.urlopen(base + "/_stcore/health", timeout=1).status == 200:
                    return procs, base, urls, logs
            except OSError:
                time.sleep(0.5)
        sys.exit(f"HAProxy did not answer; see {log}")
    except BaseException:
        for p in procs:
            p.kill()
        raise


def streamlit_memory(base: str) -> dict:
    """Streamlit's own accounting (/_stcore/metrics, cache_memory_bytes), summed per cache type:
    st_cache_data, st_cache_resource, UploadedFileManager, st_memory_media_file_storage... (the
    server computes it at most every 5 s)."""
    out: dict[str, int] = {}
    try:
        text = urllib.request.urlopen(base + "/_stcore/metrics", timeout=10).read().decode()
    except OSError:
        return out
    for line in text.splitlines():
        if line.startswith("cache_memory_bytes{"):
            kind = line.split('cache_type="', 1)[1].split('"', 1)[0]
            out[kind] = out.get(kind, 0) + int(float(line.rsplit(" ", 1)[1]))
    return out


def mb(n: float) -> str:
    return f"{n / 2**20:.0f} MB"


# ---- one person -----------------------------------------------------------------------------------

def picture(seed: int) -> bytes:
    """A hand-drawn-looking 7: dark ink on light paper, a little different for every session."""
    from PIL import Image, ImageDraw
    r = random.Random(seed)
    img = Image.new("L", (200, 200), 235 + r.randrange(15))
    d = ImageDraw.Draw(img)
    j = lambda v: v + r.uniform(-12, 12)           # noqa: E731
    d.line([(j(50), j(45)), (j(150), j(45)), (j(85), j(165))], fill=r.randrange(10, 50),
           width=r.randrange(12, 20), joint="curve")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


class Person:
    """One session's script and what it saw."""

    def __init__(self, base: str, index: int, model: str, every: float, seed: int):
        self.base, self.index, self.model, self.every = base, index, model, every
        self.rng = random.Random(seed * 1000 + index)
        self.s: Session | None = None
        self.loads: dict[str, list[float]] = {"app": [], "drag": [], "interpolate": [], "upload": [],
                                              "encode": []}
        self.release_exact: list[float] = []
        self.release_done: list[float] = []
        self.outcomes: Counter = Counter()
        self.errors: list[str] = []
        self.queue_notes: list[str] = []
        self.seq = 0
        self.mount = f"load-{index}-{self.rng.getrandbits(32):08x}"

    async def open(self) -> None:
        t = time.monotonic()
        query = f"model={self.model}" if self.model else ""
        self.s = await Session.open(self.base, "", query=query)
        await self.s.load_media()
        self.loads["app"].append(time.monotonic() - t)

    async def page(self, name: str) -> float:
        t = time.monotonic()
        await self.s.goto(name)
        await self.s.load_media()
        took = time.monotonic() - t
        self.loads[name].append(took)
        return took

    async def release(self, timeout: float = 60.0) -> None:
        """One release at a new point; waits for the exact image of that very send."""
        comp = self.s.component("dragmap")
        if comp is None:
            raise ProtocolError("the drag page has no drag map")
        before = self.s.component_data(comp).get("exact")
        self.seq += 1
        seq, uv = self.seq, [round(self.rng.uniform(0.05, 0.95), 4), round(self.rng.uniform(0.05, 0.95), 4)]
        self.s.set_json_state(comp.proto.id, {"cursor": {"uv": uv, "seq": seq, "mount": self.mount}})
        run = await self.s.send_rerun(fragment_id=comp.fragment_id)

        def arrived():
            el = self.s.component("dragmap")
            if el is None or el.received < run.sent:
                return None
            data = self.s.component_data(el)
            if data.get("seq") == seq and data.get("mount") == self.mount:
                return el, data
            return None
        el, data = await self.s.wait(arrived, timeout, f"release {seq}")
        self.release_exact.append(el.received - run.sent)
        if not all(abs(a - b) < 1e-6 for a, b in zip(data.get("cursor", []), uv)):
            self.errors.append(f"release {seq}: the server's cursor {data.get('cursor')} is not at {uv}")
        elif not str(data.get("exact", "")).startswith("data:image/png") or data.get("exact") == before:
            self.outcomes["release without a new exact image"] += 1
        else:
            self.outcomes["release decoded"] += 1
        await self.s.finish(run, timeout, f"release {seq}")
        self.release_done.append(run.finished - run.sent)

    async def interpolate(self) -> None:
        await self.page("interpolate")
        imgs = [i for e in self.s.find("imgs") for i in e.proto.imgs if "interpolation" in i.caption]
        self.outcomes["interpolation rendered" if imgs else "interpolation missing"] += 1

    async def upload(self, timeout: float = 300.0) -> None:
        await self.page("upload")
        up = self.s.find("file_uploader", lambda p: p.label.startswith("Pictures"))
        if not up:
            raise ProtocolError("the Encode page has no file uploader")
        t, notes = time.monotonic(), len(self.s.queue_notes)
        await self.s.upload(up[0].proto.id, f"seven-{self.index}.png", picture(self.index), timeout=timeout)
        await self.s.load_media()
        self.loads["encode"].append(time.monotonic() - t)
        encoded = self.s.find("metric", lambda p: p.label == "Pixel MSE")
        self.outcomes["upload encoded" if encoded else "upload not encoded"] += 1
        if len(self.s.queue_notes) > notes:
            self.outcomes["upload queued for an inversion slot"] += 1
            self.queue_notes.append(self.s.queue_notes[notes].split(".")[0])

    async def act(self, until: float, interp_at: float, upload_at: float, min_releases: int = 0) -> None:
        """Open the app and the drag page; release every `every` s until `until` (and at least
        `min_releases` times); interpolate and upload once each at their moments, or before the
        end if those pass (then back to the drag page). Errors are recorded."""
        try:
            await self.open()
            await self.page("drag")
            todo = sorted([(interp_at, self.interpolate), (upload_at, self.upload)], key=lambda x: x[0])
            nxt = time.monotonic()
            while time.monotonic() < until or todo or self.seq < min_releases:
                if todo and time.monotonic() >= min(todo[0][0], until):
                    await todo.pop(0)[1]()
                    await self.page("drag")
                    nxt = time.monotonic()
                    continue
                await asyncio.sleep(max(0.0, nxt - time.monotonic()))
                nxt += self.every
                await self.release()
                if time.monotonic() > nxt:              # late: the next release goes at once
                    nxt = time.monotonic()
        except (ProtocolError, OSError, asyncio.TimeoutError) as e:
            self.errors.append(f"{type(e).__name__}: {e}")
        if self.s is not None:
            self.errors += self.s.errors

    async def close(self) -> None:
        if self.s is not None:
            await self.s.close()


async def trainer(base: str, errors: list) -> Session | None:
    """A session that presses Train (the default preset) and keeps the Train page open."""
    try:
        s = await Session.open(base, "train")
        button = s.find("button", lambda p: p.label == "Train")
        if not button:
            raise ProtocolError("the Train page has no Train button")
        s.click(button[0].proto.id)
        await s.rerun()
        return s
    except (ProtocolError, OSError, asyncio.TimeoutError) as e:
        errors.append(f"training session: {type(e).__name__}: {e}")
        return None


# ---- the figures ---------------------------------------------------------------------------------

def pct(values, q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, max(0, round(q / 100 * (len(v) - 1))))]


def verdict(ok: bool) -> str:
    return "meets the target" if ok else "MISSES the target"


async def warm(base: str, model: str) -> None:
    """One whole round, so the models, maps and caches the sessions share are in memory."""
    p = Person(base, -1, model, 1.0, 0)
    await p.open()
    await p.page("drag")
    await p.release()
    await p.interpolate()
    await p.upload()
    await p.close()
    if p.errors or p.s.errors:
        print("Warm-up session errors:", *(p.errors + p.s.errors), sep="\n  ")


async def main(a) -> int:
    procs, logs = [], []
    if a.url:
        base = a.url.rstrip("/")
        meter, direct = Meter(a.pid), [base]
    elif a.replicas > 1:
        procs, base, direct, logs = start_balanced(a.replicas, a.ttl)
        meter = Meter([p.pid for p in procs[:-1]])
    else:
        proc, base, log = start_server(a.ttl)
        procs, logs, direct = [proc], [log], [base]
        meter = Meter(proc.pid)
    print(f"Load test: {a.sessions} sessions for {a.duration:.0f} s against {base}"
          + (f" (HAProxy in front of {a.replicas} replicas: {', '.join(direct)})" if a.replicas > 1 and not a.url else "")
          + (" with a training run" if a.with_training else "")
          + f"; model {a.model or 'default (mnist-vae, t-SNE)'}; a release every {a.every:g} s; "
            f"sessions start {a.ramp:g} s apart; disconnected sessions expire after {a.ttl} s"
          + (f"; logs {', '.join(logs)}" if logs else ""))
    print(f"Machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the test")
    try:
        t = time.monotonic()
        for _ in range(max(1, a.replicas if not a.url else 1)):    # the balancer deals new sessions round robin
            await warm(base, a.model)
        print(f"Warm-up round (one session, every page once{', on each replica' if a.replicas > 1 else ''}): "
              f"{time.monotonic() - t:.1f} s")
        await asyncio.sleep(a.ttl + a.expire_margin)
        base_mem = meter.read()
        base_st = streamlit_memory_all(direct)

        errors: list[str] = []
        train = await trainer(base, errors) if a.with_training else None
        people = [Person(base, i, a.model, a.every, a.seed) for i in range(a.sessions)]
        start = time.monotonic()
        until = start + a.ramp * a.sessions + a.duration
        cpu0, client0 = meter.read(), time.process_time()
        tasks = []
        for i, p in enumerate(people):
            at = start + i * a.ramp
            span = until - at
            tasks.append(asyncio.create_task(p.act(until, at + span * p.rng.uniform(0.2, 0.45),
                                                   at + span * p.rng.uniform(0.5, 0.75), min_releases=1)))
            await asyncio.sleep(a.ramp)
        await asyncio.gather(*tasks)
        cpu1, client1 = meter.read(), time.process_time()
        await asyncio.sleep(a.idle)
        idle_mem = meter.read()
        idle_st = streamlit_memory_all(direct)
        for p in people:
            await p.close()
        train_reruns = train.auto_reruns if train is not None else 0
        if train is not None:
            errors += train.errors
            await train.close()
        closed_mem = meter.read()
        await asyncio.sleep(a.ttl + a.expire_margin)
        after_mem = meter.read()
        after_st = streamlit_memory_all(direct)
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()

    # ---- report ----
    exact = [x for p in people for x in p.release_exact]
    done = [x for p in people for x in p.release_done]
    loads = {k: [x for p in people for x in p.loads[k]] for k in people[0].loads}
    outcomes = sum((p.outcomes for p in people), Counter())
    for p in people:
        errors += [f"session {p.index}: {e}" for e in p.errors]
    span = cpu1["t"] - cpu0["t"]
    target_p95 = 1.0 if a.with_training else 0.5
    print(f"\nReleases: {len(exact)} timed ({len(exact) / max(span, 1e-9):.1f}/s over {span:.0f} s; "
          f"{a.sessions} sessions at one per {a.every:g} s would send {a.sessions / a.every:.1f}/s)")
    print(f"  release to exact image:  p50 {pct(exact, 50) * 1000:.0f} ms  p95 {pct(exact, 95) * 1000:.0f} ms"
          f"  max {max(exact, default=float('nan')) * 1000:.0f} ms   "
          f"[target p95 < {target_p95 * 1000:.0f} ms: {verdict(pct(exact, 95) < target_p95)}]")
    print(f"  release to run finished: p50 {pct(done, 50) * 1000:.0f} ms  p95 {pct(done, 95) * 1000:.0f} ms")
    print("Page loads (GET to the first run's end, every /media/ image fetched):")
    for k, v in loads.items():
        what = {"app": "the app (Latent map)", "drag": "Drag page", "interpolate": "Interpolate page",
                "upload": "Encode page", "encode": "upload to encoded"}[k]
        extra = (f"   [target page load p95 < 5 s: {verdict(pct(v, 95) < 5)}]" if k == "app" else "")
        print(f"  {what:<22} n={len(v):<4} p50 {pct(v, 50):.2f} s  p95 {pct(v, 95):.2f} s  "
              f"max {max(v, default=float('nan')):.2f} s{extra}")
    print("Outcomes:", ", ".join(f"{k}: {n}" for k, n in sorted(outcomes.items())) or "none")
    notes = Counter(n for p in people for n in p.queue_notes)
    if notes:
        print("Inversion queue, first position each queued upload was shown:",
              ", ".join(f"'{k}' {n}x" for k, n in sorted(notes.items())))
    media = sum(p.s.media_loaded for p in people if p.s)
    print(f"Media images and map data fetched: {media}, failed: {sum(p.s.media_failures for p in people if p.s)}")
    kinds = Counter(e.split(":")[0] if not e.startswith("session") else e.split(": ", 1)[1].split(":")[0]
                    for e in errors)
    print(f"Errors: {len(errors)}" + (f" ({', '.join(f'{k}: {n}' for k, n in kinds.most_common())})"
                                     if errors else "   [target: none: meets the target]"))
    for e in errors[:a.show_errors]:
        print("  ", e[:300])
    if a.with_training:
        print(f"Training session: {train_reruns} live-view reruns sent by its timer")
    if meter.pid is not None:
        who = "server process" if len(meter.pids) == 1 else f"{len(meter.pids)} server processes together"
        print(f"Server CPU during the sessions: {(cpu1['cpu'] - cpu0['cpu']) / span:.2f} cores ({who}), "
              f"{(cpu1['cpu_children'] - cpu0['cpu_children']) / span:.2f} cores (its child "
              f"processes: training) of {os.cpu_count()}; this load client "
              f"{(client1 - client0) / span:.2f} cores (on the same machine: what it uses, the server "
              f"cannot, and its own delays count in the latencies)")
        # per idle session: against the baseline and against the same server once they expired
        # (resident memory also moves for reasons of its own: the larger of the two is judged)
        per_base = (idle_mem["rss"] - base_mem["rss"]) / max(1, a.sessions)
        per_after = (idle_mem["rss"] - after_mem["rss"]) / max(1, a.sessions)
        per = max(per_base, per_after)
        back = (after_mem["rss"] - base_mem["rss"]) / max(1, base_mem["rss"])
        print(f"Server resident memory (+ swapped out): baseline {mb(base_mem['rss'])} (after the warm-up session "
              f"expired); {mb(idle_mem['rss'])} with {a.sessions} sessions open and idle, "
              f"{per_base / 2**20:.1f} MB per session over the baseline, {per_after / 2**20:.1f} MB "
              f"over the memory after they expired   [target <= 30 MB: {verdict(per <= 30 * 2**20)}]; "
              f"{mb(closed_mem['rss'])} just after they closed; {mb(after_mem['rss'])} after they "
              f"expired ({a.ttl} s + {a.expire_margin:g} s), {back:+.1%} of the baseline   "
              f"[target within 10%: {verdict(abs(back) <= 0.10)}]")
        print(f"  of which the heap (RssAnon): {mb(base_mem['anon'])} -> {mb(idle_mem['anon'])} -> "
              f"{mb(after_mem['anon'])}; libraries' pages (RssFile): {mb(base_mem['file'])} -> "
              f"{mb(idle_mem['file'])} -> {mb(after_mem['file'])} (baseline -> idle -> expired)")
        if after_mem["rss_children"] or idle_mem["rss_children"]:
            print(f"  child processes (training): {mb(idle_mem['rss_children'])} while idle, "
                  f"{mb(after_mem['rss_children'])} at the end")
    kinds_st = sorted(set(base_st) | set(idle_st) | set(after_st))
    if kinds_st:
        print("Streamlit's own accounting (/_stcore/metrics), baseline -> idle -> expired: " + "; ".join(
            f"{k} {base_st.get(k, 0) / 2**20:.1f} -> {idle_st.get(k, 0) / 2**20:.1f} -> "
            f"{after_st.get(k, 0) / 2**20:.1f} MB" for k in kinds_st))
    print(f"Load average after: {os.getloadavg()[0]:.2f}. Figures from a machine that others share "
          "are noisy: compare runs on a quiet machine.")
    return 1 if errors else 0


def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=30, help="concurrent sessions (default 30)")
    ap.add_argument("--duration", type=float, default=60.0,
                    help="seconds of activity after the last session has started (default 60)")
    ap.add_argument("--model", default="", help="checkpoint name (default: the app's default, mnist-vae)")
    ap.add_argument("--with-training", action="store_true",
                    help="one more session trains the Train page's default preset meanwhile")
    ap.add_argument("--every", type=float, default=2.0, help="seconds between releases (default 2)")
    ap.add_argument("--ramp", type=float, default=0.3, help="seconds between session starts (default 0.3)")
    ap.add_argument("--idle", type=float, default=5.0,
                    help="seconds the sessions stay open and idle before memory is read (default 5)")
    ap.add_argument("--ttl", type=int, default=20,
                    help="server.disconnectedSessionTTL of the started server, seconds (default 20)")
    ap.add_argument("--expire-margin", type=float, default=20.0,
                    help="seconds waited beyond the TTL before memory is read again (default 20: the "
                         "janitor sweeps every 5 s and hands memory back once more two sweeps later)")
    ap.add_argument("--url", default="", help="a running server instead of starting one")
    ap.add_argument("--replicas", type=int, default=1,
                    help="start this many servers behind HAProxy (deploy/haproxy.cfg, sticky sessions) "
                         "and measure them together (default 1: one server, no balancer)")
    ap.add_argument("--pid", type=int, default=None, help="with --url: the server's pid, for CPU and memory")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--show-errors", type=int, default=20, help="errors printed in full (default 20)")
    return ap.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
