#pragma once
// Runs one benchmark row on one rank, the way nccl-tests times: warm-up calls, then batches of
// back-to-back calls that all ranks start together (a barrier before each batch); a batch's
// time per call is the slowest rank's, and the row reports the median over batches. After
// timing, the outputs are poisoned, the call runs once more and every element is checked
// against the expected value (`#wrong`, summed over ranks).

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <vector>

#include "colt/colt.hpp"
#include "support/cases.hpp"

namespace colt::bench {

struct Timing {
  double batch_seconds = 2e-3;  // calls per batch: enough to fill this, at least one
  int max_calls_per_batch = 1000;
};

struct RowResult {
  double seconds = 0;  // median time per call, slowest rank
  std::uint64_t wrong = 0;
  int calls_per_batch = 1;
};

template <class T>
T element(int v) {
  if constexpr (NarrowFloat<T>)
    return T(static_cast<float>(v));
  else
    return static_cast<T>(v);
}

template <class T>
double as_double(T x) {
  if constexpr (NarrowFloat<T>)
    return static_cast<double>(static_cast<float>(x));
  else
    return static_cast<double>(x);
}

// The buffers of one rank for one row: `in` (the broadcast's data too) and `out`.
template <class T>
struct Buffers {
  std::vector<T> in, out;
};

template <class T>
Buffers<T> make_buffers(const Case& c, int rank) {
  const std::size_t n = c.count(), per = n / static_cast<std::size_t>(c.ranks);
  const bool root = rank == c.root;
  Buffers<T> b;
  auto fill = [&](std::size_t count) {
    b.in.resize(count);
    for (std::size_t i = 0; i < count; ++i) b.in[i] = element<T>(value(rank, i));
  };
  switch (c.kind) {
    case Kind::all_reduce:
      fill(n);
      b.out.resize(n);
      break;
    case Kind::reduce:
      fill(n);
      b.out.resize(n);
      break;
    case Kind::reduce_scatter:
      fill(n);
      b.out.resize(per);
      break;
    case Kind::all_gather:
      fill(per);
      b.out.resize(n);
      break;
    case Kind::broadcast: fill(n); break;
    case Kind::scatter:
      fill(root ? n : 0);
      b.out.resize(per);
      break;
    case Kind::gather:
      fill(per);
      b.out.resize(root ? n : 0);
      break;
    case Kind::all_to_all:
      fill(n);
      b.out.resize(n);
      break;
    default: break;  // not timed (all_kinds lists the ones that are)
  }
  return b;
}

// Overwrites what the call must produce, so the check sees only what the last call wrote.
template <class T>
void poison(Buffers<T>& b, const Case& c, int rank) {
  if (c.kind == Kind::broadcast) {
    if (rank != c.root)
      for (std::size_t i = 0; i < b.in.size(); ++i) b.in[i] = element<T>(value(rank, i) * 3);
    return;
  }
  std::fill(b.out.begin(), b.out.end(), element<T>(99));
}

template <class T>
std::uint64_t count_wrong(const Buffers<T>& b, const Case& c, int rank) {
  const int p = c.ranks;
  const std::size_t per = c.count() / static_cast<std::size_t>(p);
  auto sum = [&](std::size_t i) {
    int s = 0;
    for (int r = 0; r < p; ++r) s += value(r, i);
    return static_cast<double>(s);
  };
  std::uint64_t wrong = 0;
  auto expect = [&](const std::vector<T>& got, auto&& expected) {
    for (std::size_t i = 0; i < got.size(); ++i) wrong += as_double(got[i]) != expected(i);
  };
  switch (c.kind) {
    case Kind::all_reduce: expect(b.out, sum); break;
    case Kind::reduce:
      if (rank == c.root) expect(b.out, sum);
      break;
    case Kind::reduce_scatter:
      expect(b.out, [&](std::size_t j) { return sum(static_cast<std::size_t>(rank) * per + j); });
      break;
    case Kind::all_gather:
    case Kind::gather:
      if (c.kind == Kind::all_gather || rank == c.root)
        expect(b.out, [&](std::size_t i) {
          return static_cast<double>(value(static_cast<int>(i / per), i % per));
        });
      break;
    case Kind::broadcast:
      expect(b.in, [&](std::size_t i) { return static_cast<double>(value(c.root, i)); });
      break;
    case Kind::scatter:
      expect(b.out, [&](std::size_t j) {
        return static_cast<double>(value(c.root, static_cast<std::size_t>(rank) * per + j));
      });
      break;
    case Kind::all_to_all:  // segment q of the output is segment `rank` of rank q's input
      expect(b.out, [&](std::size_t i) {
        return static_cast<double>(
            value(static_cast<int>(i / per), static_cast<std::size_t>(rank) * per + i % per));
      });
      break;
    default: break;
  }
  return wrong;
}

// One call of the row's collective through colt (the algorithm forced, or automatic).
template <class Comm, class T>
void colt_call(Comm& comm, const Case& c, Buffers<T>& b) {
  const Algorithm a = c.who.algorithm;
  switch (c.kind) {
    case Kind::all_reduce: return all_reduce(comm, b.in, b.out, sum{}, a);
    case Kind::reduce_scatter: return reduce_scatter(comm, b.in, b.out, sum{}, a);
    case Kind::all_gather: return all_gather(comm, b.in, b.out, a);
    case Kind::broadcast: return broadcast(comm, b.in, c.root, a);
    case Kind::reduce: return reduce(comm, b.in, b.out, c.root, sum{}, a);
    case Kind::scatter: return scatter(comm, b.in, b.out, c.root, a);
    case Kind::gather: return gather(comm, b.in, b.out, c.root, a);
    case Kind::all_to_all: return all_to_all(comm, b.in, b.out);
    default:
      throw Error(ErrorKind::invalid_argument, operation_of(c.kind), Error::Rank{comm.rank()},
                  "not a benchmarked collective");
  }
}

template <class Comm>
double slowest(Comm& comm, double seconds) {
  double value[] = {seconds};
  all_reduce(comm, value, max{});
  return value[0];
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// Every rank calls this with the same case and batch count; under Google Benchmark rank 0
// passes its state (whose loop runs exactly `batches` iterations), the others nullptr. `issue(comm,
// case, buffers)` makes one call. The result is the same on every rank.
template <class T, class Comm, class Issue>
RowResult run_row(Comm& comm, const Case& c, benchmark::State* state, int batches,
                  const Timing& timing, Issue&& issue) {
  using Clock = std::chrono::steady_clock;
  auto buffers = make_buffers<T>(c, comm.rank());
  auto call = [&] { issue(comm, c, buffers); };
  call();  // warm-up: workspace, page faults, connections
  barrier(comm);
  auto start = Clock::now();
  call();
  const double once = slowest(comm, std::chrono::duration<double>(Clock::now() - start).count());
  RowResult result;
  result.calls_per_batch =
      static_cast<int>(std::clamp(std::ceil(timing.batch_seconds / std::max(once, 1e-9)), 1.0,
                                  double(timing.max_calls_per_batch)));
  auto batch = [&] {
    barrier(comm);
    const auto begin = Clock::now();
    for (int k = 0; k < result.calls_per_batch; ++k) call();
    return slowest(
        comm, std::chrono::duration<double>(Clock::now() - begin).count() / result.calls_per_batch);
  };
  batch();  // one untimed batch more: caches, branch predictors and the wait loops settle
  std::vector<double> samples;
  if (state) {
    for (auto _ : *state) {
      samples.push_back(batch());
      state->SetIterationTime(samples.back());
    }
  } else {
    for (int k = 0; k < batches; ++k) samples.push_back(batch());
  }
  result.seconds = median(samples);
  poison(buffers, c, comm.rank());
  barrier(comm);
  call();
  std::int64_t wrong[] = {static_cast<std::int64_t>(count_wrong(buffers, c, comm.rank()))};
  all_reduce(comm, wrong, sum{});
  result.wrong = static_cast<std::uint64_t>(wrong[0]);
  return result;
}

template <class Fn>
decltype(auto) with_type(Type type, Fn&& fn) {
  switch (type) {
    case Type::bfloat16: return fn(bfloat16{});
    case Type::float16: return fn(half{});
    case Type::int32: return fn(std::int32_t{});
    default: return fn(float{});
  }
}

}  // namespace colt::bench
