#!/usr/bin/env python3
"""Fails when a colt header includes one from a higher layer (docs/design.md, "Layers").

Usage: check_layers.py ROOT...   (each ROOT holds colt/..., i.e. include/ and kernels/)

Layers, bottom to top: core, transport, reduce, algorithms, collectives, adapters. A header may
include headers of its own layer and of the layers below. The umbrellas colt/colt.hpp and
colt/collectives.hpp are for users: no layer's header includes them. colt/version.hpp holds
facts every layer may use, as core does. kernels/colt/cuda/ is the reduction layer, except
collectives.cuh, the device collectives' front door. Every colt include must name a header
that exists, so a moved header cannot leave a stale include behind.
"""
import pathlib
import re
import sys

LAYERS = ["core", "transport", "reduce", "algorithms", "collectives", "adapters"]
UMBRELLAS = {"colt/colt.hpp", "colt/collectives.hpp"}
INCLUDE = re.compile(r'^\s*#\s*include\s*"(colt/[^"]+)"', re.MULTILINE)


def layer_of(name):
    """The layer index of a header named 'colt/...', or None for an umbrella."""
    if name in UMBRELLAS:
        return None
    parts = name.split("/")
    if len(parts) == 2:  # colt/version.hpp
        return LAYERS.index("core")
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
            elif target in UMBRELLAS and own is not None:
                problems.append(f"{name} includes the users' umbrella {target}")
            elif own is not None and layer_of(target) > own:
                problems.append(f"{name} ({LAYERS[own]}) includes {target} "
                                f"({LAYERS[layer_of(target)]}), a higher layer")
    for p in problems:
        print(p)
    print(f"{len(headers)} headers checked, {len(problems)} layering problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
