"""scale.build_cache: a build is made once per settings and code, copied after, and never half-made."""

from pathlib import Path

import pytest

from scale import build_cache
from scale.build_cache import ENVIRONMENT, cache_key, cached_build


def writer(calls: list):
    def build(folder: Path) -> None:
        calls.append(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "weights.bin").write_bytes(bytes(range(7)) * len(calls))

    return build


def test_without_a_cache_every_build_runs(monkeypatch, tmp_path):
    monkeypatch.delenv(ENVIRONMENT, raising=False)
    calls = []
    for name in ("a", "b"):
        cached_build("model", {"seed": 0}, tmp_path / name, writer(calls))
    assert calls == [tmp_path / "a", tmp_path / "b"]


def test_the_same_settings_build_once_and_copy_the_same_bytes_after(monkeypatch, tmp_path):
    monkeypatch.setenv(ENVIRONMENT, str(tmp_path / "cache"))
    calls = []
    first = cached_build("model", {"seed": 0, "sizes": {"h": 4}}, tmp_path / "a", writer(calls))
    again = cached_build("model", {"sizes": {"h": 4}, "seed": 0}, tmp_path / "b", writer(calls))
    assert len(calls) == 1 and (first / "weights.bin").read_bytes() == (again / "weights.bin").read_bytes()
    cached_build("model", {"seed": 1, "sizes": {"h": 4}}, tmp_path / "c", writer(calls))
    assert len(calls) == 2  # another setting, another build
    assert sorted(p.name for p in (tmp_path / "cache").iterdir() if not p.name.endswith(".lock")) == sorted(
        cache_key("model", {"seed": s, "sizes": {"h": 4}}) for s in (0, 1))


def test_a_change_to_the_code_is_another_build(monkeypatch, tmp_path):
    monkeypatch.setenv(ENVIRONMENT, str(tmp_path / "cache"))
    calls = []
    cached_build("model", {"seed": 0}, tmp_path / "a", writer(calls))
    monkeypatch.setattr(build_cache, "code_version", lambda: "edited")
    cached_build("model", {"seed": 0}, tmp_path / "b", writer(calls))
    assert len(calls) == 2


def test_a_build_on_another_numeric_code_path_is_another_build(monkeypatch, tmp_path):
    """A stand-in warmed up unpinned (or on another pin) has other bits: a pinned job must not copy it."""
    monkeypatch.setenv(ENVIRONMENT, str(tmp_path / "cache"))
    calls = []
    for name, capability in (("a", "avx2"), ("b", "default"), ("c", "avx2")):
        monkeypatch.setenv("ATEN_CPU_CAPABILITY", capability)
        cached_build("model", {"seed": 0}, tmp_path / name, writer(calls))
    monkeypatch.delenv("ATEN_CPU_CAPABILITY")
    cached_build("model", {"seed": 0}, tmp_path / "d", writer(calls))
    assert len(calls) == 3  # avx2, default, unset: the second avx2 build is a copy of the first
    assert (tmp_path / "c" / "weights.bin").read_bytes() == (tmp_path / "a" / "weights.bin").read_bytes()
    assert (tmp_path / "b" / "weights.bin").read_bytes() != (tmp_path / "a" / "weights.bin").read_bytes()


def test_a_build_that_fails_leaves_no_entry_to_reuse(monkeypatch, tmp_path):
    monkeypatch.setenv(ENVIRONMENT, str(tmp_path / "cache"))

    def killed(folder: Path) -> None:
        folder.mkdir(parents=True)
        (folder / "half.bin").write_bytes(b"half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        cached_build("model", {"seed": 0}, tmp_path / "a", killed)
    assert [p.name for p in (tmp_path / "cache").iterdir() if not p.name.endswith(".lock")] == []
    calls = []
    cached_build("model", {"seed": 0}, tmp_path / "a", writer(calls))
    assert len(calls) == 1


def build_at_once(cache: str, barrier, calls: str) -> None:
    """One of two processes asking for the same build at the same moment (pytest-xdist's workers do)."""
    import os
    import time

    os.environ[ENVIRONMENT] = cache

    def slow(folder: Path) -> None:
        with open(calls, "a") as log:
            log.write(f"{os.getpid()}\n")
        time.sleep(1.0)  # the other process asks while this build is still running
        writer([])(folder)

    barrier.wait()
    cached_build("model", {"seed": 0}, Path(calls).parent / str(os.getpid()), slow)


def test_two_processes_asking_for_one_build_at_once_build_it_once(tmp_path):
    import multiprocessing

    context = multiprocessing.get_context("fork")
    barrier, calls = context.Barrier(2), tmp_path / "calls.txt"
    processes = [context.Process(target=build_at_once, args=(str(tmp_path / "cache"), barrier, str(calls)))
                 for _ in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert [process.exitcode for process in processes] == [0, 0]
    assert len(calls.read_text().splitlines()) == 1
    copies = [tmp_path / str(process.pid) / "weights.bin" for process in processes]
    assert copies[0].read_bytes() == copies[1].read_bytes() == bytes(range(7))


def test_a_cached_stand_in_is_the_stand_in_built_afresh_byte_for_byte(monkeypatch, tmp_path):
    from scale.train.stand_in import build_warm_stand_in

    sizes = {"hidden_size": 32, "intermediate_size": 64, "num_layers": 1, "num_heads": 1, "num_kv_heads": 1,
             "vision_hidden_size": 32, "vision_layers": 1, "vision_heads": 1}
    monkeypatch.delenv(ENVIRONMENT, raising=False)
    fresh = build_warm_stand_in("gemma3", tmp_path / "fresh", sizes=sizes)
    monkeypatch.setenv(ENVIRONMENT, str(tmp_path / "cache"))
    built, copied = (build_warm_stand_in("gemma3", tmp_path / name, sizes=sizes) for name in ("built", "copied"))
    files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    assert files and files == sorted(p.relative_to(copied) for p in copied.rglob("*") if p.is_file())
    for name in files:
        assert (fresh / name).read_bytes() == (built / name).read_bytes() == (copied / name).read_bytes(), name
