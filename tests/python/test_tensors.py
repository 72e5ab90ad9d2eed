"""torch tensors follow the rules of NumPy arrays everywhere the API takes values (issue 11): their
own dtype and shape for fields (a float64 tensor for a float32 field is refused, as a float64
array is), exact conversion for metadata, integer keys only; a tensor that requires grad is
detached, on any call."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import strata  # noqa: E402


def table():
    return strata.Table("t", strata.Schema({"x": np.float32, "i": np.int32}, scores=["loss"]),
                        capacity=16, sampler=strata.Prioritized(1.0, 1.0))


def test_tensor_fields_are_taken_with_their_own_dtype_like_arrays():
    t = table()
    keys = t.insert({"x": torch.arange(3, dtype=torch.float32),
                     "i": torch.tensor([4, 5, 6], dtype=torch.int32)})
    got = t.get(keys)
    assert got["x"].tolist() == [0, 1, 2] and got["i"].tolist() == [4, 5, 6]
    # What NumPy arrays are refused, tensors are refused the same way, and nothing is inserted.
    for field, value, array in [
        ("x", torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64), np.array([0.1, 0.2, 0.3])),
        ("i", torch.tensor([1, 2, 3]), np.array([1, 2, 3], dtype=np.int64)),
    ]:
        other = {"x": np.zeros(3, np.float32), "i": np.zeros(3, np.int32)}
        with pytest.raises(ValueError) as from_tensor:
            t.insert({**other, field: value})
        with pytest.raises(ValueError) as from_array:
            t.insert({**other, field: array})
        assert str(from_tensor.value) == str(from_array.value)
        assert f"field '{field}': expected dtype" in str(from_tensor.value)
    assert len(t) == 3


def test_tensors_that_require_grad_are_detached_on_every_call():
    t = table()
    x = torch.ones(4, requires_grad=True)
    keys = t.insert({"x": x * 2, "i": np.arange(4, dtype=np.int32)},
                    priorities=torch.tensor([1.0, 2, 3, 4], requires_grad=True))
    assert t.get(keys)["x"].tolist() == [2, 2, 2, 2]
    loss = (x * 3).sum(dim=0, keepdim=True).expand(4)  # requires grad
    assert t.update_priorities(keys, loss).applied == 4
    assert t.get(keys).priorities.tolist() == [12, 12, 12, 12]
    assert t.update_scores(keys, loss=loss / 12).applied == 4
    scan = next(iter(t.scan()))
    assert scan.scores["loss"].tolist() == [1, 1, 1, 1]
    loss.sum().backward()  # the graph is untouched
    assert x.grad.tolist() == [12, 12, 12, 12]


def test_keys_as_int64_tensors_work_and_float_keys_are_refused():
    t = table()
    keys = t.insert({"x": np.zeros(3, np.float32), "i": np.zeros(3, np.int32)})
    as_tensor = torch.from_numpy(keys.view(np.int64))  # how strata.torch hands keys out
    assert t.update_priorities(as_tensor, [5.0, 6.0, 7.0]).applied == 3
    assert t.get(as_tensor).priorities.tolist() == [5, 6, 7]
    for bad in (keys.astype(np.float64), torch.tensor([1.5]), np.array([True])):
        with pytest.raises(TypeError, match="keys must be integer keys"):
            t.delete(bad)
    for bad, where in (([int(keys[0]), 1.0], r"keys\[1\] is float"), (True, "key is bool")):
        with pytest.raises(TypeError, match=where):
            t.delete(bad)
    with pytest.raises(ValueError, match=r"keys\[0\] is -1, not a key"):
        t.delete([-1])
    # A list mixing Python ints and NumPy uint64 keys (NumPy alone would read it as float64 and
    # round keys above 2**53) is converted key by key, exactly.
    assert t.get([12345, keys[1], int(keys[2])]).missing.tolist() == [0]
    assert len(t) == 3
    assert t.delete([]).applied == 0  # an empty list is no keys, not a float array


def test_non_contiguous_tensors_are_read_correctly():
    t = table()
    wide = torch.arange(12, dtype=torch.float32)
    keys = t.insert({"x": wide[::2], "i": np.arange(6, dtype=np.int32)},
                    priorities=torch.arange(12, dtype=torch.float64)[1::2])
    b = t.get(keys)
    assert b["x"].tolist() == [0, 2, 4, 6, 8, 10]
    assert b.priorities.tolist() == [1, 3, 5, 7, 9, 11]
