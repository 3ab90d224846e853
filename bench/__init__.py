"""`make bench`: docs/benchmarks.md; `python -m bench.bench` and `python -m bench.profile_variants`."""
