"""Settings of the benchmarks: the project's settings, plus the baseline routes under /bench/."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
