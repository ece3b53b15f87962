#pragma once
// Runs a test body on in-process ranks and collects what each rank produced, so that checks run
// on the main thread after every rank has finished.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <numeric>
#include <random>
#include <vector>

#include "colt/transport/inprocess.hpp"
#include "matrix.hpp"
#include "random.hpp"

namespace colt::test {

// Every test case's body passes through here: launched through one std::function type, the
// launcher and its threads are compiled once per program, not once per case (a third of the
// largest test programs' code was copies of them).
inline void launch_erased(int ranks, const std::function<void(inprocess::Communicator&)>& body) {
  inprocess::launch(ranks, body);
}

// fn(comm, result) fills `result` on each rank; returns every rank's result, by rank.
template <class T, class Fn>
std::vector<std::vector<T>> run_ranks(int ranks, Fn&& fn) {
  std::vector<std::vector<T>> results(static_cast<std::size_t>(ranks));
  launch_erased(ranks, [&](inprocess::Communicator& comm) {
    fn(comm, results[static_cast<std::size_t>(comm.rank())]);
  });
  return results;
}

// One random input per rank for case `c`, each of counts(rank) elements.
template <class T, class Op = sum, class Counts>
std::vector<std::vector<T>> random_inputs(const Case& c, Counts&& counts) {
  std::mt19937_64 rng(c.seed);
  std::vector<std::vector<T>> inputs(static_cast<std::size_t>(c.ranks));
  for (int r = 0; r < c.ranks; ++r)
    inputs[static_cast<std::size_t>(r)] = random_buffer<T, Op>(rng, counts(r));
  return inputs;
}

// The same inputs as random_inputs, made on demand: a rank of a job (tests/support/rank_suite.hpp)
// makes its own buffer, and only the blocks of the others that its checks read, instead of every
// rank's whole buffer (which grew with the square of the rank count on every rank). Rank k's
// buffer is a SplitMix64 stream from the k-th draw of the case's generator, so any block of it
// can be made without the values before it.
template <class T, class Op = sum>
class LazyInputs {
 public:
  template <class Counts>
  LazyInputs(const Case& c, Counts&& counts) {
    std::mt19937_64 rng(c.seed);
    for (int r = 0; r < c.ranks; ++r) {
      seeds_.push_back(rng());
      counts_.push_back(counts(r));
    }
  }
  int ranks() const { return static_cast<int>(seeds_.size()); }
  std::size_t count(int k) const { return counts_[static_cast<std::size_t>(k)]; }
  // Elements [offset, offset + n) of rank k's buffer.
  std::vector<T> block(int k, std::size_t offset, std::size_t n) const {
    return random_block<T, Op>(seeds_[static_cast<std::size_t>(k)], offset, n);
  }
  std::vector<T> of(int k) const { return block(k, 0, count(k)); }
  // Elements [offset, offset + n) of every rank's buffer, by rank.
  std::vector<std::vector<T>> blocks(std::size_t offset, std::size_t n) const {
    std::vector<std::vector<T>> all;
    for (int k = 0; k < ranks(); ++k) all.push_back(block(k, offset, n));
    return all;
  }
  std::vector<std::vector<T>> all() const {
    std::vector<std::vector<T>> every;
    for (int k = 0; k < ranks(); ++k) every.push_back(of(k));
    return every;
  }

 private:
  std::vector<std::uint64_t> seeds_;
  std::vector<std::size_t> counts_;
};

// Random per-rank counts around `typical`, zeros included.
inline std::vector<std::size_t> random_counts(std::uint64_t seed, int ranks, std::size_t typical) {
  std::mt19937_64 rng(seed ^ 0xC0FFEE);
  std::vector<std::size_t> counts(static_cast<std::size_t>(ranks));
  for (auto& n : counts) n = rng() % 5 == 0 ? 0 : rng() % (2 * typical + 1);
  return counts;
}

// Per-rank block counts of case `c`: `c.count` each, or random ones for the `v` forms.
inline std::vector<std::size_t> block_counts(const Case& c, bool v) {
  return v ? random_counts(c.seed, c.ranks, c.count)
           : std::vector<std::size_t>(static_cast<std::size_t>(c.ranks), c.count);
}

// Where each block starts in the concatenation; the last entry is the total.
inline std::vector<std::size_t> offsets_of(const std::vector<std::size_t>& counts) {
  std::vector<std::size_t> offsets(counts.size() + 1, 0);
  std::partial_sum(counts.begin(), counts.end(), offsets.begin() + 1);
  return offsets;
}

// Garbage of the right size, so that elements a collective fails to write are caught.
template <class T>
std::vector<T> poisoned(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed ^ 0xBAD);
  return random_buffer<T>(rng, count);
}

}  // namespace colt::test
