// Bindings of the continual-learning runtime's C++ pieces (include/strata/energy.h,
// include/strata/swap_controller.h): strata._strata.EnergyMeter, EnergyReading and
// SwapController. Defined in bind_cl.cc, a second translation unit of the module; _strata.cc
// calls BindContinual(m) after TableCore is bound (SwapController takes a TableCore).
#ifndef STRATA_PYTHON_BIND_CL_H_
#define STRATA_PYTHON_BIND_CL_H_

#include <pybind11/pybind11.h>

namespace strata::python {

// Adds the classes above to the module `m`.
void BindContinual(pybind11::module_& m);

}  // namespace strata::python

#endif  // STRATA_PYTHON_BIND_CL_H_
