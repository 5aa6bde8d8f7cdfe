"""Slow-endpoint isolation: a healthy endpoint's throughput alone, then beside an endpoint answering in 5 s.

    python -m bench.slow_endpoint [--events 20000] [--slow-events 2000]

Nine runs in the order of scenarios.SLOW_ENDPOINT_PLAN: healthy alone between each of three runs of healthy + slow
and one of healthy + a second fast endpoint with the same share (control). Each mixed run is compared with the alone
runs just before and after it.
"""

from bench import scenarios


def main() -> None:
    def arguments(parser):
        parser.add_argument("--events", type=int, default=20000, help="events for the healthy endpoint")
        parser.add_argument("--slow-events", type=int, default=2000, help="events for the slow endpoint")

    def execute(bench, args):
        return scenarios.slow_endpoint(bench, args.events, args.slow_events, **scenarios.run_options(args))

    scenarios.command(__doc__, arguments, execute, "slow_endpoint")


if __name__ == "__main__":
    main()
