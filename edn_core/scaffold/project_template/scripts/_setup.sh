# Sourced by scripts/run and scripts/test: find Python 3.11+, make .venv, install the project's
# dependencies (again only when pyproject.toml changed), and put .venv/bin first on PATH.
# Usage: source scripts/_setup.sh [extra]   e.g. "dev" installs the dev extra too.
# Until event-driven-django is on your package index, point pip at its wheel:
#   PIP_FIND_LINKS=/path/to/dist scripts/test
extra=${1:-}
if [ ! -x .venv/bin/python ]; then
  py=""
  for candidate in ${PYTHON:-} python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      py=$candidate; break
    fi
  done
  if [ -z "$py" ]; then echo "error: Python 3.11 or newer is required" >&2; exit 1; fi
  echo "==> creating .venv with $($py --version)"
  "$py" -m venv .venv
fi
# .venv/.edn-installed holds "<hash of pyproject.toml>-<extra installed>". An install with
# the dev extra serves scripts/run too, and a reinstall keeps the extra already there: going
# back and forth between scripts/run and scripts/test installs nothing.
hash="$(sha256sum pyproject.toml | cut -c1-16)"
installed="$(cat .venv/.edn-installed 2>/dev/null || true)"
had="${installed#*-}"; [ "$installed" = "$had" ] && had=""
if [ "${installed%%-*}" != "$hash" ] || { [ -n "$extra" ] && [ "$had" != "$extra" ]; }; then
  extra="${extra:-$had}"
  echo "==> installing dependencies${extra:+ (with $extra extra)}"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extra:+[$extra]}"
  echo "$hash-$extra" > .venv/.edn-installed
fi
export PATH="$PWD/.venv/bin:$PATH"
