// Fuzzes colt/transport/ucx/wire_tag.hpp: any 64-bit UCP tag a peer's message can carry decodes
// to a sender in range, the fields it is made of encode back to it, and the colt tag inside it
// can be named in an error message (an unknown collective kind included).

#include <cstddef>
#include <cstdint>
#include <string>

#include "colt/core/tag.hpp"
#include "colt/core/detail/describe_message.hpp"
#include "colt/transport/ucx/wire_tag.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using colt::fuzz::expect;
  colt::fuzz::Input input(data, size);
  const auto tag = input.take<ucp_tag_t>();

  const int sender = colt::ucx::sender_of(tag);
  expect(sender >= 0 && sender < colt::ucx::max_ranks, "sender_of is a bootstrap rank");

  // Context (bits 48..63), sender (32..47), the abort bit (31) and colt's tag (0..30) are the
  // whole tag: encoding the decoded fields gives it back.
  const auto context = static_cast<std::uint32_t>(tag >> 48);
  const colt::Tag colt_tag{static_cast<std::uint32_t>(tag & 0x7FFFFFFF)};
  const ucp_tag_t abort_bit = tag & (ucp_tag_t{1} << 31);
  expect((colt::ucx::wire_tag(context, sender, colt_tag) | abort_bit) == tag,
         "wire_tag(context, sender_of(t), tag) rebuilds t");

  // An abort notice from this sender matches the abort channel and names the sender.
  const ucp_tag_t notice = colt::ucx::abort_tag(sender);
  expect((notice & colt::ucx::abort_mask) == (colt::ucx::abort_tag(0) & colt::ucx::abort_mask),
         "abort_tag matches abort_mask");
  expect(colt::ucx::sender_of(notice) == sender, "abort_tag keeps the sender");
  // A regular message (context below the abort channel) never matches the abort channel.
  if (context <= colt::ucx::max_context)
    expect((tag & colt::ucx::abort_mask) != (notice & colt::ucx::abort_mask),
           "a communicator's tag is not an abort notice");

  // Error messages name the call a tag belongs to, whatever its bits.
  const std::string text = colt::detail::describe_message(false, sender, colt_tag);
  expect(!text.empty(), "describe_message says something");
  return 0;
}
