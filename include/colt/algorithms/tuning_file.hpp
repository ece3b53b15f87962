#pragma once
// A tuning file: the cost model's constants measured on the machine in use. `benchmarks/tune
// --out=FILE` writes one; a communicator's tuning setting (COLT_TUNING=FILE, or the option
// tuning_file) makes plan() use it in place of the table compiled into tuning.hpp, which was
// fitted on the development machine and stays the fallback.
//
// The file is text, one entry per line, '#' to the end of a line is a comment:
//   colt-tuning 1
//   <collective> <algorithm> <in-process|messages> <ranks> <alpha s> <beta s/B>
//       <beta_memory s/B> <cache bytes>
//   network <alpha s> <beta s/B>      (at most once: the link between nodes, tuning::Link)
// A file may hold the network line alone: plan() then prices what runs on a node by the compiled
// table, and what crosses nodes by that link (benchmarks/emulated_cluster.sh --link).
// The first line is the format and its version: a file of another version is refused rather
// than guessed at. Any line that does not parse is an error naming the file and the line, and a
// collective call that would plan with it fails with that error (as a bad COLT_ALGO does).

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "colt/algorithms/records.hpp"
#include "colt/algorithms/tuning.hpp"
#include "colt/core/error.hpp"

namespace colt::tuning {

inline constexpr std::string_view file_magic = "colt-tuning";
inline constexpr int file_version = 1;

namespace detail {

inline std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

// "ring, tree, direct": the schedules a record lists.
inline std::string names_of(const CollectiveRecord& record) {
  std::string names;
  for (const Capability& c : record.algorithms)
    names += (names.empty() ? "" : ", ") + std::string(name_of(c.algorithm));
  return names;
}

// A finite, non-negative number, all of `word`; false otherwise.
inline bool number(std::string_view word, double& value) {
  const std::string text(word);
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(value) && value >= 0;
}

}  // namespace detail

// What a tuning file holds: the entries, and the link between nodes where it names one.
struct File {
  std::vector<Entry> entries;
  std::optional<Link> network;
};

// A tuning file's `text`; `source` names it in errors.
inline File parse_file(std::string_view text, std::string_view source) {
  File file;
  std::vector<Entry>& entries = file.entries;
  bool header = false;
  int line_number = 0;
  auto fail = [&](const std::string& why) {
    throw Error(ErrorKind::invalid_argument, Operation::tuning_file, Error::no_rank,
                "tuning file " + std::string(source) + ", line " + std::to_string(line_number) +
                    ": " + why);
  };
  while (!text.empty()) {
    ++line_number;
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (const std::size_t hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    const std::vector<std::string_view> w = detail::words(line);
    if (w.empty()) continue;
    if (!header) {
      if (w.size() != 2 || w[0] != file_magic)
        fail("expected '" + std::string(file_magic) + " " + std::to_string(file_version) + "'");
      if (w[1] != std::to_string(file_version))
        fail("version " + std::string(w[1]) + " is not this colt's (" +
             std::to_string(file_version) + "): run benchmarks/tune --out again");
      header = true;
      continue;
    }
    if (w[0] == "network") {
      Link link{};
      if (w.size() != 3 || !detail::number(w[1], link.alpha) || !detail::number(w[2], link.beta))
        fail("expected 'network <alpha seconds> <beta seconds per byte>'");
      if (file.network) fail("a second network line");
      file.network = link;
      continue;
    }
    if (w.size() != 8) fail("expected 8 fields, found " + std::to_string(w.size()));
    Entry e{};
    bool kind_found = false;
    for (int k = 0; k <= static_cast<int>(CollectiveKind::all_to_all); ++k)
      if (w[0] == name_of(static_cast<CollectiveKind>(k))) {
        e.kind = static_cast<CollectiveKind>(k);
        kind_found = true;
      }
    if (!kind_found) fail("unknown collective '" + std::string(w[0]) + "'");
    const std::optional<Algorithm> algorithm = algorithm_named(w[1]);
    if (!algorithm || !record_of(e.kind).find(*algorithm))
      fail("'" + std::string(w[1]) + "' is not one of " + std::string(w[0]) + "'s algorithms (" +
           detail::names_of(record_of(e.kind)) + ")");
    e.algorithm = *algorithm;
    if (w[2] != "in-process" && w[2] != "messages")
      fail("transport class '" + std::string(w[2]) + "' is not in-process or messages");
    e.views = w[2] == "in-process";
    double ranks = 0;
    if (!detail::number(w[3], ranks) || ranks < 1 || ranks != std::floor(ranks) || ranks > 1e6)
      fail("ranks '" + std::string(w[3]) + "' is not a positive whole number");
    e.ranks = static_cast<int>(ranks);
    double* fields[] = {&e.alpha, &e.beta, &e.beta_memory, &e.cache_bytes};
    for (std::size_t f = 0; f < std::size(fields); ++f)
      if (!detail::number(w[4 + f], *fields[f]))
        fail("'" + std::string(w[4 + f]) + "' is not a non-negative number");
    entries.push_back(e);
  }
  if (!header) fail("empty: expected '" + std::string(file_magic) + " 1' and entries");
  return file;
}

// The entries of a tuning file's `text`.
inline std::vector<Entry> parse(std::string_view text, std::string_view source) {
  return parse_file(text, source).entries;
}

// The text of a tuning file holding `entries` (what parse reads back, to the last digit).
inline std::string format(std::span<const Entry> entries) {
  std::string text = std::string(file_magic) + " " + std::to_string(file_version) + "\n" +
                     "# collective algorithm class ranks alpha_s beta_s_per_byte "
                     "beta_memory_s_per_byte cache_bytes\n";
  for (const Entry& e : entries) {
    char line[256];
    (void)std::snprintf(line, sizeof line, "%s %s %s %d %.17g %.17g %.17g %.17g\n",
                        std::string(name_of(e.kind)).c_str(),
                        std::string(name_of(e.algorithm)).c_str(),
                        e.views ? "in-process" : "messages", e.ranks, e.alpha, e.beta,
                        e.beta_memory, e.cache_bytes);
    text += line;
  }
  return text;
}

// The whole of the file at `path`; an Error naming it when it cannot be read.
inline std::string read_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f)
    throw Error(ErrorKind::invalid_argument, Operation::tuning_file, Error::no_rank,
                "tuning file " + path + " (COLT_TUNING) cannot be opened");
  std::string text;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) text.append(buffer, n);
  (void)std::fclose(f);  // read-only: nothing is lost if closing fails
  return text;
}

// The model plan() uses for a communicator's tuning setting (core/settings.hpp).
struct Model {
  std::span<const Entry> entries;
  Link network = tuning::network;
};

// The compiled table for number 0, else the file's, read the first time a call plans with it
// and kept for the process (a file that does not parse is the error of every call that plans
// with it).
inline Model model(int tuning_id, const std::string* path) {
  if (tuning_id == 0 || !path) return {table, network};
  static std::mutex mutex;
  static std::map<int, File> files;
  const std::lock_guard lock(mutex);
  auto found = files.find(tuning_id);
  if (found == files.end())
    found = files.emplace(tuning_id, parse_file(read_file(*path), *path)).first;
  // A file of a network line alone keeps the compiled table for what runs on a node.
  const std::span<const Entry> entries =
      found->second.entries.empty() ? std::span<const Entry>(table) : found->second.entries;
  return {entries, found->second.network.value_or(network)};
}
inline std::span<const Entry> entries(int tuning_id, const std::string* path) {
  return model(tuning_id, path).entries;
}

}  // namespace colt::tuning
