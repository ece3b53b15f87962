#pragma once
// What the collective benchmark binaries share: their command line, the list of rows, the
// counters each row reports, the nccl-tests text format, and the exit status (non-zero when
// any row computed a wrong element).
//
// Our flags (Google Benchmark's own --benchmark_* flags work as usual):
//   --ranks=2,4,8          rank counts (in-process binary; the MPI one uses the world's size)
//   --collectives=a,b      any of all_reduce reduce_scatter all_gather broadcast reduce scatter
//   gather all_to_all
//   --types=float32,...    element types of all_reduce (float32 bfloat16 int32 float16); the
//   others use float32
//   --min-bytes=N --max-bytes=N   sizes from min by factors of 4, and max (default 8 B to 256 MiB)
//   --huge                 up to 1 GiB
//   --batches=N            timed batches per row (default 20); the median is reported
//   --batch-ms=X           calls per batch: enough to fill X ms (default 2)
//   --smoke                a quick check that every row runs and computes the right result
//   --nodes                learn which ranks share a node (Communicator::nodes(): COLT_NODE,
//                          COLT_RANKS_PER_NODE) and add the two-level rows
//   --threads=M            collectives_mpi: M thread ranks in each process, one hybrid
//                          communicator (transport/hybrid.hpp); its MPI rows are a hybrid
//                          program's all_reduce (a thread sum, MPI_Allreduce, a broadcast)
//   --format=nccl-tests    print rows as nccl-tests does: size count type redop root time algbw
//   busbw #wrong
//                          (then vs_floor, and who ran the row)

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <unistd.h>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "support/cases.hpp"
#include "support/runner.hpp"
#include "support/stream.hpp"

namespace colt::bench {

struct Options {
  std::vector<int> ranks{2};
  std::vector<Kind> kinds{std::begin(all_kinds), std::end(all_kinds)};
  std::vector<Type> all_reduce_types{Type::float32, Type::bfloat16, Type::int32};
  std::vector<std::size_t> sizes;
  int batches = 20;
  Timing timing;
  bool nccl_format = false;
  bool nodes = false;  // --nodes
  int threads = 1;     // --threads (collectives_mpi)
};

namespace detail {
inline std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  std::stringstream in{std::string(text)};
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) items.push_back(item);
  return items;
}

inline constexpr const char* flags_help =
    "  --ranks=2,4,8          rank counts (in-process binaries; under MPI, the world's size)\n"
    "  --collectives=a,b      any of all_reduce reduce_scatter all_gather broadcast reduce\n"
    "                         scatter gather all_to_all (default: all)\n"
    "  --types=float32,...    all_reduce's element types: float32 bfloat16 int32 float16\n"
    "                         (default float32,bfloat16,int32); the others use float32\n"
    "  --min-bytes=N          smallest size (default 8); sizes grow by factors of 4\n"
    "  --max-bytes=N          largest size, always included (default 268435456)\n"
    "  --huge                 up to 1 GiB\n"
    "  --batches=N            timed batches per row (default 20); the median is reported\n"
    "  --batch-ms=X           calls per batch: enough to fill X ms (default 2)\n"
    "  --smoke                every row at three sizes, once: results checked, not timed\n"
    "  --nodes                learn the ranks' nodes (COLT_NODE, COLT_RANKS_PER_NODE); add\n"
    "                         the two-level rows (hierarchical, node_leaders)\n"
    "  --threads=M            (collectives_mpi, built with UCX) M thread ranks per process,\n"
    "                         one hybrid communicator; MPI rows: thread sum + MPI_Allreduce\n"
    "  --format=nccl-tests    rows as nccl-tests prints them\n"
    "  --help                 this text\n"
    "Google Benchmark's --benchmark_* flags work as usual (--benchmark_filter=regex, ...).\n";

[[noreturn]] inline void usage(std::string_view arg) {
  std::fprintf(stderr, "unknown or malformed option '%.*s'; the options are:\n%s",
               static_cast<int>(arg.size()), arg.data(), flags_help);
  std::exit(2);
}

[[noreturn]] inline void help(const char* program) {
  std::printf("usage: %s [options]\n%s", program, flags_help);
  std::exit(0);
}

template <class Enum, std::size_t N>
Enum parse_enum(const std::string& name, const Enum (&values)[N]) {
  for (Enum v : values)
    if (name_of(v) == name) return v;
  usage(name);
}
}  // namespace detail

// Parses and removes our flags, leaving Google Benchmark's in argv.
inline Options parse_options(int& argc, char** argv) {
  Options o;
  std::size_t min_bytes = 8, max_bytes = std::size_t{256} << 20;
  bool smoke = false;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string_view flag) -> std::string_view {
      if (arg.substr(0, flag.size()) == flag && arg.size() > flag.size() && arg[flag.size()] == '=')
        return arg.substr(flag.size() + 1);
      return {};
    };
    auto number = [&](std::string_view text) {
      char* end = nullptr;
      const std::string s(text);
      const double v = std::strtod(s.c_str(), &end);
      if (s.empty() || *end) detail::usage(arg);
      return v;
    };
    if (arg == "--help" || arg == "-h") detail::help(argv[0]);
    if (auto v = value("--ranks"); !v.empty()) {
      o.ranks.clear();
      for (auto& r : detail::split_list(v)) o.ranks.push_back(static_cast<int>(number(r)));
    } else if (auto v = value("--collectives"); !v.empty()) {
      o.kinds.clear();
      for (auto& k : detail::split_list(v)) o.kinds.push_back(detail::parse_enum(k, all_kinds));
    } else if (auto v = value("--types"); !v.empty()) {
      o.all_reduce_types.clear();
      constexpr Type types[] = {Type::float32, Type::bfloat16, Type::int32, Type::float16};
      for (auto& t : detail::split_list(v))
        o.all_reduce_types.push_back(detail::parse_enum(t, types));
    } else if (auto v = value("--min-bytes"); !v.empty()) {
      min_bytes = static_cast<std::size_t>(number(v));
    } else if (auto v = value("--max-bytes"); !v.empty()) {
      max_bytes = static_cast<std::size_t>(number(v));
    } else if (arg == "--huge") {
      max_bytes = std::size_t{1} << 30;
    } else if (auto v = value("--batches"); !v.empty()) {
      o.batches = static_cast<int>(number(v));
    } else if (auto v = value("--batch-ms"); !v.empty()) {
      o.timing.batch_seconds = number(v) * 1e-3;
    } else if (arg == "--smoke") {
      smoke = true;
    } else if (arg == "--nodes") {
      o.nodes = true;
    } else if (auto v = value("--threads"); !v.empty()) {
      o.threads = static_cast<int>(number(v));
    } else if (auto v = value("--format"); !v.empty()) {
      if (v != "nccl-tests") detail::usage(arg);
      o.nccl_format = true;
    } else if (arg.substr(0, 2) == "--" && arg.substr(0, 12) != "--benchmark_") {
      detail::usage(arg);
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  if (o.batches < 1 || min_bytes < 1 || max_bytes < min_bytes || o.threads < 1)
    detail::usage("sizes, batches or threads");
  if (smoke) {  // a few sizes (one element, an odd count, beyond the chunk size), one call per
                // batch
    o.sizes = {8, 4100, (std::size_t{1} << 20) + 12};
    o.batches = 2;
    o.timing.batch_seconds = 0;
  } else {
    for (std::size_t b = min_bytes; b <= max_bytes; b *= 4) o.sizes.push_back(b);
    if (o.sizes.back() != max_bytes) o.sizes.push_back(max_bytes);  // 8 x 4^k skips 256 MiB
  }
  return o;
}

// The rows for one rank count: collective, type, size, then who runs it.
inline std::vector<Case> make_cases(const Options& o, int ranks, bool with_mpi, bool with_slots) {
  std::vector<Case> cases;
  for (Kind kind : o.kinds) {
    std::vector<Type> types{Type::float32};
    if (kind == Kind::all_reduce) types = o.all_reduce_types;
    for (Type type : types) {
      std::vector<Implementation> who;
      for (Algorithm a : algorithms_for(kind, with_slots, o.nodes)) who.push_back({false, a});
      if (with_mpi && type != Type::bfloat16 && type != Type::float16)
        who.push_back({true, Algorithm::automatic});  // MPI has no 16-bit floats
      // Size outermost: the contenders of one size run back to back, so a slow spell of a
      // shared machine hits them alike and their ratios stay meaningful.
      for (std::size_t bytes : o.sizes)
        for (Implementation w : who) cases.push_back(Case{kind, type, w, ranks, bytes, 0});
    }
  }
  return cases;
}

// Collects the rows' results: counters for Google Benchmark's reporters, and the wrong count.
class Suite {
 public:
  explicit Suite(MemoryBandwidth bandwidth) : bandwidth_(bandwidth) {
    benchmark::AddCustomContext("memory_copy_GBps", std::to_string(bandwidth.copy / 1e9));
    benchmark::AddCustomContext("memory_add_GBps", std::to_string(bandwidth.add / 1e9));
    benchmark::AddCustomContext("memory_threads", std::to_string(bandwidth.threads));
  }

  // The time the row's bytes need at the measured bandwidth.
  double floor_seconds(const Case& c) const {
    const double bandwidth = reduces(c.kind) ? bandwidth_.add : bandwidth_.copy;
    return floor_traffic(c.kind, static_cast<double>(c.bytes()), c.ranks) / bandwidth;
  }

  void record(benchmark::State& state, const Case& c, const RowResult& r) {
    const double size = static_cast<double>(c.bytes());
    const double algbw = r.seconds > 0 ? size / r.seconds / 1e9 : 0;
    state.counters["us"] = r.seconds * 1e6;
    state.counters["algbw"] = algbw;
    state.counters["busbw"] = algbw * bus_factor(c.kind, c.ranks);
    state.counters["floor_us"] = floor_seconds(c) * 1e6;
    state.counters["vs_floor"] = r.seconds > 0 ? floor_seconds(c) / r.seconds : 0;
    state.counters["wrong"] = static_cast<double>(r.wrong);
    wrong_ += r.wrong;
    if (r.wrong)
      state.SkipWithError(("wrong results: " + std::to_string(r.wrong) + " elements").c_str());
  }

  std::uint64_t wrong() const { return wrong_; }
  const MemoryBandwidth& bandwidth() const { return bandwidth_; }

 private:
  MemoryBandwidth bandwidth_;
  std::uint64_t wrong_ = 0;
};

// nccl-tests' text table (out-of-place columns only: colt's rows are out-of-place calls, except
// broadcast, which is in place as in MPI).
class NcclTestsReporter : public benchmark::BenchmarkReporter {
 public:
  NcclTestsReporter(const std::map<std::string, Case>& cases, const Suite& suite)
      : cases_(cases), suite_(suite) {}

  bool ReportContext(const Context&) override {
    std::printf(
        "# colt collective benchmarks, nccl-tests format. Memory: copy %.1f GB/s, add %.1f GB/s "
        "(%d threads)\n",
        suite_.bandwidth().copy / 1e9, suite_.bandwidth().add / 1e9, suite_.bandwidth().threads);
    std::printf(
        "# time: median over batches of the slowest rank's time per call; algbw, busbw in GB/s "
        "(1e9)\n");
    return true;
  }

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration) continue;
      auto found = cases_.find(run.run_name.function_name);
      if (found == cases_.end()) continue;
      const Case& c = found->second;
      const std::string group = std::string(name_of(c.kind)) + " " + std::string(name_of(c.type)) +
                                ", " + std::to_string(c.ranks) + " ranks";
      if (group != group_) {
        group_ = group;
        std::printf("#\n# %s\n#%11s %12s %8s %6s %6s %10s %7s %7s %7s %9s  %s\n", group.c_str(),
                    "size", "count", "type", "redop", "root", "time(us)", "algbw", "busbw",
                    "#wrong", "vs_floor", "who");
      }
      auto counter = [&](const char* name) {
        auto it = run.counters.find(name);
        return it == run.counters.end() ? 0.0 : it->second.value;
      };
      const bool rooted = c.kind == Kind::broadcast || c.kind == Kind::reduce ||
                          c.kind == Kind::scatter || c.kind == Kind::gather;
      const std::size_t count =
          segmented(c.kind) ? c.count() / static_cast<std::size_t>(c.ranks) : c.count();
      std::printf("%12zu %12zu %8s %6s %6d %10.2f %7.2f %7.2f %7.0f %9.2f  %s\n", c.bytes(), count,
                  std::string(nccl_name_of(c.type)).c_str(), reduces(c.kind) ? "sum" : "none",
                  rooted ? c.root : -1, counter("us"), counter("algbw"), counter("busbw"),
                  counter("wrong"), counter("vs_floor"), name_of(c.who).c_str());
    }
    std::fflush(stdout);
  }

 private:
  const std::map<std::string, Case>& cases_;
  const Suite& suite_;
  std::string group_;
};

// Registers every case with `body(state, case)` (a reference into `cases`) and runs them
// through Google Benchmark (initialised by the caller), with our reporter when asked for.
template <class Body>
void run_registered(const Options& o, const std::vector<Case>& cases, Suite& suite, Body body) {
  benchmark::ClearRegisteredBenchmarks();
  std::map<std::string, Case> by_name;
  for (const Case& c : cases) {
    by_name.emplace(c.name(), c);
    benchmark::RegisterBenchmark(c.name().c_str(),
                                 [&c, body](benchmark::State& state) { body(state, c); })
        ->UseManualTime()
        ->Iterations(o.batches)
        ->Unit(benchmark::kMicrosecond);
  }
  if (o.nccl_format) {
    NcclTestsReporter reporter(by_name, suite);
    benchmark::RunSpecifiedBenchmarks(&reporter);
  } else {  // our own: Google Benchmark 1.7's default reporter does not survive a second run
    benchmark::ConsoleReporter reporter(isatty(1) ? benchmark::ConsoleReporter::OO_Defaults
                                                  : benchmark::ConsoleReporter::OO_Tabular);
    benchmark::RunSpecifiedBenchmarks(&reporter);
  }
}

// Runs `cases` on every rank of `comm`, which stays up for all of them (so threads and
// connections are warm, as in a training job): rank 0 drives Google Benchmark and announces
// each row {index, batches} by broadcast; the others follow until index -1.
// row(comm, case, state or nullptr, batches) runs one row and returns its RowResult.
template <class Comm, class Row>
void lead_or_follow(Comm& comm, const Options& o, const std::vector<Case>& cases, Suite& suite,
                    Row row) {
  if (comm.rank() != 0) {
    for (;;) {
      std::int64_t command[2] = {-1, 0};
      broadcast(comm, command, 0);
      if (command[0] < 0) return;
      row(comm, cases[static_cast<std::size_t>(command[0])], nullptr, static_cast<int>(command[1]));
    }
  }
  auto body = [&](benchmark::State& state, const Case& c) {
    std::int64_t command[2] = {&c - cases.data(), static_cast<std::int64_t>(state.max_iterations)};
    broadcast(comm, command, 0);
    suite.record(state, c, row(comm, c, &state, static_cast<int>(command[1])));
    // What the automatic choice ran: report.py weighs the choice by that algorithm's own row, so
    // that a choice is judged apart from the noise between two rows of the same code.
    if (!c.who.mpi && c.who.algorithm == Algorithm::automatic) {
      const Algorithm chosen = plan(c.kind, c.bytes(), comm).algorithm;
      state.SetLabel("chose " + std::string(colt::name_of(chosen)));
    }
  };
  run_registered(o, cases, suite, body);
  std::int64_t quit[2] = {-1, 0};
  broadcast(comm, quit, 0);
}

// Google Benchmark's own flags; false (after a message) when some argument is unknown.
inline bool initialize(int& argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  return !benchmark::ReportUnrecognizedArguments(argc, argv);
}

// The exit status: 1 when any row computed a wrong result.
inline int finish(const Suite& suite) {
  benchmark::Shutdown();
  if (suite.wrong())
    std::fprintf(stderr, "FAILED: %llu wrong elements\n",
                 static_cast<unsigned long long>(suite.wrong()));
  return suite.wrong() ? 1 : 0;
}

}  // namespace colt::bench
