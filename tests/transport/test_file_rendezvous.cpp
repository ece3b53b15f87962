#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "colt/transport/file_rendezvous.hpp"
#include "errors.hpp"
#include "random.hpp"
#include "wall_time.hpp"

using namespace colt;
using colt::test::error_from;
using colt::test::error_kind;
using colt::test::scheduling_slack_s;
using colt::test::seconds_since;
using colt::test::within;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using Blob = std::vector<std::byte>;

// A fresh directory name under the system's temporary directory, removed with everything in it
// at the end of the case. The directory itself is not created: rank 0 does that.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("colt-file-rendezvous-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
            "-" + std::to_string(std::random_device{}()));
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string str() const { return path.string(); }
};

// Runs fn(rank) for each rank in a thread of its own; returns each rank's colt::Error, if any.
template <class Fn>
std::vector<std::optional<Error>> run_ranks(const std::vector<int>& ranks, Fn fn) {
  std::vector<std::optional<Error>> errors(ranks.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < ranks.size(); ++i)
    threads.emplace_back([&, i] { errors[i] = error_from([&] { fn(ranks[i]); }); });
  for (auto& t : threads) t.join();
  return errors;
}

void write_file(const fs::path& path, std::span<const std::byte> bytes) {
  const fs::path temporary = path.string() + ".writing";
  {
    std::ofstream out(temporary, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }
  fs::rename(temporary, path);  // whole, as the protocol writes
}

Blob read_whole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Blob bytes(chars.size());
  for (std::size_t i = 0; i < chars.size(); ++i) bytes[i] = static_cast<std::byte>(chars[i]);
  return bytes;
}

// Waits (up to 5 s) until rank 0 has written the whole 24-byte session file; returns its bytes.
Blob await_session(const TempDir& dir) {
  const fs::path session = dir.path / "session";
  for (auto until = Clock::now() + 5s; Clock::now() < until; std::this_thread::sleep_for(1ms)) {
    std::error_code ec;
    if (fs::file_size(session, ec) == 24 && !ec) return read_whole(session);
  }
  CHECK_MESSAGE(false, "rank 0 did not open the session");
  return Blob(24);  // the caller carries on, to join the rank it started
}

// A rank-<rank> file header of the documented layout: the session file's 24 bytes (magic,
// version, world, session id), then u32 rank and u32 blob length, little-endian.
Blob record_header(const Blob& session, std::uint32_t rank, std::uint32_t length) {
  Blob header = session;
  for (std::uint32_t v : {rank, length})
    for (int i = 0; i < 4; ++i) header.push_back(static_cast<std::byte>(v >> (8 * i)));
  return header;
}

}  // namespace

TEST_CASE("file rendezvous: every rank gets every blob; finish empties the directory for reuse") {
  const std::uint64_t seed = test::base_seed();
  std::mt19937_64 rng(seed);
  for (int world : {1, 2, 5}) {
    TempDir dir;
    for (int run = 0; run < 2; ++run) {
      CAPTURE(world);
      CAPTURE(run);
      CAPTURE(seed);
      std::vector<Blob> blobs;
      for (int r = 0; r < world; ++r) {
        // Lengths differ; some blobs are empty and one is the largest allowed.
        const std::size_t length = (r + run) % 3 == 1 ? 0
                                   : r == 4           ? std::size_t{1} << 20
                                                      : 1 + rng() % 3000;
        blobs.push_back(random_bytes(rng, length));
      }
      std::vector<std::vector<Blob>> got(static_cast<std::size_t>(world));
      std::vector<int> ranks;
      for (int r = 0; r < world; ++r) ranks.push_back(r);
      const auto errors = run_ranks(ranks, [&](int r) {
        FileRendezvous rendezvous(dir.str(), r, world);
        got[r] = rendezvous.exchange(blobs[r], Deadline::after(10s));
        rendezvous.finish(Deadline::after(10s));
      });
      for (int r = 0; r < world; ++r) {
        CAPTURE(r);
        CHECK_MESSAGE(!errors[r], test::text_of(errors[r]));
        CHECK(got[r] == blobs);
      }
      CHECK(fs::is_directory(dir.path));
      CHECK(fs::is_empty(dir.path));
    }
  }
}

TEST_CASE("file rendezvous: rank 0 refuses a directory holding an earlier run's files") {
  for (const char* leftover : {"session", "rank-1", "done-0"}) {
    CAPTURE(leftover);
    TempDir dir;
    fs::create_directories(dir.path);
    const std::byte garbage[] = {std::byte{7}, std::byte{42}};
    write_file(dir.path / leftover, garbage);
    const auto start = Clock::now();
    const auto error =
        error_from([&] { FileRendezvous(dir.str(), 0, 2).exchange(garbage, Deadline::after(5s)); });
    REQUIRE_MESSAGE(error, "no error");
    CHECK(error->kind() == ErrorKind::invalid_argument);
    CHECK(error->rank() == 0);
    CHECK(seconds_since(start) < scheduling_slack_s);  // not the 5 s deadline
    CHECK(fs::exists(dir.path / leftover));            // never deletes what it did not write
  }
}

TEST_CASE("file rendezvous: ranks started with different world sizes are a mismatch") {
  TempDir dir;
  const std::byte blob[] = {std::byte{1}, std::byte{2}, std::byte{3}};
  const auto errors = run_ranks({0, 1}, [&](int r) {
    // Rank 0 waits for rank 1's blob in vain; rank 1 finds the session at once.
    FileRendezvous rendezvous(dir.str(), r, r == 0 ? 2 : 3);
    rendezvous.exchange(blob, Deadline::after(r == 0 ? 300ms : 5s));
  });
  REQUIRE_MESSAGE(errors[1], "no error");
  CHECK(errors[1]->kind() == ErrorKind::mismatch);
  CHECK(errors[1]->peer() == 0);
  REQUIRE_MESSAGE(errors[0], "no error");
  CHECK(errors[0]->kind() == ErrorKind::timeout);
  CHECK(errors[0]->peer() == 1);
}

TEST_CASE("file rendezvous: a rank that never starts is a timeout naming it") {
  const std::byte blob[] = {std::byte{9}, std::byte{8}};
  for (int absent : {2, 0}) {
    CAPTURE(absent);
    TempDir dir;
    std::vector<int> ranks;
    for (int r = 0; r < 4; ++r)
      if (r != absent) ranks.push_back(r);
    const auto start = Clock::now();
    const auto errors = run_ranks(ranks, [&](int r) {
      FileRendezvous(dir.str(), r, 4).exchange(blob, Deadline::after(300ms));
    });
    CHECK(seconds_since(start) < within(0.3));
    for (std::size_t i = 0; i < ranks.size(); ++i) {
      CAPTURE(ranks[i]);
      REQUIRE_MESSAGE(errors[i], "no error");
      CHECK(errors[i]->kind() == ErrorKind::timeout);
      CHECK(errors[i]->peer() == absent);
    }
  }
}

TEST_CASE("file rendezvous: a file that does not parse is corrupt") {
  std::mt19937_64 rng(test::base_seed());
  const std::byte blob[] = {std::byte{5}};
  enum class Damage { garbage, short_header, length_past_end, length_over_limit };
  for (Damage damage : {Damage::garbage, Damage::short_header, Damage::length_past_end,
                        Damage::length_over_limit}) {
    CAPTURE(static_cast<int>(damage));
    TempDir dir;
    std::optional<Error> error;
    std::thread rank0([&] {
      error =
          error_from([&] { FileRendezvous(dir.str(), 0, 2).exchange(blob, Deadline::after(5s)); });
    });
    const Blob session = await_session(dir);
    Blob bad;
    switch (damage) {
      case Damage::garbage: bad = random_bytes(rng, 100); break;
      case Damage::short_header: bad = Blob(session.begin(), session.end() - 1); break;
      case Damage::length_past_end: bad = record_header(session, 1, 100); break;
      case Damage::length_over_limit: bad = record_header(session, 1, (1u << 20) + 1); break;
    }
    if (damage == Damage::length_past_end) bad.resize(bad.size() + 50);
    write_file(dir.path / "rank-1", bad);
    rank0.join();
    REQUIRE_MESSAGE(error, "no error");
    CHECK(error->kind() == ErrorKind::corrupt);
    CHECK(error->peer() == 1);
  }

  {  // a session file that is not a colt session, seen by a rank but 0
    TempDir dir;
    fs::create_directories(dir.path);
    write_file(dir.path / "session", random_bytes(rng, 24));
    CHECK(error_kind([&] {
            FileRendezvous(dir.str(), 1, 2).exchange(blob, Deadline::after(5s));
          }) == ErrorKind::corrupt);
  }
}

TEST_CASE("file rendezvous: another session's file is skipped until this session's replaces it") {
  TempDir dir;
  const std::byte blob0[] = {std::byte{10}, std::byte{20}}, blob1[] = {std::byte{30}};
  std::vector<Blob> got;
  std::optional<Error> error;
  std::thread rank0([&] {
    error = error_from([&] {
      FileRendezvous rendezvous(dir.str(), 0, 2);
      got = rendezvous.exchange(blob0, Deadline::after(5s));
      rendezvous.finish(Deadline::after(5s));
    });
  });
  Blob other_session = await_session(dir);
  other_session[16] ^= std::byte{1};  // the session id's first byte
  Blob stale = record_header(other_session, 1, 1);
  stale.push_back(std::byte{99});
  write_file(dir.path / "rank-1", stale);
  std::this_thread::sleep_for(50ms);
  FileRendezvous rank1(dir.str(), 1, 2);
  const auto got1 = rank1.exchange(blob1, Deadline::after(5s));
  rank1.finish(Deadline::after(5s));
  rank0.join();
  REQUIRE_MESSAGE(!error, test::text_of(error));
  const std::vector<Blob> expected = {Blob(std::begin(blob0), std::end(blob0)),
                                      Blob(std::begin(blob1), std::end(blob1))};
  CHECK(got == expected);
  CHECK(got1 == expected);
  CHECK(fs::is_empty(dir.path));
}

TEST_CASE("file rendezvous: another session's file that is never replaced ends in a timeout") {
  TempDir dir;
  const std::byte blob[] = {std::byte{10}};
  std::optional<Error> error;
  std::thread rank0([&] {
    error =
        error_from([&] { FileRendezvous(dir.str(), 0, 2).exchange(blob, Deadline::after(300ms)); });
  });
  Blob other_session = await_session(dir);
  other_session[16] ^= std::byte{1};  // the session id's first byte
  write_file(dir.path / "rank-1", record_header(other_session, 1, 0));
  rank0.join();
  REQUIRE_MESSAGE(error, "no error");
  CHECK(error->kind() == ErrorKind::timeout);
  CHECK(error->peer() == 1);
}

TEST_CASE("file rendezvous: bad arguments are invalid_argument") {
  TempDir dir;
  const std::string d = dir.str();
  CHECK(error_kind([&] { FileRendezvous(d, -1, 2); }) == ErrorKind::invalid_argument);
  CHECK(error_kind([&] { FileRendezvous(d, 2, 2); }) == ErrorKind::invalid_argument);
  CHECK(error_kind([&] { FileRendezvous(d, 0, 0); }) == ErrorKind::invalid_argument);
  CHECK(error_kind([&] { FileRendezvous("", 0, 1); }) == ErrorKind::invalid_argument);
  CHECK(!error_kind([&] { FileRendezvous(d, 1, 2); }));
  CHECK(!fs::exists(dir.path));  // constructing touches no file

  const Blob too_big((std::size_t{1} << 20) + 1);
  CHECK(error_kind([&] { FileRendezvous(d, 0, 1).exchange(too_big, Deadline::after(5s)); }) ==
        ErrorKind::invalid_argument);
  FileRendezvous once(d, 0, 1);
  CHECK(error_kind([&] { once.finish(Deadline::after(5s)); }) == ErrorKind::invalid_argument);
  CHECK(once.exchange({}, Deadline::after(5s)) == std::vector<Blob>{Blob{}});
  CHECK(error_kind([&] { once.exchange({}, Deadline::after(5s)); }) == ErrorKind::invalid_argument);
  once.finish(Deadline::after(5s));
  CHECK(fs::is_empty(dir.path));
}
