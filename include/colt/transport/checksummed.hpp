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
// Every communicator holds its transport in one of these (Communicator::link()), so the option
// covers every algorithm on every transport, and sits above any decorator underneath (the fault
// injector's corruptions are caught here).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "colt/core/crc32c.hpp"
#include "colt/core/error.hpp"
#include "colt/core/tag.hpp"
#include "colt/transport/concepts.hpp"
#include "colt/transport/detail/describe.hpp"

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
};

}  // namespace detail

template <Transport T>
class Checksummed {
 public:
  using inner_request = decltype(std::declval<T&>().isend(0, std::span<const std::byte>{}, Tag{}));

  class Request {
   public:
    Request() = default;
    Request(inner_request data, std::unique_ptr<detail::Trailer<inner_request>> trailer, int rank,
            int peer, Tag tag, std::span<const std::byte> received)
        : data_(std::move(data)), trailer_(std::move(trailer)), received_(received),
          rank_(rank), peer_(peer), tag_(tag) {}

    std::size_t wait(const Deadline& deadline) {
      const std::size_t n = data_->wait(deadline);
      if (trailer_ && !trailer_->finished) {
        trailer_->request->wait(deadline);
        trailer_->finished = true;
        if (!receiving_) return n;
        const std::uint32_t computed = crc32c(received_.first(n));
        if (computed != trailer_->crc)
          throw Error("", rank_, peer_, detail::checksum_mismatch(peer_, tag_, n, computed, trailer_->crc));
      }
      return n;
    }
    bool test() { return data_->test() && (!trailer_ || trailer_->request->test()); }

   private:
    friend class Checksummed;
    // The trailer is declared after the message, so its request is destroyed (cancelled)
    // first: it was posted second.
    std::optional<inner_request> data_;
    std::unique_ptr<detail::Trailer<inner_request>> trailer_;
    std::span<const std::byte> received_;
    bool receiving_ = false;
    int rank_ = 0, peer_ = 0;
    Tag tag_{};
  };

  Checksummed(T inner, bool enabled) : inner_(std::move(inner)), enabled_(enabled) {}

  int rank() const { return static_cast<int>(inner_.rank()); }
  int size() const { return static_cast<int>(inner_.size()); }
  bool enabled() const { return enabled_; }
  T& inner() { return inner_; }
  const T& inner() const { return inner_; }

  Request isend(int peer, std::span<const std::byte> data, Tag tag) {
    inner_request message = inner_.isend(peer, data, tag);
    if (!enabled_) return Request(std::move(message), nullptr, rank(), peer, tag, {});
    auto trailer = std::make_unique<detail::Trailer<inner_request>>();
    trailer->crc = crc32c(data);
    trailer->request.emplace(inner_.isend(peer, std::as_bytes(std::span(&trailer->crc, 1)), tag));
    return Request(std::move(message), std::move(trailer), rank(), peer, tag, {});
  }

  Request irecv(int peer, std::span<std::byte> buffer, Tag tag) {
    inner_request message = inner_.irecv(peer, buffer, tag);
    if (!enabled_) return Request(std::move(message), nullptr, rank(), peer, tag, {});
    auto trailer = std::make_unique<detail::Trailer<inner_request>>();
    trailer->request.emplace(
        inner_.irecv(peer, std::as_writable_bytes(std::span(&trailer->crc, 1)), tag));
    Request request(std::move(message), std::move(trailer), rank(), peer, tag, buffer);
    request.receiving_ = true;
    return request;
  }

  // Zero-copy receive (where T has it): the CRC is computed over the sender's bytes in place.
  auto irecv_view(int peer, Tag tag)
    requires ViewTransport<T>
  {
    using InnerView = decltype(inner_.irecv_view(peer, tag));
    class ViewRequest {
     public:
      ViewRequest(InnerView view, std::unique_ptr<detail::Trailer<inner_request>> trailer,
                  int rank, int peer, Tag tag)
          : view_(std::move(view)), trailer_(std::move(trailer)), rank_(rank), peer_(peer), tag_(tag) {}

      std::span<const std::byte> wait(const Deadline& deadline) {
        std::span<const std::byte> bytes = view_->wait(deadline);
        if (trailer_ && !trailer_->finished) {
          trailer_->request->wait(deadline);
          trailer_->finished = true;
          const std::uint32_t computed = crc32c(bytes);
          if (computed != trailer_->crc)
            throw Error("", rank_, peer_,
                        detail::checksum_mismatch(peer_, tag_, bytes.size(), computed, trailer_->crc));
        }
        return bytes;
      }
      void release() { view_->release(); }

     private:
      std::optional<InnerView> view_;
      std::unique_ptr<detail::Trailer<inner_request>> trailer_;
      int rank_, peer_;
      Tag tag_;
    };
    InnerView view = inner_.irecv_view(peer, tag);
    if (!enabled_) return ViewRequest(std::move(view), nullptr, rank(), peer, tag);
    auto trailer = std::make_unique<detail::Trailer<inner_request>>();
    trailer->request.emplace(
        inner_.irecv(peer, std::as_writable_bytes(std::span(&trailer->crc, 1)), tag));
    return ViewRequest(std::move(view), std::move(trailer), rank(), peer, tag);
  }

 private:
  T inner_;
  bool enabled_;
};

}  // namespace colt
