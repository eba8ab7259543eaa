"""The ``edn`` console script in this process (``edn_core.scaffold.cli.main``): its help and
version, ``startproject`` writing a project with its generated files, and the refusals
(arguments argparse rejects, names Django rejects, a wiring that fails) as exit code 2 and a
message. tests/library/test_wheel.py runs the installed script end to end."""

import stat
from importlib.metadata import PackageNotFoundError

import pytest

from edn_core.scaffold import cli


def test_help_lists_startproject(capsys):
    """``--help`` exits 0 and names the command; ``startproject --help`` its arguments."""
    for argv, expected in (
        (["--help"], "startproject"),
        (["startproject", "--help"], "where to create it"),
    ):
        with pytest.raises(SystemExit) as exited:
            cli.main(argv)
        assert exited.value.code == 0 and expected in capsys.readouterr().out


def test_version_is_the_installed_platform_s_or_unknown_in_a_bare_checkout(capsys, monkeypatch):
    """``--version`` prints the distribution's version; without one, ``0+unknown``."""
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.strip() == cli.platform_version() != ""

    def not_installed(name):
        raise PackageNotFoundError(name)

    monkeypatch.setattr(cli, "version", not_installed)
    assert cli.platform_version() == "0+unknown"


def test_startproject_writes_a_wired_project(tmp_path, capsys):
    """The template rendered for the name, dotfiles renamed, scripts executable, and the
    generated files written by the project's own ``edn_wiring write``."""
    root = tmp_path / "out"
    assert cli.main(["startproject", "bakery_shop", str(root)]) == 0
    assert capsys.readouterr().out.startswith(f"Created bakery_shop in {root}.\nNext: cd {root}")
    assert 'DJANGO_SETTINGS_MODULE", "bakery_shop.settings"' in (root / "manage.py").read_text()
    assert (root / "bakery_shop" / "settings.py").is_file()
    assert (root / ".gitignore").is_file() and not (root / "gitignore").exists()
    assert (root / ".ci" / "run").is_file() and not (root / "_ci").exists()
    for script in cli.EXECUTABLE:
        assert (root / script).stat().st_mode & stat.S_IXUSR, script
    assert "bakery_shop" in (root / ".importlinter").read_text()  # written by the wiring
    assert (root / "deploy" / "docker" / "Dockerfile").is_file()


def test_startproject_without_a_directory_creates_one_named_after_the_project(
    tmp_path, monkeypatch, capsys
):
    """No DIR: ``./NAME``."""
    monkeypatch.chdir(tmp_path)
    assert cli.main(["startproject", "corner_store"]) == 0
    assert (tmp_path / "corner_store" / "corner_store" / "urls.py").is_file()
    assert f"in {tmp_path / 'corner_store'}." in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [[], ["startproject"], ["startproject", "a", "b", "c"], ["newservice", "shop"]],
)
def test_arguments_argparse_rejects_exit_2_with_the_usage(argv, capsys):
    """No command, no name, too many arguments, an unknown command."""
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    assert "usage: edn" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("not-a-name", "'not-a-name' is not a valid project name"),
        ("json", "'json' conflicts with the name of an existing Python module"),
    ],
)
def test_a_name_django_rejects_exits_2_with_its_message(name, message, tmp_path, capsys):
    """Not an identifier, or the name of an importable module: nothing is rendered."""
    assert cli.main(["startproject", name, str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("edn: error: ") and message in err
    assert list((tmp_path / "out").iterdir()) == []


def test_a_wiring_that_fails_exits_2_with_its_error(tmp_path, monkeypatch, capsys):
    """The project is written, its ``edn_wiring write`` fails: the error says so and shows
    what the wiring printed."""
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\necho 'no module named django' >&2\nexit 1\n")
    python.chmod(0o755)
    monkeypatch.setattr(cli.sys, "executable", str(python))
    root = tmp_path / "out"
    assert cli.main(["startproject", "bakery_shop", str(root)]) == 2
    err = capsys.readouterr().err
    assert "the project was created, but its wiring failed:\nno module named django" in err
    assert (root / "manage.py").is_file() and not (root / ".importlinter").exists()
