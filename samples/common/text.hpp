#pragma once
// How the samples say a count: "1 rank", "4 ranks", "2 processes".

#include <string>
#include <string_view>

namespace samples {

// `many` defaults to `one` with an "s".
inline std::string count_of(long n, std::string_view one, std::string_view many = {}) {
  if (n == 1) return "1 " + std::string(one);
  return std::to_string(n) + " " + (many.empty() ? std::string(one) + "s" : std::string(many));
}

}  // namespace samples
