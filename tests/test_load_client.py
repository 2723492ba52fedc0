"""The load test's protocol client (bench/st_client.py, bench/load_test.py) against a real server:
two sessions for a few seconds must get real outcomes, so the benchmark fails loudly when the client
no longer speaks Streamlit's protocol (or the pages change what they send), instead of timing
nothing. No timing is asserted."""
import asyncio
import sys
import time
from pathlib import Path

import pytest

from conftest import streamlit_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load_test import Person  # noqa: E402


async def _two_people(url: str, seconds: float):
    people = [Person(url, i, "", every=1.0, seed=1) for i in range(2)]
    until = time.monotonic() + seconds

    async def one(p):
        # interpolate and upload first, then release at least twice
        await p.act(until, interp_at=0.0, upload_at=0.0, min_releases=2)
        return p
    try:
        return await asyncio.wait_for(asyncio.gather(*(one(p) for p in people)), 600)
    finally:
        for p in people:
            await p.close()



def run_apart(coro):
    """asyncio.run in a thread of its own: in the full suite, Playwright's sync API (the browser tests'
    session fixture) keeps an event loop running in this thread, and asyncio.run refuses to nest."""
    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_two_sessions_drag_interpolate_and_upload():
    with streamlit_server() as (url, log):
        people = run_apart(_two_people(url, seconds=3.0))
    for p in people:
        assert p.errors == [], f"session {p.index}: {p.errors} (server log {log})"
        # each release came back as the drag map with that very send's seq and mount, the cursor at
        # the released point and a new exact decoding (a PNG data URL)
        assert p.outcomes["release decoded"] >= 2, p.outcomes
        assert p.outcomes["release without a new exact image"] == 0, p.outcomes
        assert len(p.release_exact) == p.outcomes["release decoded"]
        assert p.outcomes["interpolation rendered"] == 1, p.outcomes
        assert p.outcomes["upload encoded"] == 1, p.outcomes      # the Pixel MSE of the upload shown
        assert p.s.media_loaded > 0 and p.s.media_failures == 0
    assert people[0].s.session_id != people[1].s.session_id


async def _half_upload(s, name: str, size: int = 200_000) -> None:
    """Ask for a file URL, send the headers and half of a `size`-byte body, and hang up."""
    from urllib.parse import urlsplit
    from bench.st_client import BackMsg
    import uuid
    fut = asyncio.get_running_loop().create_future()
    rid = uuid.uuid4().hex
    s._file_urls[rid] = fut
    msg = BackMsg()
    msg.file_urls_request.request_id = rid
    msg.file_urls_request.file_names.append(name)
    msg.file_urls_request.session_id = s.session_id
    await s.ws.send(msg.SerializeToString())
    urls = (await asyncio.wait_for(fut, 60)).file_urls[0]
    parts = urlsplit(s.base)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    boundary = "----half"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode()
    writer.write((f"PUT {urls.upload_url} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                  f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                  f"Content-Length: {len(head) + size + 40}\r\nX-Xsrftoken: {s.xsrf}\r\n"
                  f"Cookie: {s.cookie}\r\nOrigin: {s.base}\r\n\r\n").encode() + head + b"\x89PNG" * (size // 8))
    await writer.drain()
    writer.close()                                # gone mid-upload


def _uploaded_bytes(url: str) -> int:
    """The server's UploadedFileManager bytes, from Streamlit's own /_stcore/metrics (which keeps
    that figure for 5 s: callers wait longer than that between reads)."""
    from bench.load_test import streamlit_memory
    return streamlit_memory(url).get("UploadedFileManager", 0)


async def _uploads_then_leaves(url: str):
    from bench.load_test import picture
    from bench.st_client import Session
    s = await Session.open(url, "upload")
    uploader = s.find("file_uploader", lambda p: p.label.startswith("Pictures"))[0].proto.id
    await _half_upload(s, "half.png")
    await asyncio.sleep(6.0)
    after_half = _uploaded_bytes(url)
    await s.upload(uploader, "seven.png", picture(3))
    encoded = bool(s.find("metric", lambda p: p.label == "Pixel MSE"))
    await asyncio.sleep(6.0)
    held = _uploaded_bytes(url)
    await _half_upload(s, "another-half.png")     # and leaves in the middle of a second one
    await s.close()
    return after_half, encoded, held


def test_a_client_that_disconnects_mid_upload_leaves_nothing_behind():
    """Half an upload is never stored; a session's finished uploads go when it expires after its
    client left (Streamlit's UploadedFileManager, read from /_stcore/metrics)."""
    from bench.load_test import start_server
    proc, url, log = start_server(ttl=2)
    try:
        after_half, encoded, held = run_apart(_uploads_then_leaves(url))
        assert after_half == 0                   # the half upload left nothing
        assert encoded and held > 0              # a whole one is stored (so the metric is real)
        deadline = time.monotonic() + 60
        while _uploaded_bytes(url) and time.monotonic() < deadline:
            time.sleep(1)
        assert _uploaded_bytes(url) == 0, f"uploads still held after the session expired (log {log})"
    finally:
        proc.terminate()
        proc.wait(15)
