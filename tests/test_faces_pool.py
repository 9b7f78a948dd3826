"""The pool with real processes: crashes and hangs charged to their task, limits in the child."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from likeness.config import REPO_ROOT
from likeness.faces.pool import FacePool, PoolError
from likeness.faces.types import DetectResult, DetectTask, EncodeBoxTask, ImageError, TestTask
from tests.fixtures.faces import FACES_DIR, photo_bytes

SMALL = "people/colin_powell/1.jpg"  # 150x150, one face: a quick task
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def quick_pool() -> Iterator[FacePool]:
    """Short deadline and CPU budget so hangs and spins are cut off fast."""
    if not (FACES_DIR / "people").is_dir():
        pytest.skip(f"labelled photos not found at {FACES_DIR} (set LIKENESS_FACES_DIR)")
    with FacePool(
        2,
        task_timeout=4,
        cpu_limit_s=2,
        cpu_lifetime_s=60,
        memory_limit_mb=1024,
        allow_test_tasks=True,
    ) as pool:
        pool.wait_ready()
        yield pool


def test_segfault_exit_and_hang_are_charged_to_their_task_only(quick_pool: FacePool) -> None:
    small = photo_bytes(SMALL)
    before = set(quick_pool.child_pids())
    tasks = [
        DetectTask("a", small),
        TestTask("segfault", "segfault"),
        DetectTask("b", small),
        TestTask("hang", "hang"),
        DetectTask("c", small),
        TestTask("exit", "exit", 7),
        DetectTask("d", small),
        DetectTask("e", small),
    ]
    started = time.monotonic()
    results = dict(quick_pool.map_unordered(tasks))
    assert time.monotonic() - started < 30  # the hang costs one deadline, not the batch
    assert set(results) == {task.task_id for task in tasks}
    for name in "abcde":
        assert isinstance(results[name], DetectResult), (name, results[name])
        assert len(results[name].faces) == 1
    assert results["segfault"] == ImageError(
        "crashed", "child died from SIGSEGV while working on this image"
    )
    assert results["hang"].kind == "timeout"
    assert results["exit"].kind == "crashed" and "code 7" in results["exit"].message
    # three children were replaced; the pool is still full and working
    after = set(quick_pool.child_pids())
    assert len(after) == 2 and before - after
    assert isinstance(quick_pool.run(DetectTask("later", small)), DetectResult)


def test_cpu_budget_kills_a_spinning_child_before_the_deadline() -> None:
    # a long wall deadline, so only RLIMIT_CPU (SIGXCPU) can stop the spin
    with FacePool(1, task_timeout=60, cpu_limit_s=1, allow_test_tasks=True) as pool:
        started = time.monotonic()
        result = pool.run(TestTask("spin", "spin"))
        assert isinstance(result, ImageError) and result.kind == "cpu", result
        assert time.monotonic() - started < 30
        echo = pool.run(TestTask("after-spin", "echo", 1.5))
        assert echo["arg"] == 1.5 and echo["pid"] in pool.child_pids()


def test_memory_limit_turns_a_huge_allocation_into_a_memory_error(quick_pool: FacePool) -> None:
    result = quick_pool.run(TestTask("alloc", "allocate", 2048))
    assert result == ImageError("memory", "out of memory (limit 1024 MB)")
    assert quick_pool.run(TestTask("alloc-small", "allocate", 50)) == {"allocated_mb": 50.0}


def test_child_limits_are_set_in_the_child(quick_pool: FacePool) -> None:
    info = quick_pool.run(TestTask("limits", "limits"))
    assert info["as"] == [1024 * MIB, 1024 * MIB]
    soft, hard = info["cpu"]
    assert hard == 60
    assert info["cpu_used"] < soft <= info["cpu_used"] + 2 + 1  # re-armed for this task
    assert info["core"] == [0, 0]
    assert info["pid"] in quick_pool.child_pids()


def test_dlib_is_loaded_in_children_but_never_in_the_parent(tmp_path: Path) -> None:
    """A fresh interpreter (other test modules may import what they like into this one).

    The script has no ``if __name__ == "__main__"`` guard on purpose: children must not re-run
    the parent's main script (they would start pools of their own).
    """
    script = tmp_path / "unguarded.py"
    script.write_text(
        f"""
import json, sys
sys.path.insert(0, {str(REPO_ROOT)!r})
from likeness.faces.pool import FacePool
from likeness.faces.types import DetectTask, TestTask

with FacePool(1) as pool:
    result = pool.run(DetectTask("x", open({str(FACES_DIR / SMALL)!r}, "rb").read()))
    try:
        pool.submit(TestTask("t", "modules"))
        refused = False
    except ValueError:
        refused = True
    spawned = pool.stats["spawned"]
print(json.dumps({{"faces": len(result.faces), "dlib": "dlib" in sys.modules,
                  "numpy": "numpy" in sys.modules, "refused": refused, "spawned": spawned}}))
""",
        encoding="utf-8",
    )
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    expected = {"faces": 1, "dlib": False, "numpy": False, "refused": True, "spawned": 1}
    assert report == expected, out.stderr


def test_children_import_dlib(quick_pool: FacePool) -> None:
    assert quick_pool.run(TestTask("modules", "modules"))["dlib"] is True


def test_children_are_recycled_after_max_tasks() -> None:
    with FacePool(1, max_tasks_per_child=2, allow_test_tasks=True) as pool:
        pids = [pool.run(TestTask(i, "echo"))["pid"] for i in range(3)]
        assert pids[0] == pids[1] != pids[2]
        assert pool.stats["recycled"] == 1
    with FacePool(1, max_rss_mb=1, allow_test_tasks=True) as pool:  # every child is over 1 MB
        pids = [pool.run(TestTask(i, "echo"))["pid"] for i in range(2)]
        assert len(set(pids)) == 2 and pool.stats["recycled"] == 2


def test_bad_tasks_are_refused_at_submit() -> None:
    with pytest.raises(ValueError):
        DetectTask("x", b"data", upsample=9)
    with pytest.raises(TypeError):
        DetectTask("x", "not bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        EncodeBoxTask("x", b"data", (0, 0, 10, 10))  # type: ignore[arg-type]


def test_children_that_cannot_start_break_the_pool_loudly() -> None:
    pool = FacePool(1, memory_limit_mb=40, startup_timeout=20)
    with pytest.raises(PoolError, match="start-up"):
        pool.wait_ready(timeout=30)
    with pytest.raises(PoolError):
        pool.submit(DetectTask("x", b""))
    pool.close()


def test_duplicate_ids_and_closed_pools_are_refused(quick_pool: FacePool) -> None:
    quick_pool.submit(TestTask("dup", "echo"))
    with pytest.raises(ValueError, match="already"):
        quick_pool.submit(TestTask("dup", "echo"))
    assert [task_id for task_id, _ in quick_pool.results(timeout=10)] == ["dup"]
    with FacePool(1) as pool:
        pass
    with pytest.raises(PoolError):
        pool.submit(DetectTask("x", b""))


def test_results_times_out_with_nothing_rather_than_blocking(quick_pool: FacePool) -> None:
    quick_pool.submit(TestTask("slow", "hang", 1.0))
    assert quick_pool.results(timeout=0.2) == []
    assert [task_id for task_id, _ in quick_pool.results(timeout=5)] == ["slow"]
    assert quick_pool.results(timeout=0.1) == [] and quick_pool.pending == 0


def test_an_idle_child_killed_from_outside_is_replaced_without_charging_anyone(
    quick_pool: FacePool,
) -> None:
    victim = quick_pool.child_pids()[0]
    os.kill(victim, signal.SIGKILL)  # as the kernel's OOM killer would
    _wait_until_gone(victim)  # (a task sent while it is still dying would be charged to it)
    results = dict(quick_pool.map_unordered(TestTask(f"k{i}", "echo", i) for i in range(4)))
    assert sorted(results) == ["k0", "k1", "k2", "k3"]
    assert all(isinstance(result, dict) for result in results.values())
    assert victim not in quick_pool.child_pids()


def test_close_does_not_wait_for_a_hung_child() -> None:
    pool = FacePool(1, task_timeout=300, allow_test_tasks=True)
    pool.wait_ready()
    pool.submit(TestTask("stuck", "hang"))
    assert pool.results(timeout=0.3) == []
    pid = pool.child_pids()[0]
    started = time.monotonic()
    pool.close()
    assert time.monotonic() - started < 5
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def _wait_until_gone(pid: int, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} still exists")
