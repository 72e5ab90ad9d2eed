// Vectorcall (METH_FASTCALL) entry points for the hottest methods. pybind11's dispatcher costs
// about 150 ns per call, and about 350 ns once a keyword argument is passed: a third of a
// single-item insert. These wrappers parse arguments directly and translate C++ exceptions as
// pybind11 would. Included only by _strata.cc.
#ifndef STRATA_PYTHON_FASTCALL_H_
#define STRATA_PYTHON_FASTCALL_H_

#include <pybind11/pybind11.h>

#include <array>
#include <cstddef>
#include <exception>
#include <new>
#include <string>

#pragma GCC visibility push(hidden)
namespace strata::python {

// Binds vectorcall arguments to `names`: the first `positional` names may be passed by position,
// every name by keyword; the first `required` must be given. Unset entries stay nullptr.
// Throws TypeError as CPython would for a bad call.
template <size_t N>
void ParseFastArgs(const char* fn, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames,
                   const std::array<const char*, N>& names, size_t positional, size_t required,
                   std::array<PyObject*, N>* out) {
  out->fill(nullptr);
  if (static_cast<size_t>(nargs) > positional) {
    throw pybind11::type_error(std::string(fn) + "() takes " + std::to_string(positional) +
                               " positional argument(s) but " + std::to_string(nargs) +
                               " were given");
  }
  for (Py_ssize_t i = 0; i < nargs; ++i) (*out)[i] = args[i];
  const Py_ssize_t nkw = kwnames == nullptr ? 0 : PyTuple_GET_SIZE(kwnames);
  for (Py_ssize_t k = 0; k < nkw; ++k) {
    PyObject* key = PyTuple_GET_ITEM(kwnames, k);
    size_t j = 0;
    while (j < N && PyUnicode_CompareWithASCIIString(key, names[j]) != 0) ++j;
    if (j == N) {
      throw pybind11::type_error(std::string(fn) + "() got an unexpected keyword argument '" +
                                 pybind11::str(key).cast<std::string>() + "'");
    }
    if ((*out)[j] != nullptr) {
      throw pybind11::type_error(std::string(fn) + "() got multiple values for argument '" +
                                 names[j] + "'");
    }
    (*out)[j] = args[nargs + k];
  }
  for (size_t j = 0; j < required; ++j) {
    if ((*out)[j] == nullptr) {
      throw pybind11::type_error(std::string(fn) + "() missing required argument '" + names[j] +
                                 "'");
    }
  }
}

// Runs `body` (returning a py::object) and converts a C++ exception to a Python error, as
// pybind11's dispatcher does; returns a new reference or nullptr with the error set.
template <typename Body>
PyObject* TranslateExceptions(Body&& body) {
  try {
    return body().release().ptr();
  } catch (pybind11::error_already_set& e) {
    e.restore();
  } catch (pybind11::builtin_exception& e) {  // value_error, type_error, cast_error, ...
    e.set_error();
  } catch (const std::bad_alloc&) {
    PyErr_SetString(PyExc_MemoryError, "std::bad_alloc");
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  } catch (...) {
    PyErr_SetString(PyExc_RuntimeError, "unknown C++ exception in strata");
  }
  return nullptr;
}

// Adds `def` (a METH_FASTCALL | METH_KEYWORDS function taking self first) to `cls` as a method.
inline void AddFastMethod(pybind11::handle cls, PyMethodDef* def) {
  PyObject* descr = PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(cls.ptr()), def);
  if (descr == nullptr) throw pybind11::error_already_set();
  pybind11::setattr(cls, def->ml_name, pybind11::reinterpret_steal<pybind11::object>(descr));
}

}  // namespace strata::python
#pragma GCC visibility pop

#endif  // STRATA_PYTHON_FASTCALL_H_
