#pragma once
// The training data: a word list (Debian's wamerican, /usr/share/dict/words), kept to words of
// lowercase a-z only, split into training and validation words with a seed, and turned into
// next-character examples: "cat" with context 3 gives "..." -> c, "..c" -> a, ".ca" -> t,
// "cat" -> '.'.

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "char_mlp.hpp"
#include "colt/core/partition.hpp"

namespace char_mlp {

inline std::vector<std::string> read_words(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error("cannot read the word list " + path +
                             " (Debian: apt-get install wamerican, or pass --words FILE)");
  std::vector<std::string> words;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    bool plain = !line.empty();
    for (char c : line) plain = plain && c >= 'a' && c <= 'z';
    if (plain) words.push_back(line);
  }
  if (words.empty()) throw std::runtime_error("no lowercase a-z words in " + path);
  return words;
}

inline void append_examples(const std::string& word, int context, std::vector<Example>& out) {
  Example e;
  for (std::size_t i = 0; i <= word.size(); ++i) {
    e.target = static_cast<std::uint8_t>(i < word.size() ? index_of(word[i]) : 0);
    out.push_back(e);
    push_context(e, context, e.target);
  }
}

struct Dataset {
  std::vector<Example> train;
  std::vector<Example> validation;
  std::size_t train_words = 0;
  std::size_t validation_words = 0;
};

// Every rank builds the same dataset from the same seed; sharding happens per batch.
inline Dataset make_dataset(const std::vector<std::string>& words, int context, std::uint64_t seed,
                            double validation_share = 0.1) {
  const std::vector<std::size_t> order = colt::partition::shuffled(words.size(), seed);
  const auto validation_words =
      static_cast<std::size_t>(static_cast<double>(words.size()) * validation_share);
  Dataset d;
  for (std::size_t i = 0; i < order.size(); ++i)
    append_examples(words[order[i]], context, i < validation_words ? d.validation : d.train);
  d.validation_words = validation_words;
  d.train_words = words.size() - validation_words;
  return d;
}

}  // namespace char_mlp
