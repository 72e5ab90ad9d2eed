// TableOptions: everything that defines a table at creation.
#ifndef STRATA_OPTIONS_H_
#define STRATA_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "strata/env.h"
#include "strata/rate_limiter.h"
#include "strata/schema.h"
#include "strata/selector.h"

namespace strata {

// What an acknowledged Insert survives on a table with storage (docs/design.md, "SSD tier").
enum class Durability {
  kNone,   // nothing: storage is spill space, wiped when the table is opened again
  kFlush,  // a process crash (kill -9): Insert returns once its records are written to the OS
  kSync,   // a power loss: Insert returns once its records are fsync'ed (group commit)
};

// What Sample draws from on a table with storage.
enum class TierSampling {
  kExact,     // every item; cold ones are read from storage (the DRAM copies are a cache)
  kResident,  // only items with a DRAM copy: Sample never waits on I/O; a background swapper
              // rotates stored items in (Miro/CarM), see swap_ratio
};
// Which items keep a DRAM copy when the budget is full.
enum class Placement {
  kRecent,    // the newest (the oldest copy is dropped first)
  kPriority,  // kExact only. The highest priority: the lowest is dropped, and stored items whose
              // priority rises above the lowest resident one are promoted in the background
  kRandom,    // a random copy is dropped
  kGroupBalanced,  // groups (classes) share DRAM equally, as a class-balanced episodic memory:
                   // the oldest copy of the group with the most copies is dropped, free DRAM is
                   // refilled from the groups with the fewest, and the background thread swaps
                   // until no group with stored items holds 2+ fewer copies than another
  kScore,          // kExact only. The highest values of the score column placement_score_column
           // (importance): the lowest is dropped, and stored items whose score rises above the
           // lowest resident one are promoted in the background
};
// Resident sampling: which items a swap exchanges.
enum class SwapPolicy {
  kRandomInGroup,  // each swapped-out item is replaced by a random stored item of its group (Miro)
  kScore,          // the lowest-score items of the batch go out; of each group, the highest-score
                   // of a few random stored candidates comes in (CarM's gate; swap_score_column)
};

struct TableOptions {
  std::string name = "table";  // used in error messages and stats
  Schema schema;               // required

  // Capacity in items (>= 1, < 2^32 - 1). Selector and metadata arrays are sized for it up front
  // (about 40-60 bytes per item); payload memory is committed only as items arrive.
  uint64_t max_items = 1'000'000;
  // Capacity in payload bytes (fixed + variable fields); 0 means no byte limit.
  uint64_t max_bytes = 0;

  SelectorOptions sampler = Uniform();  // which item Sample hands out
  // Which item is evicted to make room; std::nullopt makes a full table reject inserts with
  // ResourceExhausted instead.
  std::optional<SelectorOptions> remover = Fifo();
  InsertionPolicy insertion = InsertionPolicy::kAlways;
  RateLimiterOptions rate_limiter = MinSize(1);

  // Remove an item once it has been sampled this many times (queue semantics); 0 = never.
  uint32_t max_times_sampled = 0;

  // Seeds the table's random generator: a single-threaded sequence of calls on a table with the
  // same seed returns identical results, run after run.
  uint64_t seed = 0x5eed;

  // --- SSD tier. Off while storage_dir is empty: the table then lives in DRAM only. ---
  // With storage_dir set, item payloads live in append-only segment files there and at most
  // dram_budget_bytes of them stay in DRAM; keys, priorities, scores and selectors stay in DRAM
  // (about 16 more bytes per item). Opening a directory that holds a table restores it (items,
  // keys, priorities, scores, counters) when the schema matches. max_items / max_bytes still bound
  // the table; max_bytes may exceed dram_budget_bytes by far.
  std::string storage_dir;
  uint64_t dram_budget_bytes = 0;  // required (> 0) with storage_dir
  // The most Table::Resize may raise dram_budget_bytes to (DRAM rows are reserved as address
  // space for it and committed only when used); 0: dram_budget_bytes.
  uint64_t max_dram_budget_bytes = 0;
  uint64_t storage_budget_bytes = 0;  // bytes of segment files; 0: no limit
  Durability durability = Durability::kFlush;
  uint64_t segment_bytes = uint64_t{256} << 20;  // a segment file is sealed at this size (<= 4 GiB)
  // Items whose writes may be queued at once (write-behind); inserts wait beyond it.
  uint64_t write_queue_items = 4096;
  // Compaction: a sealed segment whose live records fill less than this fraction of it is
  // rewritten (its live records copied to the newest segment) and deleted; a segment with no
  // live record is deleted at once. Rewriting is paced to compaction_bytes_per_second (read +
  // written; 0: unpaced) so that it cannot starve sampling of the disk.
  double compaction_live_ratio = 0.5;
  uint64_t compaction_bytes_per_second = uint64_t{64} << 20;
  // Read storage with O_DIRECT (bypassing the page cache, so DRAM use is what the budget says and
  // reads measure the device); records are then padded to 4 KiB in the data files. File systems
  // without O_DIRECT (tmpfs) and non-POSIX Envs read through the cache instead.
  bool direct_io = false;
  TierSampling tier_sampling = TierSampling::kExact;
  Placement placement = Placement::kRecent;
  // kResident: every swap_interval sampled batches, swap_ratio of the batch's items (0..1) are
  // replaced in DRAM by stored items, asynchronously (a swap that cannot keep up is skipped and
  // counted, never waited for). Table::SetSwap changes both on a live table.
  double swap_ratio = 0;
  uint32_t swap_interval = 1;
  std::string placement_score_column;  // Placement::kScore: a score column of the schema
  SwapPolicy swap_policy = SwapPolicy::kRandomInGroup;
  std::string swap_score_column;  // SwapPolicy::kScore: a score column of the schema
  Env* env = nullptr;             // file system to use; nullptr: Env::Posix()
};

}  // namespace strata

#endif  // STRATA_OPTIONS_H_
