// colt's collectives on a simulated cluster (transport/sim.hpp): the time each algorithm takes
// for p ranks on nodes of M, as the simulator's cost model prices its messages, in nccl-tests'
// terms, and the bytes that leave the busiest node per call. Then, for all_reduce, how often
// plan()'s automatic choice is within 10% of the simulator's fastest algorithm. plan() is told
// the simulated link (--across) through a tuning file of its network line alone; what runs on a
// node it prices by its compiled table, measured on this machine's in-process ranks.
//
//   simulate [--ranks=8,16,...] [--per-node=8] [--bytes=8,1024,...] [--collective=all_reduce]
//            [--across=ALPHA,BETA] [--within=ALPHA,BETA] [--payload] [--rows=all|plan]
//
// Payload-free by default (--payload moves the bytes and checks every result): messages carry their
// sizes only, and every rank works on one shared buffer (the ranks run one at a time), so 1,024
// ranks of 64 MiB need 64 MiB, not 64 GiB. Time is the model's alone: the reductions between
// messages cost nothing in it. busbw uses nccl-tests' factors (PERFORMANCE.md): all_reduce
// 2(p-1)/p, reduce_scatter and all_gather (p-1)/p, broadcast 1.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "colt/colt.hpp"
#include "colt/transport/sim.hpp"
#include "support/cases.hpp"

namespace {

using namespace colt;

std::vector<double> numbers(std::string_view text) {
  std::vector<double> out;
  std::string s(text);
  for (char* p = s.data(); *p;) {
    char* end = nullptr;
    out.push_back(std::strtod(p, &end));
    if (end == p) return {};
    p = *end == ',' ? end + 1 : end;
  }
  return out;
}

struct Row {
  double seconds = 0;
  double bytes_out = 0;  // of the busiest node, per call
};

// One job per (p, size): every algorithm in turn, each timed from a common start.
std::map<Algorithm, Row> simulate(const sim::Cluster& cluster, CollectiveKind kind,
                                  std::size_t bytes, const CommunicatorOptions& options) {
  const std::vector<Algorithm> algorithms = bench::algorithms_for(kind, false, true);
  std::map<Algorithm, Row> rows;
  const auto p = static_cast<std::size_t>(cluster.ranks);
  const std::size_t count = bytes / sizeof(float);
  // all_reduce and broadcast work on `count` elements; reduce_scatter reduces p blocks of
  // count / p to one, all_gather gathers them (nccl-tests' sizes: the larger buffer).
  const std::size_t block = std::max<std::size_t>(count / p, 1);
  std::vector<float> shared(cluster.payload ? 0 : std::max(count, block * p));
  sim::run(
      cluster,
      [&](sim::Communicator& comm) {
        comm.nodes();
        std::vector<float> own(cluster.payload ? std::max(count, block * p) : 0, 1.0f);
        std::vector<float>& data = cluster.payload ? own : shared;
        std::span<float> all(data.data(), count), blocks(data.data(), block * p);
        for (Algorithm a : algorithms) {
          if (cluster.payload) std::fill(own.begin(), own.end(), 1.0f);
          const double start = sim::start_together(comm);
          std::uint64_t before = 0;
          if (comm.rank() == 0)
            for (std::uint64_t b : comm.transport().network().bytes_out_of_nodes())
              before = std::max(before, b);
          switch (kind) {
            case CollectiveKind::all_reduce: all_reduce(comm, all, sum{}, a); break;
            case CollectiveKind::reduce_scatter:
              reduce_scatter(comm, std::span<const float>(blocks), blocks.first(block), sum{}, a);
              break;
            case CollectiveKind::all_gather:
              all_gather(comm, std::span<const float>(blocks.first(block)), blocks, a);
              break;
            default: broadcast(comm, all, 0, a); break;
          }
          const double end = sim::start_together(comm);
          if (cluster.payload) {  // ones in: every result element is p (reductions) or 1
            const bool reduces =
                kind == CollectiveKind::all_reduce || kind == CollectiveKind::reduce_scatter;
            const float expected = reduces ? static_cast<float>(p) : 1.0f;
            const std::size_t checked = kind == CollectiveKind::reduce_scatter ? block
                                        : kind == CollectiveKind::all_gather   ? block * p
                                                                               : count;
            for (std::size_t i = 0; i < checked; ++i)
              if (own[i] != expected) {
                std::fprintf(stderr, "simulate: wrong result at rank %d, element %zu (%s)\n",
                             comm.rank(), i, std::string(name_of(a)).c_str());
                std::exit(1);
              }
          }
          if (comm.rank() == 0) {
            std::uint64_t after = 0;
            for (std::uint64_t b : comm.transport().network().bytes_out_of_nodes())
              after = std::max(after, b);
            rows[a] = {end - start, static_cast<double>(after - before)};
          }
        }
      },
      options);
  return rows;
}

int usage(const char* problem) {
  if (problem) std::fprintf(stderr, "simulate: %s\n", problem);
  std::printf(
      "usage: simulate [--ranks=LIST (8,16,64,256,1024)] [--per-node=M (8)]\n"
      "                [--bytes=LIST (8,1024,65536,1048576,16777216)]\n"
      "                [--collective=all_reduce|reduce_scatter|all_gather|broadcast]\n"
      "                [--across=ALPHA,BETA (2e-5,8e-10)] [--within=ALPHA,BETA (1e-6,1e-10)]\n"
      "                [--payload] [--rows=all|plan]\n"
      "  --rows=plan prints one line per (ranks, bytes): the fastest algorithm, the automatic\n"
      "  choice, and the ratio; both end with the share of cells where the choice is within "
      "10%%\n");
  return problem ? 2 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<double> ranks = {8, 16, 64, 256, 1024};
  std::vector<double> sizes = {8, 1024, 65536, 1048576, 16777216};
  int per_node = 8;
  CollectiveKind kind = CollectiveKind::all_reduce;
  sim::Cluster model;
  model.payload = false;
  bool plan_rows = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&](std::string_view flag) {
      return a.starts_with(flag) ? a.substr(flag.size()) : std::string_view{};
    };
    if (a == "--help") return usage(nullptr);
    if (a == "--payload") {
      model.payload = true;
    } else if (!value("--ranks=").empty()) {
      ranks = numbers(value("--ranks="));
    } else if (!value("--bytes=").empty()) {
      sizes = numbers(value("--bytes="));
    } else if (!value("--per-node=").empty()) {
      per_node = std::atoi(std::string(value("--per-node=")).c_str());
    } else if (!value("--collective=").empty()) {
      const std::string_view name = value("--collective=");
      if (name == "all_reduce")
        kind = CollectiveKind::all_reduce;
      else if (name == "reduce_scatter")
        kind = CollectiveKind::reduce_scatter;
      else if (name == "all_gather")
        kind = CollectiveKind::all_gather;
      else if (name == "broadcast")
        kind = CollectiveKind::broadcast;
      else
        return usage("unknown --collective");
    } else if (!value("--across=").empty() || !value("--within=").empty()) {
      const bool across = a.starts_with("--across=");
      const std::vector<double> ab = numbers(across ? value("--across=") : value("--within="));
      if (ab.size() != 2) return usage("--across and --within take ALPHA,BETA");
      (across ? model.across : model.within) = {ab[0], ab[1]};
    } else if (a == "--rows=plan" || a == "--rows=all") {
      plan_rows = a == "--rows=plan";
    } else {
      return usage(("unknown flag " + std::string(a)).c_str());
    }
  }
  if (ranks.empty() || sizes.empty() || per_node < 1) return usage("empty --ranks or --bytes");
  std::printf(
      "# simulated: nodes of %d ranks; within a node alpha %.3g s, beta %.3g s/B; across "
      "alpha %.3g s, beta %.3g s/B; %s\n",
      per_node, model.within.alpha, model.within.beta, model.across.alpha, model.across.beta,
      model.payload ? "with payload" : "payload-free");
  if (plan_rows)
    std::printf("%6s %12s %-14s %12s %-14s %12s %8s\n", "ranks", "size", "fastest", "time(us)",
                "automatic ran", "time(us)", "ratio");
  else
    std::printf("%6s %12s %-14s %12s %10s %10s %14s\n", "ranks", "size", "algorithm", "time(us)",
                "algbw", "busbw", "node out/call");
  // plan() told the link the simulator prices.
  const std::filesystem::path link_file =
      std::filesystem::temp_directory_path() /
      ("colt_simulate_" + std::to_string(::getpid()) + ".tuning");
  {
    std::ofstream out(link_file);
    out.precision(17);
    out << "colt-tuning 1\nnetwork " << model.across.alpha << " " << model.across.beta << "\n";
  }
  CommunicatorOptions options;
  options.tuning_file = link_file.string();
  int cells = 0, close = 0;
  for (double r : ranks)
    for (double s : sizes) {
      sim::Cluster cluster = model;
      cluster.ranks = static_cast<int>(r);
      cluster.per_node = std::min(per_node, cluster.ranks);
      const auto bytes = static_cast<std::size_t>(s);
      const std::map<Algorithm, Row> rows = simulate(cluster, kind, bytes, options);
      Algorithm fastest = Algorithm::automatic;
      double best = 1e300;
      for (const auto& [a, row] : rows) {
        if (a != Algorithm::automatic && row.seconds < best) best = row.seconds, fastest = a;
        if (plan_rows) continue;
        const double algbw = bytes / row.seconds / 1e9;
        std::printf("%6d %12zu %-14s %12.2f %10.3f %10.3f %14.0f\n", cluster.ranks, bytes,
                    std::string(name_of(a)).c_str(), row.seconds * 1e6, algbw,
                    algbw * bench::bus_factor(kind, cluster.ranks), row.bytes_out);
      }
      const double automatic = rows.at(Algorithm::automatic).seconds;
      // What the automatic call ran: the first forced row it matches (the model is
      // deterministic; the calls start at different clocks, so the times agree to rounding).
      std::string chosen = "?";
      for (const auto& [a, row] : rows)
        if (a != Algorithm::automatic && chosen == "?" &&
            std::fabs(row.seconds - automatic) <= 1e-9 * automatic)
          chosen = name_of(a);
      ++cells;
      close += automatic <= 1.10 * best;
      if (plan_rows)
        std::printf("%6d %12zu %-14s %12.2f %-14s %12.2f %8.2f\n", cluster.ranks, bytes,
                    std::string(name_of(fastest)).c_str(), best * 1e6, chosen.c_str(),
                    automatic * 1e6, automatic / best);
    }
  std::printf("# automatic within 10%% of the fastest algorithm in %d of %d cells (%.0f%%)\n",
              close, cells, 100.0 * close / cells);
  std::filesystem::remove(link_file);
  return 0;
}
