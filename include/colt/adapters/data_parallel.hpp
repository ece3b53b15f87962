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
#include <exception>
#include <mutex>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "colt/adapters/bucket.hpp"
#include "colt/adapters/detail/step_guard.hpp"
#include "colt/adapters/parameter_server.hpp"
#include "colt/algorithms/select.hpp"
#include "colt/collectives/all_reduce.hpp"
#include "colt/collectives/broadcast.hpp"
#include "colt/core/communicator.hpp"
#include "colt/core/detail/fnv1a.hpp"
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
  class NoSync;

  // Collective: every rank constructs its DataParallel with the same options.
  explicit DataParallel(Communicator<X>& comm, DataParallelOptions options = {})
      : options_(options), rank_(comm.rank()), size_(comm.size()) {
    if (options_.bucket_cap_bytes == 0) fail("bucket_cap_bytes must be positive");
    if (options_.server < -1 || options_.server >= size_)
      fail("server rank " + std::to_string(options_.server) + " out of range for " +
           std::to_string(size_) + " ranks (or -1 to shard)");
    if constexpr (SplittableTransport<X>) {
      own_.emplace(comm.dup());
      comm_ = &*own_;
    } else {
      comm_ = &comm;
    }
    overlapping_ = options_.overlap && options_.aggregation == Aggregation::all_reduce &&
                   detail::concurrent_use_allowed(comm_->transport());
  }

  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  // Destroyed in the middle of a step (an exception in backward), the step's remaining buckets
  // will never be reduced here: the group is aborted where the transport can (in-process), so
  // peers fail at once instead of at their deadline, and so do the buckets already started.
  ~DataParallel() {
    if (step_open_) detail::abort_unfinished_step(*comm_, "DataParallel", rank_);
  }

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool overlapping() const { return overlapping_; }

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
    plan();
    return buckets_.size();
  }
  // Which bucket tensor i travels in (for tests and for tuning the cap).
  std::size_t bucket_of(std::size_t i) {
    plan();
    return bucket_of_.at(i);
  }

  // Bytes of the gradient buckets' staging buffers: what DataParallel holds beyond the model's
  // own memory (the parameter buckets hold memory only during broadcast_parameters).
  std::size_t buffer_bytes() {
    plan();
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
    plan();
    throw_if_broken();
    if (step_open_) fail("broadcast_parameters in the middle of a step (after mark_ready)");
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
  void set_local_samples(std::int64_t samples) {
    if (samples < 0) fail("set_local_samples: negative count " + std::to_string(samples));
    if (step_open_) fail("set_local_samples after the step's first mark_ready");
    local_samples_ = samples;
  }

  // Gradient i is final for this step: its bucket may be reduced once all its tensors are.
  void mark_ready(std::size_t i) {
    if (i >= tensors_.size())
      fail("mark_ready(" + std::to_string(i) + "): only " + std::to_string(tensors_.size()) +
           " tensors registered");
    plan();
    throw_if_broken();
    if (no_sync_depth_ > 0) {
      used_[i] = true;
      return;
    }
    if (marked_[i]) fail("tensor '" + tensors_[i].name + "' marked ready twice in one step");
    marked_[i] = true;
    open_step();
    --missing_[bucket_of_[i]];
    // Buckets start in index order on every rank, whatever order the marks come in.
    if (overlapping_)
      while (next_bucket_ < buckets_.size() && missing_[next_bucket_] == 0) start_next();
  }

  // Waits until every bucket is averaged; gradients not marked ready contribute zeros (see top).
  void synchronize() { finish_step(false); }

  // Averages every gradient as it is now (no marks needed): the simple, non-overlapped path.
  void average_gradients() { finish_step(true); }

  // While the returned guard lives, gradients accumulate locally: marks record which tensors
  // were used, synchronize() and average_gradients() return at once.
  class [[nodiscard]] NoSync {
   public:
    explicit NoSync(DataParallel& dp) : dp_(&dp) {
      if (dp.step_open_) dp.fail("no_sync() in the middle of a step (after mark_ready)");
      ++dp.no_sync_depth_;
    }
    NoSync(NoSync&& other) noexcept : dp_(std::exchange(other.dp_, nullptr)) {}
    NoSync& operator=(NoSync&&) = delete;
    ~NoSync() {
      if (!dp_) return;
      --dp_->no_sync_depth_;
    }

   private:
    DataParallel* dp_;
  };
  NoSync no_sync() {
    plan();
    return NoSync(*this);
  }

 private:
  [[noreturn]] void fail(const std::string& cause) const {
    throw Error(ErrorKind::invalid_argument, "DataParallel", rank_, no_peer, cause);
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

  // Builds the buckets on first use, after checking that every rank registered the same tensors
  // (a mismatch would otherwise surface later as a size mismatch deep inside some bucket).
  void plan() {
    if (planned_) return;
    if (tensors_.empty()) fail("no tensors registered");
    std::uint64_t fingerprint = detail::fnv1a_basis;
    for (const auto& t : tensors_)
      fingerprint = detail::fnv1a_u64(
          t.count, detail::fnv1a_u64(static_cast<std::uint64_t>(t.type), fingerprint));
    // max over ranks of (f, -f) gives the largest and the smallest fingerprint in one call.
    const auto f = static_cast<std::int64_t>(fingerprint >> 1);
    std::int64_t extremes[2] = {f, -f};
    guarded([&] { all_reduce(*comm_, std::span<std::int64_t>(extremes), max{}); });
    if (extremes[0] != -extremes[1])
      fail("ranks registered different tensors (this rank: " + std::to_string(tensors_.size()) +
           " tensors); every rank must add the same shapes and types in the same order");

    std::vector<std::size_t> order(tensors_.size());
    std::iota(order.rbegin(), order.rend(), std::size_t{0});  // backward order: last added first
    buckets_ =
        detail::plan_buckets(std::span<const detail::TensorSlot>(tensors_), order,
                             options_.bucket_cap_bytes, [&](const auto& t) { return wire_of(t); });
    std::iota(order.begin(), order.end(), std::size_t{0});
    param_buckets_ =
        detail::plan_buckets(std::span<const detail::TensorSlot>(tensors_), order,
                             options_.bucket_cap_bytes, [](const auto& t) { return t.type; });
    for (detail::Bucket& b : param_buckets_) std::vector<std::byte>().swap(b.storage);
    bucket_of_.assign(tensors_.size(), 0);
    for (std::size_t b = 0; b < buckets_.size(); ++b)
      for (const auto& e : buckets_[b].entries) bucket_of_[e.tensor] = b;
    marked_.assign(tensors_.size(), false);
    used_.assign(tensors_.size(), false);
    started_.resize(buckets_.size());
    for (const auto& bucket : buckets_)
      weight_before_sum_ = weight_before_sum_ || narrow_wire(bucket);
    reset_step();
    planned_ = true;
  }

  void open_step() {
    if (step_open_) return;
    step_open_ = true;
    step_samples_ = local_samples_;
  }
  void reset_step() {
    std::fill(marked_.begin(), marked_.end(), false);
    std::fill(used_.begin(), used_.end(), false);
    missing_.resize(buckets_.size());
    for (std::size_t b = 0; b < buckets_.size(); ++b) missing_[b] = buckets_[b].entries.size();
    next_bucket_ = 0;
    step_open_ = read_all_ = false;
  }

  // What each of bucket b's tensors contributes.
  std::vector<detail::Contribution> contributions_of(std::size_t b) const {
    std::vector<detail::Contribution> c;
    for (const auto& e : buckets_[b].entries)
      c.push_back(read_all_ || marked_[e.tensor] || used_[e.tensor] ? detail::Contribution::read
                                                                    : detail::Contribution::zero);
    return c;
  }

  void finish_step(bool read_all) {
    plan();
    throw_if_broken();
    if (no_sync_depth_ > 0) return;
    open_step();
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
  double inverse_total() const {
    return total_weight_ > 0 ? 1.0 / static_cast<double>(total_weight_) : 0.0;
  }
  double scale_before(const detail::Bucket& bucket) const {
    const auto weight = static_cast<double>(options_.weighted ? step_samples_ : 1);
    return narrow_wire(bucket) ? weight * inverse_total() : weight;
  }
  double scale_after(const detail::Bucket& bucket) const {
    return narrow_wire(bucket) ? 1.0 : inverse_total();
  }

  // The step's total weight: the rank count, or, weighted, the sum of the ranks' sample counts,
  // learnt before bucket 0 (started with it where no bucket needs it before its sum).
  void learn_total_weight(bool start) {
    if (!options_.weighted) return;
    total_weight_ = step_samples_;
    if (start)
      weight_request_.emplace(
          iall_reduce(*comm_, std::span<std::int64_t>(&total_weight_, 1), sum{}));
    else
      guarded([&] { all_reduce(*comm_, std::span<std::int64_t>(&total_weight_, 1), sum{}); });
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
    std::exception_ptr first;
    auto wait = [&](std::optional<Request>& request) {
      try {
        if (request) request->wait();
      } catch (...) {
        if (!first) first = std::current_exception();
      }
      request.reset();
    };
    wait(weight_request_);
    for (std::size_t b = 0; b < buckets_.size(); ++b) {
      wait(started_[b]);
      if (!first) detail::unpack(buckets_[b], tensors_, scale_after(buckets_[b]));
    }
    if (first) std::rethrow_exception(first);
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
  std::optional<Communicator<X>> own_;
  Communicator<X>* comm_ = nullptr;
  bool overlapping_ = false;

  std::vector<detail::TensorSlot> tensors_;
  std::vector<detail::Bucket> buckets_;        // gradients, in reduction order
  std::vector<detail::Bucket> param_buckets_;  // parameters in their own types, for broadcast
  std::vector<std::size_t> bucket_of_;
  bool planned_ = false;

  // Step state (one thread drives a DataParallel, as a communicator).
  std::vector<bool> marked_;                     // marked ready in this step
  std::vector<bool> used_;                       // marked during no_sync since the last synchronize
  std::vector<std::size_t> missing_;             // per bucket: tensors not yet marked
  std::size_t next_bucket_ = 0;                  // the next bucket to start (overlapped path)
  std::vector<std::optional<Request>> started_;  // per bucket, its started all-reduce
  bool weight_before_sum_ = false;  // a 16-bit bucket scales by the total weight before its sum
  std::optional<Request> weight_request_;
  bool step_open_ = false;
  bool read_all_ = false;
  int no_sync_depth_ = 0;
  std::int64_t local_samples_ = 1;
  std::int64_t step_samples_ = 1;
  detail::StepGuard step_guard_;

  // The step's total weight over all ranks: the rank count, or, weighted, the sum of sample
  // counts learnt on bucket 0 by the thread reducing buckets.
  std::int64_t total_weight_ = size_;
};

}  // namespace colt
