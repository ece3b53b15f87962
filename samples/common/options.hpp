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

[[noreturn]] inline void usage(const char* program, const char* own_flags, const char* problem) {
  if (problem) std::fprintf(stderr, "error: %s\n\n", problem);
  std::fprintf(stderr, "usage: %s [options]\n%s%s", program, common_usage, own_flags);
  std::exit(problem ? 2 : 0);
}

inline long number(const char* text, std::string_view flag,
                   const std::function<void(const char*)>& fail) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (*end != '\0' || value < 0)
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
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") usage(program, own_usage, nullptr);
    if (std::find(switches.begin(), switches.end(), flag) != switches.end() && own(flag, nullptr))
      continue;
    if (i + 1 >= argc) fail((std::string(flag) + " needs a value").c_str());
    const char* value = argv[++i];
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
