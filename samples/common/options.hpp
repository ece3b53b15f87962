#pragma once
// Command-line options shared by the sample trainers: the model shape, training schedule, word
// list and transport, plus a hook for each sample's own flags.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "../02_data_parallel_trainer/trainer.hpp"

namespace samples {

struct Options {
  char_mlp::TrainConfig train;
  int ranks = 4;
  std::string transport = "inprocess";
  std::string words = "/usr/share/dict/words";
  int samples = 10;
  bool lr_given = false;
};

inline constexpr const char* common_usage =
    "  --ranks N            in-process ranks (default 4)\n"
    "  --transport T        inprocess (default) or mpi (launch with mpiexec -n N)\n"
    "  --steps N            training steps\n"
    "  --batch B            global batch size (default 256)\n"
    "  --seed S             seed for the model, the data order and the sampled words (default 1)\n"
    "  --lr X               peak learning rate (default 0.01 for adam)\n"
    "  --hidden H           hidden units (default 256)\n"
    "  --context C          characters of context, 1..8 (default 4)\n"
    "  --words FILE         word list (default /usr/share/dict/words)\n"
    "  --samples K          words to make up at the end (default 10)\n";

// --help prints to stdout and succeeds; a mistake prints the problem and the usage to stderr.
[[noreturn]] inline void usage(const char* program, const char* own_flags, const char* problem) {
  std::FILE* to = problem ? stderr : stdout;
  if (problem) std::fprintf(to, "error: %s\n\n", problem);
  std::fprintf(to, "usage: %s [options]\n%s%s", program, common_usage, own_flags);
  std::exit(problem ? 2 : 0);
}

// The flags a usage text shows: each word that starts with "--". The usage texts are the one
// list of flags, so --help and the parser cannot disagree about which flags exist.
inline std::vector<std::string_view> flags_in(std::string_view text) {
  std::vector<std::string_view> flags;
  for (std::size_t at = text.find("--"); at != std::string_view::npos;
       at = text.find("--", at + 2)) {
    if (at > 0 && text[at - 1] != ' ' && text[at - 1] != '\n') continue;  // inside a word
    const std::size_t end = std::min(text.find_first_of(" \n:,;)", at), text.size());
    flags.push_back(text.substr(at, end - at));
    at = end - 2;
  }
  return flags;
}

// Edits (insert, delete, replace one character) that turn a into b.
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// "unknown option --no-overlapp (did you mean --no-overlap?)": a flag no usage text shows,
// with the nearest one that is shown when it is a typo away.
inline std::string unknown_flag(std::string_view flag, const std::vector<std::string_view>& known) {
  std::string text = flag.starts_with("-") ? "unknown option " + std::string(flag)
                                           : "unexpected argument '" + std::string(flag) + "'";
  std::string_view nearest;
  std::size_t best = 3;  // more than two edits away is not a typo
  for (const std::string_view k : known)
    if (const std::size_t d = edit_distance(flag, k); d < best) best = d, nearest = k;
  if (!nearest.empty()) text += " (did you mean " + std::string(nearest) + "?)";
  return text + "; --help lists the options";
}

inline long number(const char* text, std::string_view flag,
                   const std::function<void(const char*)>& fail) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || value < 0)
    fail((std::string(flag) + " needs a non-negative integer").c_str());
  return value;
}

// `own(flag, value)` handles a sample's own flag with a value and returns true; `switches` lists
// its flags without a value, handed to own(flag, nullptr).
inline Options parse(int argc, char** argv, const char* program, const char* own_usage,
                     std::initializer_list<std::string_view> switches,
                     const std::function<bool(std::string_view, const char*)>& own) {
  Options o;
  const auto fail = [&](const char* problem) { usage(program, own_usage, problem); };
  std::vector<std::string_view> known = flags_in(common_usage);
  for (const std::string_view f : flags_in(own_usage)) known.push_back(f);
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") usage(program, own_usage, nullptr);
    // --flag=value too, as the benchmarks spell their flags.
    const char* value = nullptr;
    if (const std::size_t eq = flag.find('='); flag.starts_with("--") && eq != flag.npos) {
      value = argv[i] + eq + 1;
      flag = flag.substr(0, eq);
    }
    const bool is_switch = std::find(switches.begin(), switches.end(), flag) != switches.end();
    if (is_switch && value) fail((std::string(flag) + " takes no value").c_str());
    if (is_switch && own(flag, nullptr)) continue;
    // Unknown before missing: a misspelt switch at the end is a typo, not a flag without value.
    if (std::find(known.begin(), known.end(), flag) == known.end())
      fail(unknown_flag(flag, known).c_str());
    if (!value && i + 1 >= argc) fail((std::string(flag) + " needs a value").c_str());
    if (!value) value = argv[++i];
    if (flag == "--ranks")
      o.ranks = static_cast<int>(number(value, flag, fail));
    else if (flag == "--transport")
      o.transport = value;
    else if (flag == "--steps")
      o.train.steps = static_cast<int>(number(value, flag, fail));
    else if (flag == "--batch")
      o.train.batch = static_cast<std::size_t>(number(value, flag, fail));
    else if (flag == "--seed")
      o.train.seed = static_cast<std::uint64_t>(number(value, flag, fail));
    else if (flag == "--hidden")
      o.train.shape.hidden = static_cast<int>(number(value, flag, fail));
    else if (flag == "--context")
      o.train.shape.context = static_cast<int>(number(value, flag, fail));
    else if (flag == "--samples")
      o.samples = static_cast<int>(number(value, flag, fail));
    else if (flag == "--words")
      o.words = value;
    else if (flag == "--lr") {
      o.train.learning_rate = std::strtod(value, nullptr);
      o.lr_given = true;
    } else if (!own(flag, value)) {
      fail(("unknown option " + std::string(flag)).c_str());
    }
  }
  if (o.ranks < 1) fail("--ranks must be at least 1");
  if (o.train.steps < 1 || o.train.batch < 1) fail("--steps and --batch must be at least 1");
  if (o.train.shape.context < 1 || o.train.shape.context > char_mlp::max_context)
    fail("--context is 1..8");
  if (o.train.shape.hidden < 1) fail("--hidden must be at least 1");
  if (o.transport != "inprocess" && o.transport != "mpi") fail("--transport is inprocess or mpi");
  return o;
}

}  // namespace samples
