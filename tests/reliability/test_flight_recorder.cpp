// The flight recorder (core/flight_recorder.hpp) and the dump analyser (tools/colt-trace) on
// in-process ranks: what a communicator records and writes, and, for each case the analyser
// knows (a missing rank, a mismatch, a dead rank with and without its dump, a slow rank, a
// message never sent), that it names the right rank and the right call, and no live rank
// besides.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <sstream>
#include <thread>
#include <vector>

#include <unistd.h>

#include "colt/colt.hpp"
#include "colt/transport/fault_injection.hpp"

using namespace colt;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using Faulty = colt::Communicator<faults::Injector<inprocess::Transport>>;

// A fresh directory for one case's dumps.
fs::path fresh_directory(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("colt-trace-test-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<std::string> lines_of(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// What tools/colt-trace prints for `dir` (its path comes from meson, in COLT_TRACE_TOOL).
std::string analyse(const fs::path& dir) {
  const char* tool = std::getenv("COLT_TRACE_TOOL");
  REQUIRE_MESSAGE(tool, "COLT_TRACE_TOOL names tools/colt-trace (tests/meson.build sets it)");
  const std::string command = "python3 '" + std::string(tool) + "' '" + dir.string() + "' 2>&1";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe);
  std::string out;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
  CHECK(::pclose(pipe) == 0);
  MESSAGE(out);
  return out;
}

// The integer after `key` in a JSON line (0 when the key is missing).
std::int64_t number_after(const std::string& line, const std::string& key) {
  const std::size_t at = line.find(key);
  return at == std::string::npos ? 0 : std::stoll(line.substr(at + key.size()));
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Runs `body` on 4 in-process ranks whose communicators dump to `dir` when a call fails; a
// rank's failure is the case under test, not the test's.
template <class Body>
void on_four_ranks(const fs::path& dir, Body&& body) {
  const CommunicatorOptions options{.timeout = 300ms, .trace_dir = dir.string()};
  try {
    inprocess::launch(
        4,
        [&](inprocess::Communicator& world) {
          try {
            body(world);
          } catch (const Error&) {
          }
        },
        options);
  } catch (const Error&) {
  }
}

// What the analyser says of 4 ranks where ranks 0, 1 and 3 are in all_reduce call #1 and
// rank 2, past its broadcast (call #0), is not.
void check_rank_2_missing(const std::string& out) {
  CHECK(contains(out,
                 "missing rank: call #1 all_reduce float32 x 16 sum on comm world: "
                 "ranks 0,1,3 entered, rank 2 never did (rank 2's last finished call: "
                 "#0 broadcast)"));
  CHECK_FALSE(contains(out, "dead rank"));
}

}  // namespace

TEST_CASE("flight recorder: each call's kind, type, count, root, op, plan, form and state") {
  const fs::path dir = fresh_directory("record");
  inprocess::launch(2, [&](inprocess::Communicator& comm) {
    REQUIRE(comm.flight_recorder());
    CHECK(comm.flight_recorder()->capacity() == FlightRecorder::default_capacity);
    std::vector<float> data(8, 1.0f + static_cast<float>(comm.rank()));
    all_reduce(comm, data, sum{});
    std::vector<std::int64_t> words(5, comm.rank());
    broadcast(comm, words, 1, algo::tree);
    iall_reduce(comm, data, max{}).wait();
    CHECK(comm.flight_recorder()->recorded() == 3);
    comm.dump_trace(comm.trace_file(dir.string()));
  });
  const auto lines = lines_of(dir / "world.rank1.jsonl");
  REQUIRE(lines.size() == 4);
  CHECK(contains(lines[0], "\"colt_trace\":1,\"rank\":1,\"size\":2"));
  CHECK(contains(lines[0], "\"comm\":\"world\",\"transport\":\"in-process\""));
  CHECK_FALSE(contains(lines[0], "last_error"));
  CHECK(contains(lines[1], "\"seq\":0,\"call\":\"all_reduce\",\"type\":\"float32\",\"count\":8"));
  CHECK(contains(lines[1], "\"op\":\"sum\""));
  CHECK_FALSE(contains(lines[1], "\"algorithm\":\"automatic\""));  // the plan, not the request
  CHECK(contains(lines[1], "\"started\":false"));
  CHECK(contains(lines[1], "\"state\":\"finished\""));
  CHECK(contains(lines[2], "\"call\":\"broadcast\",\"type\":\"int64\",\"count\":5,\"root\":1"));
  CHECK(contains(lines[2], "\"algorithm\":\"tree\""));
  CHECK(contains(lines[3], "\"op\":\"max\""));
  CHECK(contains(lines[3], "\"started\":true"));
  // Call #0 read the clock as it began; #1 and #2 did not (one call in 8 does), and are
  // bracketed by the clock reads around them.
  CHECK(contains(lines[1], "\"begin_ns\":"));
  CHECK(contains(lines[2], "\"begin_after_ns\":"));
  CHECK(contains(lines[3], "\"begin_after_ns\":"));
  const std::int64_t begin = number_after(lines[1], "\"begin_ns\":");
  CHECK(number_after(lines[2], "\"begin_after_ns\":") == begin);
  for (std::size_t i = 1; i < lines.size(); ++i)
    CHECK(number_after(lines[i], "\"finished_by_ns\":") >= begin);
}

TEST_CASE("flight recorder: the ring keeps the last calls; trace_calls 0 records nothing") {
  inprocess::launch(
      2,
      [](inprocess::Communicator& comm) {
        inprocess::Communicator small = comm.split(0, comm.rank());
        std::vector<float> data(3, 2.0f);
        for (int i = 0; i < 10; ++i) all_reduce(comm, data, sum{});
        CHECK(comm.flight_recorder()->recorded() == 11);  // the split, then 10 all_reduces
        CHECK(small.lineage() == "world/split(0)@0");
        std::ostringstream text;
        write_trace(text, {comm.rank(), comm.size(), "world", "in-process", nullptr, comm.node()},
                    comm.flight_recorder());
        const std::string dump = text.str();
        CHECK(std::count(dump.begin(), dump.end(), '\n') == 5);  // the header and the last 4
      },
      CommunicatorOptions{.trace_calls = 4});
  inprocess::launch(
      2,
      [](inprocess::Communicator& comm) {
        CHECK(comm.settings().trace_calls == 4);
        std::vector<float> data(3, 2.0f);
        for (int i = 0; i < 6; ++i) all_reduce(comm, data, sum{});
        std::ostringstream text;
        write_trace(text, {comm.rank(), comm.size(), "world", "in-process", nullptr, comm.node()},
                    comm.flight_recorder());
        const std::string dump = text.str();
        CHECK(std::count(dump.begin(), dump.end(), '\n') == 5);  // the header and the last 4
        CHECK(contains(dump, "\"seq\":2,"));
        CHECK_FALSE(contains(dump, "\"seq\":1,"));
      },
      CommunicatorOptions{.trace_calls = 4});
  inprocess::launch(
      2,
      [](inprocess::Communicator& comm) {
        CHECK(comm.flight_recorder() == nullptr);
        std::vector<float> data(3, 2.0f);
        all_reduce(comm, data, sum{});
      },
      CommunicatorOptions{.trace_calls = 0});
}

TEST_CASE("colt-trace: a missing rank is named, with its last finished call") {
  const fs::path dir = fresh_directory("missing");
  on_four_ranks(dir, [&](inprocess::Communicator& comm) {
    std::vector<float> data(16, 1.0f);
    broadcast(comm, data, 0);
    if (comm.rank() == 2) {  // stuck elsewhere; later asked for its trace (a signal's dump)
      std::this_thread::sleep_for(600ms);
      comm.dump_trace(comm.trace_file(dir.string()));
      return;
    }
    all_reduce(comm, data, sum{});
  });
  const std::string out = analyse(dir);
  check_rank_2_missing(out);
  // Without the stuck rank's dump: it is not accused of dying.
  fs::remove(dir / "world.rank2.jsonl");
  const std::string without = analyse(dir);
  CHECK(contains(without,
                 "stalled: call #1 all_reduce float32 x 16 sum on comm world: "
                 "ranks 0,1,3 entered; rank 2 left no dump"));
  // Their waits ran out on rank 2 (which of them timed out, and which the first aborted, is a
  // race): evidence that it is stopped or hung, not that it died.
  CHECK(contains(without, "missing rank: rank 2 left no dump, and "));
  CHECK(contains(without, "waited in call #1 for it"));
  CHECK_FALSE(contains(without, "dead rank"));
}

TEST_CASE("colt-trace: calls that differ at the same call number are a mismatch") {
  const fs::path dir = fresh_directory("mismatch");
  on_four_ranks(dir, [&](inprocess::Communicator& comm) {
    std::vector<float> data(comm.rank() == 3 ? 8 : 16, 1.0f);
    all_reduce(comm, data, sum{});
  });
  const std::string out = analyse(dir);
  CHECK(contains(out,
                 "mismatch: at call #0 the ranks' calls differ: ranks 0,1,2: all_reduce "
                 "float32 x 16 sum; rank 3: all_reduce float32 x 8 sum"));
  CHECK_FALSE(contains(out, "dead rank"));
}

TEST_CASE("colt-trace: the rank that died first is named, from its dump or from the others'") {
  const fs::path dir = fresh_directory("dead");
  const faults::Plan plan{{{.action = faults::Action::die, .rank = 1, .message = 1}}};
  on_four_ranks(dir, [&](inprocess::Communicator& world) {
    Faulty comm(faults::Injector(world.transport(), plan), world.options());
    std::vector<float> data(64, 1.0f);
    all_reduce(comm, data, sum{});
    all_reduce(comm, data, sum{});  // rank 1 dies as it starts this call
  });
  const std::string out = analyse(dir);
  CHECK(contains(out,
                 "dead rank: rank 1 failed first: its call #1 ended with 'aborted' before "
                 "any other rank's"));
  CHECK_FALSE(contains(out, "dead rank: rank 0"));
  CHECK_FALSE(contains(out, "dead rank: rank 2"));
  CHECK_FALSE(contains(out, "dead rank: rank 3"));
}

TEST_CASE("colt-trace: a rank that enters every call late is the slow rank") {
  const fs::path dir = fresh_directory("slow");
  on_four_ranks(dir, [&](inprocess::Communicator& comm) {
    comm.set_timeout(30s);
    std::vector<float> data(32, 1.0f);
    for (int i = 0; i < 40; ++i) {  // 5 of them read the precise clock
      if (comm.rank() == 3) std::this_thread::sleep_for(5ms);
      all_reduce(comm, data, sum{});
    }
    comm.dump_trace(comm.trace_file(dir.string()));
  });
  const std::string out = analyse(dir);
  CHECK(contains(out, "slow rank: rank 3 entered"));
  CHECK_FALSE(contains(out, "slow rank: rank 0"));
}

TEST_CASE("flight recorder: sends and receives; colt-trace names the message never sent") {
  const fs::path dir = fresh_directory("messages");
  on_four_ranks(dir, [&](inprocess::Communicator& comm) {
    std::vector<float> data(16, 1.0f);
    all_reduce(comm, data, sum{});
    if (comm.rank() == 0) {
      recv(comm, data, 1, 3);
      irecv(comm, data, 1, 3).wait();  // rank 1 never sends this one: a timeout, and a dump
      return;
    }
    if (comm.rank() == 1) {
      isend(comm, data, 0, 3).wait();
      std::this_thread::sleep_for(600ms);  // still alive while rank 0 waits
    }
    comm.dump_trace(comm.trace_file(dir.string()));
  });
  const auto sender = lines_of(dir / "world.rank1.jsonl");
  REQUIRE(sender.size() == 3);
  CHECK(contains(sender[2],
                 "\"seq\":1,\"call\":\"send\",\"p2p\":true,\"peer\":0,"
                 "\"tag\":3,\"bytes\":64,\"started\":true"));
  CHECK(contains(sender[2], "\"state\":\"finished\""));
  const auto receiver = lines_of(dir / "world.rank0.jsonl");
  REQUIRE(receiver.size() == 4);
  CHECK(contains(receiver[2], "\"call\":\"recv\",\"p2p\":true,\"peer\":1,\"tag\":3"));
  CHECK(contains(receiver[2], "\"started\":false"));
  CHECK(contains(receiver[3], "\"state\":\"failed\",\"error\":\"timeout\""));
  const std::string out = analyse(dir);
  CHECK(contains(out,
                 "message: rank 0's recv of 64 bytes from rank 1, tag 3 failed ('timeout') "
                 "(after call #0); rank 1's sends to rank 0 with tag 3 all finished: it never "
                 "made this one"));
  CHECK(contains(out, "every collective call seen on every dump finished"));
  CHECK_FALSE(contains(out, "dead rank"));
}

TEST_CASE("a signal the program chose dumps every live communicator while its calls wait") {
  const fs::path dir = fresh_directory("signal");
  dump_traces_on_signal(SIGUSR1);
  const int before = detail::trace_signal_dumps.load();
  inprocess::launch(
      4,
      [&](inprocess::Communicator& comm) {
        std::vector<float> data(16, 1.0f);
        broadcast(comm, data, 0);
        if (comm.rank() == 2) {  // stuck elsewhere, until the others' state is on disk
          std::this_thread::sleep_for(400ms);  // the others' watchdog speaks at 100 ms
          REQUIRE(::kill(::getpid(), SIGUSR1) == 0);
          const auto give_up = std::chrono::steady_clock::now() + 10s;
          while (detail::trace_signal_dumps.load() == before &&
                 std::chrono::steady_clock::now() < give_up)
            std::this_thread::sleep_for(1ms);
        }
        all_reduce(comm, data, sum{});
        CHECK(data[0] == 4.0f);
      },
      CommunicatorOptions{.timeout = 30s, .trace_dir = dir.string(), .watchdog = 100ms});
  CHECK(detail::trace_signal_dumps.load() == before + 1);
  for (const char* waiter : {"world.rank0.jsonl", "world.rank1.jsonl", "world.rank3.jsonl"})
    CHECK(contains(lines_of(dir / waiter).back(), "\"state\":\"waiting\",\"waiting_on\":2"));
  for (int r = 0; r < 4; ++r)
    CHECK(fs::exists(dir / ("world.rank" + std::to_string(r) + ".jsonl")));
  const std::string out = analyse(dir);
  check_rank_2_missing(out);
  CHECK(contains(out, "waiting: ranks 0,1,3 wait in call #1 on rank 2"));
}

namespace {

// What the process writes to stderr while `body` runs.
template <class Body>
std::string stderr_of(Body&& body) {
  std::fflush(stderr);
  const fs::path file = fs::temp_directory_path() / ("colt-stderr-" + std::to_string(::getpid()));
  const int saved = ::dup(2);
  std::FILE* sink = std::fopen(file.c_str(), "w");
  REQUIRE(sink);
  ::dup2(::fileno(sink), 2);
  body();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::fclose(sink);
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fs::remove(file);
  return text;
}

}  // namespace

TEST_CASE("watchdog: a wait blocked past its threshold names the rank, the call and the peer") {
  const std::string err = stderr_of([] {
    inprocess::launch(
        2,
        [](inprocess::Communicator& comm) {
          std::vector<float> data(8, 1.0f);
          if (comm.rank() == 1) std::this_thread::sleep_for(700ms);
          all_reduce(comm, data, sum{});
          CHECK(data[0] == 2.0f);
        },
        CommunicatorOptions{.timeout = 5s, .watchdog = 200ms});
  });
  MESSAGE(err);
  CHECK(contains(err, "colt WARN rank 0: still waiting after 0.2"));
  CHECK(contains(err, "(timeout 5 s) while "));
  CHECK(contains(err, "all_reduce call #0"));
  CHECK((contains(err, "peer 1") || contains(err, "waiting for rank 1")));
  // At doubling intervals: 0.2 s, then 0.6 s; the call ends at about 0.7 s.
  CHECK(std::count(err.begin(), err.end(), '\n') == 2);
  CHECK_FALSE(contains(err, "colt WARN rank 1"));
}

TEST_CASE("COLT_DEBUG=INFO: each communicator, and the plan of each collective and size class") {
  const std::string err = stderr_of([] {
    inprocess::launch(
        2,
        [](inprocess::Communicator& comm) {
          std::vector<float> data(8, 1.0f);
          for (int i = 0; i < 3; ++i) all_reduce(comm, data, sum{});
          std::vector<float> big(1 << 16, 1.0f);
          all_reduce(comm, big, sum{}, algo::ring);
        },
        CommunicatorOptions{.debug_info = true});
  });
  MESSAGE(err);
  CHECK(contains(err, "colt INFO rank 0/2: communicator world over in-process on node "));
  CHECK(contains(err, "colt INFO rank 1/2: communicator world over in-process on node "));
  CHECK(contains(err, "all_reduce of 32 bytes on world runs "));
  CHECK(contains(err, "all_reduce of 262144 bytes on world runs ring (named by the call"));
  // The first call of each size class only: two plans per rank.
  std::size_t plans = 0;
  for (std::size_t at = err.find(" runs "); at != std::string::npos;
       at = err.find(" runs ", at + 1))
    ++plans;
  CHECK(plans == 4);
}

TEST_CASE("flight recorder: started calls are queued until they run; splits and shrinks") {
  const fs::path dir = fresh_directory("queued");
  const CommunicatorOptions options{.timeout = 10s};
  inprocess::launch(
      2,
      [&](inprocess::Communicator& comm) {
        std::vector<float> a(8, 1.0f), b(8, 2.0f), c(8, 3.0f);
        auto part = comm.split(0, -comm.rank());  // call #0: a split, recorded with color and key
        if (comm.rank() == 1) std::this_thread::sleep_for(300ms);  // rank 0's first call waits
        Request first = iall_reduce(comm, a, sum{});
        Request second = iall_reduce(comm, b, sum{});
        if (comm.rank() == 0) {
          std::this_thread::sleep_for(100ms);  // the first is running; the second queued
          comm.dump_trace(comm.trace_file(dir.string()) + ".while");
        }
        broadcast(comm, c, 0);  // blocking, behind the started two: queued as well, then run
        second.wait();
        first.wait();
        comm.dump_trace(comm.trace_file(dir.string()));
      },
      options);
  const auto during = lines_of(dir / "world.rank0.jsonl.while");
  REQUIRE(during.size() == 4);
  CHECK(contains(during[1], "{\"seq\":0,\"call\":\"split\",\"color\":0,\"key\":0,"));
  CHECK(contains(during[1], "\"state\":\"finished\""));
  CHECK(contains(during[2], "\"seq\":1,\"call\":\"all_reduce\""));
  CHECK(contains(during[2], "\"started\":true"));
  CHECK(contains(during[2], "\"state\":\"running\""));
  CHECK(during[3] == "{\"call\":\"all_reduce\",\"started\":true,\"state\":\"queued\"}");
  const auto after = lines_of(dir / "world.rank1.jsonl");
  REQUIRE(after.size() == 5);
  CHECK(contains(after[1], "\"call\":\"split\",\"color\":0,\"key\":-1,"));
  CHECK(contains(after[3], "\"seq\":2,\"call\":\"all_reduce\""));
  CHECK(contains(after[3], "\"started\":true"));
  CHECK(contains(after[4], "\"seq\":3,\"call\":\"broadcast\""));
  CHECK(contains(after[4], "\"started\":false,"));
  for (std::size_t i = 1; i < after.size(); ++i)
    CHECK(contains(after[i], "\"state\":\"finished\""));
  // The analyser reads a dump with queued calls.
  fs::remove(dir / "world.rank0.jsonl");
  fs::rename(dir / "world.rank0.jsonl.while", dir / "world.rank0.jsonl");
  CHECK(contains(analyse(dir), "queued: rank 0 has 1 call queued behind call #1: all_reduce"));

  // A shrink is recorded on the communicator it shrank, and the analyser says so.
  const fs::path shrunk = fresh_directory("shrink");
  inprocess::launch(3, [&](inprocess::Communicator& comm) {
    std::vector<float> data(4, 1.0f);
    all_reduce(comm, data, sum{});
    auto rest = comm.shrink();  // nobody failed: the same three ranks
    CHECK(rest.size() == 3);
    comm.dump_trace(comm.trace_file(shrunk.string()));
  });
  const auto lines = lines_of(shrunk / "world.rank2.jsonl");
  REQUIRE(lines.size() == 3);
  CHECK(contains(lines[2], "{\"next_seq\":1,\"call\":\"shrink\",\"failed_ranks\":0,"));
  CHECK(contains(analyse(shrunk),
                 "shrink: ranks 0,1,2 shrank this communicator after call #0 (none failed)"));
}
