"""Slow-endpoint isolation: a healthy endpoint's throughput alone, then beside an endpoint answering in 5 s.

    python -m bench.slow_endpoint [--events 10000] [--slow-events 1000]

Four runs: healthy alone, healthy + slow, healthy + a second fast endpoint with the same share (control), healthy
alone again.
"""

from bench import scenarios


def main() -> None:
    def arguments(parser):
        parser.add_argument("--events", type=int, default=10000, help="events for the healthy endpoint")
        parser.add_argument("--slow-events", type=int, default=1000, help="events for the slow endpoint")

    def execute(bench, args):
        return scenarios.slow_endpoint(bench, args.events, args.slow_events, **scenarios.run_options(args))

    scenarios.command(__doc__, arguments, execute, "slow_endpoint")


if __name__ == "__main__":
    main()
