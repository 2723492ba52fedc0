"""How long one decoding of a single code takes while another thread computes in Python, at
Python's default switch interval (5 ms) and at the server's (playground/gil.py, 1 ms).

    python bench/gil_wait.py [--model mnist-vae] [--n 100]

Every page run in the server is a thread; a PyTorch call lets the interpreter lock go and then waits
for it back, up to one switch interval each time, while another session's run computes in Python.
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import models  # noqa: E402
from playground import gil  # noqa: E402


def per_decode_ms(m, z, n: int) -> float:
    for _ in range(5):
        m.decode(z)
    t = time.perf_counter()
    for _ in range(n):
        m.decode(z)
    return (time.perf_counter() - t) / n * 1000


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="mnist-vae")
    ap.add_argument("--n", type=int, default=100)
    a = ap.parse_args(argv)
    m = models.load(a.model)
    z = np.random.default_rng(0).standard_normal((1, m.latent_dim)).astype(np.float32)
    print(f"One code decoded by {a.model}, mean of {a.n}; torch threads {torch.get_num_threads()}")
    print(f"  alone:                                  {per_decode_ms(m, z, a.n):7.2f} ms")
    stop = threading.Event()

    def busy():
        x = 0
        while not stop.is_set():
            x += 1

    t = threading.Thread(target=busy, daemon=True)
    t.start()
    try:
        for label, interval in (("Python's default", 0.005), ("the server's (playground/gil.py)", gil.SWITCH_INTERVAL_S)):
            sys.setswitchinterval(interval)
            print(f"  beside a busy thread, {label + ',':34s} {interval * 1000:.0f} ms switch interval: "
                  f"{per_decode_ms(m, z, a.n):7.2f} ms")
    finally:
        stop.set()
        t.join()


if __name__ == "__main__":
    main()
