#!/usr/bin/env python3
"""Fails when a colt header includes one from a higher layer (DESIGN.md, section 1).

Usage: check_layers.py ROOT...   (each ROOT holds colt/..., i.e. include/ and kernels/)

Layers, bottom to top: core, transport, reduce, algorithms, collectives, adapters. A header may
include headers of its own layer and of the layers below. The umbrella colt/colt.hpp is for
users: no colt header includes it. kernels/colt/cuda/ is the reduction layer, except
collectives.cuh, the device collectives' front door. Every colt include must name a header
that exists, so a moved header cannot leave a stale include behind.
"""
import pathlib
import re
import sys

LAYERS = ["core", "transport", "reduce", "algorithms", "collectives", "adapters"]
INCLUDE = re.compile(r'^\s*#\s*include\s*"(colt/[^"]+)"', re.MULTILINE)


def layer_of(name):
    """The layer index of a header named 'colt/...', or None for the umbrella."""
    if name == "colt/colt.hpp":
        return None
    parts = name.split("/")
    if parts[1] == "cuda":
        return LAYERS.index("collectives" if parts[-1] == "collectives.cuh" else "reduce")
    return LAYERS.index(parts[1])


def main(roots):
    roots = [pathlib.Path(r) for r in roots]
    headers = {}
    for root in roots:
        for path in sorted((root / "colt").rglob("*")):
            if path.suffix in (".hpp", ".cuh"):
                headers[path.relative_to(root).as_posix()] = path
    problems = []
    for name, path in headers.items():
        own = layer_of(name)
        for target in INCLUDE.findall(path.read_text()):
            if target not in headers:
                problems.append(f"{name} includes {target}, which does not exist")
            elif target == "colt/colt.hpp":
                problems.append(f"{name} includes the users' umbrella colt/colt.hpp")
            elif own is not None and layer_of(target) > own:
                problems.append(f"{name} ({LAYERS[own]}) includes {target} "
                                f"({LAYERS[layer_of(target)]}), a higher layer")
    for p in problems:
        print(p)
    print(f"{len(headers)} headers checked, {len(problems)} layering problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
