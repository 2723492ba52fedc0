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


def test_two_sessions_drag_interpolate_and_upload():
    with streamlit_server() as (url, log):
        people = asyncio.run(_two_people(url, seconds=3.0))
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
