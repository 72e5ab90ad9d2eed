// Write access to SampleBatch's private vectors for the table implementation, so that the public
// class stays read-only for users.
#ifndef STRATA_CORE_BATCH_WRITER_H_
#define STRATA_CORE_BATCH_WRITER_H_

#include <memory>
#include <vector>

#include "strata/batch.h"

namespace strata::internal {

class BatchWriter {
 public:
  static std::vector<Key>& keys(SampleBatch* b) { return b->keys_; }
  static std::vector<double>& probabilities(SampleBatch* b) { return b->probabilities_; }
  static std::vector<double>& weights(SampleBatch* b) { return b->weights_; }
  static std::vector<double>& priorities(SampleBatch* b) { return b->priorities_; }
  static std::vector<int32_t>& groups(SampleBatch* b) { return b->groups_; }
  static std::vector<int32_t>& tasks(SampleBatch* b) { return b->tasks_; }
  static std::vector<uint32_t>& times_sampled(SampleBatch* b) { return b->times_sampled_; }
  static std::vector<float>& scores(SampleBatch* b) { return b->scores_; }
  static std::vector<FieldData>& fields(SampleBatch* b) { return b->fields_; }

  // A buffer of `bytes` for `*slot`: the existing one when nobody else holds it and it is large
  // enough (so a reused SampleBatch allocates nothing), else a new one.
  static Buffer* Reserve(std::shared_ptr<Buffer>* slot, size_t bytes) {
    if (*slot == nullptr || slot->use_count() != 1 || (*slot)->capacity() < bytes) {
      *slot = Buffer::Allocate(bytes);
    }
    (*slot)->set_size(bytes);
    return slot->get();
  }
};

}  // namespace strata::internal

#endif  // STRATA_CORE_BATCH_WRITER_H_
