"""Logging: the core's records reach logging.getLogger("strata") (children "strata.<component>"),
through the binding's queue, delivered by a daemon thread and by strata.flush_logs()."""
import gc
import logging
import subprocess
import sys
import time

import numpy as np
import pytest

import strata

SCHEMA = {"id": np.int64, "obs": (np.float32, (16,))}
ROW = 8 + 4 * 16


def items(n: int, start: int = 0):
    ids = np.arange(start, start + n, dtype=np.int64)
    return {"id": ids, "obs": np.repeat(ids[:, None], 16, axis=1).astype(np.float32)}


def strata_records(caplog, component=None):
    strata.flush_logs()
    return [r for r in caplog.records
            if r.name.startswith("strata") and (component is None or r.name == f"strata.{component}")]


def write_and_reopen(name, path):
    """Writes 5 items to a table in `path`, closes it, and opens and closes it again (the reopen
    logs a recovery record)."""
    t = strata.Table(name, SCHEMA, capacity=100, storage_dir=path, dram_budget_bytes=10 * ROW)
    t.insert(items(5))
    t.close()
    del t
    gc.collect()
    strata.Table(name, SCHEMA, capacity=100, storage_dir=path, dram_budget_bytes=10 * ROW).close()


def test_reopen_logs_a_recovery_record(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="strata")
    t = strata.Table("logged", SCHEMA, capacity=1000, storage_dir=tmp_path, dram_budget_bytes=10 * ROW)
    t.insert(items(50))
    t.checkpoint()
    t.close()
    del t
    gc.collect()
    strata.flush_logs()
    caplog.clear()
    t = strata.Table("logged", SCHEMA, capacity=1000, storage_dir=tmp_path, dram_budget_bytes=10 * ROW)
    try:
        recs = strata_records(caplog, "recovery")
        assert len(recs) == 1, [r.getMessage() for r in caplog.records]
        assert recs[0].levelno == logging.INFO
        msg = recs[0].getMessage()
        assert "table 'logged': recovered 50 items from" in msg and str(tmp_path) in msg
        assert "checkpoint meta-" in msg
    finally:
        t.close()


def test_children_propagate_to_the_strata_logger(tmp_path):
    got = []

    class Handler(logging.Handler):
        def emit(self, record):
            got.append(record)

    logger = logging.getLogger("strata")
    handler = Handler(level=logging.INFO)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        write_and_reopen("kids", tmp_path)
        strata.flush_logs()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    names = {r.name for r in got}
    assert "strata.recovery" in names


def test_daemon_thread_delivers_without_flush(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="strata")
    write_and_reopen("bg", tmp_path)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if any(r.name == "strata.recovery" and "'bg'" in r.getMessage() for r in caplog.records):
            break
        time.sleep(0.02)
    else:
        pytest.fail("the delivering thread did not deliver the recovery record")


def test_storage_error_is_logged_once(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="strata")
    t = strata.Table("full", SCHEMA, capacity=10_000, storage_dir=tmp_path,
                     dram_budget_bytes=1000 * ROW, storage_budget_bytes=4096)
    try:
        with pytest.raises(Exception):
            for i in range(20):
                t.insert(items(100, start=100 * i))
        time.sleep(0.1)  # the writer retries meanwhile: still one record
        recs = [r for r in strata_records(caplog, "storage") if r.levelno >= logging.WARNING]
        assert len(recs) == 1, [r.getMessage() for r in recs]
        assert recs[0].levelno == logging.ERROR
        assert "table 'full'" in recs[0].getMessage()
        assert "storage budget" in recs[0].getMessage()
    finally:
        t.close()


def test_flush_logs_is_in_all():
    assert "flush_logs" in strata.__all__
    strata.flush_logs()  # nothing queued: a no-op


def test_no_hang_at_interpreter_exit(tmp_path):
    code = (
        "import numpy as np, strata, sys\n"
        f"p = {str(tmp_path)!r}\n"
        "s = {'x': np.int64}\n"
        "for _ in range(2):\n"
        "    t = strata.Table('exit', s, capacity=100, storage_dir=p, dram_budget_bytes=800)\n"
        "    t.insert({'x': np.arange(10)})\n"
        "    t.close(); del t\n"
        "t = strata.Table('exit', s, capacity=100, storage_dir=p, dram_budget_bytes=800,\n"
        "                 storage_budget_bytes=1)\n"
        "try:\n"
        "    t.insert({'x': np.arange(10)})\n"
        "except Exception:\n"
        "    pass\n"
        "# exits with the table open, its writer failing, records queued\n"
    )
    import os
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-c", code], timeout=60, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
