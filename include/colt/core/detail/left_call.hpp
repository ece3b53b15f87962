#pragma once
// Whether a peer can still take part in this rank's call, judged from the call it began last. The
// ranks number their calls alike, so a peer that began the same number as another collective, or
// a later number, will never send or read what this rank waits for: its wait is a mismatch, not
// a slow peer, and ends at once instead of at the timeout. Transports that can see the call a
// peer is in (in-process: a word per rank) ask this in their slow path.

#include <cstdint>
#include <string>

#include "colt/core/tag.hpp"

namespace colt::detail {

inline std::string call_text(Tag call) {
  return std::string(name_of(call.kind())) + " (call #" + std::to_string(call.sequence()) + ")";
}

// Empty unless `theirs`, a call of `peer`'s, has the number of this rank's call `mine` but is
// another collective: then why the ranks' calls differ. What a transport can tell from a message
// the peer sent and this rank has not received (MPI): a later number there is no evidence, as an
// eager send may run ahead of a receive in progress.
inline std::string other_collective(Tag mine, Tag theirs, int peer) {
  if (!numbered(mine.kind()) || !numbered(theirs.kind())) return {};
  if (theirs.sequence() != mine.sequence() || theirs.kind() == mine.kind()) return {};
  return "rank " + std::to_string(peer) + " is in " + call_text(theirs) +
         " while this rank is in " + call_text(mine) + ": the ranks called different collectives";
}

// Whether a peer whose last begun call is `theirs` can no longer take part in `mine` (a tag of
// this rank's call): it began the same number as another collective, or a later number. Only
// numbered calls are compared. Allocates nothing: the slow path of a wait asks it at every nap,
// and a peer that did its part and went on (no mismatch) is a common answer there. A caller that
// waits on the peer must look at its wait once more after a true answer, for that reason.
inline bool left(Tag mine, Tag theirs) {
  if (!numbered(mine.kind()) || !numbered(theirs.kind())) return false;
  // How far the peer is ahead, modulo the sequence field's 2^16; half the range and more: behind.
  const std::uint32_t ahead = (theirs.sequence() - mine.sequence()) & Tag::sequence_mask;
  if (ahead == 0) return theirs.kind() != mine.kind();
  return ahead <= Tag::sequence_mask / 2;
}

// Empty while `peer`, whose last begun call is `theirs`, may still take part in `mine`;
// otherwise why it cannot (once the caller has confirmed it, see `left`).
inline std::string left_call(Tag mine, Tag theirs, int peer) {
  if (!left(mine, theirs)) return {};
  if (theirs.sequence() == mine.sequence()) return other_collective(mine, theirs, peer);
  const std::string who = "rank " + std::to_string(peer);
  return who + " went on to " + call_text(theirs) + " without taking part in " + call_text(mine) +
         ": the ranks called different collectives";
}

}  // namespace colt::detail
