"""Product defects found in review (issue 7, section 7): each test failed before its fix."""

from __future__ import annotations

import re

from tests.conftest import ROOT

# -- 10. the repository is complete on its own ---------------------------------------------

def test_the_test_suite_reads_nothing_outside_the_repository():
    outside = re.compile(r"""ROOT\.parent|\.\./shared|["']shared["']""")
    offenders = [f"{path.name}:{number}" for path in sorted((ROOT / "tests").glob("*.py"))
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if outside.search(line) and "outside = re.compile" not in line]
    assert offenders == []
    assert (ROOT / "tests" / "fixtures" / "reference" / "tenant-reference.yaml").is_file()
