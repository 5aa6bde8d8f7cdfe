"""The naive baseline (one Celery task per delivery, blocking requests.post, ORM per attempt) beside our design.

    python -m bench.naive [--events 3000] [--compare-events 20000]

Runs the naive design, then ours on --compare-events, and prints the ratio (--compare-events 0 skips ours).
"""

from bench import scenarios


def main() -> None:
    def arguments(parser):
        parser.add_argument("--events", type=int, default=3000)
        parser.add_argument("--compare-events", type=int, default=20000)

    def execute(bench, args):
        options = scenarios.run_options(args)
        results = {"naive": scenarios.naive(bench, args.events, **options)}
        if args.compare_events:
            results["throughput"] = scenarios.throughput(bench, args.compare_events, **options)
        return results

    scenarios.command(__doc__, arguments, execute, "naive")


if __name__ == "__main__":
    main()
