// The MPI oracle: for every collective MPI also has, colt's result on random data equals MPI's
// own collective's result on the same ranks: bitwise for integers, min/max and data movement;
// within the type's rounding tolerance for floating-point sum, prod and avg (MPI and colt may
// add in different orders). half and bfloat16, which MPI lacks, go through a user MPI_Op.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "colt/colt.hpp"
#include "matrix.hpp"
#include "mpi_world.hpp"
#include "ranks.hpp"
#include "reference.hpp"

using namespace colt;
using namespace colt::test;

namespace {

template <class T>
MPI_Datatype mpi_type() {
  if constexpr (std::is_same_v<T, float>)
    return MPI_FLOAT;
  else if constexpr (std::is_same_v<T, double>)
    return MPI_DOUBLE;
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return MPI_INT32_T;
  else if constexpr (std::is_same_v<T, std::int64_t>)
    return MPI_INT64_T;
  else
    return MPI_UINT16_T;  // half, bfloat16: 16-bit patterns, reduced by a user op
}

// MPI's own reduction of T with Op: a built-in MPI_Op where MPI has one (avg is MPI_SUM, divided
// afterwards), else a user op computing in T's compute type.
template <class T, class Op>
void user_reduction(void* in, void* inout, int* length, MPI_Datatype*) {
  using C = compute_type_t<T>;
  auto* a = static_cast<const T*>(in);
  auto* b = static_cast<T*>(inout);
  for (int i = 0; i < *length; ++i)
    b[i] = static_cast<T>(Op{}(static_cast<C>(a[i]), static_cast<C>(b[i])));
}

template <class T, class Op>
class MpiOp {
 public:
  MpiOp() {
    if constexpr (NarrowFloat<T>) {
      MPI_Op_create(&user_reduction<T, Op>, 1, &op_);
      owned_ = true;
    } else if constexpr (std::is_same_v<Op, sum> || std::is_same_v<Op, avg>)
      op_ = MPI_SUM;
    else if constexpr (std::is_same_v<Op, prod>)
      op_ = MPI_PROD;
    else if constexpr (std::is_same_v<Op, min>)
      op_ = MPI_MIN;
    else
      op_ = MPI_MAX;
  }
  ~MpiOp() {
    if (owned_) MPI_Op_free(&op_);
  }
  MPI_Op get() const { return op_; }

 private:
  MPI_Op op_ = MPI_OP_NULL;
  bool owned_ = false;
};

// MPI has no average: divide MPI's sum as colt's finish step does.
template <class T, class Op>
void finish_average(std::vector<T>& data, int ranks) {
  if constexpr (AveragingOp<Op>) {
    using C = compute_type_t<T>;
    for (auto& x : data) x = static_cast<T>(finish(Op{}, static_cast<C>(x), ranks));
  }
}

// colt's and MPI's results agree: exactly where the reference is exact, else within twice the
// reference's tolerance (each is within one tolerance of the true value).
template <class T, class Op>
std::string disagreement(std::span<const T> ours, std::span<const T> theirs,
                         const Reference<T, Op>& reference) {
  if (ours.size() != theirs.size()) return "sizes differ";
  std::size_t wrong = 0, first = 0;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    bool ok;
    if constexpr (Reference<T, Op>::is_exact)
      ok = std::memcmp(&ours[i], &theirs[i], sizeof(T)) == 0;
    else
      ok = std::fabs(to_double(ours[i]) - to_double(theirs[i])) <= 2 * reference.tolerance[i];
    if (!ok && wrong++ == 0) first = i;
  }
  if (!wrong) return {};
  return std::to_string(wrong) + " of " + std::to_string(ours.size()) + " differ; first at " +
         std::to_string(first) + ": colt " + Reference<T, Op>::describe(ours[first]) + ", MPI " +
         Reference<T, Op>::describe(theirs[first]);
}

std::vector<int> as_ints(const std::vector<std::size_t>& values) {
  return std::vector<int>(values.begin(), values.end());
}

std::vector<int> displacements(const std::vector<std::size_t>& counts) {
  std::vector<int> offsets(counts.size(), 0);
  for (std::size_t i = 1; i < counts.size(); ++i)
    offsets[i] = offsets[i - 1] + static_cast<int>(counts[i - 1]);
  return offsets;
}

// Counts: a prime and a larger random count (rarely a multiple of the rank count).
std::vector<std::size_t> oracle_counts(std::uint64_t salt) {
  std::mt19937_64 rng(base_seed() ^ salt);
  return {1009, 40000 + rng() % 30000};
}

template <class T, class Op>
void reductions_against_mpi(std::size_t count, std::uint64_t seed) {
  auto& comm = world();
  const MPI_Comm native = comm.transport().native();
  const int p = comm.size();
  const auto r = static_cast<std::size_t>(comm.rank());
  Case c{p, count, false, algo::automatic, static_cast<int>(seed % static_cast<unsigned>(p)), seed};
  INFO(describe(c, name_of(data_type_of<T>), Op::name));
  const auto inputs = random_inputs<T, Op>(c, [&](int) { return count; });
  const MpiOp<T, Op> op;

  // all_reduce vs MPI_Allreduce, every algorithm.
  std::vector<T> theirs(count);
  MPI_Allreduce(inputs[r].data(), theirs.data(), static_cast<int>(count), mpi_type<T>(), op.get(),
                native);
  finish_average<T, Op>(theirs, p);
  const Reference<T, Op> whole(inputs, 0, count);
  const std::string mpi_wrong = whole.check(theirs);
  CHECK_MESSAGE(mpi_wrong.empty(), "MPI_Allreduce itself: " << mpi_wrong);
  for (Algorithm algorithm : {algo::ring, algo::tree, algo::direct}) {
    std::vector<T> ours(count);
    all_reduce(comm, inputs[r], ours, Op{}, algorithm);
    const std::string differs = disagreement<T, Op>(ours, theirs, whole);
    CHECK_MESSAGE(differs.empty(),
                  "all_reduce " << std::string(name_of(algorithm)) << ": " << differs);
  }

  // reduce vs MPI_Reduce.
  std::vector<T> ours(count);
  theirs.assign(count, T{});
  reduce(comm, inputs[r], ours, c.root, Op{});
  MPI_Reduce(inputs[r].data(), theirs.data(), static_cast<int>(count), mpi_type<T>(), op.get(),
             c.root, native);
  if (comm.rank() == c.root) {
    finish_average<T, Op>(theirs, p);
    const std::string differs = disagreement<T, Op>(ours, theirs, whole);
    CHECK_MESSAGE(differs.empty(), "reduce: " << differs);
  }

  // reduce_scatter vs MPI_Reduce_scatter_block (count elements per rank).
  const auto blocks =
      random_inputs<T, Op>(c, [&](int) { return count * static_cast<std::size_t>(p); });
  ours.assign(count, T{});
  theirs.assign(count, T{});
  reduce_scatter(comm, blocks[r], ours, Op{});
  MPI_Reduce_scatter_block(blocks[r].data(), theirs.data(), static_cast<int>(count), mpi_type<T>(),
                           op.get(), native);
  finish_average<T, Op>(theirs, p);
  const Reference<T, Op> mine(blocks, r * count, count);
  const std::string differs = disagreement<T, Op>(ours, theirs, mine);
  CHECK_MESSAGE(differs.empty(), "reduce_scatter: " << differs);
}

template <class T>
void movement_against_mpi(std::size_t count, std::uint64_t seed) {
  auto& comm = world();
  const MPI_Comm native = comm.transport().native();
  const int p = comm.size();
  const auto r = static_cast<std::size_t>(comm.rank());
  Case c{p, count, false, algo::automatic, static_cast<int>(seed % static_cast<unsigned>(p)), seed};
  INFO(describe(c, name_of(data_type_of<T>)));
  const MPI_Datatype type = mpi_type<T>();
  const int n = static_cast<int>(count);
  const auto total = count * static_cast<std::size_t>(p);
  // The v forms' random counts may add up to more than p * count: inputs cover both.
  const auto counts = random_counts(seed, p, count);
  const std::size_t sum_counts = std::accumulate(counts.begin(), counts.end(), std::size_t{0});
  const auto inputs = random_inputs<T>(c, [&](int) { return std::max(total, sum_counts); });
  const bool root = comm.rank() == c.root;

  {  // broadcast vs MPI_Bcast
    std::vector<T> ours(inputs[r].begin(), inputs[r].begin() + n), theirs = ours;
    broadcast(comm, ours, c.root);
    MPI_Bcast(theirs.data(), n, type, c.root, native);
    CHECK_MESSAGE(same_bits<T>(ours, theirs), "broadcast");
  }
  {  // all_gather vs MPI_Allgather
    std::vector<T> ours(total), theirs(total);
    const auto own = std::span(inputs[r]).first(count);
    all_gather(comm, own, ours);
    MPI_Allgather(own.data(), n, type, theirs.data(), n, type, native);
    CHECK_MESSAGE(same_bits<T>(ours, theirs), "all_gather");
  }
  {  // scatter vs MPI_Scatter, gather vs MPI_Gather
    std::vector<T> ours(count), theirs(count);
    scatter(comm, std::span(inputs[r]).first(total), ours, c.root);
    MPI_Scatter(inputs[r].data(), n, type, theirs.data(), n, type, c.root, native);
    CHECK_MESSAGE(same_bits<T>(ours, theirs), "scatter");
    std::vector<T> gathered_ours(root ? total : 0), gathered_theirs(root ? total : 0);
    gather(comm, ours, gathered_ours, c.root);
    MPI_Gather(ours.data(), n, type, gathered_theirs.data(), n, type, c.root, native);
    CHECK_MESSAGE(same_bits<T>(gathered_ours, gathered_theirs), "gather");
  }
  {  // the v forms, with random counts (zeros included)
    const auto ints = as_ints(counts), offsets = displacements(counts);
    const auto own = std::span(inputs[r]).first(counts[r]);
    std::vector<T> ours(sum_counts), theirs(sum_counts);
    all_gather_v(comm, own, ours, counts);
    MPI_Allgatherv(own.data(), ints[r], type, theirs.data(), ints.data(), offsets.data(), type,
                   native);
    CHECK_MESSAGE(same_bits<T>(ours, theirs), "all_gather_v");

    std::vector<T> part_ours(counts[r]), part_theirs(counts[r]);
    const auto source = std::span(inputs[r]).first(sum_counts);
    scatter_v(comm, source, part_ours, counts, c.root);
    MPI_Scatterv(source.data(), ints.data(), offsets.data(), type, part_theirs.data(), ints[r],
                 type, c.root, native);
    CHECK_MESSAGE(same_bits<T>(part_ours, part_theirs), "scatter_v");

    std::vector<T> at_root_ours(root ? sum_counts : 0), at_root_theirs(root ? sum_counts : 0);
    gather_v(comm, own, at_root_ours, counts, c.root);
    MPI_Gatherv(own.data(), ints[r], type, at_root_theirs.data(), ints.data(), offsets.data(), type,
                c.root, native);
    CHECK_MESSAGE(same_bits<T>(at_root_ours, at_root_theirs), "gather_v");
  }
  {  // all_to_all vs MPI_Alltoall
    const auto source = std::span(inputs[r]).first(total);
    std::vector<T> ours(total), theirs(total);
    all_to_all(comm, source, ours);
    MPI_Alltoall(source.data(), n, type, theirs.data(), n, type, native);
    CHECK_MESSAGE(same_bits<T>(ours, theirs), "all_to_all");
  }
  {  // all_to_all_v vs MPI_Alltoallv: rank i sends rank j an uneven share, some none
    auto share = [&](int i, int j) {
      return static_cast<std::size_t>((i * 5 + j * 3 + static_cast<int>(seed % 4)) % 4) * count / 4;
    };
    std::vector<std::size_t> sends, receives;
    for (int q = 0; q < p; ++q) {
      sends.push_back(share(static_cast<int>(r), q));
      receives.push_back(share(q, static_cast<int>(r)));
    }
    const std::size_t sent = std::accumulate(sends.begin(), sends.end(), std::size_t{0});
    const std::size_t received = std::accumulate(receives.begin(), receives.end(), std::size_t{0});
    const auto source = std::span(inputs[r]).first(sent);
    std::vector<T> ours(received), theirs(received);
    all_to_all_v(comm, source, sends, ours, receives);
    const auto send_ints = as_ints(sends), receive_ints = as_ints(receives);
    const auto send_offsets = displacements(sends), receive_offsets = displacements(receives);
    MPI_Alltoallv(source.data(), send_ints.data(), send_offsets.data(), type, theirs.data(),
                  receive_ints.data(), receive_offsets.data(), type, native);
    CHECK_MESSAGE(same_bits<T>(ours, theirs), "all_to_all_v");
  }
}

}  // namespace

TEST_CASE(
    "oracle: all_reduce, reduce and reduce_scatter equal MPI_Allreduce, MPI_Reduce, "
    "MPI_Reduce_scatter_block") {
  std::mt19937_64 rng(base_seed() ^ 0x0AC1E);
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
      for (std::size_t count : oracle_counts(1)) reductions_against_mpi<T, Op>(count, rng());
    });
  });
}

TEST_CASE(
    "oracle: broadcast, all_gather(_v), scatter(_v), gather(_v), all_to_all(_v) equal MPI's") {
  std::mt19937_64 rng(base_seed() ^ 0x0AC1F);
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for (std::size_t count : oracle_counts(2)) movement_against_mpi<T>(count, rng());
  });
}
