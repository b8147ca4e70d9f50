"""`make bench`: the portal's benchmarks. See bench/run.py."""
