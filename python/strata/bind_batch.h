// Bindings of what sample(), get() and scan() return: strata._strata.Buffer (a reference to C++
// memory that NumPy arrays view), BufferWatch, BytesColumn and Batch. Defined in bind_batch.cc,
// a translation unit of the module; _strata.cc calls BindBatch(m) before TableCore is bound.
#ifndef STRATA_PYTHON_BIND_BATCH_H_
#define STRATA_PYTHON_BIND_BATCH_H_

#include <pybind11/pybind11.h>

namespace strata::python {

// Adds the classes above to the module `m`.
void BindBatch(pybind11::module_& m);

}  // namespace strata::python

#endif  // STRATA_PYTHON_BIND_BATCH_H_
