#pragma once
// colt's version, for code that must test it (`#if COLT_VERSION >= 200`) or print it.
// meson.build's project() version is the one place it is decided; this copy lets the headers be
// used straight from include/ without configuring, and tests/headers/check_version.py fails when
// the two disagree. These are macros, beyond the library's three (docs/design.md), because a
// version must be usable in #if, as every library's is.

#define COLT_VERSION_MAJOR 0
#define COLT_VERSION_MINOR 1
#define COLT_VERSION_PATCH 0
// One number that orders releases, as long as minor and patch stay below 100 (the check says
// so): major * 10000 + minor * 100 + patch, so 0.1.0 is 100.
#define COLT_VERSION (COLT_VERSION_MAJOR * 10000 + COLT_VERSION_MINOR * 100 + COLT_VERSION_PATCH)
#define COLT_VERSION_STRING "0.1.0"
