#pragma once
// FileRendezvous: the processes of one job, started by any launcher (a shell loop, srun), each
// knowing its rank, the world size and one shared directory, swap one small blob each (a UCX
// worker address) through files, so that they can connect without an MPI launcher. The idea is
// Gloo's FileStore: one file per key, written under a temporary name and renamed, so a reader
// sees all of a file or none of it.
//
// Files in the directory. Integers are little-endian; "header" is the magic "colt-rdv", u32
// version (1), u32 world, u64 session id: 24 bytes.
//   session           header. Rank 0 creates it exclusively (O_CREAT|O_EXCL) with a random
//                     session id; the other ranks wait for it and join that session.
//   rank-<r>          header, u32 rank, u32 blob length (at most 1 MiB), the blob.
//   done-<r>          as rank-<r>, with an empty blob: rank r has read every blob (finish).
//   tmp-<name>-<id>   a file being written; renamed to <name> once complete.
//
// A rank file of another session id is stale: readers skip it and wait for this session's. After
// exchange, finish() lets rank 0 remove every file once all ranks have read all blobs, leaving the
// directory empty for the next run. A run killed midway leaves its files behind; the next run's
// rank 0 finds them and throws invalid_argument instead of mixing two runs. Only rank 0 can tell
// an earlier run's session from its own: ranks that start before it may join the leftover
// session, and then time out (or, if all of the earlier run's files are there, return its blobs,
// whose addresses lead nowhere), so clear the directory before restarting a failed job.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "colt/core/deadline.hpp"
#include "colt/core/error.hpp"
#include "colt/transport/detail/rendezvous_wire.hpp"

namespace colt {

namespace detail::rendezvous {

inline constexpr std::array<char, 8> magic = {'c', 'o', 'l', 't', '-', 'r', 'd', 'v'};
inline constexpr std::uint32_t version = 1;
inline constexpr std::size_t session_bytes = 24;  // magic, version, world, session id
inline constexpr std::size_t record_bytes = 32;   // the session's fields, rank, blob length

// The fields of a session or rank file's header.
struct Header {
  std::uint32_t world = 0;
  std::uint64_t session = 0;
  std::uint32_t rank = 0;    // rank files only
  std::uint32_t length = 0;  // rank files only
};

// A session file's bytes, or a rank file's header when `record` is set.
inline std::vector<std::byte> encode(const Header& h, bool record) {
  std::vector<std::byte> out;
  out.reserve(sizeof magic + 32);
  for (char c : magic) out.push_back(static_cast<std::byte>(c));
  put(out, version, 4);
  put(out, h.world, 4);
  put(out, h.session, 8);
  if (record) {
    put(out, h.rank, 4);
    put(out, h.length, 4);
  }
  return out;
}

// The header at the front of `in` (which holds at least session_bytes, or record_bytes when
// `record` is set), or nothing when the magic or the version is not ours.
inline std::optional<Header> decode(std::span<const std::byte> in, bool record) {
  for (std::size_t i = 0; i < magic.size(); ++i)
    if (in[i] != static_cast<std::byte>(magic[i])) return std::nullopt;
  if (get(in, 8, 4) != version) return std::nullopt;
  Header h;
  h.world = static_cast<std::uint32_t>(get(in, 12, 4));
  h.session = get(in, 16, 8);
  if (record) {
    h.rank = static_cast<std::uint32_t>(get(in, 24, 4));
    h.length = static_cast<std::uint32_t>(get(in, 28, 4));
  }
  return h;
}

// Is `name` one of the files the protocol writes (see the layout above)?
inline bool is_rendezvous_file(std::string_view name) {
  return name == "session" || name.starts_with("rank-") || name.starts_with("done-") ||
         name.starts_with("tmp-");
}

}  // namespace detail::rendezvous

class FileRendezvous {
 public:
  // Touches no file: checks the arguments only (rank in [0, world), world >= 1, a directory).
  FileRendezvous(std::string directory, int rank, int world)
      : directory_(std::move(directory)), rank_(rank), world_(world) {
    if (world_ < 1) throw invalid("world size " + std::to_string(world_) + " is not positive");
    if (rank_ < 0 || rank_ >= world_)
      throw invalid("rank " + std::to_string(rank_) + " is outside [0, " + std::to_string(world_) +
                    ")");
    if (directory_.empty()) throw invalid("the rendezvous directory is an empty path");
  }

  int rank() const { return rank_; }
  int size() const { return world_; }
  const std::string& directory() const { return directory_; }

  // Every rank publishes `mine` (at most 1 MiB); returns all ranks' blobs indexed by rank, this
  // rank's included. Runs once per object. Rank 0 opens the session (and fails on an earlier
  // run's files); the others wait for it. A rank that has not published when `deadline` passes
  // is a timeout naming the missing ranks (peer: the first of them).
  std::vector<std::vector<std::byte>> exchange(std::span<const std::byte> mine,
                                               const Deadline& deadline) {
    namespace rv = detail::rendezvous;
    if (stage_ != Stage::fresh)
      throw invalid("exchange runs once per FileRendezvous; a new exchange needs a new session");
    if (mine.size() > rv::max_blob)
      throw invalid("a blob of " + std::to_string(mine.size()) + " bytes is over the 1 MiB limit");
    if (rank_ == 0) {
      open_session();
    } else {
      join_session(deadline);
    }
    publish("rank-", mine);
    std::vector<std::vector<std::byte>> blobs(static_cast<std::size_t>(world_));
    blobs[static_cast<std::size_t>(rank_)].assign(mine.begin(), mine.end());
    const Missing missing = await("rank-", deadline, blobs);
    if (!missing.ranks.empty()) {
      std::string cause = "rank" + std::string(missing.ranks.size() > 1 ? "s " : " ") +
                          rv::list_ranks(missing.ranks) + " did not publish in " + directory_ +
                          " within " + deadline.budget_text();
      if (!missing.stale.empty())
        cause += "; files of another session were seen for rank" +
                 std::string(missing.stale.size() > 1 ? "s " : " ") +
                 rv::list_ranks(missing.stale) +
                 " (an earlier run's, or a rank that joined an earlier run's session)";
      throw Error(ErrorKind::timeout, Operation::rendezvous, Error::Rank{rank_},
                  Error::Peer{missing.ranks.front()}, cause);
    }
    stage_ = Stage::exchanged;
    return blobs;
  }

  // After a successful exchange, once: writes done-<rank>. Rank 0 then waits until every rank
  // has written its done file (so no rank still reads) and removes all the session's files,
  // leaving the directory empty for the next run. Best effort: if `deadline` passes first, rank 0
  // returns and leaves the files, which the next run's rank 0 will report.
  void finish(const Deadline& deadline) {
    if (stage_ != Stage::exchanged) throw invalid("finish follows a successful exchange, once");
    stage_ = Stage::finished;
    publish("done-", {});
    if (rank_ != 0) return;
    std::vector<std::vector<std::byte>> unused(static_cast<std::size_t>(world_));
    if (!await("done-", deadline, unused).ranks.empty()) return;
    for (int q = 0; q < world_; ++q) {
      remove_file(rank_file("rank-", q));
      remove_file(rank_file("done-", q));
    }
    remove_file("session");  // last: a directory holding any of the run's files still names it
  }

 private:
  enum class Stage : std::uint8_t { fresh, exchanged, finished };

  // The ranks still missing when a wait ended (none: all arrived), and those of them whose file
  // belonged to another session.
  struct Missing {
    std::vector<int> ranks;
    std::vector<int> stale;
  };

  // What reading one rank's file found.
  enum class Found : std::uint8_t { absent, stale, ok };

  // One file's size and its first bytes (all of them, up to the cap asked for).
  struct Contents {
    std::vector<std::byte> bytes;
    std::uint64_t size = 0;
  };

  Error invalid(std::string cause) const {
    return Error(ErrorKind::invalid_argument, Operation::rendezvous, Error::Rank{rank_},
                 std::move(cause));
  }
  Error io_error(std::string_view what, const std::string& path, int error) const {
    return Error(ErrorKind::transport, Operation::rendezvous, Error::Rank{rank_},
                 std::string(what) + " " + path + ": " + std::system_category().message(error));
  }
  Error corrupt(const std::string& path, int peer, std::string_view why) const {
    return Error(ErrorKind::corrupt, Operation::rendezvous, Error::Rank{rank_}, Error::Peer{peer},
                 path + " " + std::string(why));
  }
  Error leftovers(std::string_view names) const {
    return invalid(directory_ + " holds files of an earlier run (" + std::string(names) +
                   "): remove them or use a fresh directory");
  }

  std::string path(std::string_view name) const { return directory_ + "/" + std::string(name); }
  static std::string rank_file(std::string_view prefix, int rank) {
    return std::string(prefix) + std::to_string(rank);
  }

  // Rank 0: creates the directory if needed, refuses an earlier run's files, and creates
  // `session` exclusively, so that two rank 0s (or a rerun over leftovers) cannot both open it.
  void open_session() {
    namespace rv = detail::rendezvous;
    std::error_code ec;
    std::filesystem::create_directories(directory_, ec);
    if (ec)
      throw Error(ErrorKind::transport, Operation::rendezvous, Error::Rank{rank_},
                  "create directory " + directory_ + ": " + ec.message());
    std::vector<std::string> found;
    for (std::filesystem::directory_iterator it(directory_, ec), end; !ec && it != end;
         it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (rv::is_rendezvous_file(name)) found.push_back(name);
    }
    if (ec)
      throw Error(ErrorKind::transport, Operation::rendezvous, Error::Rank{rank_},
                  "list directory " + directory_ + ": " + ec.message());
    if (!found.empty()) {
      std::sort(found.begin(), found.end());
      std::string names;
      for (std::size_t i = 0; i < found.size() && i < 8; ++i) names += (i ? ", " : "") + found[i];
      if (found.size() > 8) names += ", ...";
      throw leftovers(names);
    }
    try {
      std::random_device device;
      session_ = (std::uint64_t{device()} << 32) | device();
    } catch (const std::exception& e) {
      throw Error(ErrorKind::transport, Operation::rendezvous, Error::Rank{rank_},
                  std::string("no random source for the session id: ") + e.what());
    }
    const std::string file = path("session");
    rv::Fd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (fd.get() < 0) {
      if (errno == EEXIST) throw leftovers("session");
      throw io_error("create", file, errno);
    }
    const auto bytes =
        rv::encode({.world = static_cast<std::uint32_t>(world_), .session = session_}, false);
    // One write: readers wait until all 24 bytes are there. A session that could not be written
    // is removed, so that the next run does not take it for a leftover.
    try {
      write_all(fd.get(), bytes, file);
      if (fd.close() != 0) throw io_error("close", file, errno);
    } catch (...) {
      (void)::unlink(file.c_str());
      throw;
    }
  }

  // Ranks but 0: wait for rank 0's complete `session` and join it, if its world is ours.
  void join_session(const Deadline& deadline) {
    namespace rv = detail::rendezvous;
    const std::string file = path("session");
    for (rv::Backoff backoff;; backoff.sleep(deadline)) {
      const auto contents = read_file(file, rv::session_bytes + 1);
      if (contents && contents->size >= rv::session_bytes) {
        if (contents->size > rv::session_bytes)
          throw corrupt(file, 0, "holds " + std::to_string(contents->size) + " bytes, not 24");
        const auto header = rv::decode(contents->bytes, false);
        if (!header || header->world == 0)
          throw corrupt(file, 0, "is not a colt rendezvous session (bad magic, version or world)");
        if (header->world != static_cast<std::uint32_t>(world_))
          throw Error(ErrorKind::mismatch, Operation::rendezvous, Error::Rank{rank_},
                      Error::Peer{0},
                      "rank 0 opened the session in " + directory_ + " for world size " +
                          std::to_string(header->world) + ", this rank was started with " +
                          std::to_string(world_));
        session_ = header->session;
        return;
      }
      if (!deadline.passed()) continue;
      // A session shorter than its header past the deadline: rank 0 died while writing it.
      if (contents)
        throw corrupt(
            file, 0,
            "holds " + std::to_string(contents->size) + " bytes, fewer than its 24-byte header");
      throw Error(
          ErrorKind::timeout, Operation::rendezvous, Error::Rank{rank_}, Error::Peer{0},
          "rank 0 did not open a session in " + directory_ + " within " + deadline.budget_text());
    }
  }

  // Writes <prefix><rank> under a temporary name, then renames it: readers see all or nothing.
  void publish(std::string_view prefix, std::span<const std::byte> blob) {
    namespace rv = detail::rendezvous;
    const std::string name = rank_file(prefix, rank_);
    char id[17];
    for (int i = 0; i < 16; ++i) id[i] = "0123456789abcdef"[session_ >> (60 - 4 * i) & 0xF];
    id[16] = '\0';
    const std::string final_path = path(name), temporary = path("tmp-" + name + "-" + id);
    auto bytes = rv::encode({.world = static_cast<std::uint32_t>(world_),
                             .session = session_,
                             .rank = static_cast<std::uint32_t>(rank_),
                             .length = static_cast<std::uint32_t>(blob.size())},
                            true);
    bytes.insert(bytes.end(), blob.begin(), blob.end());
    rv::Fd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) throw io_error("create", temporary, errno);
    try {
      write_all(fd.get(), bytes, temporary);
      if (fd.close() != 0) throw io_error("close", temporary, errno);
      if (::rename(temporary.c_str(), final_path.c_str()) != 0)
        throw io_error("rename to " + final_path + ":", temporary, errno);
    } catch (...) {
      (void)::unlink(temporary.c_str());
      throw;
    }
  }

  void write_all(int fd, std::span<const std::byte> bytes, const std::string& file) const {
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw io_error("write", file, errno);
      bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
  }

  // The size of `file` and its first `cap` bytes; nothing when it does not exist (yet).
  std::optional<Contents> read_file(const std::string& file, std::size_t cap) const {
    detail::rendezvous::Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
      if (errno == ENOENT) return std::nullopt;
      throw io_error("open", file, errno);
    }
    struct stat status {};
    if (::fstat(fd.get(), &status) != 0) throw io_error("stat", file, errno);
    Contents contents;
    contents.size = static_cast<std::uint64_t>(status.st_size);
    contents.bytes.resize(static_cast<std::size_t>(std::min<std::uint64_t>(contents.size, cap)));
    std::size_t got = 0;
    while (got < contents.bytes.size()) {
      const ssize_t n = ::read(fd.get(), contents.bytes.data() + got, contents.bytes.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw io_error("read", file, errno);
      if (n == 0) {  // shorter than stat said: the checks see what is there
        contents.size = got;
        break;
      }
      got += static_cast<std::size_t>(n);
    }
    contents.bytes.resize(got);
    return contents;
  }

  // Reads <prefix><q> into `blob` when it is this session's; a file that does not parse throws
  // corrupt (files appear whole, by rename, so a short one is not one still being written).
  Found read_record(std::string_view prefix, int q, std::vector<std::byte>& blob) const {
    namespace rv = detail::rendezvous;
    const std::string file = path(rank_file(prefix, q));
    const auto contents = read_file(file, rv::record_bytes + rv::max_blob);
    if (!contents) return Found::absent;
    const auto size = std::to_string(contents->size);
    if (contents->size < rv::record_bytes)
      throw corrupt(file, q, "holds " + size + " bytes, fewer than its 32-byte header");
    const auto h = rv::decode(contents->bytes, true);
    if (!h) throw corrupt(file, q, "is not a colt rendezvous file (bad magic or version)");
    if (h->session != session_) return Found::stale;
    if (h->world != static_cast<std::uint32_t>(world_) || h->rank != static_cast<std::uint32_t>(q))
      throw corrupt(file, q,
                    "names rank " + std::to_string(h->rank) + " of world " +
                        std::to_string(h->world) + " in this session");
    const auto length = std::to_string(h->length);
    if (h->length > rv::max_blob)
      throw corrupt(file, q, "declares a blob of " + length + " bytes, over the 1 MiB limit");
    if (contents->size != rv::record_bytes + h->length)
      throw corrupt(file, q,
                    "declares a blob of " + length + " bytes but holds " + size +
                        " bytes with its 32-byte header");
    blob.assign(contents->bytes.begin() + rv::record_bytes, contents->bytes.end());
    return Found::ok;
  }

  // Polls <prefix><q> of every other rank until all are this session's or the deadline passes;
  // fills blobs[q] for each that arrived.
  Missing await(std::string_view prefix, const Deadline& deadline,
                std::vector<std::vector<std::byte>>& blobs) const {
    const auto n = static_cast<std::size_t>(world_);
    std::vector<bool> have(n), seen_stale(n);
    have[static_cast<std::size_t>(rank_)] = true;
    for (detail::rendezvous::Backoff backoff;; backoff.sleep(deadline)) {
      Missing missing;
      for (int q = 0; q < world_; ++q) {
        const auto i = static_cast<std::size_t>(q);
        if (have[i]) continue;
        const Found found = read_record(prefix, q, blobs[i]);
        if (found == Found::ok) {
          have[i] = true;
          continue;
        }
        if (found == Found::stale) seen_stale[i] = true;
        missing.ranks.push_back(q);
        if (seen_stale[i]) missing.stale.push_back(q);
      }
      if (missing.ranks.empty() || deadline.passed()) return missing;
    }
  }

  void remove_file(const std::string& name) const {
    const std::string file = path(name);
    if (::unlink(file.c_str()) != 0 && errno != ENOENT) throw io_error("remove", file, errno);
  }

  std::string directory_;
  int rank_;
  int world_;
  std::uint64_t session_ = 0;  // the id in `session`, once opened or joined
  Stage stage_ = Stage::fresh;
};

}  // namespace colt
