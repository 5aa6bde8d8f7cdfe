"""`make bench`: every scenario of issue 8, issue 15's fairness, issue 16's payload formats and issue 20's defaults
line, in one session (one broker, one
receiver), then one table, the processes' CPU and memory, and the targets met or not.

The throughput run has the issue's full 100,000 events; latency is measured over 20 s at 1,000 events/s, the
other scenarios are shorter than their own commands' defaults. Sizes can be scaled with BENCH_SCALE (e.g. 0.5 on a
slower machine).

    python -m bench.run_all
"""

import os
import time

from bench import scenarios
from bench.pipeline import Bench
from bench.report import print_all, save


def main() -> None:
    scale = float(os.environ.get("BENCH_SCALE", "1"))

    def n(events: int) -> int:
        return max(100, int(events * scale))

    started = time.monotonic()
    results: dict = {}
    with Bench() as bench:
        # Every run has its own time limit, so one stuck run cannot hold the session (about 11 minutes in all).
        # The raw-send ceiling just before and just after the throughput run, compared with their mean: identical
        # runs on this shared machine differ by up to 20 %, and by more minutes apart.
        results["raw_send"] = scenarios.raw_send(bench, n(40_000))
        results["throughput"] = scenarios.throughput(bench, n(100_000), timeout=180)
        results["raw_send2"] = scenarios.raw_send(bench, n(40_000))
        results["latency"] = scenarios.latency(bench, 1000, 20 * scale, timeout=75)
        # The same below this machine's capacity today: the latency of the design rather than of a backlog.
        results["latency_300"] = scenarios.latency(bench, 300, 15 * scale, name="latency_300", timeout=45)
        results["naive"] = scenarios.naive(bench, n(2_000), timeout=60)
        # 20,000 events a run: shorter runs (3 s of deliveries) measured mostly their own start and end.
        results.update(scenarios.slow_endpoint(bench, n(20_000), n(2_000), timeout=90))
        results.update(scenarios.scaling(bench, n(20_000), timeout=90))
        # Customer messages sent to cardholders who exist, in a worker process of their own as the Procfile (`make
        # run`) runs them; the run ends when the last message is finished.
        results["customer_facing"] = scenarios.customer_facing(bench, n(20_000), timeout=120)
        # An endpoint limited to 50 requests/s beside an unlimited one: held to its limit, the other unhurt.
        results.update(scenarios.rate_limited(bench, n(20_000), n(500), 50, timeout=90))
        # Issue 16: the same throughput run with the subscription in each payloadFormat.
        results.update(scenarios.formats(bench, n(20_000), timeout=90))
        # Issue 15: partner B's webhook latency alone and beside partner A flooding 10x with a slow SMS template.
        results.update(scenarios.fairness(bench, 50, 10 * scale, timeout=60))
        # Issue 20: the processes as `make run` starts them (the Procfile's lines) between two tuned runs.
        results.update(scenarios.defaults(bench, n(20_000), timeout=90))
    elapsed = time.monotonic() - started
    save(results, "run_all")
    print_all(results)
    print(f"\nmake bench took {elapsed:.0f} s")


if __name__ == "__main__":
    main()
