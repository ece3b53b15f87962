#pragma once
// Tests assert on an error's kind and fields, never on its text, which may be reworded.
//   CHECK(error_kind([&] { all_reduce(comm, in, out, sum{}); }) == ErrorKind::invalid_argument);
// A failing check prints the kind that was raised, or "no error".

#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "colt/core/error.hpp"

namespace doctest {
template <>
struct StringMaker<colt::ErrorKind> {
  static String convert(colt::ErrorKind kind) { return std::string(colt::name_of(kind)).c_str(); }
};
template <>
struct StringMaker<std::optional<colt::ErrorKind>> {
  static String convert(const std::optional<colt::ErrorKind>& kind) {
    return kind ? StringMaker<colt::ErrorKind>::convert(*kind) : String("no error");
  }
};
}  // namespace doctest

namespace colt::test {

// The colt::Error that fn() raised, or nothing when it returned; other exceptions pass through.
template <class Fn>
std::optional<Error> error_from(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

// What an error_from() result says, for a failing check's message.
inline std::string text_of(const std::optional<Error>& e) { return e ? e->what() : "no error"; }

// The kind of the colt::Error that fn() raised, or nothing when it returned.
template <class Fn>
std::optional<ErrorKind> error_kind(Fn&& fn) {
  const auto error = error_from(fn);
  return error ? std::optional(error->kind()) : std::nullopt;
}

}  // namespace colt::test
