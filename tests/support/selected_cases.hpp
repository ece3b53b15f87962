#pragma once
// How many test cases a run's filters selected, for the doctest mains. Several suites share one
// program and each test picks its own by source file (tests/meson.build), so a run whose filters
// match nothing must fail, not pass as an empty success. A main registers the listener once:
// DOCTEST_REGISTER_LISTENER("count_selected", 1, colt::test::CountSelected).
#include <doctest/doctest.h>

namespace colt::test {

inline unsigned& selected_cases() {
  static unsigned count = 0;
  return count;
}

struct CountSelected : doctest::IReporter {
  explicit CountSelected(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& stats) override {
    selected_cases() = stats.numTestCasesPassingFilters;
  }
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

}  // namespace colt::test
