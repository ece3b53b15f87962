// TcpStore (transport/tcp_store.hpp) and StoreRendezvous (transport/key_value_store.hpp): ranks
// of one process's threads meet at a loopback address as processes on many machines would:
// every rank gets every blob whatever order they start in, a get waits for its set, and a rank
// that never comes, a server that never listens, a bad address and a stray client each end in
// a clear colt::Error within the deadline.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "colt/transport/key_value_store.hpp"
#include "colt/transport/tcp_store.hpp"
#include "errors.hpp"
#include "random.hpp"

using namespace colt;
using namespace std::chrono_literals;
using test::error_from;

namespace {

using Blob = std::vector<std::byte>;

static_assert(KeyValueStore<TcpStore>);
static_assert(Rendezvous<StoreRendezvous<TcpStore>>);

// A loopback address whose port nothing listens on now (the kernel's pick, then let go).
std::string free_address() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
  socklen_t size = sizeof at;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&at), &size) == 0);
  ::close(fd);
  return "127.0.0.1:" + std::to_string(ntohs(at.sin_port));
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Runs fn(rank) for ranks 0..world-1 in threads; rank 0 starts `late` after the others.
template <class Fn>
std::vector<std::optional<Error>> run_ranks(int world, std::chrono::milliseconds late, Fn fn) {
  std::vector<std::optional<Error>> errors(static_cast<std::size_t>(world));
  std::vector<std::thread> threads;
  for (int r = world - 1; r >= 0; --r) {
    if (r == 0) std::this_thread::sleep_for(late);
    threads.emplace_back(
        [&, r] { errors[static_cast<std::size_t>(r)] = error_from([&] { fn(r); }); });
  }
  for (auto& t : threads) t.join();
  return errors;
}

}  // namespace

TEST_CASE("tcp store: every rank gets every blob, whichever rank starts first") {
  std::mt19937_64 rng(7);
  for (const int world : {1, 2, 5}) {
    CAPTURE(world);
    const std::string address = free_address();
    std::vector<Blob> blobs;
    for (int r = 0; r < world; ++r)
      blobs.push_back(random_bytes(rng, r == 1 ? 0 : r == 2 ? 200 * 1024 : 13 + 7 * r));
    std::vector<std::vector<Blob>> got(static_cast<std::size_t>(world));
    const auto errors = run_ranks(world, 100ms, [&](int rank) {
      const Deadline deadline = Deadline::after(10s);
      TcpStore store(address, rank == 0, rank, deadline);
      StoreRendezvous meet(store, rank, world);
      got[static_cast<std::size_t>(rank)] =
          meet.exchange(blobs[static_cast<std::size_t>(rank)], deadline);
      meet.finish(deadline);
    });
    for (int r = 0; r < world; ++r) {
      CAPTURE(r);
      CHECK_FALSE(errors[static_cast<std::size_t>(r)].has_value());
      CHECK(got[static_cast<std::size_t>(r)] == blobs);
    }
  }
}

TEST_CASE("tcp store: a get waits for its set; a set replaces the value") {
  const std::string address = free_address();
  const Deadline deadline = Deadline::after(10s);
  TcpStore server(address, true, 0, deadline);
  std::thread setter([&] {
    TcpStore client(address, false, 1, deadline);
    std::this_thread::sleep_for(50ms);
    const Blob first{std::byte{1}, std::byte{2}};
    client.set("k", first, deadline);
  });
  const auto started = Clock::now();
  CHECK(server.get("k", deadline) == Blob{std::byte{1}, std::byte{2}});
  CHECK(Clock::now() - started >= 40ms);
  setter.join();
  const Blob second{std::byte{9}};
  server.set("k", second, deadline);
  CHECK(server.get("k", deadline) == second);
}

TEST_CASE("tcp store: a rank that never comes, and a server that never listens, are timeouts") {
  const std::string address = free_address();
  // Ranks 0 and 2 of 3: both wait for rank 1 until the deadline, and name it.
  const auto errors = run_ranks(3, 0ms, [&](int rank) {
    if (rank == 1) return;
    const Deadline deadline = Deadline::after(500ms);
    TcpStore store(address, rank == 0, rank, Deadline::after(10s));
    StoreRendezvous meet(store, rank, 3);
    (void)meet.exchange(Blob{std::byte{1}}, deadline);
  });
  for (const int r : {0, 2}) {
    CAPTURE(r);
    const auto& e = errors[static_cast<std::size_t>(r)];
    REQUIRE(e.has_value());
    CHECK(e->kind() == ErrorKind::timeout);
    CHECK(e->operation() == Operation::rendezvous);
    CHECK(e->peer() == 1);
    CHECK(contains(e->what(), "waiting for rank 1 to join"));
  }
  // Nobody serves this address.
  const auto started = Clock::now();
  const auto e =
      error_from([&] { TcpStore lonely(free_address(), false, 3, Deadline::after(300ms)); });
  REQUIRE(e.has_value());
  CHECK(e->kind() == ErrorKind::timeout);
  CHECK(contains(e->what(), "could not connect to the store at 127.0.0.1:"));
  CHECK(Clock::now() - started < 5s);
}

TEST_CASE("tcp store: bad addresses, a taken port and a stray client") {
  const Deadline deadline = Deadline::after(2s);
  for (const char* bad : {"localhost", "127.0.0.1:", ":99", "127.0.0.1:0", "127.0.0.1:70000",
                          "127.0.0.1:12x", "no-such-host.invalid:29500"}) {
    CAPTURE(bad);
    const auto e = error_from([&] { TcpStore store(bad, true, 0, deadline); });
    REQUIRE(e.has_value());
    CHECK(e->kind() == ErrorKind::invalid_argument);
  }
  const std::string address = free_address();
  TcpStore first(address, true, 0, deadline);
  const auto taken = error_from([&] { TcpStore second(address, true, 0, deadline); });
  REQUIRE(taken.has_value());
  CHECK(taken->kind() == ErrorKind::transport);
  CHECK(contains(taken->what(), "cannot listen at " + address));
  // A client that speaks something else is dropped; the store goes on serving.
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    at.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(10))));
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
    const char junk[] = "GET / HTTP/1.0\r\n\r\n";
    CHECK(::send(fd, junk, sizeof junk, MSG_NOSIGNAL) > 0);
    ::close(fd);
  }
  const Blob value{std::byte{42}};
  first.set("still", value, deadline);
  TcpStore other(address, false, 1, deadline);
  CHECK(other.get("still", deadline) == value);
}
