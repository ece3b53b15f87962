#pragma once
// DataParallel: one model replicated on every rank, each rank training on its own share of the
// data, gradients averaged across ranks after every backward pass so the replicas stay equal.
//
// The model stays the caller's: it registers (parameter, gradient) spans of any supported
// floating type and size, then, each step,
//
//   dp.set_local_samples(n);        // optional: weight this rank by its batch size
//   ... backward, and as each gradient is final:  dp.mark_ready(i);
//   dp.synchronize();               // every gradient now holds the global average
//
// or simply `dp.average_gradients()` after backward. Gradients are packed into buckets (see
// bucket.hpp); with overlap on, bucket b's all-reduce is started (colt::iall_reduce) as soon as
// all its gradients are marked, and the communicator's progress engine runs it while backward
// goes on computing the rest, like PyTorch DDP's reducer. DataParallel has no thread of its own.
//
// Semantics an expert would ask about:
// - Buckets are filled in reverse registration order, the order backward usually produces
//   gradients. Buckets are reduced in index order on every rank, whatever order marks arrive in.
// - A gradient not marked ready by `synchronize()` received no gradient this step (an unused
//   parameter): it contributes zeros, whatever its buffer holds, and receives the average of the
//   others. No rank waits for it. `average_gradients()` reads every gradient instead.
// - Weighted (options.weighted): rank r's gradient g_r, the mean over its n_r samples, counts
//   n_r times: the result is sum(n_r g_r) / sum(n_r), the exact mean over the global batch even
//   when shards or last batches are uneven, and a rank with no samples contributes nothing.
// - half/bfloat16 gradients are accumulated in float by default (packed as float, reduced, then
//   rounded once); `LowPrecision::prescale` keeps them 16-bit on the wire and scales each
//   contribution by 1/N before summing so the sum cannot overflow.
// - `no_sync()` returns a guard; while it lives, marks only record use and synchronize() does
//   nothing, so gradients accumulate over micro-batches; the first synchronize after it averages.
// - Constructing a DataParallel is collective (it duplicates the communicator so its traffic
//   never meets the caller's); so are broadcast_parameters and synchronize.

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "colt/adapters/bucket.hpp"
#include "colt/adapters/detail/own_communicator.hpp"
#include "colt/adapters/detail/registration.hpp"
#include "colt/adapters/detail/step_guard.hpp"
#include "colt/adapters/detail/step_state.hpp"
#include "colt/adapters/detail/total_weight.hpp"
#include "colt/adapters/parameter_server.hpp"
#include "colt/algorithms/select.hpp"
#include "colt/collectives/all_reduce.hpp"
#include "colt/collectives/broadcast.hpp"
#include "colt/core/communicator.hpp"
#include "colt/core/error.hpp"
#include "colt/core/request.hpp"
#include "colt/core/types.hpp"

namespace colt {

enum class Aggregation : unsigned char {
  all_reduce,        // every rank reduces every bucket (ring/tree/direct as selected)
  parameter_server,  // reduce to a server rank, average there, broadcast back
};

enum class LowPrecision : unsigned char {
  accumulate_in_float,  // half/bfloat16 gradients travel and sum as float, rounded once at the end
  prescale,             // they stay 16-bit; each rank scales by its share (1/N) before the sum
};

struct DataParallelOptions {
  std::size_t bucket_cap_bytes = std::size_t{25} << 20;
  Aggregation aggregation = Aggregation::all_reduce;
  // Parameter server: the rank that serves every bucket, or -1 to shard buckets over all ranks
  // (bucket b served by rank b % size).
  int server = 0;
  // Weight ranks by set_local_samples() (one more 8-byte all-reduce per step); else equally.
  bool weighted = false;
  LowPrecision low_precision = LowPrecision::accumulate_in_float;
  // Start each bucket's all-reduce as soon as it is ready (all-reduce aggregation). Its progress
  // engine drives DataParallel's own communicator while the caller's thread may drive others, so
  // it needs a transport that allows that (MPI: MPI_THREAD_MULTIPLE); otherwise, and for the
  // parameter server, buckets are reduced in synchronize(), on the calling thread.
  bool overlap = true;
  Algorithm algorithm = Algorithm::automatic;  // for the all-reduce aggregation
};

template <class T>
concept GradientElement = std::same_as<T, float> || std::same_as<T, double> || NarrowFloat<T>;

template <Transport X>
class DataParallel {
 public:
  // While one lives, gradients accumulate locally (see no_sync()).
  using NoSync = detail::StepState::NoSync;

  // Collective: every rank constructs its DataParallel with the same options.
  explicit DataParallel(Communicator<X>& comm, DataParallelOptions options = {})
      : options_(checked(options, comm.rank(), comm.size())),
        rank_(comm.rank()),
        size_(comm.size()),
        step_(Operation::data_parallel, "mark_ready", rank_),
        comm_(comm),
        overlapping_(options_.overlap && options_.aggregation == Aggregation::all_reduce &&
                     detail::concurrent_use_allowed(comm_->transport())) {}

  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  // Destroyed in the middle of a step (an exception in backward), the step's remaining buckets
  // will never be reduced here: the group is aborted where the transport can (in-process), so
  // peers fail at once instead of at their deadline, and so do the buckets already started.
  ~DataParallel() {
    if (step_.open()) detail::abort_unfinished_step(*comm_, Operation::data_parallel, rank_);
  }

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool overlapping() const { return overlapping_; }
  // The communicator it runs on: a dup of the caller's where the transport can split, else the
  // caller's own. With overlap it starts its progress thread (its has_progress_thread() says so)
  // with the first bucket's all-reduce, and joins it on destruction.
  const Communicator<X>& communicator() const { return *comm_; }

  // Registers a parameter and its gradient (same size); returns its index for mark_ready. Every
  // rank registers the same tensors in the same order, before the first step. Both spans must
  // stay valid until this DataParallel is destroyed: declare it after the model, as a started
  // bucket may still be in flight while the scope unwinds from an exception.
  template <GradientElement T>
  std::size_t add(std::span<T> param, std::span<T> grad, std::string name = {}) {
    if (name.empty()) name = "#" + std::to_string(tensors_.size());  // unnamed: its index
    if (planned_) fail("add('" + name + "') after the first step: register every tensor first");
    if (param.size() != grad.size())
      fail("parameter '" + name + "' has " + std::to_string(param.size()) +
           " elements but its gradient " + std::to_string(grad.size()));
    tensors_.push_back({data_type_of<T>, reinterpret_cast<std::byte*>(param.data()),
                        reinterpret_cast<std::byte*>(grad.data()), param.size(), std::move(name)});
    return tensors_.size() - 1;
  }

  std::size_t tensor_count() const { return tensors_.size(); }
  std::size_t bucket_count() {
    lay_out();
    return buckets_.size();
  }
  // Which bucket tensor i travels in (for tests and for tuning the cap).
  std::size_t bucket_of(std::size_t i) {
    lay_out();
    return bucket_of_.at(i);
  }

  // Bytes of the gradient buckets' staging buffers: what DataParallel holds beyond the model's
  // own memory (the parameter buckets hold memory only during broadcast_parameters).
  std::size_t buffer_bytes() {
    lay_out();
    std::size_t n = 0;
    for (const auto* list : {&buckets_, &param_buckets_})
      for (const detail::Bucket& b : *list) n += b.storage.capacity();
    return n;
  }

  // Every rank's parameters become root's: replicas start identical.
  void broadcast_parameters(int root = 0) {
    if (root < 0 || root >= size_)
      fail("broadcast_parameters: root " + std::to_string(root) + " out of range for " +
           std::to_string(size_) + " ranks");
    lay_out();
    throw_if_broken();
    if (step_.open()) fail("broadcast_parameters in the middle of a step (after mark_ready)");
    std::vector<detail::Contribution> read;
    for (detail::Bucket& b : param_buckets_) {
      read.assign(b.entries.size(), detail::Contribution::read);
      const bool packed = b.entries.size() > 1;
      if (packed) b.storage.resize(b.count * detail::size_of(b.wire));
      if (packed && rank_ == root) detail::pack(b, tensors_, read, 1.0, /*from_params=*/true);
      detail::with_data_type(b.wire, [&]<class W>(detail::type_tag<W>) {
        std::span<W> data =
            packed
                ? b.view<W>()
                : std::span<W>(reinterpret_cast<W*>(tensors_[b.entries[0].tensor].param), b.count);
        guarded([&] { broadcast(*comm_, data, root); });
      });
      if (packed && rank_ != root) detail::unpack(b, tensors_, 1.0, /*to_params=*/true);
      std::vector<std::byte>().swap(b.storage);  // a whole copy of the model: not kept
    }
  }

  // This rank's number of samples in the coming step (weighted averaging); kept until changed.
  void set_local_samples(std::int64_t samples) { step_.set_local_samples(samples); }

  // Gradient i is final for this step: its bucket may be reduced once all its tensors are.
  void mark_ready(std::size_t i) {
    if (i >= tensors_.size())
      fail("mark_ready(" + std::to_string(i) + "): only " + std::to_string(tensors_.size()) +
           " tensors registered");
    lay_out();
    throw_if_broken();
    if (step_.record_use(i)) return;
    step_.mark(i, bucket_of_[i], tensors_[i].name);
    // Buckets start in index order on every rank, whatever order the marks come in.
    if (overlapping_)
      while (next_bucket_ < buckets_.size() && step_.missing(next_bucket_) == 0) start_next();
  }

  // Waits until every bucket is averaged; gradients not marked ready contribute zeros (see top).
  void synchronize() { finish_step(false); }

  // Averages every gradient as it is now (no marks needed): the simple, non-overlapped path.
  void average_gradients() { finish_step(true); }

  // While the returned guard lives, gradients accumulate locally: marks record which tensors
  // were used, synchronize() and average_gradients() return at once.
  NoSync no_sync() {
    lay_out();
    return step_.no_sync();
  }

 private:
  [[noreturn]] void fail(const std::string& cause) const { step_.fail(cause); }
  // The options, checked before the collective dup (own_communicator.hpp).
  static DataParallelOptions checked(const DataParallelOptions& options, int rank, int size) {
    if (options.bucket_cap_bytes == 0)
      detail::reject(Operation::data_parallel, rank, "bucket_cap_bytes must be positive");
    if (options.server < -1 || options.server >= size)
      detail::reject(Operation::data_parallel, rank,
                     "server rank " + std::to_string(options.server) + " out of range for " +
                         std::to_string(size) + " ranks (or -1 to shard)");
    return options;
  }

  template <class Fn>
  void guarded(Fn&& fn) {
    step_guard_.guarded(std::forward<Fn>(fn));
  }
  void throw_if_broken() const { step_guard_.throw_if_broken(); }

  DataType wire_of(const detail::TensorSlot& t) const {
    const bool narrow = t.type == DataType::float16 || t.type == DataType::bfloat16;
    return narrow && options_.low_precision == LowPrecision::accumulate_in_float ? DataType::float32
                                                                                 : t.type;
  }

  // Builds the buckets on first use, after checking that every rank registered the same tensors.
  void lay_out() {
    if (planned_) return;
    std::vector<std::uint64_t> keys;
    for (const auto& t : tensors_)
      keys.insert(keys.end(), {static_cast<std::uint64_t>(t.type), t.count});
    detail::check_same_registration(*comm_, step_guard_, step_,
                                    std::span<const std::uint64_t>(keys), tensors_.size(),
                                    "shapes and types");

    std::vector<std::size_t> order(tensors_.size());
    std::iota(order.rbegin(), order.rend(), std::size_t{0});  // backward order: last added first
    buckets_ = detail::lay_out_buckets(std::span<const detail::TensorSlot>(tensors_), order,
                                       options_.bucket_cap_bytes,
                                       [&](const auto& t) { return wire_of(t); });
    std::iota(order.begin(), order.end(), std::size_t{0});
    param_buckets_ =
        detail::lay_out_buckets(std::span<const detail::TensorSlot>(tensors_), order,
                                options_.bucket_cap_bytes, [](const auto& t) { return t.type; });
    for (detail::Bucket& b : param_buckets_) std::vector<std::byte>().swap(b.storage);
    bucket_of_.assign(tensors_.size(), 0);
    std::vector<std::size_t> bucket_sizes;
    for (std::size_t b = 0; b < buckets_.size(); ++b) {
      for (const auto& e : buckets_[b].entries) bucket_of_[e.tensor] = b;
      bucket_sizes.push_back(buckets_[b].entries.size());
    }
    step_.lay_out(tensors_.size(), std::move(bucket_sizes));
    started_.resize(buckets_.size());
    for (const auto& bucket : buckets_)
      weight_before_sum_ = weight_before_sum_ || narrow_wire(bucket);
    reset_step();
    planned_ = true;
  }

  void reset_step() {
    step_.reset();
    next_bucket_ = 0;
    read_all_ = false;
  }

  // What each of bucket b's tensors contributes.
  std::vector<detail::Contribution> contributions_of(std::size_t b) const {
    std::vector<detail::Contribution> c;
    for (const auto& e : buckets_[b].entries)
      c.push_back(read_all_ || step_.contributes(e.tensor) ? detail::Contribution::read
                                                           : detail::Contribution::zero);
    return c;
  }

  void finish_step(bool read_all) {
    lay_out();
    throw_if_broken();
    if (step_.accumulating()) return;
    step_.begin();
    read_all_ = read_all_ || read_all;
    if (overlapping_) {
      while (next_bucket_ < buckets_.size()) start_next();
      guarded([&] { finish_started(); });
    } else {
      for (std::size_t b = 0; b < buckets_.size(); ++b) {
        const auto contributions = contributions_of(b);
        guarded([&] { reduce_bucket(b, contributions); });
      }
    }
    reset_step();
  }

  // The scale of each rank's contribution to bucket b before the sum, and of the sum. A 16-bit
  // wire scales each term by its share first (the sum cannot overflow), which needs the step's
  // total weight already; a float wire scales the sum, and reads the total weight only after it
  // has arrived (a started all-reduce may still be writing it).
  static bool narrow_wire(const detail::Bucket& bucket) {
    return bucket.wire == DataType::float16 || bucket.wire == DataType::bfloat16;
  }
  double scale_before(const detail::Bucket& bucket) const {
    const double weight = step_.weight(options_.weighted);
    return narrow_wire(bucket) ? weight * weight_.inverse() : weight;
  }
  double scale_after(const detail::Bucket& bucket) const {
    return narrow_wire(bucket) ? 1.0 : weight_.inverse();
  }

  // The step's total weight (total_weight.hpp), learnt before bucket 0: started with it where
  // no bucket needs it before its sum.
  void learn_total_weight(bool start) {
    weight_.learn(*comm_, step_guard_, options_.weighted, step_.samples(), start);
  }

  // Packs bucket next_bucket_ and starts its all-reduce (the overlapped path).
  void start_next() {
    const std::size_t b = next_bucket_++;
    if (b == 0) learn_total_weight(/*start=*/!weight_before_sum_);
    detail::Bucket& bucket = buckets_[b];
    detail::pack(bucket, tensors_, contributions_of(b), scale_before(bucket));
    detail::with_data_type(bucket.wire, [&]<class W>(detail::type_tag<W>) {
      if constexpr (GradientElement<W>)
        guarded([&] {
          started_[b].emplace(iall_reduce(*comm_, bucket.view<W>(), sum{}, options_.algorithm));
        });
    });
  }

  // Waits for the started buckets in index order and unpacks each; every request is waited for
  // even after a failure (the first failure is thrown), so none outlives the step.
  void finish_started() {
    detail::FirstFailure failures;
    failures.run([&] { weight_.wait(); });
    for (std::size_t b = 0; b < buckets_.size(); ++b) {
      failures.run([&] {
        if (started_[b]) std::exchange(started_[b], std::nullopt)->wait();
      });
      if (!failures.failed()) detail::unpack(buckets_[b], tensors_, scale_after(buckets_[b]));
    }
    failures.rethrow();
  }

  // Packs, averages and unpacks bucket b on the calling thread. On bucket 0 it first learns the
  // step's total weight.
  void reduce_bucket(std::size_t b, const std::vector<detail::Contribution>& contributions) {
    if (b == 0) learn_total_weight(/*start=*/false);
    detail::Bucket& bucket = buckets_[b];
    const double after = scale_after(bucket);
    detail::pack(bucket, tensors_, contributions, scale_before(bucket));
    const int server = options_.server >= 0 ? options_.server
                                            : static_cast<int>(b % static_cast<std::size_t>(size_));
    detail::with_data_type(bucket.wire, [&]<class W>(detail::type_tag<W>) {
      if constexpr (GradientElement<W>) {
        std::span<W> data = bucket.view<W>();
        if (options_.aggregation == Aggregation::parameter_server)
          parameter_server_average(*comm_, data, server, after);
        else
          all_reduce(*comm_, data, sum{}, options_.algorithm);
      }
    });
    detail::unpack(bucket, tensors_,
                   options_.aggregation == Aggregation::parameter_server ? 1.0 : after);
  }

  DataParallelOptions options_;
  int rank_;
  int size_;
  detail::StepState step_;  // marks, no_sync(), samples (step_state.hpp)
  detail::OwnCommunicator<X> comm_;
  bool overlapping_;

  std::vector<detail::TensorSlot> tensors_;
  std::vector<detail::Bucket> buckets_;        // gradients, in reduction order
  std::vector<detail::Bucket> param_buckets_;  // parameters in their own types, for broadcast
  std::vector<std::size_t> bucket_of_;
  bool planned_ = false;

  // Step state beyond step_ (one thread drives a DataParallel, as a communicator).
  std::size_t next_bucket_ = 0;                  // the next bucket to start (overlapped path)
  std::vector<std::optional<Request>> started_;  // per bucket, its started all-reduce
  bool weight_before_sum_ = false;  // a 16-bit bucket scales by the total weight before its sum
  bool read_all_ = false;
  detail::StepGuard step_guard_;
  detail::TotalWeight weight_;  // learnt on bucket 0 by the thread reducing buckets
};

}  // namespace colt
