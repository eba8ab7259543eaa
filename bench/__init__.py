"""Benchmarks (not tests): each prints figures beside a baseline run alongside it."""
