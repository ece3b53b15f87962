#pragma once
// A test decorator that hides the in-process transport's zero-copy receive, so every algorithm
// takes the path a remote transport (MPI, UCX) takes: receive into the workspace, then reduce.

#include <span>

#include "colt/core/communicator.hpp"
#include "colt/core/transport_concepts.hpp"
#include "colt/transport/inprocess.hpp"

namespace colt::test {

class CopyTransport {
 public:
  explicit CopyTransport(inprocess::Transport inner) : inner_(std::move(inner)) {}

  int rank() const { return inner_.rank(); }
  int size() const { return inner_.size(); }
  inprocess::Request isend(int peer, std::span<const std::byte> data, Tag tag) {
    return inner_.isend(peer, data, tag);
  }
  inprocess::Request irecv(int peer, std::span<std::byte> buffer, Tag tag) {
    return inner_.irecv(peer, buffer, tag);
  }

 private:
  inprocess::Transport inner_;
};

static_assert(Transport<CopyTransport>);
static_assert(!ViewTransport<CopyTransport>);

using CopyCommunicator = Communicator<CopyTransport>;

// fn(CopyCommunicator&) on `ranks` in-process threads, without zero-copy receives.
template <class Fn>
void launch_copying(int ranks, Fn&& fn) {
  inprocess::launch(ranks, [&](inprocess::Communicator& comm) {
    CopyCommunicator copying(CopyTransport(comm.transport()),
                             CommunicatorOptions{.timeout = comm.timeout()});
    fn(copying);
  });
}

}  // namespace colt::test
