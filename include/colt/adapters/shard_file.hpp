#pragma once
// Shard files: one per rank, holding that rank's parameter and optimizer-state shards, so a
// checkpoint never gathers the model anywhere, and can be loaded onto a different rank count.
//
// Each file says which elements of the flat model (registration order) it holds, as segments
// of (offset, count), so a loader on any p reads from every file just the parts that overlap
// its own shards. Layout, native byte order (a checkpoint is read by the machines that wrote
// it, like torch.save's):
//
//   "COLTSHD1"                        8 bytes
//   ranks, rank, state_per_parameter, total elements, tensor count      5 x u64
//   tensor sizes                      tensor count x u64
//   segment count, then (offset, count) per segment                     u64, 2 x u64 each
//   parameters of every segment, back to back                           float each
//   then, for each state slot j, slot j of every segment, back to back  float each
//
// Everything that can be wrong with a file (missing, truncated, from another model, another
// world size, another rank's name) is a colt::Error naming the file, never a silent mix.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "colt/core/error.hpp"

namespace colt {

inline std::string shard_file_name(const std::string& prefix, int rank, int ranks) {
  return prefix + ".rank" + std::to_string(rank) + "-of-" + std::to_string(ranks);
}

struct ShardSegment {
  std::size_t offset = 0;             // first element in the flat order
  std::span<const float> parameters;  // count elements
  std::span<const float> state;       // state_per_parameter x count, slot after slot
};

namespace detail {
inline constexpr char shard_magic[8] = {'C', 'O', 'L', 'T', 'S', 'H', 'D', '1'};

[[noreturn]] inline void shard_file_error(Operation what, int rank, const std::string& path,
                                          const std::string& cause) {
  throw Error(ErrorKind::invalid_argument, what, Error::Rank{rank}, path + ": " + cause);
}
}  // namespace detail

inline void write_shard_file(const std::string& path, int ranks, int rank,
                             std::size_t state_per_parameter,
                             std::span<const std::size_t> tensor_sizes, std::size_t total,
                             std::span<const ShardSegment> segments) {
  constexpr Operation what = Operation::sharded_save_shard;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) detail::shard_file_error(what, rank, path, "cannot open for writing");
  const auto u64 = [&](std::size_t v) {
    const auto x = static_cast<std::uint64_t>(v);
    out.write(reinterpret_cast<const char*>(&x), sizeof x);
  };
  const auto floats = [&](std::span<const float> v) {
    out.write(reinterpret_cast<const char*>(v.data()),
              static_cast<std::streamsize>(v.size() * sizeof(float)));
  };
  out.write(detail::shard_magic, sizeof detail::shard_magic);
  u64(static_cast<std::size_t>(ranks));
  u64(static_cast<std::size_t>(rank));
  u64(state_per_parameter);
  u64(total);
  u64(tensor_sizes.size());
  for (std::size_t s : tensor_sizes) u64(s);
  u64(segments.size());
  for (const ShardSegment& s : segments) {
    u64(s.offset);
    u64(s.parameters.size());
  }
  for (const ShardSegment& s : segments) floats(s.parameters);
  for (std::size_t j = 0; j < state_per_parameter; ++j)
    for (const ShardSegment& s : segments)
      floats(s.state.subspan(j * s.parameters.size(), s.parameters.size()));
  out.flush();
  if (!out) detail::shard_file_error(what, rank, path, "write failed (disk full?)");
}

// One rank's file, opened and checked against the model being loaded into.
class ShardFileReader {
 public:
  ShardFileReader(const std::string& path, int expected_ranks, int expected_rank,
                  std::size_t state_per_parameter, std::span<const std::size_t> tensor_sizes,
                  int loading_rank)
      : path_(path), in_(path, std::ios::binary), rank_(loading_rank) {
    if (!in_) fail("cannot open (was the checkpoint written with this prefix and rank count?)");
    char magic[sizeof detail::shard_magic];
    in_.read(magic, sizeof magic);
    if (!in_ || std::memcmp(magic, detail::shard_magic, sizeof magic) != 0)
      fail("not a colt shard file");
    const std::size_t ranks = u64(), rank = u64(), k = u64();
    total_ = u64();
    const std::size_t tensors = u64();
    if (ranks != static_cast<std::size_t>(expected_ranks) ||
        rank != static_cast<std::size_t>(expected_rank))
      fail("holds rank " + std::to_string(rank) + " of " + std::to_string(ranks) +
           ", expected rank " + std::to_string(expected_rank) + " of " +
           std::to_string(expected_ranks) + " (a leftover from another run?)");
    if (k != state_per_parameter)
      fail("has " + std::to_string(k) + " optimizer state values per parameter, the model " +
           std::to_string(state_per_parameter));
    if (tensors != tensor_sizes.size())
      fail("holds a model of " + std::to_string(tensors) + " tensors, this one has " +
           std::to_string(tensor_sizes.size()));
    for (std::size_t t = 0; t < tensors; ++t)
      if (u64() != tensor_sizes[t])
        fail("tensor " + std::to_string(t) + " has another size than in this model");
    const std::size_t count = u64();
    std::size_t position = 0;
    for (std::size_t s = 0; s < count; ++s) {
      const std::size_t offset = u64(), n = u64();
      if (offset + n > total_) fail("segment beyond the model's end");
      segments_.push_back({offset, n, position});
      position += n;
    }
    held_ = position;
    data_ = static_cast<std::size_t>(in_.tellg());
    state_per_parameter_ = k;
  }

  // Copies what this file holds of flat elements [begin, begin + parameters.size()) into
  // `parameters`, and of each state slot into `state` (slot after slot, parameters.size() each).
  // Returns how many elements it supplied.
  std::size_t read_overlap(std::size_t begin, std::span<float> parameters, std::span<float> state) {
    const std::size_t end = begin + parameters.size();
    std::size_t supplied = 0;
    for (const Segment& s : segments_) {
      const std::size_t lo = std::max(begin, s.offset), hi = std::min(end, s.offset + s.count);
      if (lo >= hi) continue;
      const std::size_t within = s.position + (lo - s.offset);
      read_floats(within, parameters.subspan(lo - begin, hi - lo));
      for (std::size_t j = 0; j < state_per_parameter_; ++j)
        read_floats((j + 1) * held_ + within,
                    state.subspan(j * parameters.size() + (lo - begin), hi - lo));
      supplied += hi - lo;
    }
    return supplied;
  }

 private:
  struct Segment {
    std::size_t offset, count, position;  // position: index among the file's held elements
  };

  [[noreturn]] void fail(const std::string& cause) const {
    detail::shard_file_error(Operation::sharded_load_shards, rank_, path_, cause);
  }
  std::size_t u64() {
    std::uint64_t x = 0;
    in_.read(reinterpret_cast<char*>(&x), sizeof x);
    if (!in_) fail("truncated header");
    return static_cast<std::size_t>(x);
  }
  void read_floats(std::size_t index, std::span<float> out) {
    in_.seekg(static_cast<std::streamoff>(data_ + index * sizeof(float)));
    in_.read(reinterpret_cast<char*>(out.data()),
             static_cast<std::streamsize>(out.size() * sizeof(float)));
    if (!in_) fail("truncated data");
  }

  std::string path_;
  std::ifstream in_;
  int rank_;
  std::size_t total_ = 0;
  std::size_t held_ = 0;
  std::size_t data_ = 0;
  std::size_t state_per_parameter_ = 0;
  std::vector<Segment> segments_;
};

}  // namespace colt
