"""Scaling on this machine: 1 vs 2 bridges (one consumer group) and 1 vs 2 worker processes.

    python -m bench.scaling [--events 20000]
"""

from bench import scenarios


def main() -> None:
    def arguments(parser):
        parser.add_argument("--events", type=int, default=20000)

    def execute(bench, args):
        return scenarios.scaling(bench, args.events, **scenarios.run_options(args))

    scenarios.command(__doc__, arguments, execute, "scaling")


if __name__ == "__main__":
    main()
