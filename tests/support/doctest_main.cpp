// The one doctest main shared by the in-process test programs. A run whose filters select no
// test case fails (selected_cases.hpp).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "selected_cases.hpp"

DOCTEST_REGISTER_LISTENER("count_selected", 1, colt::test::CountSelected);

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int result = context.run();
  if (context.shouldExit()) return result;  // --help, --list-test-cases and the like
  if (result == 0 && colt::test::selected_cases() == 0) {
    std::fprintf(stderr, "no test case matches this run's filters\n");
    return 1;
  }
  return result;
}
