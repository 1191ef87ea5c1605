"""The README's promises: every setting documented, the two commands first, CI runs the second."""

import re

from tests.conftest import REPO


def settings_variables() -> set[str]:
    source = (REPO / "inventory_monitor" / "settings.py").read_text()
    return set(re.findall(r'(?:os\.environ\.get|env(?:bool|int|float|list))\("([A-Z][A-Z0-9_]*)"', source))


def test_every_setting_is_in_the_readme_and_env_example():
    readme = (REPO / "README.md").read_text()
    example = (REPO / ".env.example").read_text()
    variables = settings_variables()
    assert len(variables) > 20  # the regex still finds them
    assert {v for v in variables if f"`{v}`" not in readme} == set()
    assert {v for v in variables if not re.search(rf"^{v}=", example, re.M)} == set()


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    block = (REPO / "README.md").read_text().split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["./run.sh", "./test.sh"]
    assert "./test.sh" in (REPO / ".ci" / "run").read_text()
