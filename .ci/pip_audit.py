#!/usr/bin/env python3
"""Audit the installed environment for known vulnerabilities with pip-audit, and say honestly
what was audited.

- The service answered and found nothing that is not waived: exit 0.
- It found a vulnerability not waived in ``.ci/pip-audit-waivers.txt``: exit 1, listed.
- The service could not be reached, or answered for none of the packages (pip-audit reports
  "No known vulnerabilities found" when PyPI's JSON API answers 404 for every package): a loud
  warning that the audit did not run, exit 0 (exit 1 with ``EDN_AUDIT_REQUIRED=1``).
- pip-audit failed in any other way, or a waiver has no reason: exit 1 (2 for the waiver).

Environment: ``EDN_AUDIT_SERVICE`` (``osv``, the default, or ``pypi``), ``EDN_AUDIT_OSV_URL``
(another OSV API, e.g. a mirror), ``EDN_AUDIT_TIMEOUT`` (seconds, default 15),
``EDN_AUDIT_REQUIRED``, ``EDN_AUDIT_WAIVERS`` (another waiver file). Extra arguments go to
pip-audit. Standard library only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

WAIVERS = Path(
    os.environ.get("EDN_AUDIT_WAIVERS", Path(__file__).with_name("pip-audit-waivers.txt"))
)
# What pip-audit prints when its service cannot be used at all (network, DNS, HTTP errors).
UNREACHABLE = (
    "ConnectionError",
    "NameResolutionError",
    "Failed to resolve",
    "Max retries exceeded",
    "Connection refused",
    "timed out",
    "ServiceError",
)


class WaiverError(ValueError):
    """A waiver line names no vulnerability or gives no reason."""


def read_waivers(path: Path) -> dict[str, str]:
    """Return ``{vulnerability id: reason}``; each line reads ``ID  reason`` (``#`` comments)."""
    waivers = {}
    if not path.exists():
        return waivers
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        vuln_id, _, reason = line.partition(" ")
        if not reason.strip():
            raise WaiverError(f"{path.name}:{number}: {vuln_id} has no reason")
        waivers[vuln_id] = reason.strip()
    return waivers


def verdict(
    returncode: int, report: dict | None, stderr: str, waivers: dict[str, str], required: bool
) -> tuple[int, list[str]]:
    """Decide the exit status and the lines to print from what pip-audit did."""
    did_not_run = 1 if required else 0
    if report is None:
        if returncode != 0 and any(marker in stderr for marker in UNREACHABLE):
            reason = stderr.strip().splitlines()[-1][:300] if stderr.strip() else "no answer"
            return did_not_run, [
                "WARNING: the vulnerability audit could NOT run: its service is unreachable.",
                f"  pip-audit: {reason}",
            ]
        return 1, ["pip-audit failed:", *stderr.strip().splitlines()[-20:]]
    # this project itself (--skip-editable) is not a package the service could know
    dependencies = [
        d for d in report.get("dependencies", []) if "editable" not in d.get("skip_reason", "")
    ]
    skipped = [d for d in dependencies if "skip_reason" in d]
    if not dependencies or len(skipped) == len(dependencies):
        return did_not_run, [
            "WARNING: the vulnerability audit could NOT run: the service answered for none of "
            f"the {len(dependencies)} packages (e.g. PyPI's per-version JSON API answering 404).",
            *(f"  {d['skip_reason']}" for d in skipped[:3]),
        ]
    found, waived = [], []
    for dependency in dependencies:
        for vuln in dependency.get("vulns", []):
            ids = {vuln["id"], *vuln.get("aliases", [])}
            aliases = f" ({', '.join(vuln['aliases'])})" if vuln.get("aliases") else ""
            line = f"{dependency['name']} {dependency['version']}: {vuln['id']}{aliases}"
            fixes = ", ".join(vuln.get("fix_versions", [])) or "none yet"
            if ids & waivers.keys():
                waived.append(f"  waived {line} ({waivers[sorted(ids & waivers.keys())[0]]})")
            else:
                found.append(f"  {line} (fixed in: {fixes}) {vuln.get('description', '')[:120]}")
    audited = len(dependencies) - len(skipped)
    lines = [f"audited {audited} packages; {len(skipped)} not found by the service"]
    lines += [f"  not audited: {d['name']}: {d['skip_reason']}" for d in skipped]
    lines += waived
    if found:
        return 1, [*lines, f"{len(found)} known vulnerabilities not waived:", *found]
    if returncode != 0 and not any(d.get("vulns") for d in dependencies):
        # no vulnerability listed, yet pip-audit failed: do not pass it
        return 1, [*lines, "pip-audit failed:", *stderr.strip().splitlines()[-20:]]
    return 0, [*lines, "no known vulnerabilities (other than waived ones)"]


def run(extra: list[str]) -> tuple[int, dict | None, str]:
    """Run pip-audit on this interpreter's environment; return its status, report and stderr.
    Waivers are applied here, not by pip-audit, so that the waived ones are still listed."""
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "report.json"
        command = [
            sys.executable,
            "-m",
            "pip_audit",
            "--vulnerability-service",
            os.environ.get("EDN_AUDIT_SERVICE", "osv"),
            "--skip-editable",  # this project itself, not a published package
            "--progress-spinner",
            "off",
            "--timeout",
            os.environ.get("EDN_AUDIT_TIMEOUT", "15"),
            "--format",
            "json",
            "--output",
            str(output),
        ]
        if os.environ.get("EDN_AUDIT_OSV_URL"):
            command += ["--osv-url", os.environ["EDN_AUDIT_OSV_URL"]]
        done = subprocess.run([*command, *extra], capture_output=True, text=True)
        report = json.loads(output.read_text()) if output.exists() else None
    return done.returncode, report, done.stderr


def main(argv: list[str]) -> int:
    try:
        waivers = read_waivers(WAIVERS)
    except WaiverError as error:
        print(f"pip-audit waivers: {error}", file=sys.stderr)
        return 2
    returncode, report, stderr = run(argv)
    required = os.environ.get("EDN_AUDIT_REQUIRED") == "1"
    status, lines = verdict(returncode, report, stderr, waivers, required)
    print("\n".join(lines), file=sys.stderr if status or "WARNING" in lines[0] else sys.stdout)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
