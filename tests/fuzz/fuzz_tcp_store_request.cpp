// Fuzzes colt/transport/tcp_store.hpp's request parser, the part of rank 0's process that reads
// bytes from the network: any bytes a client (or anything else that connects) sends parse as a
// complete request that takes no more bytes than there are and whose key and value are within
// the limit, as malformed, or as incomplete; and a complete request re-encoded the way the client
// encodes it gives back the same bytes.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "colt/transport/tcp_store.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using colt::fuzz::expect;
  namespace tcp = colt::detail::tcp;
  namespace rv = colt::detail::rendezvous;
  const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  const tcp::Request r = tcp::parse_request(in);
  if (r.status != tcp::Request::Status::complete) {
    expect(r.consumed == 0, "an unfinished request takes no bytes");
    return 0;
  }
  expect(r.op == tcp::set_request || r.op == tcp::get_request, "a known op");
  expect(r.consumed >= 5 && r.consumed <= size, "takes bytes that are there");
  expect(r.key.size() <= rv::max_blob && r.value.size() <= rv::max_blob, "within the limit");
  expect(r.op == tcp::set_request || r.value.empty(), "a get carries no value");
  std::vector<std::byte> again{std::byte{r.op}};
  rv::put(again, r.key.size(), 4);
  for (char c : r.key) again.push_back(static_cast<std::byte>(c));
  if (r.op == tcp::set_request) {
    rv::put(again, r.value.size(), 4);
    for (char c : r.value) again.push_back(static_cast<std::byte>(c));
  }
  expect(again.size() == r.consumed, "re-encoded, as long as what it took");
  for (std::size_t i = 0; i < again.size(); ++i)
    expect(again[i] == in[i], "re-encoded, the same bytes");
  return 0;
}
