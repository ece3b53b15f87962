#!/usr/bin/env python3
"""check_env_table.py SOURCE_ROOT: the environment table of docs/getting-started.md names exactly
the COLT_* variables the headers read. A variable is read where its name is a whole string
literal under include/ ("COLT_CHECK", as getenv and flag_from_environment take it); messages
that merely mention one ("COLT_CHECK='x' is not 0 or 1") are not reads."""

import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
read = {}
for header in sorted((root / "include").rglob("*")):
    if header.suffix not in (".hpp", ".h", ".cuh"):
        continue
    for number, line in enumerate(header.read_text().splitlines(), 1):
        for name in re.findall(r'"(COLT_[A-Z0-9_]+)"', line):
            read.setdefault(name, f"{header.relative_to(root)}:{number}")

page = root / "docs" / "getting-started.md"
text = page.read_text()
section = re.search(r"^## Environment\n(.*?)(?=^## |\Z)", text, re.S | re.M)
if not section:
    sys.exit(f"{page}: no '## Environment' section")
documented = set(re.findall(r"^\| `(COLT_[A-Z0-9_]+)` \|", section.group(1), re.M))

problems = [f"{where} reads {name}, which the table in {page.relative_to(root)} lacks"
            for name, where in sorted(read.items()) if name not in documented]
problems += [f"{page.relative_to(root)} documents {name}, which nothing under include/ reads"
             for name in sorted(documented - read.keys())]
for p in problems:
    print(p, file=sys.stderr)
print(f"{len(read)} variables read, {len(documented)} documented: "
      + ("agree" if not problems else f"{len(problems)} problems"))
sys.exit(1 if problems else 0)
