"""`python -m bench.cache [KIB ...]`: a station check's CPU when other memory is read between checks.

In a loop, one check after another finds the interpreter's and the rules' data in the CPU's
caches; in a server, serving the call in between (gRPC's core, the event loop, the client on the
same cores) pushes much of it out, and the same check costs more (`python -m bench.load --timed`
shows by how much). This measures that effect alone, without a server: the same checks through
`Methods` as figure 8's in-process cost, each timed by the thread's CPU clock, with KIB×16 small
unrelated objects read between checks, at least KIB KiB (0: the plain loop). It says what the
serving path's cost per call is made of on this machine, not what any change of ours costs.
"""

from __future__ import annotations

import random
import sys
import time

from ruralpost.service.api import call as calls
from ruralpost.v1 import station_pb2

from .load import mix
from .peer.figures import BENCH_CALL, local_methods

_LINE = 64  # bytes per cache line: one small object read per line of its own


def check_us(between_kib: list[int], rounds: int = 6) -> list[tuple[int, float]]:
    """The mean thread-CPU µs of a check for each amount of memory read between checks, in order."""
    requests = [station_pb2.CheckStationRequest.FromString(b) for b in mix()]
    others = [bytearray(random.randbytes(_LINE)) for _ in range(1 << 16)]  # 4 MiB and more, scattered
    with local_methods() as methods:
        calls.enter(BENCH_CALL)
        for r in requests:  # warm: imports, memos, the writer thread
            methods._check(r, BENCH_CALL, "CheckStation")
        found = []
        sink = 0
        for kib in between_kib:
            spent, count = 0, 0
            reads = kib * 1024 // _LINE
            for _ in range(rounds):
                for r in requests:
                    for i in range(reads):
                        sink += others[(i * 7919) % len(others)][0]
                    t0 = time.thread_time_ns()
                    methods._check(r, BENCH_CALL, "CheckStation")
                    spent += time.thread_time_ns() - t0
                    count += 1
                methods.runtime.store.flush()
            found.append((kib, spent / count / 1e3))
        return found


def main(argv: list[str]) -> int:
    between = [int(a) for a in argv] or [0, 64, 256, 1024, 0]
    for kib, us in check_us(between):
        print(f"{kib:5d} KiB read between checks: {us:6.1f} µs CPU per check", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
