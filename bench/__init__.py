"""`make bench`: the portal's benchmarks (issue 9). See bench/run.py."""
