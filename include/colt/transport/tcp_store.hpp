#pragma once
// TcpStore: a key-value store that the processes of a job reach at one address, host:port, as
// torch's TCPStore is: the process that serves it (usually rank 0's) runs a thread that listens
// there and keeps the values; every process, the server's included, connects as a client. A
// `get` waits until some process has `set` the key. The processes meet through it without an
// MPI launcher and without a directory that every machine sees (FileRendezvous needs one): only
// the server's address must be reachable from every machine. StoreRendezvous
// (key_value_store.hpp) swaps the UCX workers' addresses through it.
//
// Wire (integers little-endian), one request at a time per connection:
//   set   u8 1, u32 key length, key, u32 value length, value   -> u8 1 once stored
//   get   u8 2, u32 key length, key                            -> u32 value length, value, once
//                                                                 the key exists
// Keys and values are at most 1 MiB each. Every wait is bounded by the caller's deadline: a
// server that is not up yet (clients retry the connection, as processes start in any order), a
// key nobody sets, a peer that stops halfway.

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "colt/core/deadline.hpp"
#include "colt/core/error.hpp"
#include "colt/transport/detail/rendezvous_wire.hpp"

namespace colt {

namespace detail::tcp {

namespace rv = detail::rendezvous;

inline constexpr std::uint8_t set_request = 1, get_request = 2;

inline std::string errno_text(int code) { return std::system_category().message(code); }

// "host:port" (or "[v6 address]:port") as its two parts; empty parts when it is not one.
inline std::pair<std::string, std::string> split_address(const std::string& address) {
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) return {};
  std::string host = address.substr(0, colon), port = address.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
      std::stoi(port) < 1 || std::stoi(port) > 65535)
    return {};
  return {host, port};
}

// The addresses `address` names, for a server to listen at or a client to connect to.
struct Resolved {
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list{nullptr, &::freeaddrinfo};
  std::string problem;  // empty when resolved
};
inline Resolved resolve(const std::string& address) {
  Resolved out;
  const auto [host, port] = split_address(address);
  if (host.empty()) {
    out.problem = "'" + address + "' is not host:port (a port from 1 to 65535)";
    return out;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  if (const int status = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &list); status != 0) {
    out.problem = "cannot resolve '" + host + "': " + ::gai_strerror(status);
    return out;
  }
  out.list.reset(list);
  return out;
}

// Milliseconds left before `deadline`, for poll (at least 0).
inline int poll_ms(const Deadline& deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline.at - Clock::now());
  return static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 1000));
}

// Waits until `fd` is ready for `events`, or the deadline passes (false).
inline bool wait_for(int fd, short events, const Deadline& deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int ready = ::poll(&p, 1, poll_ms(deadline));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return false;
    if (deadline.passed()) return false;
  }
}

// Sends or receives all of `bytes` on a non-blocking socket; an empty string when done, else
// what went wrong.
inline std::string send_all(int fd, std::span<const std::byte> bytes, const Deadline& deadline) {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent > 0) {
      bytes = bytes.subspan(static_cast<std::size_t>(sent));
    } else if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      if (!wait_for(fd, POLLOUT, deadline)) return "timed out sending";
    } else {
      return "sending failed: " + errno_text(errno);
    }
  }
  return {};
}
inline std::string recv_all(int fd, std::span<std::byte> bytes, const Deadline& deadline) {
  while (!bytes.empty()) {
    const ssize_t got = ::recv(fd, bytes.data(), bytes.size(), 0);
    if (got > 0) {
      bytes = bytes.subspan(static_cast<std::size_t>(got));
    } else if (got == 0) {
      return "the connection closed";
    } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      if (!wait_for(fd, POLLIN, deadline)) return "timed out receiving";
    } else {
      return "receiving failed: " + errno_text(errno);
    }
  }
  return {};
}

inline void make_non_blocking(int fd) {
  (void)::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// One request at the front of a client's bytes, as the server reads them: complete (its op, key
// and value, and how many bytes it took), incomplete (the rest is on its way), or malformed
// (not a colt client: an unknown op, or a length over the limit).
struct Request {
  enum class Status : std::uint8_t { complete, incomplete, malformed };
  Status status = Status::incomplete;
  std::uint8_t op = 0;
  std::string key, value;
  std::size_t consumed = 0;
};

inline Request parse_request(std::span<const std::byte> in) {
  Request r;
  if (in.empty()) return r;
  r.op = std::to_integer<std::uint8_t>(in[0]);
  if (r.op != set_request && r.op != get_request) {
    r.status = Request::Status::malformed;
    return r;
  }
  std::size_t at = 1;
  // A u32 length and its bytes; false while they are not all here, or when malformed.
  const auto field = [&](std::string& into) {
    if (in.size() - at < 4) return false;
    const std::uint64_t length = rv::get(in, at, 4);
    if (length > rv::max_blob) {
      r.status = Request::Status::malformed;
      return false;
    }
    if (in.size() - at - 4 < length) return false;
    into.assign(reinterpret_cast<const char*>(in.data() + at + 4), length);
    at += 4 + length;
    return true;
  };
  if (field(r.key) && (r.op != set_request || field(r.value))) {
    r.status = Request::Status::complete;
    r.consumed = at;
  }
  return r;
}

// The server: one thread, poll over the listening socket and every client; requests are parsed
// from each client's bytes as they arrive, and a get whose key is missing waits in `waiting`.
class Server {
 public:
  // Listens at `address` (resolved), or throws.
  Server(const std::string& address, int rank) : rank_(rank) {
    Resolved at = resolve(address);
    if (!at.problem.empty()) throw failure(ErrorKind::invalid_argument, at.problem);
    std::string problem = "no address";
    for (const addrinfo* a = at.list.get(); a; a = a->ai_next) {
      rv::Fd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
      if (fd.get() < 0) {
        problem = errno_text(errno);
        continue;
      }
      const int yes = 1;  // a job restarted at once finds its port in TIME_WAIT
      (void)::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
      if (::bind(fd.get(), a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd.get(), SOMAXCONN) != 0) {
        problem = errno_text(errno);
        continue;
      }
      make_non_blocking(fd.get());
      listening_ = std::move(fd);
      break;
    }
    if (listening_.get() < 0)
      throw failure(ErrorKind::transport, "cannot listen at " + address + ": " + problem);
    thread_ = std::thread([this] { run(); });
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server() {
    stopping_.store(true, std::memory_order_relaxed);
    thread_.join();
  }

 private:
  struct Client {
    rv::Fd fd;
    std::vector<std::byte> in;   // bytes of requests not yet handled
    std::vector<std::byte> out;  // replies not yet sent
    std::string waiting_for;     // the key of a get that waits, if any
    bool waiting = false;
  };

  Error failure(ErrorKind kind, const std::string& cause) const {
    return Error(kind, Operation::rendezvous, Error::Rank{rank_}, "TcpStore: " + cause);
  }

  void run() noexcept {
    std::vector<pollfd> polled;
    while (!stopping_.load(std::memory_order_relaxed)) {
      polled.assign(1, pollfd{listening_.get(), POLLIN, 0});
      for (const auto& c : clients_)
        polled.push_back(
            pollfd{c->fd.get(), static_cast<short>(POLLIN | (c->out.empty() ? 0 : POLLOUT)), 0});
      if (::poll(polled.data(), polled.size(), 50) <= 0) continue;
      if (polled[0].revents & POLLIN) accept_clients();
      for (std::size_t i = 1; i < polled.size(); ++i) {
        Client& c = *clients_[i - 1];
        if (polled[i].revents & (POLLIN | POLLHUP | POLLERR)) read_from(c);
        if (c.fd.get() >= 0 && !c.out.empty()) write_to(c);
      }
      std::erase_if(clients_, [](const auto& c) { return c->fd.get() < 0; });
    }
  }

  void accept_clients() {
    for (;;) {
      const int fd = ::accept4(listening_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      const int yes = 1;
      (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
      clients_.push_back(std::make_unique<Client>(Client{rv::Fd(fd), {}, {}, {}, false}));
    }
  }

  void read_from(Client& c) {
    std::byte buffer[64 * 1024];
    for (;;) {
      const ssize_t got = ::recv(c.fd.get(), buffer, sizeof buffer, 0);
      if (got > 0) {
        c.in.insert(c.in.end(), buffer, buffer + got);
        continue;
      }
      if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        (void)c.fd.close();  // gone: a process that finished, or died
        return;
      }
      break;
    }
    handle_requests(c);
  }

  // Handles every complete request at the front of c.in; a malformed one closes the client.
  void handle_requests(Client& c) {
    while (!c.waiting && !c.in.empty()) {
      Request r = parse_request(c.in);
      if (r.status == Request::Status::malformed) {
        (void)c.fd.close();  // not a colt client
        return;
      }
      if (r.status == Request::Status::incomplete) return;  // the rest is on its way
      c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(r.consumed));
      if (r.op == set_request) {
        c.out.push_back(std::byte{1});
        values_[r.key] = std::move(r.value);
        answer_waiting(r.key);
      } else {
        c.waiting = true;
        c.waiting_for = std::move(r.key);
        answer_waiting(c.waiting_for);
      }
    }
  }

  // Answers every client whose get waits for `key`, once it exists.
  void answer_waiting(const std::string& key) {
    const auto found = values_.find(key);
    if (found == values_.end()) return;
    for (auto& other : clients_) {
      if (!other->waiting || other->waiting_for != key) continue;
      rv::put(other->out, found->second.size(), 4);
      const auto* bytes = reinterpret_cast<const std::byte*>(found->second.data());
      other->out.insert(other->out.end(), bytes, bytes + found->second.size());
      other->waiting = false;
      handle_requests(*other);
    }
  }

  void write_to(Client& c) {
    const ssize_t sent = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (sent > 0)
      c.out.erase(c.out.begin(), c.out.begin() + sent);
    else if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      (void)c.fd.close();
  }

  int rank_;
  rv::Fd listening_{-1};
  std::vector<std::unique_ptr<Client>> clients_;
  std::map<std::string, std::string> values_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;  // last: starts once the rest is made
};

}  // namespace detail::tcp

class TcpStore {
 public:
  // A client of the store at `address` ("host:port"); with `serve`, this process also serves
  // it there (one process of the job does: rank 0's, as a rule). `rank` only names this process
  // in errors. Connecting waits for the server (processes start in any order), until `deadline`.
  TcpStore(std::string address, bool serve, int rank, const Deadline& deadline)
      : address_(std::move(address)), rank_(rank) {
    if (serve) server_ = std::make_unique<detail::tcp::Server>(address_, rank_);
    connect(deadline);
  }

  const std::string& address() const { return address_; }

  void set(const std::string& key, std::span<const std::byte> value, const Deadline& deadline) {
    std::vector<std::byte> request{std::byte{detail::tcp::set_request}};
    append(request, key);
    append(request, value);
    std::byte ack{};
    exchange(request, std::span(&ack, 1), "set '" + key + "'", deadline);
  }

  // The value of `key`, once some process has set it.
  std::vector<std::byte> get(const std::string& key, const Deadline& deadline) {
    std::vector<std::byte> request{std::byte{detail::tcp::get_request}};
    append(request, key);
    std::byte length[4];
    exchange(request, length, "get '" + key + "'", deadline);
    std::vector<std::byte> value(detail::rendezvous::get(length, 0, 4));
    if (std::string problem = detail::tcp::recv_all(socket_.get(), value, deadline);
        !problem.empty())
      throw failure(problem, "get '" + key + "'", deadline);
    return value;
  }

 private:
  void connect(const Deadline& deadline) {
    namespace tcp = detail::tcp;
    tcp::Resolved at = tcp::resolve(address_);
    if (!at.problem.empty())
      throw Error(ErrorKind::invalid_argument, Operation::rendezvous, Error::Rank{rank_},
                  "TcpStore: " + at.problem);
    detail::rendezvous::Backoff backoff;
    std::string problem = "no address";
    for (;;) {
      for (const addrinfo* a = at.list.get(); a; a = a->ai_next) {
        detail::rendezvous::Fd fd(
            ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
        if (fd.get() < 0) {
          problem = tcp::errno_text(errno);
          continue;
        }
        if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
          problem = tcp::errno_text(errno);
          continue;
        }
        int error = 0;
        socklen_t size = sizeof error;
        if (!tcp::wait_for(fd.get(), POLLOUT, deadline)) {
          problem = "no answer";
          continue;
        }
        (void)::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &size);
        if (error != 0) {
          problem = tcp::errno_text(error);
          continue;
        }
        const int yes = 1;
        (void)::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
        socket_ = std::move(fd);
        return;
      }
      if (deadline.passed())
        throw Error(ErrorKind::timeout, Operation::rendezvous, Error::Rank{rank_},
                    "TcpStore: could not connect to the store at " + address_ + " within " +
                        deadline.budget_text() + " (" + problem +
                        "): is the process that serves it (rank 0) running, and is the address "
                        "reachable from this machine?");
      backoff.sleep(deadline);
    }
  }

  static void append(std::vector<std::byte>& out, std::string_view bytes) {
    append(out, std::as_bytes(std::span(bytes.data(), bytes.size())));
  }
  static void append(std::vector<std::byte>& out, std::span<const std::byte> bytes) {
    detail::rendezvous::put(out, bytes.size(), 4);
    out.insert(out.end(), bytes.begin(), bytes.end());
  }

  void exchange(std::span<const std::byte> request, std::span<std::byte> reply,
                const std::string& what, const Deadline& deadline) {
    std::string problem = detail::tcp::send_all(socket_.get(), request, deadline);
    if (problem.empty()) problem = detail::tcp::recv_all(socket_.get(), reply, deadline);
    if (!problem.empty()) throw failure(problem, what, deadline);
  }

  Error failure(const std::string& problem, const std::string& what,
                const Deadline& deadline) const {
    const bool late = deadline.passed();
    return Error(late ? ErrorKind::timeout : ErrorKind::transport, Operation::rendezvous,
                 Error::Rank{rank_},
                 "TcpStore at " + address_ + ": " + what + ": " + problem +
                     (late ? " (" + deadline.budget_text() + ")" : ""));
  }

  std::string address_;
  int rank_;
  std::unique_ptr<detail::tcp::Server> server_;  // before the socket: it outlives our client
  detail::rendezvous::Fd socket_{-1};
};

}  // namespace colt
