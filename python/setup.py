"""Builds strata._strata from python/strata/_strata.cc and the core sources in ../src.

Everything comes from Debian packages: pybind11's setup helpers (python3-pybind11), NumPy headers
are not needed (pybind11 reaches NumPy at run time), Abseil is found with pkg-config
(libabsl-dev) and liburing (liburing-dev) is linked by name. Compiles in parallel on all cores.
"""

import os
import shlex
import subprocess
from pathlib import Path

from pybind11.setup_helpers import ParallelCompile, Pybind11Extension
from setuptools import setup

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ABSL = ["absl_status", "absl_statusor", "absl_strings", "absl_str_format", "absl_synchronization",
        "absl_time", "absl_span", "absl_inlined_vector", "absl_flat_hash_map", "absl_flat_hash_set"]


def pkg_config(*args):
    try:
        out = subprocess.run(["pkg-config", *args, *ABSL], check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit(f"strata: pkg-config could not find Abseil ({e}); install libabsl-dev") from None
    return shlex.split(out.stdout)


def core_sources():
    """Every .cc under src/ except tests and benchmarks (relative paths keep object files in build/)."""
    srcs = sorted(p for p in (ROOT / "src").rglob("*.cc")
                  if not p.name.endswith(("_test.cc", "_bench.cc")))
    if not srcs:
        raise SystemExit(f"strata: no core sources under {ROOT / 'src'}; install from the repository")
    return [os.path.relpath(p, HERE) for p in srcs]


def headers():
    """The headers the extension is compiled from: setuptools rebuilds it when any of them (or a
    source) is newer than the built module, not only when a .cc file is."""
    found = [*(ROOT / "include").rglob("*.h"), *(ROOT / "src").rglob("*.h"),
             *(HERE / "strata").glob("*.h")]
    return sorted(os.path.relpath(p, HERE) for p in found)


# Always recompile everything: the core headers change under us and an mtime check per .cc
# would link objects built against different layouts.
ParallelCompile("STRATA_BUILD_JOBS", default=0).install()

ext = Pybind11Extension(
    "strata._strata",
    ["strata/_strata.cc", "strata/bind_cl.cc", "strata/bind_batch.cc", *core_sources()],
    include_dirs=[str(ROOT / "include"), str(ROOT / "src")],
    depends=headers(),
    cxx_std=20,
    extra_compile_args=[*pkg_config("--cflags"), "-O2", "-g0"],
    extra_link_args=pkg_config("--libs"),
    libraries=["uring", "zstd"],  # liburing-dev: src/io/uring_reader.cc; libzstd-dev: src/tier
)

setup(ext_modules=[ext])
