#pragma once
// The value of a `--name=N` flag of the stand-alone benchmark programs (sharded_step, recovery).

#include <cstdlib>
#include <string>
#include <string_view>

namespace colt::bench {

// N when `arg` is `flag` (which ends in '=') followed by a non-negative integer; -1 when `arg` is
// another flag; calls usage(problem), which does not return, when the number is malformed.
template <class Usage>
long number_flag(std::string_view arg, std::string_view flag, Usage&& usage) {
  if (arg.substr(0, flag.size()) != flag) return -1;
  const std::string text(arg.substr(flag.size()));
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < 0) usage((std::string(flag) + " needs a number").c_str());
  return v;
}

}  // namespace colt::bench
