#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "colt/transport/inprocess.hpp"
#include "random.hpp"
#include "errors.hpp"
#include "wall_time.hpp"

using namespace colt;
using colt::test::error_from;
using colt::test::error_kind;
using colt::test::within;
using namespace std::chrono_literals;

namespace {
Deadline soon() { return Deadline::after(10s); }
Tag tag(std::uint32_t sequence) { return Tag::make(CollectiveKind::internal, sequence); }
}  // namespace

TEST_CASE("inprocess: messages arrive intact whichever side posts first") {
  std::mt19937_64 rng(test::base_seed());
  const auto payload = test::random_buffer<std::int64_t>(rng, 4099);
  for (bool receiver_first : {false, true}) {
    CAPTURE(receiver_first);
    inprocess::launch(2, [&](inprocess::Communicator& comm) {
      auto& t = comm.transport();
      if (comm.rank() == 0) {
        if (receiver_first) std::this_thread::sleep_for(20ms);
        t.isend(1, std::as_bytes(std::span(payload)), tag(1)).wait(soon());
      } else {
        if (!receiver_first) std::this_thread::sleep_for(20ms);
        std::vector<std::int64_t> got(payload.size());
        CHECK(t.irecv(0, std::as_writable_bytes(std::span(got)), tag(1)).wait(soon()) ==
              got.size() * 8);
        CHECK(got == payload);
      }
    });
  }
}

TEST_CASE(
    "inprocess: equal tags between one pair match in posting order; other tags do not match") {
  inprocess::launch(2, [&](inprocess::Communicator& comm) {
    auto& t = comm.transport();
    if (comm.rank() == 0) {
      std::vector<int> values = {11, 22, 33};
      int other = 99;
      auto a = t.isend(1, std::as_bytes(std::span(&other, 1)), tag(2));
      std::vector<inprocess::Request> sends;
      for (int& v : values) sends.push_back(t.isend(1, std::as_bytes(std::span(&v, 1)), tag(1)));
      for (auto& s : sends) s.wait(soon());
      a.wait(soon());
    } else {
      int got[3] = {};
      int other = 0;
      std::vector<inprocess::Request> receives;
      for (int& g : got)
        receives.push_back(t.irecv(0, std::as_writable_bytes(std::span(&g, 1)), tag(1)));
      for (auto& r : receives) r.wait(soon());
      t.irecv(0, std::as_writable_bytes(std::span(&other, 1)), tag(2)).wait(soon());
      CHECK(got[0] == 11);
      CHECK(got[1] == 22);
      CHECK(got[2] == 33);
      CHECK(other == 99);
    }
  });
}

TEST_CASE("inprocess: a view reads the sender's own memory; the send completes on release") {
  std::vector<float> data = {1.5f, 2.5f, 3.5f};
  inprocess::launch(2, [&](inprocess::Communicator& comm) {
    auto& t = comm.transport();
    if (comm.rank() == 0) {
      auto send = t.isend(1, std::as_bytes(std::span(data)), tag(3));
      send.wait(soon());
    } else {
      auto view = t.irecv_view(0, tag(3));
      std::span<const std::byte> bytes = view.wait(soon());
      CHECK(bytes.data() == reinterpret_cast<const std::byte*>(data.data()));  // zero copy
      CHECK(bytes.size() == 12);
      view.release();
    }
  });
}

TEST_CASE("inprocess: a message larger than the receive buffer is an error, not an overflow") {
  inprocess::launch(2, [&](inprocess::Communicator& comm) {
    auto& t = comm.transport();
    std::vector<int> data(8, 7);
    if (comm.rank() == 0) {
      t.isend(1, std::as_bytes(std::span(data)), tag(4)).wait(soon());
    } else {
      std::vector<int> small(4, -1);
      auto r = t.irecv(0, std::as_writable_bytes(std::span(small)), tag(4));
      CHECK(error_kind([&] { r.wait(soon()); }) == ErrorKind::mismatch);
      CHECK(small == std::vector<int>(4, -1));
    }
  });
}

TEST_CASE("inprocess: a wait that nobody answers times out with the peer and the time") {
  inprocess::launch(2, [&](inprocess::Communicator& comm) {
    if (comm.rank() == 1) {
      std::vector<int> buffer(1);
      const auto start = Clock::now();
      auto r = comm.transport().irecv(0, std::as_writable_bytes(std::span(buffer)), tag(5));
      const auto error = error_from([&] { r.wait(Deadline::after(150ms)); });
      REQUIRE(error);
      CHECK(error->kind() == ErrorKind::timeout);
      CHECK(error->peer() == 0);
      const double waited = std::chrono::duration<double>(Clock::now() - start).count();
      CHECK(waited >= 0.15);
      CHECK(waited < within(0.15));
    }
    comm.transport().group();  // rank 0 does nothing
    std::this_thread::sleep_for(comm.rank() == 0 ? 400ms : 0ms);
  });
}

TEST_CASE("inprocess: a peer that returned without sending is reported, not waited for") {
  CHECK(
      error_kind([&] {
        inprocess::launch(2, [&](inprocess::Communicator& comm) {
          if (comm.rank() == 0) return;
          std::vector<int> buffer(1);
          comm.transport().irecv(0, std::as_writable_bytes(std::span(buffer)), tag(6)).wait(soon());
        });
      }) == ErrorKind::mismatch);
}

TEST_CASE("inprocess: one rank's exception releases every other rank and is rethrown") {
  for (int ranks : {2, 5, 8}) {
    CAPTURE(ranks);
    std::atomic<int> released{0};
    const auto start = Clock::now();
    CHECK_THROWS_WITH_AS(
        inprocess::launch(
            ranks,
            [&](inprocess::Communicator& comm) {
              if (comm.rank() == ranks - 1) {
                std::this_thread::sleep_for(20ms);
                throw std::runtime_error("boom on the last rank");
              }
              std::vector<int> buffer(1);
              try {  // waits for a message that will never come
                comm.transport()
                    .irecv(ranks - 1, std::as_writable_bytes(std::span(buffer)), tag(7))
                    .wait(soon());
              } catch (const Error& e) {
                CHECK(e.kind() == ErrorKind::aborted);  // and it cites the cause:
                CHECK(std::string(e.what()).find("boom on the last rank") != std::string::npos);
                ++released;
                throw;
              }
            }),
        "boom on the last rank", std::runtime_error);
    CHECK(released == ranks - 1);
    CHECK(Clock::now() - start < 5s);
  }
}

TEST_CASE("inprocess: a rank failing while a peer reads its buffer frees the peer at once") {
  // The cycle: rank 1 holds a view of rank 0's send and waits for rank 2; rank 2 waits for
  // rank 0; rank 0 fails and, unwinding, must wait until rank 1 lets go of its buffer. Nobody
  // would move until a deadline (60 s here) unless the failing rank aborts the group first.
  const auto start = Clock::now();
  const Deadline long_wait = Deadline::after(60s);
  CHECK_THROWS_WITH_AS(
      inprocess::launch(
          3,
          [&](inprocess::Communicator& comm) {
            auto& t = comm.transport();
            std::int64_t value = 7, ack = 0;
            if (comm.rank() == 0) {
              auto send = t.isend(1, std::as_bytes(std::span(&value, 1)), tag(1));
              t.irecv(1, std::as_writable_bytes(std::span(&ack, 1)), tag(2)).wait(long_wait);
              throw std::runtime_error("rank 0 gives up");  // `send` is still being read by rank 1
            } else if (comm.rank() == 1) {
              auto view = t.irecv_view(0, tag(1));
              view.wait(long_wait);
              t.isend(0, std::as_bytes(std::span(&ack, 1)), tag(2)).wait(long_wait);
              t.irecv(2, std::as_writable_bytes(std::span(&ack, 1)), tag(3)).wait(long_wait);
            } else {
              t.irecv(0, std::as_writable_bytes(std::span(&ack, 1)), tag(4)).wait(long_wait);
            }
          }),
      "rank 0 gives up", std::runtime_error);
  CHECK(std::chrono::duration<double>(Clock::now() - start).count() < 10);
}

TEST_CASE("inprocess: a cancelled (destroyed) request leaves the peer's later messages intact") {
  inprocess::launch(2, [&](inprocess::Communicator& comm) {
    auto& t = comm.transport();
    int value = 0;
    if (comm.rank() == 1) {
      {
        auto dropped = t.irecv(0, std::as_writable_bytes(std::span(&value, 1)), tag(8));
      }
      value = -1;
      comm.transport()
          .isend(0, std::as_bytes(std::span(&value, 1)), tag(9))
          .wait(soon());  // "ready"
      t.irecv(0, std::as_writable_bytes(std::span(&value, 1)), tag(8)).wait(soon());
      CHECK(value == 42);
    } else {
      t.irecv(1, std::as_writable_bytes(std::span(&value, 1)), tag(9)).wait(soon());
      value = 42;
      t.isend(1, std::as_bytes(std::span(&value, 1)), tag(8)).wait(soon());
    }
  });
}

TEST_CASE("inprocess: more ranks than cores still exchange quickly (sleeping, not spinning)") {
  // 16 ranks pass a token around a ring 200 times on a 2-core machine.
  const auto start = Clock::now();
  inprocess::launch(16, [&](inprocess::Communicator& comm) {
    auto& t = comm.transport();
    const int p = comm.size(), r = comm.rank();
    int token = 0;
    for (int lap = 0; lap < 200; ++lap) {
      if (r == 0) {
        token = lap;
        t.isend(1, std::as_bytes(std::span(&token, 1)), tag(10)).wait(soon());
        t.irecv(p - 1, std::as_writable_bytes(std::span(&token, 1)), tag(10)).wait(soon());
        CHECK(token == lap + p - 1);
      } else {
        t.irecv(r - 1, std::as_writable_bytes(std::span(&token, 1)), tag(10)).wait(soon());
        ++token;
        t.isend((r + 1) % p, std::as_bytes(std::span(&token, 1)), tag(10)).wait(soon());
      }
    }
  });
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  MESSAGE("16 ranks x 200 laps (3200 hand-offs): " << seconds << " s");
  CHECK(seconds < 10.0);
}

TEST_CASE("inprocess: launch rejects zero ranks and bad peers") {
  CHECK_THROWS_AS(inprocess::launch(0, [](inprocess::Communicator&) {}), Error);
  inprocess::launch(2, [](inprocess::Communicator& comm) {
    int x = 0;
    CHECK(error_kind([&] { comm.transport().isend(2, std::as_bytes(std::span(&x, 1)), tag(1)); }) ==
          ErrorKind::invalid_argument);
    CHECK_THROWS_AS(comm.transport().isend(comm.rank(), std::as_bytes(std::span(&x, 1)), tag(1)),
                    Error);
  });
}
