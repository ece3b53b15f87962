// Measures the constants of the cost model behind Algorithm::automatic on this machine and
// prints the table to keep in include/colt/algorithms/tuning.hpp.
//
// For every collective with a choice, every algorithm and every size (8 B to --max-bytes by
// factors of 4) it times the forced algorithm as the benchmarks do (median of batches, slowest
// rank). Each algorithm's series is fitted by  alpha + beta x bytes + beta_memory x max(0, bytes -
// cache)  (least squares on relative error, constants kept non-negative; the cache boundary is
// the candidate that fits all series best). It prints, per rank count and collective, the
// measurements beside the model, the model's pick against the measured best (the regret: how
// much slower the pick measured than the best), the crossovers, and the table.
//
//   build/benchmarks/tune --ranks=2,4,8                   in-process ranks
//   mpiexec.mpich -n 2 build/benchmarks/tune --mpi         MPI processes (when built with MPI)
//   build/benchmarks/tune --ranks=2,4,8 --out=FILE         also a tuning file for this machine:
//                                                          COLT_TUNING=FILE loads it at run time

#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "colt/colt.hpp"
#include "support/suite.hpp"

#ifdef COLT_BENCH_WITH_MPI
#include "colt/transport/mpi.hpp"
#endif

namespace {

using namespace colt::bench;

struct Series {
  Kind kind;
  colt::Algorithm algorithm;
  int ranks;
  std::vector<std::size_t> bytes;
  std::vector<double> seconds;
  std::array<double, 3> fit{};  // alpha, beta, beta_memory

  double model(std::size_t n, double cache) const {
    const double x = static_cast<double>(n);
    return fit[0] + fit[1] * x + fit[2] * std::max(0.0, x - cache);
  }
};

// Weighted least squares on relative error over the features (1, n, max(0, n - cache)) with
// non-negative constants: every subset of free constants is solved and the best feasible kept.
// Returns the sum of squared relative errors.
double fit_series(Series& s, double cache) {
  auto feature = [&](std::size_t i, int k) {
    const double n = static_cast<double>(s.bytes[i]);
    return k == 0 ? 1.0 : k == 1 ? n : std::max(0.0, n - cache);
  };
  double best_error = INFINITY;
  for (int mask = 1; mask < 8; ++mask) {
    std::vector<int> free;
    for (int k = 0; k < 3; ++k)
      if (mask >> k & 1) free.push_back(k);
    const std::size_t m = free.size();
    // Normal equations, scaled by 1/t so each point weighs its relative error.
    double a[3][4] = {};
    for (std::size_t i = 0; i < s.bytes.size(); ++i) {
      const double w = 1 / s.seconds[i];
      for (std::size_t r = 0; r < m; ++r) {
        for (std::size_t c = 0; c < m; ++c)
          a[r][c] += feature(i, free[r]) * feature(i, free[c]) * w * w;
        a[r][m] += feature(i, free[r]) * s.seconds[i] * w * w;
      }
    }
    bool singular = false;
    for (std::size_t c = 0; c < m && !singular; ++c) {  // Gaussian elimination with pivoting
      std::size_t pivot = c;
      for (std::size_t r = c + 1; r < m; ++r)
        if (std::abs(a[r][c]) > std::abs(a[pivot][c])) pivot = r;
      std::swap(a[c], a[pivot]);
      if (std::abs(a[c][c]) < 1e-300) {
        singular = true;
        break;
      }
      for (std::size_t r = 0; r < m; ++r) {
        if (r == c) continue;
        const double f = a[r][c] / a[c][c];
        for (std::size_t k = c; k <= m; ++k) a[r][k] -= f * a[c][k];
      }
    }
    if (singular) continue;
    std::array<double, 3> x{};
    bool feasible = true;
    for (std::size_t r = 0; r < m; ++r) {
      x[static_cast<std::size_t>(free[r])] = a[r][m] / a[r][r];
      feasible &= x[static_cast<std::size_t>(free[r])] >= 0;
    }
    if (!feasible) continue;
    double error = 0;
    for (std::size_t i = 0; i < s.bytes.size(); ++i) {
      const double n = static_cast<double>(s.bytes[i]);
      const double e = (x[0] + x[1] * n + x[2] * std::max(0.0, n - cache)) / s.seconds[i] - 1;
      error += e * e;
    }
    if (error < best_error) {
      best_error = error;
      s.fit = x;
    }
  }
  return best_error;
}

std::string human(std::size_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  int u = 0;
  double v = static_cast<double>(bytes);
  while (v >= 1024 && u < 3) v /= 1024, ++u;
  char text[32];
  std::snprintf(text, sizeof text, v == std::floor(v) ? "%.0f %s" : "%.1f %s", v, units[u]);
  return text;
}

// name_of's views are of string literals, so their data() is NUL-terminated for printf.
const char* enum_name(Kind kind) { return name_of(kind).data(); }
const char* enum_name(colt::Algorithm a) { return colt::name_of(a).data(); }

// Prints the measurements, the fit, the regret and crossovers, then the table, whose entries
// it appends to `fitted`; returns the worst regret.
double report(std::vector<Series>& all, bool views, std::vector<colt::tuning::Entry>& fitted) {
  const double candidates[] = {256.0 * 1024, 1 << 20, 2 << 20, 4 << 20, 8 << 20, 16 << 20};
  double cache = candidates[0], best_total = INFINITY;
  for (double c : candidates) {
    double total = 0;
    for (Series& s : all) total += fit_series(s, c);
    if (total < best_total) best_total = total, cache = c;
  }
  for (Series& s : all) fit_series(s, cache);

  double worst = 0;
  std::string worst_where;
  std::map<std::pair<int, Kind>, std::vector<Series*>> groups;
  for (Series& s : all) groups[{s.ranks, s.kind}].push_back(&s);
  for (auto& [key, series] : groups) {
    std::printf("\n## %s, %d ranks (%s): median us per call, measured | model\n",
                enum_name(key.second), key.first,
                views ? "zero-copy transport" : "message transport");
    std::printf("%10s", "bytes");
    for (Series* s : series) std::printf(" %20s", enum_name(s->algorithm));
    std::printf(" %8s %8s %7s\n", "pick", "best", "regret");
    for (std::size_t i = 0; i < series[0]->bytes.size(); ++i) {
      const std::size_t n = series[0]->bytes[i];
      std::printf("%10s", human(n).c_str());
      const Series *pick = nullptr, *best = nullptr;
      for (Series* s : series) {
        std::printf(" %9.2f | %8.2f", s->seconds[i] * 1e6, s->model(n, cache) * 1e6);
        if (!pick || s->model(n, cache) < pick->model(n, cache)) pick = s;
        if (!best || s->seconds[i] < best->seconds[i]) best = s;
      }
      const double regret = pick->seconds[i] / best->seconds[i] - 1;
      if (regret > worst)
        worst = regret, worst_where = std::string(enum_name(key.second)) + " " +
                                      std::to_string(key.first) + " ranks " + human(n);
      std::printf(" %8s %8s %6.1f%%\n", enum_name(pick->algorithm), enum_name(best->algorithm),
                  regret * 100);
    }
    std::printf("crossovers (model):");
    const Series* previous = nullptr;
    for (double n = 8; n <= static_cast<double>(series[0]->bytes.back()); n *= 1.1) {
      const Series* pick = nullptr;
      for (Series* s : series)
        if (!pick || s->model(static_cast<std::size_t>(n), cache) <
                         pick->model(static_cast<std::size_t>(n), cache))
          pick = s;
      if (pick != previous)
        std::printf(" %s from %s;", enum_name(pick->algorithm),
                    human(static_cast<std::size_t>(n)).c_str());
      previous = pick;
    }
    std::printf("\n");
  }
  std::printf("\nworst regret of the model's pick: %.1f%% (%s)\n", worst * 100,
              worst_where.c_str());
  std::printf("\n// The table to keep (include/colt/algorithms/tuning.hpp):\n");
  for (const Series& s : all) {
    std::printf("    {CollectiveKind::%s, Algorithm::%s, %s, %d, %.4g, %.4g, %.4g, %.0f},\n",
                enum_name(s.kind), enum_name(s.algorithm), views ? "true" : "false", s.ranks,
                s.fit[0], s.fit[1], s.fit[2], cache);
    fitted.push_back({s.kind, s.algorithm, views, s.ranks, s.fit[0], s.fit[1], s.fit[2], cache});
  }
  return worst;
}

int failures = 0;  // rows with a wrong result: the exit status

constexpr Kind tuned_kinds[] = {Kind::all_reduce, Kind::reduce_scatter, Kind::all_gather,
                                Kind::broadcast, Kind::reduce};

// Measures every series on `comm` (all ranks call it in step) into `all`, on every rank.
template <class Comm>
void measure(Comm& comm, const Options& o, std::vector<Series>& all) {
  for (Kind kind : tuned_kinds) {
    if (std::find(o.kinds.begin(), o.kinds.end(), kind) == o.kinds.end()) continue;
    // Slots too where the transport has them: plan() runs it for whatever fits one round before
    // the model is asked, and the model weighs it against the others beyond that.
    for (colt::Algorithm a :
         algorithms_for(kind, colt::SlotTransport<typename Comm::transport_type>)) {
      if (a == colt::Algorithm::automatic) continue;
      Series s{kind, a, comm.size(), {}, {}, {}};
      for (std::size_t bytes : o.sizes) {
        const Case c{kind, Type::float32, {false, a}, comm.size(), bytes, 0};
        const RowResult r =
            run_row<float>(comm, c, nullptr, o.batches, o.timing,
                           [](auto& cm, const Case& cs, auto& b) { colt_call(cm, cs, b); });
        s.bytes.push_back(c.bytes());
        s.seconds.push_back(r.seconds);
        if (r.wrong) std::fprintf(stderr, "wrong results in %s\n", c.name().c_str()), ++failures;
      }
      all.push_back(std::move(s));
    }
  }
}

}  // namespace

// Writes `fitted` as a tuning file at `path` (COLT_TUNING=path loads it) and reads it back: a
// file plan() would read differently is an error here, not a silent misfit later.
int write_tuning(const std::string& path, const std::vector<colt::tuning::Entry>& fitted) {
  if (path.empty()) return 0;
  const std::string text = colt::tuning::format(fitted);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(text.data(), 1, text.size(), f) != text.size() || std::fclose(f) != 0) {
    std::fprintf(stderr, "tune: cannot write %s\n", path.c_str());
    return 1;
  }
  if (colt::tuning::parse(colt::tuning::read_file(path), path) != fitted) {
    std::fprintf(stderr, "tune: %s does not read back as written\n", path.c_str());
    return 1;
  }
  std::printf("\n# wrote %zu entries to %s: COLT_TUNING=%s makes plan() use them\n", fitted.size(),
              path.c_str(), path.c_str());
  return 0;
}

int main(int argc, char** argv) {
  bool mpi = false;
  std::string out;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--mpi")
      mpi = true;
    else if (arg.rfind("--out=", 0) == 0)
      out = arg.substr(6);
    else
      argv[kept++] = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf(
          "usage: tune [--mpi] [--out=FILE] [options]\n"
          "  --mpi                  time MPI processes (run under mpiexec)\n"
          "  --out=FILE             also write the fitted table as a tuning file, which\n"
          "                         COLT_TUNING=FILE makes plan() use on this machine\n%s",
          colt::bench::detail::flags_help);
      return 0;
    }
  }
  argc = kept;
  Options options = parse_options(argc, argv);
  if (options.batches == 20) options.batches = 10;
  std::vector<Series> all;
  if (mpi) {
#ifdef COLT_BENCH_WITH_MPI
    colt::mpi::Environment environment(argc, argv);
    auto comm = colt::mpi::world();
    measure(comm, options, all);
    if (comm.rank() != 0) return 0;
    std::printf("# tune: %d MPI processes\n", comm.size());
    std::vector<colt::tuning::Entry> fitted;
    report(all, false, fitted);
    return write_tuning(out, fitted) || failures ? 1 : 0;
#else
    std::fprintf(stderr, "tune was built without MPI\n");
    return 2;
#endif
  }
  std::printf("# tune: in-process ranks\n");
  for (int ranks : options.ranks)
    colt::inprocess::launch(ranks, [&](colt::inprocess::Communicator& comm) {
      std::vector<Series> mine;
      measure(comm, options, mine);
      if (comm.rank() == 0) all.insert(all.end(), mine.begin(), mine.end());
    });
  std::vector<colt::tuning::Entry> fitted;
  report(all, true, fitted);
  return write_tuning(out, fitted) || failures ? 1 : 0;
}
