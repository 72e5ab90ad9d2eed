// WriteBehind: what the writer thread owes storage — items whose records are to be written and
// tombstones of removed ones — in order, each with a ticket; the durable watermark (every ticket
// at or below it is written, and synced in `sync` mode); and the last storage error.
//
// The table enqueues under its lock; the writer thread takes a group from the front, writes it
// without the lock, then reports it Written or Failed (a failed group goes back to the front in
// its order, so nothing is lost or reordered, and the error stays until a write succeeds).
// Inserters wait for durable(ticket) — group commit: one write (and sync) covers every inserter
// whose ticket the group holds.
//
// Invariants: tickets strictly increase in queue order; durable() <= last_ticket(); a ticket
// leaves the queue only when taken and comes back (Failed) or becomes durable (Written).
//
// Thread-safety: externally synchronized (the table's mutex).
#ifndef STRATA_TIER_WRITE_BEHIND_H_
#define STRATA_TIER_WRITE_BEHIND_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <utility>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "strata/batch.h"

namespace strata::internal {

class WriteBehind {
 public:
  struct Pending {
    Key key = kNoKey;
    bool tombstone = false;
    uint64_t ticket = 0;
  };

  // Queues a write; returns its ticket.
  uint64_t Enqueue(Key key, bool tombstone) {
    queue_.push_back(Pending{key, tombstone, ++last_ticket_});
    return last_ticket_;
  }
  size_t size() const { return queue_.size(); }
  bool empty() const { return queue_.empty(); }
  // The ticket of the latest write queued (0: none yet).
  uint64_t last_ticket() const { return last_ticket_; }
  bool durable(uint64_t ticket) const { return durable_ticket_ >= ticket; }
  // OK, or why the last write failed (cleared by the next successful one).
  const absl::Status& error() const { return error_; }

  // Takes the next write of a group; false when the queue is empty.
  bool TakeFront(Pending* p) {
    if (queue_.empty()) return false;
    *p = queue_.front();
    queue_.pop_front();
    return true;
  }
  // The group `taken` (in the order taken) is written.
  void Written(absl::Span<const Pending> taken) {
    error_ = absl::OkStatus();
    if (!taken.empty()) durable_ticket_ = taken.back().ticket;
  }
  // Writing `taken` failed with `error`: it goes back to the front, in order.
  void Failed(absl::Span<const Pending> taken, absl::Status error) {
    for (auto it = taken.rbegin(); it != taken.rend(); ++it) queue_.push_front(*it);
    error_ = std::move(error);
  }
  // A storage error outside a write group (compaction, dropping segments).
  void SetError(absl::Status error) { error_ = std::move(error); }

 private:
  std::deque<Pending> queue_;
  uint64_t last_ticket_ = 0;
  uint64_t durable_ticket_ = 0;
  absl::Status error_;
};

}  // namespace strata::internal

#endif  // STRATA_TIER_WRITE_BEHIND_H_
