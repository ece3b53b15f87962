#pragma once
// How colt's 31-bit tags (core/tag.hpp) fit the tags an MPI library carries: MPI guarantees only
// 0..32767 (MPI_TAG_UB); MPICH 4 offers 2^28 - 1, Open MPI 2^31 - 1 over ob1 and 2^23 - 1 over
// UCX. Where the whole tag fits, it travels unchanged. Otherwise the collective kind keeps 4
// bits of its own at the top, so that a message of another collective never matches and stays
// recognisable (a long wait looks for one: mpi/request.hpp), and below it go the low bits of
// sequence and step: a point-to-point tag's user tag whole (its step is always 0), a call's step
// and as much of its sequence as fits (13 bits with MPICH, 8 over Open MPI's UCX). Equal folded
// tags between one pair of ranks still match in posting order (MPI's non-overtaking rule), so
// the wrap-around of the sequence is safe as it is in core/tag.hpp.

#include <bit>
#include <cstdint>

#include "colt/core/tag.hpp"

namespace colt::mpi {

class TagFold {
 public:
  static constexpr int kind_bits = 4;
  static_assert(static_cast<int>(CollectiveKind::mismatch_notice) < (1 << kind_bits));

  // `upper` is the communicator's MPI_TAG_UB (at least 32767, as MPI promises).
  constexpr explicit TagFold(std::uint32_t upper)
      : bits_(upper >= 0x7FFFFFFFu ? 31 : static_cast<int>(std::bit_width(upper + 1)) - 1) {}

  constexpr bool whole() const { return bits_ == 31; }

  constexpr int fold(Tag tag) const {
    if (whole()) return tag.as_int();
    const std::uint32_t payload =
        tag.kind() == CollectiveKind::point_to_point ? tag.sequence() : tag.value;
    return static_cast<int>(static_cast<std::uint32_t>(tag.kind()) << payload_bits() |
                            (payload & payload_mask()));
  }

  // The tag a folded one came from, as far as it survived: its kind, step and the low bits of
  // its sequence. Two calls' tags compare alike after unfold(fold(...)) on both.
  constexpr Tag unfold(int folded) const {
    const auto value = static_cast<std::uint32_t>(folded);
    if (whole()) return Tag{value};
    const auto kind = static_cast<CollectiveKind>(value >> payload_bits());
    const std::uint32_t payload = value & payload_mask();
    if (kind == CollectiveKind::point_to_point) return Tag::make(kind, payload);
    return Tag::make(kind, payload >> Tag::sequence_shift, payload & Tag::step_mask);
  }

 private:
  constexpr int payload_bits() const { return bits_ - kind_bits; }
  constexpr std::uint32_t payload_mask() const { return (std::uint32_t{1} << payload_bits()) - 1; }
  int bits_;  // of a tag MPI carries
};

}  // namespace colt::mpi
