#pragma once
// Point-to-point: blocking send and receive of a typed buffer between two ranks, with a user tag
// (0..65535) to keep streams apart. They use their own tag space, so they never meet collective
// traffic. Like every colt wait, they end in a colt::Error at the communicator's timeout.

#include <cstdint>
#include <span>
#include <string>

#include "colt/collectives/detail/buffers.hpp"
#include "colt/core/communicator.hpp"
#include "colt/core/detail/check_peer.hpp"
#include "colt/core/error.hpp"
#include "colt/core/tag.hpp"

namespace colt {

namespace detail {
inline Tag point_to_point_tag(int rank, int size, int peer, int user_tag, const char* what) {
  check_peer(what, rank, peer, size);
  if (user_tag < 0 || user_tag > static_cast<int>(Tag::sequence_mask))
    throw Error(ErrorKind::invalid_argument, what, rank, peer,
                "tag " + std::to_string(user_tag) + " is outside 0..65535");
  return Tag::make(CollectiveKind::point_to_point, static_cast<std::uint32_t>(user_tag));
}
}  // namespace detail

template <Transport X, InputBuffer Data>
void send(Communicator<X>& comm, Data&& data, int peer, int tag = 0) {
  const Tag t = detail::point_to_point_tag(comm.rank(), comm.size(), peer, tag, "send");
  auto& plumbing = detail::plumbing(comm);
  plumbing.throw_if_broken("send");
  try {
    plumbing.link().isend(peer, std::as_bytes(detail::input_span(data)), t).wait(comm.deadline());
  } catch (const Error& e) {
    throw plumbing.broken_by(e, "send");
  }
}

// Receives exactly data.size() elements.
template <Transport X, OutputBuffer Data>
void recv(Communicator<X>& comm, Data&& data, int peer, int tag = 0) {
  const Tag t = detail::point_to_point_tag(comm.rank(), comm.size(), peer, tag, "recv");
  auto d = std::as_writable_bytes(detail::output_span(data));
  std::size_t got = 0;
  auto& plumbing = detail::plumbing(comm);
  plumbing.throw_if_broken("recv");
  try {
    got = plumbing.link().irecv(peer, d, t).wait(comm.deadline());
  } catch (const Error& e) {
    throw plumbing.broken_by(e, "recv");
  }
  if (got != d.size())
    throw Error(ErrorKind::mismatch, "recv", comm.rank(), peer,
                "expected " + std::to_string(d.size()) + " bytes, received " + std::to_string(got));
}

}  // namespace colt
