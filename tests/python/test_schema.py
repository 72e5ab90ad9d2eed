"""Schema construction from dicts and examples, and its errors."""

import numpy as np
import pytest

import strata

ALL_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def test_schema_from_dict_forms():
    s = strata.Schema(
        {"obs": (np.float32, (2, 3)), "a": np.int64, "b": "uint8", "c": (np.float16, 5), "f": bytes},
        scores=["loss", "age"],
    )
    assert s.names == ("obs", "a", "b", "c", "f")
    assert s["obs"] == strata.Field("obs", np.dtype(np.float32), (2, 3), False)
    assert s["a"].shape == () and s["a"].dtype == np.int64
    assert s["b"].dtype == np.uint8
    assert s["c"].shape == (5,)
    assert s["f"].variable and s["f"].dtype is None
    assert s.scores == ("loss", "age")
    assert "obs" in s and "nope" not in s and len(s) == 5
    with pytest.raises(KeyError):
        s["nope"]
    assert strata.Schema(s.as_dict(), s.scores) == s
    assert hash(strata.Schema(s.as_dict(), s.scores)) == hash(s)
    assert "float32" in repr(s) and "bytes" in repr(s) and "loss" in repr(s)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_every_supported_dtype(dtype):
    s = strata.Schema({"x": (dtype, (2,))})
    assert s["x"].dtype == np.dtype(dtype)


def test_from_example():
    s = strata.Schema.from_example(
        {"obs": np.zeros((3, 4), np.float32), "r": 1.5, "n": 3, "done": np.bool_(True), "img": b"\x00\x01"},
        scores=["loss"],
    )
    assert s["obs"] == strata.Field("obs", np.dtype(np.float32), (3, 4), False)
    assert s["r"].dtype == np.float64 and s["r"].shape == ()
    assert s["n"].dtype == np.int64
    assert s["done"].dtype == np.bool_
    assert s["img"].variable
    assert s.scores == ("loss",)


@pytest.mark.parametrize(
    "fields, scores, match",
    [
        ({}, (), "no fields"),
        ({"x": np.uint16}, (), "uint16 is not supported"),
        ({"x": np.complex64}, (), "complex64 is not supported"),
        ({"x": np.dtype(">f4")}, (), "not supported"),
        ({"x": (np.float32, (0,))}, (), "x"),
        ({"x": (np.float32, (3, -1))}, (), "x"),
        ({"x": np.float32}, ("x",), "x"),
        ({"": np.float32}, (), "empty"),
        ({"x": (bytes, (3,))}, (), "bytes field has no shape"),
        ({"x": (np.float32, "abc")}, (), "shape"),
        ({"x": (np.float32, 3, 4)}, (), "compression must be one of"),  # (dtype, shape, ?)
        ({"x": (np.float32, 3, "zstd", 4)}, (), "expected dtype"),
        ({"x": "not-a-dtype"}, (), "not a dtype"),
        ({"x": np.float32}, ("l", "l"), "l"),
    ],
)
def test_schema_errors(fields, scores, match):
    with pytest.raises(ValueError, match=match):
        strata.Schema(fields, scores)


def test_schema_type_errors():
    with pytest.raises(TypeError):
        strata.Schema([("x", np.float32)])
    with pytest.raises(TypeError):
        strata.Schema({1: np.float32})


def test_table_takes_dict_or_schema():
    s = strata.Schema({"x": np.float32})
    assert strata.Table("a", s, capacity=4).schema is s
    assert strata.Table("b", {"x": np.float32}, capacity=4).schema == s
