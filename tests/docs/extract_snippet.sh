#!/bin/sh
# extract_snippet.sh MARKDOWN OUTPUT [LANGUAGE]: writes the first ```LANGUAGE block (default
# cpp) of MARKDOWN to OUTPUT, so the examples users copy from the docs are the ones the tests
# compile and run (the C++ examples here, the Meson consumer in tests/consumers.sh).
lang=${3:-cpp}
sed -n "/^\`\`\`$lang\$/,/^\`\`\`\$/p" "$1" | sed '1d' | sed '/^```$/,$d' > "$2"
