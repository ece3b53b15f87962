#pragma once
// A communicator's settings, and the one place colt reads its environment variables.
//
// CommunicatorOptions is what a program asks for; every option it leaves unset is taken from
// the environment (COLT_TIMEOUT_S, COLT_CHECK, COLT_CHECKSUM, COLT_ORDERED, COLT_ALGO,
// COLT_TUNING, COLT_TRACE_CALLS, COLT_TRACE_DIR, COLT_DEBUG, COLT_WATCHDOG_S), else from the
// default, when the communicator is built. The result, with where
// each value came from, is the communicator's Settings: `comm.settings()`, which to_string
// prints for a log. Nothing else reads the environment, and nothing is read twice: a change to a
// variable takes effect for the communicators built after it (split and dup inherit their
// parent's settings, as MPI communicators inherit their attributes).

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "colt/core/algorithm_name.hpp"
#include <unistd.h>

#include "colt/core/deadline.hpp"
#include "colt/core/error.hpp"

namespace colt {

inline constexpr std::chrono::seconds default_timeout{300};

struct CommunicatorOptions {
  std::optional<Clock::duration> timeout{};  // unset: COLT_TIMEOUT_S, else 300 s
  // Before each collective the ranks compare their arguments and fail together, listing every
  // rank's call, when they differ. Unset: COLT_CHECK.
  std::optional<bool> check{};
  // A CRC32C on every message, checked on receipt (Checksummed). Unset: COLT_CHECKSUM.
  std::optional<bool> checksum{};
  // Reductions fold the ranks' values in rank order, bit for bit the same whatever the
  // algorithm, chunking or transport (colt::ordered per call). Unset: COLT_ORDERED.
  std::optional<bool> ordered{};
  // The algorithm of every call that names none and whose collective has it (docs/algorithms.md).
  // Unset: COLT_ALGO, else automatic.
  std::optional<Algorithm> algorithm{};
  // A tuning file (benchmarks/tune --out) whose constants the cost model uses in place of the
  // compiled table. Unset: COLT_TUNING; empty: the compiled table.
  std::optional<std::string> tuning_file{};
  // How many of its last calls the communicator's flight recorder keeps (core/flight_recorder.hpp);
  // 0 records nothing. Unset: COLT_TRACE_CALLS, else 1024.
  std::optional<std::size_t> trace_calls{};
  // Where each rank writes its recorded calls when a call fails in a way a stalled or lost rank
  // causes (a timeout, a failed peer, an abort, a mismatch); empty: nowhere. Unset: COLT_TRACE_DIR.
  std::optional<std::string> trace_dir{};
  // Logging to stderr: `info` prints each communicator as it is made and the plan of the first
  // calls of each collective and size class (like NCCL_DEBUG=INFO). Unset: COLT_DEBUG.
  std::optional<bool> debug_info{};
  // A wait still blocked this long says so on stderr (rank, call, peer), then again at doubling
  // intervals, well before the timeout ends it; zero: never. Unset: COLT_WATCHDOG_S, else a
  // tenth of the timeout, at most 20 s.
  std::optional<Clock::duration> watchdog{};
  // The name of the node (machine) this rank runs on: ranks with the same name share a node
  // (Communicator::nodes, split_by_node). Unset: COLT_NODE, else the host name.
  std::optional<std::string> node{};
  // Emulation: a communicator the program makes (not a split) puts its ranks r and q on one node
  // when r / ranks_per_node == q / ranks_per_node (and their node names agree), so one process's
  // threads can stand for several nodes; 0: the node name alone. Unset: COLT_RANKS_PER_NODE.
  std::optional<std::size_t> ranks_per_node{};
};

// Where a setting's value came from.
enum class SettingSource : std::uint8_t { option, environment, fallback };

// A communicator's settings: every option resolved, and its source.
struct Settings {
  Clock::duration timeout = default_timeout;
  bool check = false;
  bool checksum = false;
  bool ordered = false;
  Algorithm algorithm = Algorithm::automatic;
  std::string tuning_file;  // empty: the compiled table
  // A process-wide number for `tuning_file` (0: the compiled table), which the planner keys its
  // tables by instead of comparing paths on every call.
  int tuning_id = 0;
  std::size_t trace_calls = 1024;
  std::string trace_dir;  // empty: no dumps on failure
  bool debug_info = false;
  Clock::duration watchdog = std::chrono::seconds(20);
  std::string node;  // with ranks_per_node, the emulated node's number appended ("vm/node1")
  std::size_t ranks_per_node = 0;
  SettingSource timeout_from = SettingSource::fallback, check_from = SettingSource::fallback,
                checksum_from = SettingSource::fallback, ordered_from = SettingSource::fallback,
                algorithm_from = SettingSource::fallback, tuning_from = SettingSource::fallback,
                trace_calls_from = SettingSource::fallback,
                trace_dir_from = SettingSource::fallback, debug_from = SettingSource::fallback,
                watchdog_from = SettingSource::fallback, node_from = SettingSource::fallback,
                ranks_per_node_from = SettingSource::fallback;

  // The options that rebuild these settings (what split, dup and shrink pass on).
  CommunicatorOptions options() const {
    return {timeout,     check,     checksum,   ordered,  algorithm, tuning_file,
            trace_calls, trace_dir, debug_info, watchdog, node,      ranks_per_node};
  }
};

// Settings one communicator passes to another it makes (split, dup, shrink): a type of its own, so
// that `Communicator(transport, {.timeout = ...})` can only mean CommunicatorOptions.
// It also carries the new communicator's lineage: how it came from the one the program built
// ("world/split(1)@4": split with color 1 at call #4), the same on every rank of it, which names
// it in flight-recorder dumps.
class InheritedSettings {
 public:
  explicit InheritedSettings(Settings settings, std::string lineage = "world")
      : settings(std::move(settings)), lineage(std::move(lineage)) {}
  Settings settings;
  std::string lineage;
};

namespace detail {

inline std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

inline std::optional<std::string_view> environment(const char* name) {
  const char* text = std::getenv(name);
  if (!text || !*text) return std::nullopt;
  return std::string_view(text);
}

[[noreturn]] inline void bad_variable(const char* name, std::string_view text,
                                      const std::string& expected) {
  throw Error(ErrorKind::invalid_argument, Operation::settings, Error::no_rank,
              std::string(name) + "='" + std::string(text) + "' is not " + expected);
}

inline Clock::duration parse_seconds(const char* name, std::string_view text) {
  const std::string copy(text);
  char* end = nullptr;
  const double seconds = std::strtod(copy.c_str(), &end);
  if (*end != '\0' || !(seconds > 0) || seconds > 1e9)
    bad_variable(name, text, "a positive number of seconds");
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// Seconds, or 0 for never.
inline Clock::duration parse_seconds_or_zero(const char* name, std::string_view text) {
  if (text == "0") return Clock::duration::zero();
  return parse_seconds(name, text);
}

// A yes/no variable: "0" is no, "1" is yes.
inline bool parse_flag(const char* name, std::string_view text) {
  if (text == "0") return false;
  if (text == "1") return true;
  bad_variable(name, text, "0 or 1");
}

// Any algorithm but `ordered`, which is COLT_ORDERED's.
inline Algorithm parse_algorithm(const char* name, std::string_view text) {
  std::string names;
  for (Algorithm a : all_algorithms)
    if (a != Algorithm::ordered) {
      if (text == name_of(a)) return a;
      names += (names.empty() ? "" : ", ") + std::string(name_of(a));
    }
  bad_variable(name, text, "one of " + names);
}

// A count of calls: a non-negative integer.
inline std::size_t parse_count(const char* name, std::string_view text) {
  const std::string copy(text);
  char* end = nullptr;
  const unsigned long long n = std::strtoull(copy.c_str(), &end, 10);
  if (copy.empty() || *end != '\0' || copy[0] == '-' || n > (1ull << 24))
    bad_variable(name, text, "a count of calls from 0 to 16777216");
  return static_cast<std::size_t>(n);
}

// COLT_DEBUG: INFO logs; WARN (the default) and the empty value log nothing more than warnings.
inline bool parse_debug(const char* name, std::string_view text) {
  if (text == "INFO" || text == "info") return true;
  if (text == "WARN" || text == "warn") return false;
  bad_variable(name, text, "INFO or WARN");
}

// The number of a tuning file's path in this process: the same path, the same number.
inline int tuning_id_of(const std::string& path) {
  if (path.empty()) return 0;
  static std::mutex mutex;
  static std::map<std::string, int> ids;
  const std::lock_guard lock(mutex);
  return ids.try_emplace(path, static_cast<int>(ids.size()) + 1).first->second;
}

// value = the option if set, else the variable parsed if set, else the default; `from` says
// which.
template <class T, class Parse>
void resolve(T& value, SettingSource& from, const std::optional<T>& option, const char* variable,
             Parse parse) {
  if (option) {
    value = *option;
    from = SettingSource::option;
  } else if (const auto text = environment(variable)) {
    value = parse(variable, *text);
    from = SettingSource::environment;
  }
}

}  // namespace detail

// The settings of a communicator built with `options` now: the only reader of COLT_* variables
// besides the samples and tests (and COLT_TEST_SCALE, the tests' own).
inline Settings resolve(const CommunicatorOptions& options) {
  Settings s;
  detail::resolve(s.timeout, s.timeout_from, options.timeout, "COLT_TIMEOUT_S",
                  detail::parse_seconds);
  detail::resolve(s.check, s.check_from, options.check, "COLT_CHECK", detail::parse_flag);
  detail::resolve(s.checksum, s.checksum_from, options.checksum, "COLT_CHECKSUM",
                  detail::parse_flag);
  detail::resolve(s.ordered, s.ordered_from, options.ordered, "COLT_ORDERED", detail::parse_flag);
  detail::resolve(s.algorithm, s.algorithm_from, options.algorithm, "COLT_ALGO",
                  detail::parse_algorithm);
  detail::resolve(s.tuning_file, s.tuning_from, options.tuning_file, "COLT_TUNING",
                  [](const char*, std::string_view text) { return std::string(text); });
  s.tuning_id = detail::tuning_id_of(s.tuning_file);
  detail::resolve(s.trace_calls, s.trace_calls_from, options.trace_calls, "COLT_TRACE_CALLS",
                  detail::parse_count);
  detail::resolve(s.trace_dir, s.trace_dir_from, options.trace_dir, "COLT_TRACE_DIR",
                  [](const char*, std::string_view text) { return std::string(text); });
  detail::resolve(s.debug_info, s.debug_from, options.debug_info, "COLT_DEBUG",
                  detail::parse_debug);
  s.watchdog = std::min<Clock::duration>(s.timeout / 10, std::chrono::seconds(20));
  detail::resolve(s.watchdog, s.watchdog_from, options.watchdog, "COLT_WATCHDOG_S",
                  detail::parse_seconds_or_zero);
  s.node = detail::host_name();
  detail::resolve(s.node, s.node_from, options.node, "COLT_NODE",
                  [](const char*, std::string_view text) { return std::string(text); });
  detail::resolve(s.ranks_per_node, s.ranks_per_node_from, options.ranks_per_node,
                  "COLT_RANKS_PER_NODE", detail::parse_count);
  return s;
}

// "timeout 30 s (COLT_TIMEOUT_S), check on (option), checksum off, ordered off, algorithm
// automatic, tuning compiled table, trace 1024 calls, watchdog 3 s": one line for a log (the
// trace directory and debug logging only where set).
inline std::string to_string(const Settings& s) {
  auto from = [](SettingSource source, const char* variable) -> std::string {
    switch (source) {
      case SettingSource::option: return " (option)";
      case SettingSource::environment: return std::string(" (") + variable + ")";
      case SettingSource::fallback: return "";
    }
    return "";
  };
  auto on_off = [](bool b) { return b ? "on" : "off"; };
  auto seconds_text = [](Clock::duration d) {
    if (d <= Clock::duration::zero()) return std::string("off");
    char text[32];
    (void)std::snprintf(text, sizeof text, "%g s", std::chrono::duration<double>(d).count());
    return std::string(text);
  };
  return "timeout " + seconds_text(s.timeout) + from(s.timeout_from, "COLT_TIMEOUT_S") +
         ", check " + on_off(s.check) + from(s.check_from, "COLT_CHECK") + ", checksum " +
         on_off(s.checksum) + from(s.checksum_from, "COLT_CHECKSUM") + ", ordered " +
         on_off(s.ordered) + from(s.ordered_from, "COLT_ORDERED") + ", algorithm " +
         std::string(name_of(s.algorithm)) + from(s.algorithm_from, "COLT_ALGO") + ", tuning " +
         (s.tuning_file.empty() ? std::string("compiled table") : s.tuning_file) +
         from(s.tuning_from, "COLT_TUNING") + ", trace " + std::to_string(s.trace_calls) +
         " calls" + from(s.trace_calls_from, "COLT_TRACE_CALLS") +
         (s.trace_dir.empty() ? std::string()
                              : " to " + s.trace_dir + from(s.trace_dir_from, "COLT_TRACE_DIR")) +
         (s.debug_info ? ", debug INFO" + from(s.debug_from, "COLT_DEBUG") : std::string()) +
         ", watchdog " + seconds_text(s.watchdog) + from(s.watchdog_from, "COLT_WATCHDOG_S") +
         ", node " + s.node + from(s.node_from, "COLT_NODE") +
         (s.ranks_per_node ? " (" + std::to_string(s.ranks_per_node) + " ranks per node" +
                                 from(s.ranks_per_node_from, "COLT_RANKS_PER_NODE") + ")"
                           : std::string());
}

}  // namespace colt
