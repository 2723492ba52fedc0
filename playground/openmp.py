"""PyTorch's idle OpenMP threads sleep instead of spinning.

torch runs its CPU operations on OpenMP threads, and after each parallel piece of work libgomp
keeps them spinning a while, burning a core, in case more work comes at once. A server does the
opposite of a training loop: many small decodes, each in its own page-run thread, with other
threads waiting for the cores. Measured with bench/load_test.py (one session releasing the drag
cursor 10 times a second, 30 s): the server used 0.38 cores with libgomp's default, 0.30 with one
torch thread, 0.26 with OMP_WAIT_POLICY=PASSIVE (release p50 20 -> 16 ms); heavy work (a map's
encoding, an atlas, a GAN inversion) keeps both threads. libgomp reads the setting once, when torch
loads it, so `idle_threads_sleep()` runs first thing in playground/server.py, before anything
imports torch. A policy set by whoever starts the server wins.
"""
from __future__ import annotations

import os
import sys

POLICY = "PASSIVE"


def idle_threads_sleep() -> bool:
    """Set OMP_WAIT_POLICY=PASSIVE for this process; False if not applied (torch is already loaded,
    so it would be too late, or the environment already says)."""
    if os.environ.get("OMP_WAIT_POLICY") or "torch" in sys.modules:
        return False
    os.environ["OMP_WAIT_POLICY"] = POLICY
    return True
