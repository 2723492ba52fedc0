"""The process-wide bound on t-SNE map builds running at once (like `jobs.inversions()` for GAN
inversions): a t-SNE of 70,000 points takes about a minute on two threads, so many at once would only
slow every page of every session down together. A page that waits says so ("Waiting: 1 ahead of you")
in the place where its progress bar will be; a person who left while waiting ends the wait.
LATENT_PLAYGROUND_MAP_BUILDS sets how many (default a quarter of the cores: each build uses two).
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager

from playground import jobs

MAP_BUILDS_ENV = "LATENT_PLAYGROUND_MAP_BUILDS"
_builds: jobs.Slots | None = None
_lock = threading.Lock()


def builds() -> jobs.Slots:
    global _builds
    with _lock:
        if _builds is None:
            cores = os.cpu_count() or 1
            _builds = jobs.Slots(jobs._env_int(MAP_BUILDS_ENV, max(1, cores // 4), 1, 64))
        return _builds


def waiting_text(ahead: int, limit: int) -> str:
    return (f"Waiting: {ahead} ahead of you. At most {limit} "
            f"{'map is' if limit == 1 else 'maps are'} computed at once on this server (a t-SNE map "
            "takes up to a minute), so that one map does not slow every other page down; yours "
            "starts when a place is free.")


@contextmanager
def map_build_slot(holder=None, slots: jobs.Slots | None = None):
    """Hold one of the server's map-build slots for the block. `holder` (an `st.empty()`, or None
    off the page, as in the warm-up thread) shows the queue position while waiting."""
    slots = slots or builds()

    def waiting(ahead: int) -> None:
        if holder is None:
            return
        from playground.waiting import _gone, client_connected
        if not client_connected():
            _gone()
        holder.info(waiting_text(ahead, slots.limit), icon=":material/hourglass_top:")

    with slots.hold(waiting=waiting):
        if holder is not None:
            holder.empty()
        yield
