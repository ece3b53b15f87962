#pragma once
// The communicator an adapter runs its collectives on: a dup() of the caller's where the
// transport can split, so that the adapter's calls take a tag sequence of their own and never
// meet the caller's (or another adapter's), else the caller's communicator itself, borrowed, and
// then the caller must not use it while the adapter's calls are in flight. Making one is
// collective where it dups, so an adapter checks its arguments before (in the initializer of a
// member declared earlier), and a wrong one fails on its own rather than in the dup.

#include <optional>

#include "colt/core/communicator.hpp"
#include "colt/core/transport_concepts.hpp"

namespace colt::detail {

template <Transport X>
class OwnCommunicator {
 public:
  explicit OwnCommunicator(Communicator<X>& comm) {
    if constexpr (SplittableTransport<X>) {
      own_.emplace(comm.dup());
      comm_ = &*own_;
    } else {
      comm_ = &comm;
    }
  }
  OwnCommunicator(const OwnCommunicator&) = delete;  // comm_ may point into own_
  OwnCommunicator& operator=(const OwnCommunicator&) = delete;

  Communicator<X>& operator*() const { return *comm_; }
  Communicator<X>* operator->() const { return comm_; }
  Communicator<X>* get() const { return comm_; }

 private:
  std::optional<Communicator<X>> own_;
  Communicator<X>* comm_ = nullptr;
};

}  // namespace colt::detail
