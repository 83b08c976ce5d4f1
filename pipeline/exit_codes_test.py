import os

import pytest

from pipeline.exit_codes import MEANINGS, ExitCode

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("doc", ["README.md", "docs/usage.md"])
def test_the_docs_tables_say_what_the_codes_mean(doc):
    lines = open(os.path.join(REPO, doc)).read().splitlines()
    start = lines.index("| exit code | meaning |") + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line.strip("|").split("|", 1))
    assert {int(code): meaning.strip() for code, meaning in rows} == {code.value: MEANINGS[code] for code in ExitCode}

