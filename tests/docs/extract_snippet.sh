#!/bin/sh
# extract_snippet.sh MARKDOWN OUTPUT: writes the first ```cpp block of MARKDOWN to OUTPUT, so
# the example users copy from the README is compiled and run by the test suite.
sed -n '/^```cpp$/,/^```$/p' "$1" | sed '1d' | sed '/^```$/,$d' > "$2"
