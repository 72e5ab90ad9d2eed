#include "tier/frame_manager.h"

#include "absl/strings/str_cat.h"

namespace strata::internal {

void FrameManager::Init(size_t slots, uint64_t frames, uint64_t spares) {
  frames_ = frames;
  spares_ = spares;
  frame_.assign(slots, kNoFrame);
  slot_.assign(frames + spares, kNoSlot);
  free_.resize(frames);
  for (uint64_t f = 0; f < frames; ++f) free_[f] = static_cast<uint32_t>(frames - 1 - f);
  spare_.clear();
  for (uint64_t f = 0; f < spares; ++f) spare_.push_back(static_cast<uint32_t>(frames + f));
  in_flight_ = resident_items_ = resident_bytes_ = clean_bytes_ = 0;
}

uint32_t FrameManager::Assign(Slot s, uint64_t bytes) {
  const uint32_t frame = free_.back();
  free_.pop_back();
  frame_[s] = frame;
  slot_[frame] = s;
  resident_bytes_ += bytes;
  ++resident_items_;
  return frame;
}

uint32_t FrameManager::Release(Slot s, uint64_t bytes, bool clean) {
  const uint32_t frame = frame_[s];
  slot_[frame] = kNoSlot;
  free_.push_back(frame);
  frame_[s] = kNoFrame;
  resident_bytes_ -= bytes;
  if (clean) clean_bytes_ -= bytes;
  --resident_items_;
  return frame;
}

bool FrameManager::TakeSpare(uint32_t* frame) {
  if (spare_.empty()) return false;
  *frame = spare_.back();
  spare_.pop_back();
  ++in_flight_;
  return true;
}

void FrameManager::ReturnSpare(uint32_t frame) {
  --in_flight_;
  spare_.push_back(frame);
}

void FrameManager::InstallSpare(Slot s, uint32_t frame, uint64_t bytes) {
  --in_flight_;
  const uint32_t displaced = free_.back();
  free_.pop_back();
  spare_.push_back(displaced);
  frame_[s] = frame;
  slot_[frame] = s;
  resident_bytes_ += bytes;
  clean_bytes_ += bytes;
  ++resident_items_;
}

absl::Status FrameManager::CheckInvariants() const {
  uint64_t resident = 0;
  for (uint32_t f = 0; f < slot_.size(); ++f) {
    const Slot s = slot_[f];
    if (s == kNoSlot) continue;
    ++resident;
    if (s >= frame_.size() || frame_[s] != f) {
      return absl::InternalError(
          absl::StrCat("frame ", f, " names slot ", s, ", which is not in it"));
    }
  }
  if (resident != resident_items_) {
    return absl::InternalError(
        absl::StrCat(resident, " frames hold an item, counted ", resident_items_));
  }
  if (resident + free_.size() + spare_.size() + in_flight_ != rows()) {
    return absl::InternalError(absl::StrCat(resident, " resident + ", free_.size(), " free + ",
                                            spare_.size(), " + ", in_flight_,
                                            " spare frames != ", rows(), " rows"));
  }
  if (clean_bytes_ > resident_bytes_) {
    return absl::InternalError(
        absl::StrCat(clean_bytes_, " clean bytes of ", resident_bytes_, " resident"));
  }
  return absl::OkStatus();
}

}  // namespace strata::internal
