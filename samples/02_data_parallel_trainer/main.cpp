// 02_data_parallel_trainer: trains a character-level MLP to make up English-looking words, data
// parallel over N ranks with colt::DataParallel, then prints the training and validation loss
// and ten words it made up.
//
//   02_data_parallel_trainer [--ranks 4] [--steps N] [--batch 256] [--seed 1]
//                            [--aggregation allreduce|parameter-server] [--optimizer adam|sgd]
//                            [--lr 0.01] [--no-overlap] [--words /usr/share/dict/words]
//                            [--shard 0|1|2|3 [--layers L] [--no-prefetch] [--wire bfloat16]]
//                            [--elastic] [--kill-rank R --kill-at-step S [--stop]]
//                            [--commit-every K]
//   mpiexec -n 4 02_data_parallel_trainer --transport mpi ...
//   for r in 0 1 2; do 02_data_parallel_trainer --rank $r --world 3 --rendezvous DIR ... & done
//
// In-process ranks are threads of this process (the default); with --transport mpi every MPI
// process is one rank. Each rank reads the word list, builds the same examples, and trains on
// its share of every global batch.
//
// --shard trains a deeper MLP (--layers tanh layers) with its model state sharded over the
// ranks (ZeRO stage 1, 2 or 3, colt::ShardedDataParallel) or, with 0, replicated by plain
// DataParallel, and prints the bytes each rank held at its peak: parameters, gradients and
// optimizer state, as the adapters counted them.
//
// --elastic trains with colt::ElasticTraining: the state is committed every --commit-every
// steps, and when ranks die the survivors shrink, roll back and finish the run on fewer ranks.
// --kill-rank R --kill-at-step S (implies --elastic) makes rank R die abruptly before step S: its
// thread ends by an exception in-process; its process kills itself with SIGKILL when the ranks
// are processes, or, with --stop, stops itself with SIGSTOP (alive but silent: only the timeout
// reveals it, and its launcher ends it). --rank R --world N --rendezvous DIR runs this process as
// rank R of N UCX processes that meet through the directory DIR (one that every process sees),
// started by any launcher (implies --elastic); --rendezvous tcp://HOST:PORT meets at a store that
// rank 0 serves at HOST:PORT instead (colt::TcpStore), for machines that share no directory.

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "char_mlp.hpp"
#include "colt/colt.hpp"
#include "elastic_trainer.hpp"
#include "sharded_trainer.hpp"
#include "trainer.hpp"
#include "words.hpp"
#include "../common/launch.hpp"
#include "../common/options.hpp"
#include "../common/progress.hpp"
#include "../common/text.hpp"
#ifdef COLT_SAMPLE_WITH_UCX
#include "colt/transport/ucx.hpp"
#endif

namespace {

constexpr const char* program = "02_data_parallel_trainer";
constexpr const char* own_usage =
    "  --aggregation A      allreduce (default) or parameter-server\n"
    "  --optimizer O        adam (default) or sgd (default --lr 0.5)\n"
    "  --no-overlap         average gradients after backward instead of during it\n"
    "  --shard S            0 (plain DataParallel) or ZeRO stage 1, 2, 3, on the layered MLP\n"
    "  --layers L           tanh layers of the layered MLP (default 1; with --shard)\n"
    "  --no-prefetch        stage 3: gather each layer only when it is needed\n"
    "  --wire W             float32 (default) or bfloat16: the sharded stages' wire type\n"
    "  --eval N             with --shard: final losses over the first N examples (0: all)\n"
    "  --elastic            survive lost ranks: commit, shrink, roll back, go on\n"
    "  --commit-every K     --elastic: steps between in-memory commits (default 10)\n"
    "  --kill-rank R        --elastic: rank R dies abruptly before step --kill-at-step\n"
    "  --kill-at-step S     (a thread that ends in-process; SIGKILL for processes)\n"
    "  --stop               processes: the rank stops itself (SIGSTOP) instead\n"
    "  --rank R --world N --rendezvous DIR|tcp://HOST:PORT\n"
    "                       run as rank R of N UCX processes meeting in directory DIR (one\n"
    "                       every process sees) or at HOST:PORT, where rank 0 serves a store\n";

struct ElasticFlags {
  bool on = false;
  int commit_every = 10;
  int kill_rank = -1;
  int kill_at_step = -1;
  bool stop = false;  // SIGSTOP instead of SIGKILL
  int rank = -1;
  int world = 0;
  std::string rendezvous;
};

struct ShardFlags {
  bool given = false;
  char_mlp::ShardingConfig config;
};

samples::Options parse(int argc, char** argv, ShardFlags& shard, ElasticFlags& elastic) {
  char_mlp::TrainConfig extra;
  samples::Options o = samples::parse(
      argc, argv, program, own_usage, {"--no-overlap", "--no-prefetch", "--elastic", "--stop"},
      [&](std::string_view flag, const char* value) {
        const std::string_view a = value ? value : "";
        const auto fail = [&](const char* problem) { samples::usage(program, own_usage, problem); };
        const auto count = [&] { return static_cast<int>(samples::number(value, flag, fail)); };
        if (flag == "--no-overlap")
          extra.overlap = false;
        else if (flag == "--elastic")
          elastic.on = true;
        else if (flag == "--stop")
          elastic.stop = true;
        else if (flag == "--commit-every")
          elastic.commit_every = count();
        else if (flag == "--kill-rank")
          elastic.kill_rank = count();
        else if (flag == "--kill-at-step")
          elastic.kill_at_step = count();
        else if (flag == "--rank")
          elastic.rank = count();
        else if (flag == "--world")
          elastic.world = count();
        else if (flag == "--rendezvous")
          elastic.rendezvous = a;
        else if (flag == "--no-prefetch")
          shard.config.prefetch = false;
        else if (flag == "--shard") {
          shard.given = true;
          shard.config.stage = static_cast<int>(samples::number(value, flag, fail));
          if (shard.config.stage > 3) fail("--shard is 0, 1, 2 or 3");
        } else if (flag == "--layers") {
          shard.config.layers = static_cast<int>(samples::number(value, flag, fail));
          if (shard.config.layers < 1) fail("--layers must be at least 1");
        } else if (flag == "--eval") {
          shard.config.eval_examples = static_cast<std::size_t>(samples::number(value, flag, fail));
        } else if (flag == "--wire") {
          if (a == "float32")
            shard.config.wire = colt::ShardWire::float32;
          else if (a == "bfloat16")
            shard.config.wire = colt::ShardWire::bfloat16;
          else
            fail("--wire is float32 or bfloat16");
        } else if (flag == "--aggregation") {
          if (a == "allreduce" || a == "all-reduce")
            extra.aggregation = colt::Aggregation::all_reduce;
          else if (a == "parameter-server")
            extra.aggregation = colt::Aggregation::parameter_server;
          else
            samples::usage(program, own_usage, "--aggregation is allreduce or parameter-server");
        } else if (flag == "--optimizer") {
          if (a == "adam")
            extra.optimizer = char_mlp::Optimizer::adam;
          else if (a == "sgd")
            extra.optimizer = char_mlp::Optimizer::sgd;
          else
            samples::usage(program, own_usage, "--optimizer is adam or sgd");
        } else {
          return false;
        }
        return true;
      });
  o.train.overlap = extra.overlap;
  o.train.aggregation = extra.aggregation;
  o.train.optimizer = extra.optimizer;
  if (!o.lr_given && o.train.optimizer == char_mlp::Optimizer::sgd) o.train.learning_rate = 0.5;
  const auto fail = [&](const char* problem) { samples::usage(program, own_usage, problem); };
  if (elastic.kill_rank >= 0 || !elastic.rendezvous.empty()) elastic.on = true;
  if ((elastic.kill_rank >= 0) != (elastic.kill_at_step >= 0))
    fail("--kill-rank and --kill-at-step go together");
  if (elastic.stop && (elastic.kill_rank < 0 || elastic.rendezvous.empty()))
    fail("--stop needs --kill-rank and --rendezvous (processes)");
  if (elastic.commit_every < 1) fail("--commit-every must be at least 1");
  if (!elastic.rendezvous.empty() && (elastic.rank < 0 || elastic.world < 1))
    fail("--rendezvous needs --rank R and --world N");
  if (elastic.on && (shard.given || o.transport == "mpi"))
    fail("--elastic runs plain data parallelism on in-process ranks or UCX processes");
  return o;
}

template <class Comm>
void run(Comm& comm, const samples::Options& o, const char_mlp::Dataset& data) {
  char_mlp::Model model(o.train.shape, o.train.seed);
  samples::ProgressPrinter printer(o.train.steps, o.train.report_every);
  const char_mlp::TrainResult r = char_mlp::train(comm, data, o.train, model, printer);
  if (comm.rank() != 0) return;
  std::printf("trained %d steps of %zu examples on %s in %.1f s\n", o.train.steps, o.train.batch,
              samples::count_of(comm.size(), "rank").c_str(), r.seconds);
  std::printf("loss: first report %.4f, last report %.4f (uniform guess: ln 27 = %.4f)\n",
              r.curve.front().loss, r.curve.back().loss, std::log(27.0));
  std::printf("train loss %.4f   validation loss %.4f\n", r.train_loss, r.validation_loss);
  if (o.samples == 0) return;
  colt::partition::SplitMix64 rng(o.train.seed ^ 0x5eed5eedULL);
  std::printf("%s:", samples::count_of(o.samples, "made-up word").c_str());
  for (int i = 0; i < o.samples; ++i) std::printf(" %s", model.sample(rng).c_str());
  std::printf("\n");
}

std::string mib(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", static_cast<double>(bytes) / (1 << 20));
  return text;
}

template <class Comm>
void run_sharded(Comm& comm, const samples::Options& o, const char_mlp::ShardingConfig& sharding,
                 const char_mlp::Dataset& data) {
  samples::ProgressPrinter printer(o.train.steps, o.train.report_every);
  const char_mlp::ShardedResult r = char_mlp::train_sharded(comm, data, o.train, sharding, printer);
  if (comm.rank() != 0) return;
  const char_mlp::LayeredModel shape_only(o.train.shape, sharding.layers, 0);
  std::printf(
      "%s on %s: %zu parameters in %s, %d steps of %zu examples in %.1f s "
      "(median step %.2f ms)\n",
      sharding.stage == 0 ? "plain DataParallel"
                          : ("ZeRO stage " + std::to_string(sharding.stage)).c_str(),
      samples::count_of(comm.size(), "rank").c_str(), shape_only.parameter_count(),
      samples::count_of(sharding.layers, "layer").c_str(), o.train.steps, o.train.batch,
      r.train.seconds, r.median_step_seconds * 1e3);
  std::printf("train loss %.4f   validation loss %.4f\n", r.train.train_loss,
              r.train.validation_loss);
  std::printf(
      "peak bytes held per rank (MiB): rank, parameters, gradients, optimizer state, "
      "buffers, all at once\n");
  for (std::size_t rank = 0; rank < r.peaks.size(); ++rank) {
    const char_mlp::HeldPeak& p = r.peaks[rank];
    std::printf("  %zu  %s  %s  %s  %s  %s\n", rank, mib(p.parameters).c_str(),
                mib(p.gradients).c_str(), mib(p.optimizer_state).c_str(), mib(p.buffers).c_str(),
                mib(p.total).c_str());
  }
}

// The planned death's time (steady clock, ns): in-process, beside the survivors; across
// processes, in DIR/killed-at (the steady clock is the machine's, so one machine only).
std::atomic<std::int64_t> killed_at_ns{-1};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Killed : std::runtime_error {
  Killed() : std::runtime_error("killed by --kill-rank") {}
};

// Dies abruptly when this is the rank and step to kill.
void maybe_die(const ElasticFlags& e, int first_rank, int step) {
  if (first_rank != e.kill_rank || step != e.kill_at_step) return;
  std::printf("rank %d: %s before step %d\n", first_rank,
              e.stop ? "stopping (SIGSTOP)" : "dying abruptly", step);
  std::fflush(stdout);
  killed_at_ns.store(now_ns());
  if (e.rendezvous.empty()) throw Killed();
  std::ofstream(e.rendezvous + "/killed-at") << killed_at_ns.load() << "\n";
  raise(e.stop ? SIGSTOP : SIGKILL);
}

std::int64_t kill_time(const ElasticFlags& e) {
  if (e.rendezvous.empty()) return killed_at_ns.load();
  std::int64_t at = -1;
  const std::string path = e.rendezvous + "/killed-at";
  std::ifstream(path) >> at;
  std::remove(path.c_str());
  return at;
}

template <class Comm>
void run_elastic(Comm& comm, const samples::Options& o, const ElasticFlags& e,
                 const char_mlp::Dataset& data) {
  samples::ProgressPrinter printer(o.train.steps, o.train.report_every);
  const char_mlp::ElasticResult r = char_mlp::train_elastic(
      comm, data, o.train, {e.commit_every},
      [&](int first_rank, int step) { maybe_die(e, first_rank, step); }, printer);
  if (r.rank_at_end != 0) return;
  std::printf("trained %d steps of %zu examples in %.1f s; %d of %d ranks at the end\n",
              o.train.steps, o.train.batch, r.train.seconds, r.ranks_at_end, comm.size());
  for (const colt::Recovery& recovery : r.recoveries) {
    std::string ranks;
    for (const int q : recovery.failed) ranks += (ranks.empty() ? "" : ", ") + std::to_string(q);
    const auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    std::printf(
        "rank %s died during step %d: %s training again from the commit of step %d, "
        "%.1f ms after this rank's call failed; %s redone\n",
        ranks.c_str(), recovery.failed_at_step, samples::count_of(recovery.ranks, "rank").c_str(),
        recovery.resumed_at_step, ms(recovery.resumed - recovery.noticed),
        samples::count_of(recovery.failed_at_step - recovery.resumed_at_step, "step").c_str());
    std::printf("  (this rank's failed call: %s)\n", recovery.cause.c_str());
    if (const std::int64_t killed = kill_time(e); killed >= 0)
      std::printf("from the kill to training again: %.1f ms\n",
                  (static_cast<double>(recovery.resumed.time_since_epoch().count()) -
                   static_cast<double>(killed)) /
                      1e6);
  }
  std::printf("train loss %.4f   validation loss %.4f\n", r.train.train_loss,
              r.train.validation_loss);
  std::printf("survivors' parameters %s (FNV-1a %016llx)\n",
              r.survivors_agree ? "bitwise identical" : "DIFFER",
              static_cast<unsigned long long>(r.parameters_hash));
  if (!r.survivors_agree) throw std::runtime_error("the survivors' parameters differ");
}

int elastic_main(const samples::Options& o, const ElasticFlags& e) {
  // Rendezvous processes may come from any launcher; in-process ranks must not be multiplied.
  if (e.rendezvous.empty()) samples::refuse_launcher_without_mpi(program, o);
  try {
    const auto words = char_mlp::read_words(o.words);
    const char_mlp::Dataset data =
        char_mlp::make_dataset(words, o.train.shape.context, o.train.seed);
    colt::CommunicatorOptions options;  // colt::ElasticTraining identifies failures
    if (!e.rendezvous.empty()) {
#ifdef COLT_SAMPLE_WITH_UCX
      const auto meet = [&](auto& rendezvous) {
        auto comm = colt::ucx::communicator(rendezvous, options);
        const colt::NodeMap& nodes = comm.nodes();  // collective: every rank's node name
        if (comm.rank() == 0)
          std::printf("%zu words, %s met at %s; %s\n", words.size(),
                      samples::count_of(comm.size(), "UCX process", "UCX processes").c_str(),
                      e.rendezvous.c_str(), colt::to_string(nodes).c_str());
        return comm;
      };
      if (e.rendezvous.starts_with("tcp://")) {  // rank 0 serves the store at host:port
        const colt::Deadline deadline = colt::Deadline::after(colt::resolve(options).timeout);
        colt::TcpStore store(e.rendezvous.substr(6), e.rank == 0, e.rank, deadline);
        colt::StoreRendezvous rendezvous(store, e.rank, e.world);
        auto comm = meet(rendezvous);
        run_elastic(comm, o, e, data);
      } else {  // a directory every process sees
        colt::FileRendezvous rendezvous(e.rendezvous, e.rank, e.world);
        auto comm = meet(rendezvous);
        run_elastic(comm, o, e, data);
      }
#else
      samples::usage(program, own_usage, "this build has no UCX: install libucx-dev, rebuild");
#endif
    } else {
      std::printf("%zu words, %s, elastic\n", words.size(),
                  samples::count_of(o.ranks, "in-process rank").c_str());
      const auto failures = colt::inprocess::launch_surviving(
          o.ranks, [&](colt::inprocess::Communicator& comm) { run_elastic(comm, o, e, data); },
          options);
      for (const auto& failure : failures) {
        if (!failure) continue;
        try {
          std::rethrow_exception(failure);
        } catch (const Killed&) {  // the planned death
        }
      }
    }
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "%s: %s\n", program, ex.what());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ShardFlags shard;
  ElasticFlags elastic;
  const samples::Options o = parse(argc, argv, shard, elastic);
  if (elastic.on) return elastic_main(o, elastic);
  return samples::run_on_ranks(argc, argv, program, own_usage, o,
                               [&](auto& comm, const char_mlp::Dataset& data) {
                                 if (shard.given)
                                   run_sharded(comm, o, shard.config, data);
                                 else
                                   run(comm, o, data);
                               });
}
