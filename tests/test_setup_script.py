"""scripts/_setup.sh installs only when it must: switching between scripts/run (no extra) and
scripts/test (the dev extra) installs nothing once the dev extra is in. Run against a fake
``.venv/bin/python`` that records the installs it is asked for."""

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAKE_PYTHON = (
    '#!/usr/bin/env bash\nif [ "$1 $2 $3" = "-m pip install" ]; then echo "$@" >> installs; fi\n'
)


def setup(folder: Path, extra: str = "") -> list[str]:
    """Source _setup.sh as scripts/run ("") or scripts/test ("dev") do; return the installs."""
    (folder / "installs").write_text("")
    subprocess.run(
        ["bash", "-euo", "pipefail", "-c", f"source scripts/_setup.sh {extra}"],
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=60,
    )
    asked = (folder / "installs").read_text().splitlines()
    return [line.split()[-1] for line in asked if "--upgrade pip" not in line]


def test_switching_between_run_and_test_installs_only_what_is_missing(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "_setup.sh", tmp_path / "scripts")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)

    assert setup(tmp_path) == ["."]  # first scripts/run: the project, no extra
    assert setup(tmp_path) == []
    assert setup(tmp_path, "dev") == [".[dev]"]  # first scripts/test adds the extra
    assert setup(tmp_path) == []  # and scripts/run is content with it
    assert setup(tmp_path, "dev") == []
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "y"\n')
    assert setup(tmp_path) == [".[dev]"]  # a change: again, keeping the extra installed
    assert setup(tmp_path, "dev") == []
