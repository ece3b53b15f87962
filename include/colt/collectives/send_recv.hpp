#pragma once
// Point-to-point: send and receive of a typed buffer between two ranks, with a user tag
// (0..65535) to keep streams apart. They use their own tag space, so they never meet collective
// traffic; between two ranks, messages with the same tag arrive in the order they were sent.
// Like every colt wait, they end in a colt::Error at the communicator's timeout.
//
// isend and irecv start the transfer and return a Request at once (core/request.hpp). The
// message is posted by the communicator's progress engine, which also finishes it: a rank may
// start its receive before, or at the same time as, the send it waits for (both ranks irecv,
// then isend, then wait), as with MPI_Irecv and MPI_Isend.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "colt/collectives/detail/buffers.hpp"
#include "colt/collectives/detail/start.hpp"
#include "colt/core/communicator.hpp"
#include "colt/core/detail/check_peer.hpp"
#include "colt/core/error.hpp"
#include "colt/core/request.hpp"
#include "colt/core/tag.hpp"

namespace colt {

namespace detail {
inline Tag point_to_point_tag(int rank, int size, int peer, int user_tag, Operation what) {
  check_peer(what, rank, peer, size);
  if (user_tag < 0 || user_tag > static_cast<int>(Tag::sequence_mask))
    throw Error(ErrorKind::invalid_argument, what, Error::Rank{rank}, Error::Peer{peer},
                "tag " + std::to_string(user_tag) + " is outside 0..65535");
  return Tag::make(CollectiveKind::point_to_point, static_cast<std::uint32_t>(user_tag));
}

// A receive that delivered `got` bytes where `expected` were wanted.
inline void check_received(int rank, int peer, std::size_t expected, std::size_t got) {
  if (got != expected)
    throw Error(ErrorKind::mismatch, Operation::recv, Error::Rank{rank}, Error::Peer{peer},
                "expected " + std::to_string(expected) + " bytes, received " + std::to_string(got));
}

// Records a message in the communicator's flight recorder (core/flight_recorder.hpp).
template <Transport X>
RecordHandle record_message(Communicator<X>& comm, Operation what, int peer, int tag,
                            std::size_t bytes) {
  FlightRecorder* recorder = detail::plumbing(comm).recorder();
  if (!recorder) return {};
  return recorder->begin_message(what == Operation::recv, peer, tag, bytes, comm.calls(),
                                 on_progress_thread);
}

// A message failed: recorded, the communicator broken, and its trace written where the
// settings ask for one.
template <Transport X>
Error message_failed(Communicator<X>& comm, const RecordHandle& record, const Error& e,
                     Operation what) {
  FlightRecorder::failed(record.live(), e);
  Error named = detail::plumbing(comm).broken_by(e, what);
  dump_trace_on_failure(comm, named);
  return named;
}

template <Transport X>
void send_now(Communicator<X>& comm, std::span<const std::byte> bytes, int peer, int tag) {
  const Tag t = point_to_point_tag(comm.rank(), comm.size(), peer, tag, Operation::send);
  auto& plumbing = detail::plumbing(comm);
  plumbing.throw_if_broken(Operation::send);
  const RecordHandle record = record_message(comm, Operation::send, peer, tag, bytes.size());
  const ThisThreadsCall watched(record.live());
  try {
    plumbing.link().isend(peer, bytes, t).wait(comm.deadline());
  } catch (const Error& e) {
    throw message_failed(comm, record, e, Operation::send);
  }
  FlightRecorder::finished_message(record.live());
}

template <Transport X>
void recv_now(Communicator<X>& comm, std::span<std::byte> bytes, int peer, int tag) {
  const Tag t = point_to_point_tag(comm.rank(), comm.size(), peer, tag, Operation::recv);
  auto& plumbing = detail::plumbing(comm);
  std::size_t got = 0;
  plumbing.throw_if_broken(Operation::recv);
  const RecordHandle record = record_message(comm, Operation::recv, peer, tag, bytes.size());
  const ThisThreadsCall watched(record.live());
  try {
    got = plumbing.link().irecv(peer, bytes, t).wait(comm.deadline());
  } catch (const Error& e) {
    throw message_failed(comm, record, e, Operation::recv);
  }
  try {
    check_received(comm.rank(), peer, bytes.size(), got);  // leaves the communicator whole
  } catch (const Error& e) {
    FlightRecorder::failed(record.live(), e);
    throw;
  }
  FlightRecorder::finished_message(record.live());
}

// Runs on the progress engine: posts the message of `bytes` (`post(link, tag)`), then has the
// engine poll it until it is done or its deadline passes. `expected` is a receive's size.
template <Transport X, class Post>
void post_message(Communicator<X>& comm, const std::shared_ptr<RequestState>& operation,
                  Operation what, int peer, int tag, std::size_t bytes,
                  std::optional<std::size_t> expected, Post post) noexcept {
  auto& plumbing = detail::plumbing(comm);
  RecordHandle record;
  try {
    const Tag t = point_to_point_tag(comm.rank(), comm.size(), peer, tag, what);
    plumbing.throw_if_broken(what);
    record = record_message(comm, what, peer, tag, bytes);
    using Message = request_t<link_t<X>>;
    std::shared_ptr<Message> message;
    try {
      message = std::make_shared<Message>(post(plumbing.link(), t));
    } catch (const Error& e) {
      throw message_failed(comm, record, e, what);
    }
    engine(comm).watch([&comm, operation, message, expected, what, peer, record,
                        deadline = comm.deadline()]() mutable noexcept {
      try {
        std::size_t got = 0;
        auto& plumbing = detail::plumbing(comm);
        if (operation->cancel_requested.load(std::memory_order_relaxed) || plumbing.failure()) {
          message.reset();  // cancels it where it has not finished
          plumbing.throw_if_broken(what);
          throw Error(ErrorKind::aborted, what, Error::Rank{comm.rank()}, Error::Peer{peer},
                      "cancelled");
        }
        try {
          if (!message->test() && !deadline.passed()) return false;
          got = message->wait(deadline);  // done: at once; else the deadline's error
        } catch (const Error& e) {
          throw message_failed(comm, record, e, what);
        }
        if (expected) check_received(comm.rank(), peer, *expected, got);
        FlightRecorder::finished_message(record.live());
        operation->finish(nullptr);
      } catch (const Error& e) {
        FlightRecorder::failed(record.live(), e);  // once: a failed entry stays failed
        operation->finish(outcome_of_current_exception());
      } catch (...) {
        operation->finish(outcome_of_current_exception());
      }
      return true;
    });
  } catch (const Error& e) {
    FlightRecorder::failed(record.live(), e);
    operation->finish(outcome_of_current_exception());
  } catch (...) {
    operation->finish(outcome_of_current_exception());
  }
}

template <Transport X, class Post>
Request start_message(Communicator<X>& comm, Operation what, int peer, int tag, std::size_t bytes,
                      std::optional<std::size_t> expected, Post post) {
  auto operation = std::make_shared<RequestState>();
  engine(comm).submit([&comm, operation, what, peer, tag, bytes, expected, post]() noexcept {
    post_message(comm, operation, what, peer, tag, bytes, expected, post);
  });
  return Request(std::move(operation));
}
}  // namespace detail

template <Transport X, InputBuffer Data>
void send(Communicator<X>& comm, Data&& data, int peer, int tag = 0) {
  const auto bytes = std::as_bytes(detail::input_span(data));
  detail::run_in_order(detail::engine_if_started(comm),
                       [&] { detail::send_now(comm, bytes, peer, tag); });
}

// Receives exactly data.size() elements.
template <Transport X, OutputBuffer Data>
void recv(Communicator<X>& comm, Data&& data, int peer, int tag = 0) {
  const auto bytes = std::as_writable_bytes(detail::output_span(data));
  detail::run_in_order(detail::engine_if_started(comm),
                       [&] { detail::recv_now(comm, bytes, peer, tag); });
}

// Started forms: the buffer is the message's until the request is finished.
template <Transport X, LastingInputBuffer Data>
Request isend(Communicator<X>& comm, Data&& data, int peer, int tag = 0) {
  const auto bytes = std::as_bytes(detail::input_span(data));
  return detail::start_message(
      comm, Operation::send, peer, tag, bytes.size(), std::nullopt,
      [bytes, peer](auto& link, Tag t) { return link.isend(peer, bytes, t); });
}

// Finishes with a colt::Error (mismatch) unless exactly data.size() elements arrive.
template <Transport X, LastingOutputBuffer Data>
Request irecv(Communicator<X>& comm, Data&& data, int peer, int tag = 0) {
  const auto bytes = std::as_writable_bytes(detail::output_span(data));
  return detail::start_message(
      comm, Operation::recv, peer, tag, bytes.size(), bytes.size(),
      [bytes, peer](auto& link, Tag t) { return link.irecv(peer, bytes, t); });
}

}  // namespace colt
