"""A rate-limited endpoint beside an unlimited one: the limited endpoint's busiest second stays within its
`rateLimitPerSecond`, the other's throughput is measured as in the throughput run.

    python -m bench.rate_limited [--events 20000] [--limited-events 500] [--limit 50]
"""

from bench import scenarios


def main() -> None:
    def arguments(parser):
        parser.add_argument("--events", type=int, default=20000, help="events for the unlimited endpoint")
        parser.add_argument("--limited-events", type=int, default=500, help="events for the limited endpoint")
        parser.add_argument("--limit", type=int, default=50, help="its rateLimitPerSecond")

    def execute(bench, args):
        return scenarios.rate_limited(bench, args.events, args.limited_events, args.limit,
                                      **scenarios.run_options(args))

    scenarios.command(__doc__, arguments, execute, "rate_limited")


if __name__ == "__main__":
    main()
