#pragma once
// Checksummed<T>: the integrity option (COLT_CHECKSUM=1, or CommunicatorOptions::checksum) as a
// transport decorator. Switched on, every message is followed by a 4-byte trailer carrying the
// CRC32C of its bytes, computed by the sender when it posts the message; the receiver computes
// the CRC of what arrived and raises a colt::Error naming the peer when the two differ. Switched
// off, it forwards every call unchanged: one branch per message.
//
// Why a trailer message, not bytes appended to the payload: colt sends from and receives into
// the caller's buffers (in-process ranks even read each other's memory), so there is no room
// to append to. The trailer has the same peer and tag as its message and is posted right after
// it on both sides; every colt transport matches messages between a pair of ranks with the same
// tag in posting order, so each trailer meets the receive posted for it.
//
// Like faults::Injector it is a Transport wrapping any Transport. It lives in core, not beside
// the transports, because every communicator composes one over the transport it is given (the
// option is a run-time switch, so it cannot be a type the user stacks): the option then covers
// every algorithm on every transport, above any decorator underneath (the fault injector's
// corruptions are caught here).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "colt/core/crc32c.hpp"
#include "colt/core/detail/describe_message.hpp"
#include "colt/core/error.hpp"
#include "colt/core/tag.hpp"
#include "colt/core/transport_concepts.hpp"

namespace colt {

namespace detail {

inline std::string checksum_mismatch(int peer, Tag tag, std::size_t bytes, std::uint32_t computed,
                                     std::uint32_t sent) {
  char crcs[64];
  (void)std::snprintf(crcs, sizeof crcs, "CRC32C 0x%08x, the sender's 0x%08x", computed, sent);
  return "message of " + std::to_string(bytes) + " bytes is corrupt: " + crcs + ", while " +
         describe_message(false, peer, tag) + " (COLT_CHECKSUM)";
}

// The trailer of one message and the request that moves it. Heap-allocated so the 4 bytes stay
// put while the request object moves (the transport reads or writes them in place).
template <class InnerRequest>
struct Trailer {
  std::uint32_t crc = 0;
  std::optional<InnerRequest> request;
  bool finished = false;
  bool receiving = false;             // the trailer of a message this rank receives
  std::span<const std::byte> buffer;  // where that message lands (not for views)
  int rank = 0, peer = 0;
  Tag tag{};

  // Waits for the trailer; true the first time only (when the message is to be checked).
  bool arrive(const Deadline& deadline) {
    if (finished) return false;
    request->wait(deadline);
    return finished = true;
  }
  // The message's bytes against the CRC the sender put in the trailer.
  void check(std::span<const std::byte> bytes) const {
    const std::uint32_t computed = crc32c(bytes);
    if (computed != crc)
      throw Error(ErrorKind::corrupt, Operation::unnamed, Error::Rank{rank}, Error::Peer{peer},
                  checksum_mismatch(peer, tag, bytes.size(), computed, crc));
  }
};

}  // namespace detail

template <Transport T>
class Checksummed {
 public:
  using inner_request = decltype(std::declval<T&>().isend(0, std::span<const std::byte>{}, Tag{}));
  using trailer_ptr = std::unique_ptr<detail::Trailer<inner_request>>;

  class Request {
   public:
    Request() = default;
    Request(inner_request data, trailer_ptr trailer)
        : data_(std::move(data)), trailer_(std::move(trailer)) {}

    std::size_t wait(const Deadline& deadline) {
      const std::size_t n = data_->wait(deadline);
      if (trailer_ && trailer_->arrive(deadline) && trailer_->receiving)
        trailer_->check(trailer_->buffer.first(n));
      return n;
    }
    bool test() { return data_->test() && (!trailer_ || trailer_->request->test()); }

   private:
    // The trailer is declared after the message, so its request is destroyed (cancelled)
    // first: it was posted second.
    std::optional<inner_request> data_;
    trailer_ptr trailer_;
  };

  Checksummed(T inner, bool enabled) : inner_(std::move(inner)), enabled_(enabled) {}

  int rank() const { return static_cast<int>(inner_.rank()); }
  int size() const { return static_cast<int>(inner_.size()); }
  bool enabled() const { return enabled_; }
  T& inner() { return inner_; }
  const T& inner() const { return inner_; }

  Request isend(int peer, std::span<const std::byte> data, Tag tag) {
    inner_request message = inner_.isend(peer, data, tag);
    if (!enabled_) return Request(std::move(message), nullptr);
    trailer_ptr trailer = make_trailer(peer, tag);
    trailer->crc = crc32c(data);
    trailer->request.emplace(inner_.isend(peer, std::as_bytes(std::span(&trailer->crc, 1)), tag));
    return Request(std::move(message), std::move(trailer));
  }

  Request irecv(int peer, std::span<std::byte> buffer, Tag tag) {
    inner_request message = inner_.irecv(peer, buffer, tag);
    if (!enabled_) return Request(std::move(message), nullptr);
    return Request(std::move(message), receive_trailer(peer, tag, buffer));
  }

  // Zero-copy receive (where T has it): the CRC is computed over the sender's bytes in place.
  auto irecv_view(int peer, Tag tag)
    requires ViewTransport<T>
  {
    using InnerView = decltype(inner_.irecv_view(peer, tag));
    class ViewRequest {
     public:
      ViewRequest(InnerView view, trailer_ptr trailer)
          : view_(std::move(view)), trailer_(std::move(trailer)) {}

      std::span<const std::byte> wait(const Deadline& deadline) {
        std::span<const std::byte> bytes = view_->wait(deadline);
        if (trailer_ && trailer_->arrive(deadline)) trailer_->check(bytes);
        return bytes;
      }
      void release() { view_->release(); }

     private:
      std::optional<InnerView> view_;
      trailer_ptr trailer_;
    };
    InnerView view = inner_.irecv_view(peer, tag);
    if (!enabled_) return ViewRequest(std::move(view), nullptr);
    return ViewRequest(std::move(view), receive_trailer(peer, tag, {}));
  }

 private:
  trailer_ptr make_trailer(int peer, Tag tag) const {
    auto trailer = std::make_unique<detail::Trailer<inner_request>>();
    trailer->rank = rank();
    trailer->peer = peer;
    trailer->tag = tag;
    return trailer;
  }
  // Posted right after the message's own receive, so it meets that message's trailer.
  trailer_ptr receive_trailer(int peer, Tag tag, std::span<const std::byte> buffer) {
    trailer_ptr trailer = make_trailer(peer, tag);
    trailer->receiving = true;
    trailer->buffer = buffer;
    trailer->request.emplace(
        inner_.irecv(peer, std::as_writable_bytes(std::span(&trailer->crc, 1)), tag));
    return trailer;
  }

  T inner_;
  bool enabled_;
};

}  // namespace colt
