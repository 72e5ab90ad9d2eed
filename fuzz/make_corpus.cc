// Writes the seed corpora of the fuzz targets: make_corpus DIR replaces DIR/<target> for each
// target with a few valid files, encoded by the format's
// own writers as a table writes them, and a few near misses (fuzz/README.md). Deterministic: a
// rerun gives the same bytes, so the committed corpus changes only when the format does.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "select/selector.h"
#include "strata/selector.h"
#include "tier/checkpoint.h"
#include "tier/format.h"
#include "tier/record_codec.h"

namespace strata::internal {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "make_corpus: cannot write %s\n", (dir / name).c_str());
    std::exit(1);
  }
}

// `file` with its trailing checksum recomputed over everything before it.
std::string Rechecksummed(std::string file) {
  file.resize(file.size() - 8);
  ByteWriter(&file).Put<uint64_t>(Checksum64(file.data(), file.size()));
  return file;
}

// A table of 3 segments after a checkpoint: two sealed (the first written for O_DIRECT), the
// newest open, as SegmentStore writes it.
Manifest RealManifest() {
  Manifest m;
  m.table_name = "replay";
  m.schema = "{obs: float32[87], reward: float32[], frame: bytes; scores: loss}";
  m.segment_bytes = uint64_t{256} << 20;
  m.next_file_number = 16;
  m.checkpoint = CheckpointName(15);
  m.replay_from = 14;
  m.segments = {
      {.id = 12, .data_bytes = 268401664, .index_bytes = 262080, .sealed = true, .alignment = 4096},
      {.id = 14, .data_bytes = 1572864, .index_bytes = 1536, .sealed = true},
      {.id = 16}};
  m.obsolete = {SegmentDataName(13), SegmentIndexName(13)};  // compacted away before a crash
  return m;
}

// A fresh table: no segments yet, no checkpoint.
Manifest NewTableManifest() {
  Manifest m;
  m.table_name = "t";
  m.schema = "{x: uint8[4]}";
  m.segment_bytes = 1 << 20;
  m.durable = false;
  return m;
}

void ManifestCorpus(const fs::path& dir) {
  const std::string real = EncodeManifest(RealManifest());
  Write(dir, "real_three_segments", real);
  Write(dir, "real_new_table", EncodeManifest(NewTableManifest()));
  // Written before segments carried "alignment": reads as alignment 1.
  Write(dir, "old_no_alignment",
        FrameFile(kManifestMagic,
                  R"({"table":"t","schema":"{x: uint8[4]}","segment_bytes":1048576,)"
                  R"("next_file_number":3,"checkpoint":"","replay_from":0,)"
                  R"("segments":[{"id":2,"sealed":false,"data_bytes":0,"index_bytes":0}]})"));
  std::string flipped = real;
  flipped[40] ^= 1;
  Write(dir, "near_bad_checksum", flipped);
  std::string v2 = real;
  v2[4] = 2;
  Write(dir, "near_version_2", Rechecksummed(v2));
  Write(dir, "near_missing_field", FrameFile(kManifestMagic, R"({"table":"t","schema":""})"));
  // One past uint32_t: must be refused, never read as file number 0.
  Write(
      dir, "near_file_number_past_u32",
      FrameFile(kManifestMagic, R"({"table":"t","schema":"{x: uint8[4]}","segment_bytes":1048576,)"
                                R"("next_file_number":4294967296,"checkpoint":"","replay_from":0,)"
                                R"("segments":[]})"));
  Write(dir, "near_segments_not_array",
        FrameFile(kManifestMagic,
                  R"({"table":"t","schema":"{x: uint8[4]}","segment_bytes":1048576,)"
                  R"("next_file_number":3,"checkpoint":"","replay_from":0,"segments":null})"));
  Write(dir, "near_negative_id",
        FrameFile(kManifestMagic,
                  R"({"table":"t","schema":"{x: uint8[4]}","segment_bytes":1048576,)"
                  R"("next_file_number":3,"checkpoint":"","replay_from":0,)"
                  R"("segments":[{"id":-1,"sealed":true,"data_bytes":0,"index_bytes":0}]})"));
}

std::string Entry(const IndexEntry& e) {
  char buf[kIndexEntryBytes];
  EncodeIndexEntry(e, buf);
  return std::string(buf, sizeof(buf));
}

void IndexCorpus(const fs::path& dir) {
  const IndexEntry insert{.key = (uint64_t{3} << 32) | 7,
                          .seq = 41,
                          .data_offset = 0,
                          .length = 392,
                          .group = 2,
                          .task = 0,
                          .checksum = 0x8badf00d,
                          .priority = 1.5};
  IndexEntry relocated = insert;
  relocated.flags = IndexEntry::kRelocated;
  relocated.data_offset = 392;
  relocated.priority = 0.25;
  const IndexEntry tombstone{.flags = IndexEntry::kTombstone, .key = insert.key, .seq = 41};
  const std::string file = Entry(insert) + Entry(relocated) + Entry(tombstone);
  Write(dir, "real_insert", Entry(insert));
  Write(dir, "real_insert_relocate_remove", file);
  Write(dir, "near_torn_tail", file.substr(0, 2 * kIndexEntryBytes + 40));
  std::string flipped = Entry(insert);
  flipped[20] ^= 0x10;
  Write(dir, "near_bad_checksum", flipped);
  std::string v2 = Entry(insert);
  v2[4] = 2;
  Write(dir, "near_version_2", Rechecksummed(v2));
  Write(dir, "near_zeroed", std::string(kIndexEntryBytes, '\0'));
}

// A version 1 checkpoint body laid out as docs/format.md says: 2 slots, 1 stored item, 1 score
// column.
std::string CheckpointBody() {
  std::string body;
  ByteWriter w(&body);
  w.Put<uint32_t>(1);  // body version
  w.Put<uint32_t>(2);  // high_water
  w.Put<uint32_t>(1);  // score columns
  w.Put<uint64_t>(42);
  w.Put<uint64_t>(42);
  w.Put<double>(1.5);
  for (uint64_t counter : {42, 0, 7, 0, 0, 1, 3, 2, 0}) w.Put<uint64_t>(counter);
  w.Put<int64_t>(42);
  w.Put<int64_t>(7);
  for (uint64_t state : {1, 2, 3, 4}) w.Put<uint64_t>(state);
  w.Put<uint32_t>(3);  // generation of slot 0
  w.Put<uint32_t>(1);  // generation of slot 1
  w.Put<uint64_t>(1);  // stored items
  w.Put<uint32_t>(0);
  w.Put<uint32_t>(2);
  w.Put<int32_t>(2);
  w.Put<int32_t>(0);
  w.Put<double>(1.5);
  w.Put<uint64_t>(41);
  w.Put<uint32_t>(14);
  w.Put<uint32_t>(392);
  w.Put<uint32_t>(0x8badf00d);
  w.Put<uint32_t>(392);
  w.Put<float>(0.75f);
  return body;
}

void FramedCorpus(const fs::path& dir) {
  const std::string ckpt = FrameFile(kCheckpointMagic, CheckpointBody());
  Write(dir, "real_checkpoint", ckpt);
  Write(dir, "real_manifest", EncodeManifest(NewTableManifest()));
  Write(dir, "index_magic_empty_body", FrameFile(kIndexMagic, ""));
  Write(dir, "near_truncated", ckpt.substr(0, ckpt.size() - 1));
  Write(dir, "near_padded", ckpt + '\0');
  std::string v2 = ckpt;
  v2[4] = 2;
  Write(dir, "near_version_2", Rechecksummed(v2));
  std::string reserved = ckpt;
  reserved[6] = 1;
  Write(dir, "near_reserved_nonzero", Rechecksummed(reserved));
  Write(dir, "near_header_only", ckpt.substr(0, 16));
}

// As a table writes it: 4 slots, 2 stored items, 2 score columns.
CheckpointData RealCheckpoint() {
  CheckpointData d;
  d.score_columns = 2;
  d.next_seq = 9;
  d.arrivals = 9;
  d.max_priority = 2.5;
  d.counters = {9, 0, 30, 2, 0, 5, 4, 1, 0};
  d.limiter_inserts = 9;
  d.limiter_samples = 30;
  d.rng = {11, 22, 33, 44};
  d.generations = {3, 2, 1, 0};
  d.items = {{.slot = 0,
              .times_sampled = 3,
              .group = 1,
              .priority = 2.5,
              .seq = 7,
              .segment = 4,
              .offset = 0,
              .checksum = 0x1234,
              .length = 392},
             {.slot = 2,
              .times_sampled = 0,
              .group = 2,
              .priority = 1,
              .seq = 8,
              .segment = 5,
              .offset = 4096,
              .checksum = 0x5678,
              .length = 392}};
  d.scores = {0.5f, 1.0f, 0.25f, 0.0f};
  d.resume_items = 2;
  d.free_slots = {3, 1};  // reuse order
  return d;
}

// The state `options`' selector saves over the items of `d` after a short history: every item
// inserted in slot order, the first removed and inserted again (so the order is not seq order).
std::string StateOf(const SelectorOptions& options, const CheckpointData& d) {
  const std::vector<std::string> columns = {"score"};
  std::unique_ptr<Selector> selector = *MakeSelector(options, d.generations.size(), columns);
  std::vector<SelectorItem> items;
  for (size_t k = 0; k < d.items.size(); ++k) {
    const CheckpointItem& it = d.items[k];
    items.push_back({.slot = it.slot,
                     .priority = it.priority,
                     .group = it.group,
                     .seq = it.seq,
                     .score = d.scores[k * d.score_columns]});
  }
  for (const SelectorItem& item : items) selector->Insert(item);
  selector->Remove(items[0].slot);
  selector->Insert(items[0]);
  std::string state;
  selector->SaveState(&state);
  return state;
}

// 8 slots, 5 stored items in 3 groups, 1 score column: the body a table writes, with a state of
// the given strategy as its sampler's and a FIFO remover's.
CheckpointData StateCheckpoint(const SelectorOptions& sampler) {
  CheckpointData d;
  d.score_columns = 1;
  d.next_seq = 20;
  d.arrivals = 20;
  d.max_priority = 3;
  d.rng = {5, 6, 7, 8};
  d.generations = {1, 2, 3, 5, 0, 1, 4, 7};
  const uint32_t slots[] = {0, 2, 3, 5, 7};
  for (size_t k = 0; k < 5; ++k) {
    d.items.push_back({.slot = slots[k],
                       .group = static_cast<int32_t>(k % 3),
                       .priority = 0.5 * static_cast<double>(k % 4),
                       .seq = 10 + (k * 3) % 5,
                       .segment = 2,
                       .offset = static_cast<uint32_t>(k * 64),
                       .checksum = 0x100u + static_cast<uint32_t>(k),
                       .length = 64});
    d.scores.push_back(static_cast<float>(5 - k));
  }
  d.resume_items = 5;
  d.free_slots = {6, 1, 4};
  d.sampler_state = StateOf(sampler, d);
  d.remover_state = StateOf(Fifo(), d);
  return d;
}

void CheckpointCorpus(const fs::path& dir) {
  const std::string real = EncodeCheckpoint(RealCheckpoint());
  Write(dir, "real_two_items", real);
  Write(dir, "real_empty", EncodeCheckpoint(CheckpointData{}));
  CheckpointData v1 = RealCheckpoint();
  v1.version = 1;
  Write(dir, "old_version_1", EncodeCheckpoint(v1));
  const std::pair<const char*, SelectorOptions> kinds[] = {
      {"uniform", Uniform()},
      {"prioritized", Prioritized()},
      {"lifo", Lifo()},
      {"max_heap", MaxHeap()},
      {"group_oldest", GroupBalanced()},
      {"group_random", GroupBalanced(VictimOrder::kRandom)},
      {"group_lowest_score", GroupBalanced(VictimOrder::kLowestScore, "score")}};
  for (const auto& [name, options] : kinds) {
    Write(dir, std::string("real_state_") + name, EncodeCheckpoint(StateCheckpoint(options)));
  }
  Write(dir, "near_truncated", real.substr(0, real.size() - 3));
  CheckpointData dup = RealCheckpoint();
  dup.items[1].slot = 0;
  Write(dir, "near_slot_twice", EncodeCheckpoint(dup));
  CheckpointData free_slot = RealCheckpoint();
  free_slot.generations[2] = 2;
  Write(dir, "near_free_slot", EncodeCheckpoint(free_slot));
  CheckpointData live_free = RealCheckpoint();
  live_free.free_slots = {3, 2};
  Write(dir, "near_free_list_live", EncodeCheckpoint(live_free));
  CheckpointData stale = StateCheckpoint(Uniform());  // valid: Repair dropped items since
  stale.resume_items = 6;
  Write(dir, "near_stale_resume", EncodeCheckpoint(stale));
  CheckpointData cut = StateCheckpoint(GroupBalanced());  // decodes; its state does not load
  cut.sampler_state.pop_back();
  Write(dir, "near_state_truncated", EncodeCheckpoint(cut));
  CheckpointData renamed = StateCheckpoint(MaxHeap());
  renamed.sampler_state[1] = 'n';  // "nax_heap": another strategy's
  Write(dir, "near_state_tag", EncodeCheckpoint(renamed));
}

// Byte 0: row image bytes, byte 1: bytes fields; then the record (fuzz_record.cc).
void RecordCorpus(const fs::path& dir) {
  auto record = [](uint8_t stride, std::vector<std::string_view> fields) {
    const RecordLayout layout{.stride = stride, .bytes_fields = fields.size(), .fixed_bytes = 3};
    const std::string row(stride, '\x5a');
    AlignedBytes out;
    EncodeRecord(layout, reinterpret_cast<const uint8_t*>(row.data()), fields, &out);
    return std::string{static_cast<char>(stride), static_cast<char>(fields.size())} +
           std::string(out.data(), out.size());
  };
  Write(dir, "real_fixed_only", record(16, {}));
  Write(dir, "real_two_bytes_fields", record(8, {"frame bytes", ""}));
  const std::string three = record(8, {"a", "bc", "def"});
  Write(dir, "real_three_bytes_fields", three);
  Write(dir, "near_truncated", three.substr(0, three.size() - 1));
  std::string huge = three;
  huge[2 + 8] = '\xff';  // the first length's low byte
  Write(dir, "near_length_past_end", huge);
  // A compressed layout's stored record (fuzz_record.cc's FuzzStored layout).
  RecordLayout stored;
  stored.stride = 272;
  stored.fixed_bytes = 263;
  stored.fixed = {{.offset = 0, .bytes = 4},
                  {.offset = 8, .bytes = 256, .zstd = true},
                  {.offset = 264, .bytes = 3, .zstd = true}};
  stored.compressed = true;
  std::string row(272, '\0');
  for (size_t i = 8; i < 264; ++i) row[i] = static_cast<char>(i % 16 == 0 ? 9 : 0);
  AlignedBytes out;
  EncodeStored(stored, reinterpret_cast<const uint8_t*>(row.data()), &out);
  Write(dir, "real_compressed", std::string("\0\x80", 2) + std::string(out.data(), out.size()));
}

}  // namespace
}  // namespace strata::internal

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus DIR   (writes DIR/<target>/, replacing it)\n");
    return 2;
  }
  const fs::path root = argv[1];
  const std::vector<std::pair<const char*, void (*)(const fs::path&)>> targets = {
      {"fuzz_manifest", strata::internal::ManifestCorpus},
      {"fuzz_index_entry", strata::internal::IndexCorpus},
      {"fuzz_framed_file", strata::internal::FramedCorpus},
      {"fuzz_checkpoint", strata::internal::CheckpointCorpus},
      {"fuzz_record", strata::internal::RecordCorpus}};
  for (const auto& [name, make] : targets) {
    fs::remove_all(root / name);
    fs::create_directories(root / name);
    make(root / name);
  }
  return 0;
}
