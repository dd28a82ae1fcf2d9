#!/usr/bin/env python3
"""Doxygen's INPUT_FILTER: hides what is not API from Doxygen's parser.

Removes the bodies of `namespace detail { ... }` blocks (shipped, not API: template machinery that
Doxygen 1.9 misparses, e.g. a class template deriving from its own specialisation) and the
std::is_error_code_enum specialisation, keeping every line break so that line numbers in
warnings stay right. The headers themselves are not changed.
"""
import re
import sys

DETAIL = re.compile(r"^\s*namespace\s+(mproc::)?detail(::\w+)*\s*\{")


def blank(line: str) -> str:
    return "\n" if line.endswith("\n") else ""


def code_braces(line: str) -> int:
    """The change in brace depth on a line, ignoring comments, strings and character literals."""
    line = re.sub(r"//.*", "", line)
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(\\.|[^'\\])*'", "''", line)
    return line.count("{") - line.count("}")


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        lines = f.readlines()
    out = []
    depth = 0  # > 0 while inside a detail namespace
    for i, line in enumerate(lines):
        if depth > 0:
            depth += code_braces(line)
            out.append(blank(line))
            continue
        if DETAIL.match(line):
            depth = code_braces(line)
            out.append(blank(line))
            continue
        if re.match(r"^\s*struct\s+std::", line) or (
                re.match(r"^\s*template\s*<>\s*$", line) and i + 1 < len(lines)
                and re.match(r"^\s*struct\s+std::", lines[i + 1])):
            out.append(blank(line))
            continue
        out.append(line)
    sys.stdout.write("".join(out))


main()
