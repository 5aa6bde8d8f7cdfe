"""Payload formats (issue 16): the throughput run with the endpoint's subscription in `standard`, `issuer` and `p2c`,
each other format between two standard runs, and the cost of each against them (target: < 10 % of throughput).

    python -m bench.formats [--events 20000]
"""

from bench import scenarios


def main() -> None:
    def arguments(parser):
        parser.add_argument("--events", type=int, default=20_000)

    def execute(bench, args):
        return scenarios.formats(bench, args.events, **scenarios.run_options(args))

    scenarios.command(__doc__, arguments, execute, "formats")


if __name__ == "__main__":
    main()
