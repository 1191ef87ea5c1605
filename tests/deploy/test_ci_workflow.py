"""The GitHub Actions workflow: actionlint finds nothing wrong in it, and it runs what the README
promises (./test.sh) plus the Terraform checks that need the terraform binary."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO

WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"


def actionlint(path: Path) -> list[dict]:
    """actionlint's findings for one workflow file (the binary comes with requirements/dev.txt)."""
    binary = Path(sys.executable).parent / "actionlint"
    binary = str(binary) if binary.exists() else shutil.which("actionlint")
    assert binary, "actionlint is not installed: pip install -r requirements/dev.txt"
    done = subprocess.run([binary, "-format", "{{json .}}", str(path)], capture_output=True, text=True, timeout=60,
                          cwd=REPO)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout or "[]")


def test_actionlint_finds_nothing_in_the_workflow():
    assert [f"{f['line']}: {f['message']}" for f in actionlint(WORKFLOW)] == []


def test_actionlint_would_catch_a_broken_workflow(tmp_path):
    # The check above only means something if the linter really reads workflows.
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("${{ secrets.PACKAGES_DATASET_URL }}",
                                                   "${{ secret.PACKAGES_DATASET_URL }}"))
    assert any("secret" in finding["message"] for finding in actionlint(broken))


def test_it_runs_the_readme_test_command_and_the_terraform_checks():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    runs = {name: [step.get("run", "") for step in job["steps"]] for name, job in workflow["jobs"].items()}
    assert "./test.sh" in runs["test"]
    assert "./test.sh" in (REPO / "README.md").read_text()
    terraform = " ".join(runs["terraform"])
    assert "terraform fmt -check" in terraform and "terraform validate" in terraform
    assert workflow["jobs"]["terraform"]["defaults"]["run"]["working-directory"] == "terraform"
    # CI's own limit is 90 minutes: the jobs must end well before.
    assert all(job["timeout-minutes"] <= 60 for job in workflow["jobs"].values())
