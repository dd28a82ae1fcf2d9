#!/usr/bin/env python3
"""Every public declaration carries its Doxygen doc comment (Doxygen itself only checks the syntax
of the comments it finds; it is run with WARN_IF_UNDOCUMENTED off because members of C++ classes
are documented in the class's comment and the file comment, not one by one).

- capi/mproc.h and the topic headers it includes (capi/mproc/*.h): every MPROC_API function has a /** ... */ comment just above it, or follows
  another documented MPROC_API declaration directly (a group sharing one comment).
- include/mproc/*.hpp: every class or struct of namespace mproc (not mproc::detail, not a
  specialisation of Codec) has a /// comment just above it that states its Errors, Thread-safety
  and Fork-safety.

usage: check_api_docs.py <source dir>
"""
import re
import sys
from pathlib import Path

CLASS = re.compile(r"^(class|struct) (MPROC_API )?(\w+)\b(?!.*;\s*$)")
DETAIL = re.compile(r"^\s*namespace\s+([\w:]+::)?detail(::\w+)*\s*\{")  # mproc::detail, cereal::traits::detail


def braces(line: str) -> int:
    line = re.sub(r"//.*", "", line)
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    return line.count("{") - line.count("}")


def check_c_header(path: Path, failures: list) -> int:
    lines = path.read_text().split("\n")
    count = 0
    for i, line in enumerate(lines):
        if not line.startswith("MPROC_API "):
            continue
        count += 1
        j = i - 1
        while j > 0 and lines[j].startswith("#define "):  # a constant the comment also covers
            j -= 1
        if lines[j].rstrip().endswith("*/"):
            while j > 0 and "/*" not in lines[j]:
                j -= 1
            if lines[j].lstrip().startswith("/**"):
                continue
        else:
            # A group: the previous declaration (possibly spanning lines) is an MPROC_API one.
            while j > 0 and lines[j].startswith(" "):
                j -= 1
            if lines[j].startswith("MPROC_API "):
                continue
        failures.append(f"{path}:{i + 1}: no /** doc comment above: {line.strip()}")
    return count


def check_cxx_header(path: Path, failures: list) -> int:
    lines = path.read_text().split("\n")
    depth = 0
    count = 0
    for i, line in enumerate(lines):
        if depth > 0:
            depth += braces(line)
            continue
        if DETAIL.match(line):
            depth = braces(line)
            continue
        m = CLASS.match(line)
        if not m or line.rstrip().endswith(";") or m.group(3) == "Codec":
            continue
        count += 1
        j = i - 1
        if lines[j].startswith("template"):
            j -= 1
        block = []
        while j >= 0 and lines[j].startswith("///"):
            block.insert(0, lines[j])
            j -= 1
        text = "\n".join(block)
        missing = [w for w in ("Errors", "Thread-safety", "Fork-safety") if w + ":" not in text]
        if not block:
            failures.append(f"{path}:{i + 1}: {m.group(3)} has no /// doc comment")
        elif missing:
            failures.append(f"{path}:{i + 1}: {m.group(3)}'s doc comment lacks {', '.join(missing)}")
    return count


def main() -> int:
    root = Path(sys.argv[1])
    failures = []
    functions = sum(check_c_header(p, failures)
                    for p in [root / "capi" / "mproc.h", *sorted((root / "capi" / "mproc").glob("*.h"))])
    classes = sum(check_cxx_header(p, failures)
                  for p in sorted((root / "include" / "mproc").glob("*.hpp")))
    for failure in failures:
        print("FAIL:", failure)
    if functions == 0 or classes == 0:
        print("FAIL: found no declaration to check")
        return 1
    if not failures:
        print(f"OK: {functions} C functions and {classes} C++ classes are documented")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
