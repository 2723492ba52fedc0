"""How often Python's threads take turns at the interpreter lock, for a server of many sessions.

Every run of a page is a thread of its own. When one thread computes in Python and another calls
into C code that lets the lock go (every PyTorch operation, PIL's PNG encoder, a socket write by the
server's event loop), the second one cannot go on until the first hands the lock back, which Python
forces every `sys.getswitchinterval()` seconds: 5 ms by default. A decoder is a dozen such calls, so
a single code's decoding, 0.5 ms alone, took about 50 ms beside one busy thread, and about 7 ms at
1 ms (bench/gil_wait.py prints both). Threads that only compute in Python hand over more often too,
which costs them little (a switch is microseconds; 1,000 a second).
"""
from __future__ import annotations

import sys

SWITCH_INTERVAL_S = 0.001


def share_the_gil(interval_s: float = SWITCH_INTERVAL_S) -> float:
    """Make threads take turns every `interval_s` seconds (idempotent); returns the interval."""
    if sys.getswitchinterval() != interval_s:
        sys.setswitchinterval(interval_s)
    return sys.getswitchinterval()
