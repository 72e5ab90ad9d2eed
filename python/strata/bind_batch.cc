// strata._strata.Buffer, BufferWatch, BytesColumn and Batch (see bind_batch.h).
#include "bind_batch.h"

#include <string>
#include <vector>

#include "convert.h"

namespace strata::python {

void BindBatch(py::module_& m) {
  py::class_<BufferRef>(
      m, "Buffer", py::buffer_protocol(),
      "A reference to a block of C++ memory (a strata::Buffer) that sampled arrays "
      "view: it is their `.base`. The memory is freed when the last reference goes.")
      .def_buffer([](BufferRef& b) {
        return py::buffer_info(b.buffer->data(), 1, py::format_descriptor<uint8_t>::format(), 1,
                               {static_cast<py::ssize_t>(b.buffer->size())}, {1});
      })
      .def_property_readonly(
          "address",
          [](const BufferRef& b) { return reinterpret_cast<uintptr_t>(b.buffer->data()); },
          "Address of the first byte.")
      .def_property_readonly(
          "nbytes", [](const BufferRef& b) { return b.buffer->size(); }, "Bytes in use.")
      .def(
          "watch", [](const BufferRef& b) { return BufferWatch{b.buffer}; },
          "A weak reference to the C++ buffer, for tests and diagnostics (its `alive` turns False "
          "once the memory is freed).");
  py::class_<BufferWatch>(m, "BufferWatch", "A weak reference to a C++ buffer.")
      .def_property_readonly(
          "alive", [](const BufferWatch& w) { return !w.buffer.expired(); },
          "Whether the C++ buffer still exists.");

  py::class_<BytesColumn>(m, "BytesColumn",
                          "The items of a variable-size bytes field of a Batch: a read-only "
                          "sequence of bytes over one packed C++ buffer (no copy until indexed).")
      .def("__len__", [](const BytesColumn& c) { return c.n; })
      .def("__getitem__", &BytesColumn::Item, py::arg("index"), "Item `index` as bytes (a copy).")
      .def("__getitem__",
           [](const BytesColumn& c, const py::slice& s) {
             size_t start, stop, step, len;
             if (!s.compute(c.n, &start, &stop, &step, &len)) throw py::error_already_set();
             py::list out(len);
             for (size_t i = 0; i < len; ++i)
               out[i] = c.Item(static_cast<py::ssize_t>(start + i * step));
             return out;
           })
      .def("__iter__", [](const BytesColumn& c) { return py::iter(c.ToList()); })
      .def("__eq__",
           [](const BytesColumn& c, const py::object& other) {
             if (!py::isinstance<py::sequence>(other) || py::isinstance<py::str>(other))
               return false;
             return c.ToList().equal(py::list(other));
           })
      .def("tolist", &BytesColumn::ToList, "All items as a list of bytes (copies).")
      .def_property_readonly(
          "data",
          [](const BytesColumn& c) {
            const uint64_t total = c.off()[c.n];
            return ViewBuffer(c.data, NumpyDType(DType::kU8), {static_cast<py::ssize_t>(total)});
          },
          "All items back to back: a uint8 array viewing the C++ buffer (no copy).")
      .def_property_readonly(
          "offsets",
          [](const BytesColumn& c) {
            return ViewBuffer(c.offsets, py::dtype::of<uint64_t>(),
                              {static_cast<py::ssize_t>(c.n + 1)});
          },
          "n + 1 uint64 offsets: item i is data[offsets[i]:offsets[i+1]] (no copy).")
      .def("__repr__", [](const BytesColumn& c) { return Cat("BytesColumn(", c.n, " items)"); });

  py::class_<PyBatch>(
      m, "Batch",
      "Items returned by Table.sample() or Table.get(): per field one NumPy array with a leading\n"
      "batch dimension (batch['obs'] or batch.obs; a BytesColumn for bytes fields) viewing C++\n"
      "memory without a copy, plus per-item metadata arrays. The arrays stay valid for as long as\n"
      "they are referenced, independently of the Batch.")
      .def("__len__", [](const PyBatch& b) { return b.batch->size(); })
      .def(
          "__getitem__",
          [](const PyBatch& b, const std::string& name) {
            const FieldData* f = b.Find(name);
            if (f == nullptr) throw py::key_error(name);
            return FieldValue(*f);
          },
          py::arg("field"), "The values of `field` (KeyError if the schema has no such field).")
      .def("__getattr__",
           [](const PyBatch& b, const std::string& name) {
             const FieldData* f = b.Find(name);
             if (f == nullptr)
               throw py::attribute_error(Cat("Batch has no field or attribute '", name, "'"));
             return FieldValue(*f);
           })
      .def("__contains__",
           [](const PyBatch& b, const std::string& name) { return b.Find(name) != nullptr; })
      .def_property_readonly(
          "field_names",
          [](const PyBatch& b) {
            py::list out;
            for (size_t i = 0; i < b.batch->num_fields(); ++i) out.append(b.batch->field(i).name);
            return out;
          },
          "Names of the fields, in schema order.")
      .def_property_readonly(
          "fields",
          [](const PyBatch& b) {
            py::dict out;
            for (size_t i = 0; i < b.batch->num_fields(); ++i) {
              out[py::str(b.batch->field(i).name)] = FieldValue(b.batch->field(i));
            }
            return out;
          },
          "A dict of field name -> values.")
      .def_property_readonly(
          "keys",
          [](const py::object& self) {
            return ViewVector(self.cast<PyBatch&>().batch->keys(), self);
          },
          "uint64 keys of the items.")
      .def_property_readonly(
          "probabilities",
          [](const py::object& self) -> py::object {
            const PyBatch& b = self.cast<PyBatch&>();
            if (!b.sampled) return py::none();
            return ViewVector(b.batch->probabilities(), self);
          },
          "float64 probability that one draw picks each item (None for get()).")
      .def_property_readonly(
          "weights",
          [](const py::object& self) -> py::object {
            const PyBatch& b = self.cast<PyBatch&>();
            if (!b.sampled) return py::none();
            return ViewVector(b.batch->weights(), self);
          },
          "float64 importance weights in (0, 1] (all 1 unless the sampler is Prioritized with beta "
          "> 0; "
          "None for get()).")
      .def_property_readonly(
          "priorities",
          [](const py::object& self) {
            return ViewVector(self.cast<PyBatch&>().batch->priorities(), self);
          },
          "float64 priorities of the items.")
      .def_property_readonly(
          "groups",
          [](const py::object& self) {
            return ViewVector(self.cast<PyBatch&>().batch->groups(), self);
          },
          "int32 group (class) ids.")
      .def_property_readonly(
          "tasks",
          [](const py::object& self) {
            return ViewVector(self.cast<PyBatch&>().batch->tasks(), self);
          },
          "int32 task ids.")
      .def_property_readonly(
          "scores",
          [](const PyBatch& b) -> py::object {
            if (b.score_columns.empty() && b.batch->scores().empty()) return py::none();
            py::dict out;
            const size_t n = b.batch->size();
            const size_t cols = b.score_columns.size();
            for (size_t c = 0; c < cols; ++c) {
              py::array_t<float> col(static_cast<py::ssize_t>(n));
              float* dst = col.mutable_data();
              for (size_t i = 0; i < n; ++i) dst[i] = b.batch->scores()[i * cols + c];
              out[py::str(b.score_columns[c])] = std::move(col);
            }
            return out;
          },
          "Table.scan() only: a dict of score column -> float32 values (None for sample() and "
          "get()).")
      .def_property_readonly(
          "times_sampled",
          [](const py::object& self) {
            return ViewVector(self.cast<PyBatch&>().batch->times_sampled(), self);
          },
          "uint32 times each item has been sampled, this sample included.")
      .def_property_readonly(
          "missing",
          [](const py::object& self) { return ViewVector(self.cast<PyBatch&>().missing, self); },
          "get(): int64 indices into the requested keys of those not found (stale or unknown); "
          "empty for sample().")
      .def("__repr__", &BatchRepr);
}

}  // namespace strata::python
