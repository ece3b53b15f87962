#pragma once
// CallDescriptor: what a collective call looks like from outside (which collective, element
// type, op, root, counts, algorithm, options), in a fixed 40-byte little-endian encoding. Under
// the argument-checking option (COLT_CHECK) every rank sends its descriptor to every other
// before any data moves, so calls that disagree fail together, with each rank's call listed,
// instead of hanging or mixing unrelated buffers.
//
// A descriptor comes from a peer, so decoding trusts nothing: a wrong length, magic, version,
// enum value or flag is a colt::Error naming the peer (tests/fuzz fuzzes `decode`).

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "colt/core/algorithm_name.hpp"
#include "colt/core/detail/fnv1a.hpp"
#include "colt/core/error.hpp"
#include "colt/core/ops.hpp"
#include "colt/core/tag.hpp"
#include "colt/core/types.hpp"

namespace colt {

inline constexpr int no_root = -1;

struct CallDescriptor {
  static constexpr std::size_t encoded_size = 40;
  static constexpr std::uint32_t magic = 0x544C4F43;  // "COLT"
  static constexpr std::uint8_t version = 1;

  // Flags. The first two are options that must agree; local_error marks a rank whose own
  // checks of this call failed (its buffers are wrong), so the others fail with it.
  static constexpr std::uint8_t flag_checksum = 1, flag_ordered = 2, flag_local_error = 4;
  static constexpr std::uint8_t known_flags = 7;

  CollectiveKind kind = CollectiveKind::internal;
  DataType type = DataType::float32;
  bool typed = false;    // barrier has no element type
  std::uint32_t op = 0;  // FNV-1a of the op's name; 0 when the call reduces nothing
  Algorithm algorithm = Algorithm::automatic;
  std::int32_t root = no_root;
  std::uint64_t count = 0;          // the count every rank must pass (the sum, for the v forms)
  std::uint64_t counts_digest = 0;  // FNV-1a of the per-rank counts, for the v forms
  std::uint32_t sequence = 0;       // the call's number on its communicator
  std::uint8_t flags = 0;
  // A `v` form (per-rank counts), for naming the call in errors; not sent (a v form's counts
  // digest, where it has one, says as much).
  bool v_form = false;

  // Equal when two ranks may run the call together (the local-error flag aside).
  bool agrees_with(const CallDescriptor& o) const {
    return kind == o.kind && typed == o.typed && (!typed || type == o.type) && op == o.op &&
           algorithm == o.algorithm && root == o.root && count == o.count &&
           counts_digest == o.counts_digest && sequence == o.sequence &&
           (flags & ~flag_local_error) == (o.flags & ~flag_local_error);
  }
};

namespace detail {

// The op's name hashed to 32 bits (never 0, which stands for "no op").
constexpr std::uint32_t op_code(std::string_view name) {
  const std::uint64_t h = fnv1a(name);
  const auto folded = static_cast<std::uint32_t>(h ^ (h >> 32));
  return folded == 0 ? 1 : folded;
}

template <class Op>
constexpr std::uint32_t op_code_of() {
  if constexpr (requires { Op::name; })
    return op_code(Op::name);
  else
    return op_code("custom");
}

inline std::string op_name(std::uint32_t code) {
  if (code == 0) return "";
  for (std::string_view n :
       {sum::name, prod::name, min::name, max::name, avg::name, std::string_view("custom")})
    if (op_code(n) == code) return std::string(n);
  char text[24];
  (void)std::snprintf(text, sizeof text, "op#%08x", code);
  return text;
}

inline constexpr int collective_kinds = static_cast<int>(CollectiveKind::all_to_all) + 1;
inline constexpr int algorithms = static_cast<int>(std::size(all_algorithms));
inline constexpr int data_types = static_cast<int>(DataType::bfloat16) + 1;

template <class T>
void put(std::byte* at, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i)
    at[i] = static_cast<std::byte>(static_cast<std::uint64_t>(value) >> (8 * i));
}
template <class T>
T get(const std::byte* at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<std::uint64_t>(at[i]) << (8 * i);
  return static_cast<T>(v);
}

}  // namespace detail

// The descriptor of a call on elements of type T reduced by Op (void: no reduction).
template <class T, class Op = void>
CallDescriptor describe_call(CollectiveKind kind, std::uint64_t count, int root = no_root,
                             Algorithm algorithm = Algorithm::automatic) {
  CallDescriptor d;
  d.kind = kind;
  if constexpr (Element<T>) {
    d.typed = true;
    d.type = data_type_of<T>;
  }
  if constexpr (!std::is_void_v<Op>) d.op = detail::op_code_of<Op>();
  d.count = count;
  d.root = root;
  d.algorithm = algorithm;
  return d;
}

// The digest of a v collective's per-rank counts.
inline std::uint64_t counts_digest(std::span<const std::size_t> counts) {
  std::uint64_t h = detail::fnv1a_basis;
  for (std::size_t c : counts) h = detail::fnv1a_u64(c, h);
  return h;
}

// The descriptor of a v call: the counts themselves must agree, so their sum and digest go in.
template <class T, class Op = void>
CallDescriptor describe_call_v(CollectiveKind kind, std::span<const std::size_t> counts,
                               int root = no_root, Algorithm algorithm = Algorithm::automatic) {
  std::uint64_t total = 0;
  for (std::size_t c : counts) total += c;
  CallDescriptor d = describe_call<T, Op>(kind, total, root, algorithm);
  d.counts_digest = counts_digest(counts);
  d.v_form = true;
  return d;
}

// The call as a user writes it: all_gather_v for the v forms.
constexpr Operation operation_of(const CallDescriptor& d) noexcept {
  return operation_of(d.kind, d.v_form || d.counts_digest != 0);
}
inline std::string call_name(const CallDescriptor& d) {
  return std::string(name_of(operation_of(d)));
}

inline std::array<std::byte, CallDescriptor::encoded_size> encode(const CallDescriptor& d) {
  std::array<std::byte, CallDescriptor::encoded_size> out{};
  std::byte* p = out.data();
  detail::put(p + 0, CallDescriptor::magic);
  detail::put(p + 4, CallDescriptor::version);
  detail::put(p + 5, static_cast<std::uint8_t>(d.kind));
  detail::put(p + 6, static_cast<std::uint8_t>(d.typed ? static_cast<int>(d.type) : 0xFF));
  detail::put(p + 7, static_cast<std::uint8_t>(d.algorithm));
  detail::put(p + 8, d.flags);
  // p[9..11] stay zero
  detail::put(p + 12, d.op);
  detail::put(p + 16, static_cast<std::uint32_t>(d.root));
  detail::put(p + 20, d.sequence);
  detail::put(p + 24, d.count);
  detail::put(p + 32, d.counts_digest);
  return out;
}

// The descriptor `peer` sent; `rank` is the receiving rank (for the error).
inline CallDescriptor decode(std::span<const std::byte> bytes, int rank, int peer) {
  auto bad = [&](const std::string& what) {
    return Error(ErrorKind::corrupt, Operation::argument_check, Error::Rank{rank},
                 Error::Peer{peer},
                 "malformed call descriptor from peer " + std::to_string(peer) + ": " + what);
  };
  if (bytes.size() != CallDescriptor::encoded_size)
    throw bad(std::to_string(bytes.size()) + " bytes, expected " +
              std::to_string(CallDescriptor::encoded_size));
  const std::byte* p = bytes.data();
  if (detail::get<std::uint32_t>(p) != CallDescriptor::magic) throw bad("wrong magic number");
  if (auto v = detail::get<std::uint8_t>(p + 4); v != CallDescriptor::version)
    throw bad("version " + std::to_string(v) + ", expected " +
              std::to_string(CallDescriptor::version));
  CallDescriptor d;
  const auto kind = detail::get<std::uint8_t>(p + 5), type = detail::get<std::uint8_t>(p + 6),
             algorithm = detail::get<std::uint8_t>(p + 7), flags = detail::get<std::uint8_t>(p + 8);
  if (kind >= detail::collective_kinds) throw bad("unknown collective " + std::to_string(kind));
  if (type != 0xFF && type >= detail::data_types)
    throw bad("unknown element type " + std::to_string(type));
  if (algorithm >= detail::algorithms) throw bad("unknown algorithm " + std::to_string(algorithm));
  if (flags & ~CallDescriptor::known_flags) throw bad("unknown flags " + std::to_string(flags));
  if (p[9] != std::byte{0} || p[10] != std::byte{0} || p[11] != std::byte{0})
    throw bad("reserved bytes set");
  d.kind = static_cast<CollectiveKind>(kind);
  d.typed = type != 0xFF;
  d.type = d.typed ? static_cast<DataType>(type) : DataType::float32;
  d.algorithm = static_cast<Algorithm>(algorithm);
  d.flags = flags;
  d.op = detail::get<std::uint32_t>(p + 12);
  d.root = static_cast<std::int32_t>(detail::get<std::uint32_t>(p + 16));
  if (d.root < no_root) throw bad("root " + std::to_string(d.root));
  d.sequence = detail::get<std::uint32_t>(p + 20);
  d.count = detail::get<std::uint64_t>(p + 24);
  d.counts_digest = detail::get<std::uint64_t>(p + 32);
  return d;
}

// "all_reduce(count 1000, float32, sum, algorithm ring, call #12)".
inline std::string to_string(const CallDescriptor& d) {
  std::string s = call_name(d) + "(count " + std::to_string(d.count);
  if (d.counts_digest) {
    char digest[32];
    (void)std::snprintf(digest, sizeof digest, ", counts #%016llx",
                        static_cast<unsigned long long>(d.counts_digest));
    s += digest;
  }
  if (d.typed) s += ", " + std::string(name_of(d.type));
  if (d.op) s += ", " + detail::op_name(d.op);
  if (d.root != no_root) s += ", root " + std::to_string(d.root);
  s += ", algorithm " + std::string(name_of(d.algorithm));
  if (d.flags & CallDescriptor::flag_checksum) s += ", checksum";
  if (d.flags & CallDescriptor::flag_ordered) s += ", ordered";
  s += ", call #" + std::to_string(d.sequence) + ")";
  if (d.flags & CallDescriptor::flag_local_error) s += " [failed its own argument checks]";
  return s;
}

}  // namespace colt
