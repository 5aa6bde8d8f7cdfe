"""Benchmarks of the notification pipeline (issue 8): `python -m bench.run_all`, or one scenario module each.

See docs/benchmarks.md for what is measured, how, and the latest numbers."""
