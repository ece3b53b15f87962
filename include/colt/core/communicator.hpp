#pragma once
// Communicator<Transport>: a group of ranks plus what every collective call needs besides the
// data: a tag sequence (so successive calls never cross), a scratch workspace reused across
// calls, a timeout that bounds every wait, and the reliability options (argument checking,
// message checksums, rank-ordered reductions; docs/reliability.md).
//
// A call that fails during traffic leaves the ranks out of step (a peer may still be waiting for
// a message this rank will never send), so the communicator is then marked broken: every later
// call fails at once with the first cause instead of waiting for a timeout of its own. `abort`
// does the same by hand and, where the transport can, ends the peers' waits too.
//
// Its public face is what a user needs. What collectives, algorithms and transports share with it
// besides (the link messages go through, tag sequence, message numbers, argument agreement,
// request arrays, marking it broken) is its plumbing, reached through detail::plumbing(comm).
//
// Like an NCCL communicator or an MPI communicator, one Communicator is driven by one thread at a
// time; concurrent collectives use different communicators (`dup`, `split`), whose messages
// never meet because each owns its own transport context.

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "colt/core/deadline.hpp"
#include "colt/core/detail/exchange.hpp"
#include "colt/core/detail/plumbing.hpp"
#include "colt/core/detail/progress_engine.hpp"
#include "colt/core/detail/trace_registry.hpp"
#include "colt/core/request.hpp"
#include "colt/core/error.hpp"
#include "colt/core/flight_recorder.hpp"
#include "colt/core/node_map.hpp"
#include "colt/core/settings.hpp"
#include "colt/core/tag.hpp"
#include "colt/core/transport_concepts.hpp"
#include "colt/core/workspace.hpp"

namespace colt {

template <Transport T>
class Communicator;

namespace detail {
// The communicator's plumbing, for the layers above (core/detail/plumbing.hpp).
template <Transport T>
Plumbing<T>& plumbing(Communicator<T>& comm);
// Its progress engine (core/detail/progress_engine.hpp), started on first use; null before.
template <Transport T>
ProgressEngine* engine_if_started(Communicator<T>& comm);
template <Transport T>
ProgressEngine& engine(Communicator<T>& comm);
// Writes the communicator's trace file in a directory (defined below).
template <class Comm>
bool dump_trace_to(const Comm& comm, const std::string& directory, const char* why) noexcept;
}  // namespace detail

template <Transport T>
class Communicator {
 public:
  using transport_type = T;

  // Options left unset come from the environment, read now (core/settings.hpp).
  explicit Communicator(T transport, const CommunicatorOptions& options = {})
      : Communicator(std::move(transport), InheritedSettings(resolve(options)), Origin::program) {}
  Communicator(T transport, const InheritedSettings& inherited)
      : Communicator(std::move(transport), inherited, Origin::parent) {}

  // A communicator moves once its started calls have finished (they hold its address).
  Communicator(Communicator&& other) noexcept
      : plumbing_((other.registration_.withdraw(), other.drain(), std::move(other.plumbing_))),
        workspace_(std::move(other.workspace_)),
        settings_(std::move(other.settings_)),
        lineage_(std::move(other.lineage_)),
        nodes_(std::move(other.nodes_)),
        engine_(std::move(other.engine_)) {}
  Communicator& operator=(Communicator&& other) noexcept {
    if (this == &other) return *this;
    registration_.withdraw();  // no signal's dump reads either while they change
    other.registration_.withdraw();
    drain();
    other.drain();
    engine_.reset();
    plumbing_ = std::move(other.plumbing_);
    workspace_ = std::move(other.workspace_);
    settings_ = std::move(other.settings_);
    lineage_ = std::move(other.lineage_);
    nodes_ = std::move(other.nodes_);
    engine_ = std::move(other.engine_);
    registration_.rejoin();
    return *this;
  }
  // Waits for the calls it started (the progress engine finishes them).
  ~Communicator() = default;

  int rank() const { return plumbing_.link().rank(); }
  int size() const { return plumbing_.link().size(); }

  T& transport() { return plumbing_.link().inner(); }
  // Scratch memory reused across calls (algorithms take it per call; so may user code between
  // calls).
  Workspace& workspace() { return workspace_; }

  Clock::duration timeout() const { return settings_.timeout; }
  // The watchdog's threshold follows, unless it was set itself.
  void set_timeout(Clock::duration timeout) {
    settings_.timeout = timeout;
    settings_.timeout_from = SettingSource::option;
    if (settings_.watchdog_from == SettingSource::fallback)
      settings_.watchdog = std::min<Clock::duration>(timeout / 10, std::chrono::seconds(20));
    plumbing_.set_timeout(timeout);
  }
  // A wait's deadline: the timeout from now, with the watchdog's first warning.
  Deadline deadline() const { return Deadline::after(settings_.timeout, settings_.watchdog); }

  bool checking() const { return settings_.check; }
  bool checksum() const { return settings_.checksum; }
  bool ordered() const { return settings_.ordered; }
  void set_ordered(bool ordered) {
    settings_.ordered = ordered;
    settings_.ordered_from = SettingSource::option;
  }
  // What this communicator runs with, and where each value came from: to_string(comm.settings())
  // is one line for a log.
  const Settings& settings() const { return settings_; }

  // The node this rank runs on: its name (COLT_NODE, else the host name; with ranks_per_node,
  // the emulated node's number appended: "vm/node1").
  const std::string& node() const { return settings_.node; }
  // Which ranks share a node. Collective the first time (every rank calls it at the same point
  // among its calls: the ranks swap a hash of their node names, as MPI_Comm_split_type does),
  // then kept. Bounded by the timeout.
  const NodeMap& nodes() {
    if (!nodes_) learn_nodes();
    return *nodes_;
  }
  // The node map once nodes() learnt it (or this communicator's dup parent had), else null:
  // what plan() weighs the two-level algorithms with. Written only by nodes(), after the calls
  // started before it finished, so the calls that read it see one value on every rank.
  const NodeMap* known_nodes() const { return nodes_ ? &*nodes_ : nullptr; }
  // The ranks on this rank's node, in rank order: collective (nodes(), then split).
  Communicator split_by_node()
    requires SplittableTransport<T>
  {
    const NodeMap& map = nodes();
    return split(map.node_of[static_cast<std::size_t>(rank())], rank());
  }
  // The ranks with this rank's place on every node (its rail: local rank 0 of each node, and so
  // on), in node order: collective. With split_by_node, the two levels of a hierarchical
  // collective: within the node, then across nodes over the rail.
  Communicator split_by_rail()
    requires SplittableTransport<T>
  {
    const NodeMap& map = nodes();
    const auto me = static_cast<std::size_t>(rank());
    return split(map.local_rank[me], map.node_of[me]);
  }
  // The options a communicator split from this one inherits.
  CommunicatorOptions options() const { return settings_.options(); }
  // Whether this communicator has started its progress thread: the thread that runs its started
  // calls (iall_reduce, ...), created by the first of them and joined when it is destroyed.
  bool has_progress_thread() const { return engine_ != nullptr; }

  // On a transport that can shrink (in-process, UCX): from now on, a call that fails in a way a
  // lost rank would cause (a timeout, a failed or silent peer, an abort) first ends every peer's
  // wait, then the survivors agree on which ranks failed; the error is peer_failed naming them,
  // and `shrink` goes on without them. Bounded by the timeout (docs/fault-tolerance.md). Every
  // rank turns it on. Not inherited by split or dup: the survivors of a failure agree once, over
  // the communicator they will shrink, while calls on the others just fail.
  void identify_failures()
    requires ShrinkableTransport<T>
  {
    plumbing_.identify_failures();
  }
  bool identifies_failures() const { return plumbing_.identifies_failures(); }

  // The first failure that broke this communicator, or null while it is healthy.
  const Error* failure() const noexcept { return plumbing_.failure(); }
  bool broken() const noexcept { return failure() != nullptr; }
  // Breaks this communicator by hand: later calls on this rank fail at once with `cause`, and on
  // transports that can (in-process, UCX) every peer's pending and later waits end too.
  void abort(const std::string& cause) noexcept {
    try {
      plumbing_.mark_broken(
          Error(ErrorKind::aborted, Operation::abort, Error::Rank{rank()}, cause));
    } catch (...) {
    }
    if constexpr (AbortableTransport<T>) transport().abort(cause);
  }

  // How this communicator came from the one the program built: "world", "world/split(2)@7" (a
  // split with color 2, made by call #7 of its parent), "world/shrink@12". The same on every
  // rank of it; flight-recorder dumps are named after it.
  const std::string& lineage() const { return lineage_; }
  static constexpr std::string_view transport_name() {
    if constexpr (requires { T::name; })
      return T::name;
    else
      return "unknown";
  }

  // The flight recorder (core/flight_recorder.hpp): this communicator's last calls, as many as
  // the trace_calls setting keeps. Null when it is 0.
  const FlightRecorder* flight_recorder() const { return plumbing_.recorder(); }

  // Writes this rank's recorded calls to `path` as JSON lines (tools/colt-trace reads a
  // directory of them), from any thread, also while a call hangs: it reads the ring without
  // waiting for the call. Throws colt::Error when the file cannot be written.
  void dump_trace(const std::string& path) const {
    std::ofstream out(path, std::ios::trunc);
    if (out) write_trace(out, trace_header(), plumbing_.recorder());
    if (!out)
      throw Error(ErrorKind::invalid_argument, Operation::dump_trace, Error::Rank{rank()},
                  "cannot write the trace to '" + path + "'");
  }
  // The file this rank's dumps go to in `directory`: "<lineage>.rank<r>.jsonl", with every
  // character that is not a letter, digit, '.', '-' or '_' written as '-'.
  std::string trace_file(const std::string& directory) const {
    std::string name = lineage_;
    for (char& c : name)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_'))
        c = '-';
    return directory + "/" + name + ".rank" + std::to_string(rank()) + ".jsonl";
  }

  // Calls started on this communicator so far (collectives and splits): what a log line or a
  // test needs to tell how many collectives a piece of code made.
  std::uint32_t calls() const { return plumbing_.calls(); }

  // Ranks passing the same non-negative color form a new communicator, ranked by (key, rank).
  // Collective over this communicator. The new one inherits the timeout.
  Communicator split(int color, int key)
    requires SplittableTransport<T>
  {
    std::optional<Communicator> part;
    FlightRecorder* recorder = plumbing_.recorder();
    // After the calls started before it.
    detail::run_in_order(engine_.get(), recorder, CollectiveKind::split, [&] {
      plumbing_.throw_if_broken(Operation::split);
      CallDescriptor d;
      d.kind = CollectiveKind::split;
      d.root = color;  // the recorder's split entry: color and key
      d.count = static_cast<std::uint64_t>(static_cast<std::int64_t>(key));
      detail::CallRecord* record =
          recorder ? recorder->begin(d, plumbing_.calls(), detail::on_progress_thread) : nullptr;
      Tag tag = plumbing_.next_tag(CollectiveKind::split);
      try {
        part.emplace(transport().split(color, key, tag, deadline()),
                     InheritedSettings(settings_, lineage_ + "/split(" + std::to_string(color) +
                                                      ")@" + std::to_string(tag.sequence())));
      } catch (const Error& e) {
        FlightRecorder::failed(record, e);
        throw plumbing_.broken_by(e, Operation::split);
      }
      FlightRecorder::finished(record);
    });
    return std::move(*part);
  }

  // A communicator over the same ranks whose messages never meet this one's.
  Communicator dup()
    requires SplittableTransport<T>
  {
    Communicator twin = split(0, rank());
    twin.nodes_ = nodes_;  // the same ranks in the same order, so the same nodes
    return twin;
  }

  // The ranks the survivors of a failure agreed have failed (ascending ranks of this
  // communicator); empty until a failed call (after identify_failures) or `shrink` agreed.
  std::vector<int> failed_ranks() const {
    const detail::AgreedFailures* agreed = plumbing_.agreed();
    return agreed ? agreed->failed : std::vector<int>{};
  }

  // A communicator of the ranks that have not failed, renumbered in this one's order: after a
  // failed call, what the survivors agreed; otherwise they agree now (every live rank calls
  // shrink; a rank still inside a call on this communicator is ended first). Bounded by the
  // timeout, and more failures during it are tolerated. This communicator is broken afterwards.
  // Throws peer_failed on a rank that the others declared failed (it answered too late).
  Communicator shrink()
    requires ShrinkableTransport<T>
  {
    return shrink_after(nullptr);
  }
  // The same, after a call failed with `failure` on another communicator over the same ranks
  // (DataParallel's dup, say): what that failure taught this rank counts in the agreement. A
  // timeout means this rank already waited a whole timeout for a silent rank, and the ranks
  // alive have since been told (the failed call's revoke), so the agreement waits only
  // min(timeout, 0.5 s) more for answers instead of a second whole timeout.
  Communicator shrink(const Error& failure)
    requires ShrinkableTransport<T>
  {
    return shrink_after(&failure);
  }

 private:
  friend detail::Plumbing<T>& detail::plumbing<T>(Communicator<T>&);
  friend detail::ProgressEngine* detail::engine_if_started<T>(Communicator<T>&);
  friend detail::ProgressEngine& detail::engine<T>(Communicator<T>&);

  // Made by the program (the world: an emulated node's number is added to the node's name
  // here, by the world rank) or by a parent (split, dup, shrink: the rank keeps its node).
  enum class Origin : std::uint8_t { program, parent };
  Communicator(T transport, const InheritedSettings& inherited, Origin origin)
      : plumbing_(std::move(transport), inherited.settings.checksum,
                  inherited.settings.trace_calls),
        settings_(inherited.settings),
        lineage_(inherited.lineage) {
    plumbing_.set_timeout(settings_.timeout);
    if (origin == Origin::program && settings_.ranks_per_node > 0)
      settings_.node +=
          "/node" + std::to_string(static_cast<std::size_t>(rank()) / settings_.ranks_per_node);
    if (settings_.debug_info)
      (void)std::fprintf(stderr, "colt INFO rank %d/%d: communicator %s over %s on node %s; %s\n",
                         rank(), size(), lineage_.c_str(), std::string(transport_name()).c_str(),
                         settings_.node.c_str(), to_string(settings_).c_str());
  }

  void drain() noexcept {
    if (engine_) engine_->drain();
  }
  // nodes(): every rank's node-name hash, through the transport's own messages, in order after
  // the calls started before it (recorded as an internal call).
  void learn_nodes() {
    std::vector<std::uint64_t> ids(static_cast<std::size_t>(size()));
    ids[static_cast<std::size_t>(rank())] = detail::node_id(settings_.node);
    FlightRecorder* recorder = plumbing_.recorder();
    detail::run_in_order(engine_.get(), recorder, CollectiveKind::internal, [&] {
      plumbing_.throw_if_broken(Operation::nodes);
      CallDescriptor d;
      d.kind = CollectiveKind::internal;
      detail::CallRecord* record =
          recorder ? recorder->begin(d, plumbing_.calls(), detail::on_progress_thread) : nullptr;
      const Tag tag = plumbing_.next_tag(CollectiveKind::internal);
      try {
        detail::exchange_with_all(transport(), std::span(ids), 1, tag, deadline());
      } catch (const Error& e) {
        FlightRecorder::failed(record, e);
        throw plumbing_.broken_by(e, Operation::nodes);
      }
      FlightRecorder::finished(record);
    });
    nodes_ = NodeMap::from_ids(ids);
    if (settings_.debug_info)
      (void)std::fprintf(stderr, "colt INFO rank %d/%d: communicator %s: %s\n", rank(), size(),
                         lineage_.c_str(), to_string(*nodes_).c_str());
  }
  Communicator shrink_after(const Error* failure)
    requires ShrinkableTransport<T>
  {
    std::optional<Communicator> survivors;
    detail::run_in_order(engine_.get(), [&] {
      const Error cause(ErrorKind::aborted, Operation::shrink, Error::Rank{rank()},
                        "shrink was called");
      const bool waited = failure && failure->kind() == ErrorKind::timeout;
      const detail::AgreedFailures& agreed =
          plumbing_.agree(failure ? *failure : cause, {}, waited);
      plumbing_.mark_broken(cause);
      if (FlightRecorder* recorder = plumbing_.recorder())
        recorder->shrank(calls(), agreed.failed.size(),
                         agreed.failed.empty() ? no_peer : agreed.failed.front());
      survivors.emplace(
          transport().without(agreed.failed, agreed.proposal),
          InheritedSettings(settings_, lineage_ + "/shrink@" + std::to_string(calls())));
      if (plumbing_.identifies_failures()) survivors->identify_failures();
    });
    return std::move(*survivors);
  }
  TraceHeader trace_header() const {
    return {rank(), size(), lineage_, transport_name(), failure(), settings_.node};
  }
  // A signal's dump (core/trace_signal.hpp): to the trace directory, or the current one.
  static bool dump_on_signal(const void* self) noexcept {
    const auto& comm = *static_cast<const Communicator*>(self);
    const std::string& directory = comm.settings_.trace_dir;
    return detail::dump_trace_to(comm, directory.empty() ? "." : directory, " (on a signal)");
  }

  detail::Plumbing<T> plumbing_;
  Workspace workspace_;
  Settings settings_;
  std::string lineage_;
  std::optional<NodeMap> nodes_;  // once nodes() learnt it
  // Last, so it is destroyed (its thread joined, its queue run) before what its calls use.
  std::unique_ptr<detail::ProgressEngine> engine_;
  // Later still: destroyed first, so a signal's dump never reads a part already gone.
  detail::TraceRegistration registration_{this, &Communicator::dump_on_signal};
};

namespace detail {
template <Transport T>
Plumbing<T>& plumbing(Communicator<T>& comm) {
  return comm.plumbing_;
}
template <Transport T>
ProgressEngine* engine_if_started(Communicator<T>& comm) {
  return comm.engine_.get();
}
template <Transport T>
ProgressEngine& engine(Communicator<T>& comm) {
  if (!comm.engine_) comm.engine_ = std::make_unique<ProgressEngine>();
  return *comm.engine_;
}

// Writes this rank's recorded calls to its file in `directory` and says so on stderr (`why`
// ends the line); a dump that cannot be written says that instead. False when it could not.
template <class Comm>
bool dump_trace_to(const Comm& comm, const std::string& directory, const char* why) noexcept {
  try {
    const std::string path = comm.trace_file(directory);
    comm.dump_trace(path);
    (void)std::fprintf(stderr, "colt: rank %d wrote its last calls to %s%s\n", comm.rank(),
                       path.c_str(), why);
    return true;
  } catch (const std::exception& failure) {
    (void)std::fprintf(stderr, "colt: rank %d could not write its trace: %s\n", comm.rank(),
                       failure.what());
    return false;
  }
}

// Where the communicator's settings name a trace directory, a failure that a stalled, lost or
// out-of-step rank causes writes this rank's recorded calls there, once per communicator (later
// calls on it fail at once, having run nothing). A dump that cannot be written says so on stderr
// and lets the call's own error through.
template <class Comm>
void dump_trace_on_failure(const Comm& comm, const Error& e) noexcept {
  const std::string& directory = comm.settings().trace_dir;
  if (!directory.empty() && may_mean_lost_rank(e.kind())) dump_trace_to(comm, directory, "");
}

}  // namespace detail

}  // namespace colt
