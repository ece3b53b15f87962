#!/usr/bin/env python3
"""Fails when colt/version.hpp disagrees with the version meson.build gives project().

Usage: check_version.py VERSION_HPP VERSION   (Meson passes meson.project_version())

The version is decided once, in meson.build; the header keeps a copy so that colt can be used
from include/ without configuring. This test is what keeps the copy true.
"""
import re
import sys


def main(header, version):
    text = open(header, encoding="utf-8").read()
    problems = []

    def value(name):
        found = re.search(rf"^#define {name} (\S+)\s*$", text, re.MULTILINE)
        if not found:
            problems.append(f"{header} does not define {name}")
            return None
        return found.group(1)

    parts = version.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        problems.append(f"meson.build's version '{version}' is not MAJOR.MINOR.PATCH")
        parts = [None, None, None]
    for name, want in zip(("MAJOR", "MINOR", "PATCH"), parts):
        got = value(f"COLT_VERSION_{name}")
        if got is not None and want is not None and got != str(int(want)):
            problems.append(f"COLT_VERSION_{name} is {got}, meson.build says {int(want)}")
    got = value("COLT_VERSION_STRING")
    if got is not None and got != f'"{version}"':
        problems.append(f"COLT_VERSION_STRING is {got}, meson.build says \"{version}\"")
    # COLT_VERSION packs minor and patch in two decimal digits each; 1.100.0 would read as 2.0.0.
    if parts[0] is not None and (int(parts[1]) > 99 or int(parts[2]) > 99):
        problems.append(f"{version}: minor and patch must stay below 100 for COLT_VERSION")
    for p in problems:
        print(p)
    print(f"version {version}: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
