#!/usr/bin/env python3
"""The README's C and C++ snippets are the files under examples/ that CI builds and runs.

Each ```c or ```cpp block in README.md must be preceded (on the line before) by a marker
<!-- example: examples/NAME --> naming its file, and be identical to that file. So a snippet can be
neither edited without its example nor left without one.

usage: check_readme_snippets.py <source dir>
"""
import re
import sys
from pathlib import Path

FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)
MARKER = re.compile(r"<!-- example: (\S+) -->\s*$")


def main() -> int:
    root = Path(sys.argv[1])
    readme = (root / "README.md").read_text()
    failures = []
    checked = 0
    for fence in FENCE.finditer(readme):
        language, body = fence.group(1), fence.group(2)
        if language not in ("c", "cpp"):
            continue
        line = readme.count("\n", 0, fence.start()) + 1
        before = readme[: fence.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = MARKER.search(before)
        if not marker:
            failures.append(f"README.md:{line}: a ```{language} block without an "
                            "<!-- example: examples/... --> marker on the line before")
            continue
        path = root / marker.group(1)
        if not path.is_file():
            failures.append(f"README.md:{line}: {marker.group(1)} does not exist")
        elif path.read_text() != body:
            failures.append(f"README.md:{line}: the snippet differs from {marker.group(1)}")
        else:
            checked += 1
    for failure in failures:
        print("FAIL:", failure)
    if checked == 0 and not failures:
        print("FAIL: no C or C++ snippet found in README.md")
        return 1
    if not failures:
        print(f"OK: {checked} README snippets are identical to their examples")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
