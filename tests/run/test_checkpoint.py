"""Checkpoints are data: states round-trip exactly, a resumed run is bit-identical (here the
invasion PDE; the ABM, radial PDE and IBM in their own tests), and a truncated, corrupt,
foreign or tampered checkpoint gives a clear error and never runs code."""

from __future__ import annotations

import copy
import json
import zipfile
from dataclasses import dataclass, replace

import numpy as np
import pytest

from oncoscale.errors import InputError
from oncoscale.models.invasion.params import InvasionParameters
from oncoscale.models.invasion.pde import InvasionPDE
from oncoscale.models.oncolytic.abm import ABMState
from oncoscale.numerics.imex import StepMemory
from oncoscale.run.checkpoint import SCHEMA, read_checkpoint, write_checkpoint
from oncoscale.run.protocols import SetParameter
from oncoscale.run.runner import RunPlan, run


def _equal(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, np.random.Generator):
        return a.bit_generator.state == b.bit_generator.state
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(_equal, a, b))
    if hasattr(a, "__dataclass_fields__"):
        return type(a) is type(b) and all(
            _equal(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__
        )
    if isinstance(a, float) and np.isnan(a):
        return isinstance(b, float) and np.isnan(b)
    return a == b and type(a) is type(b)


def test_states_round_trip_exactly(tmp_path):
    rng = np.random.default_rng(5)
    rng.random(7)  # advance the stream: its position must survive
    state = {
        "abm": ABMState(
            np.arange(12, dtype=np.int32).reshape(3, 2, 2),
            np.ones((2, 2)),
            np.arange(4, dtype=np.uint64),
            rng,
            17,
        ),
        "memory": StepMemory(0.25, 0.5),
        "values": (1, 2.5, float("inf"), float("nan"), None, "text", True, [1, [2]]),
        "flags": np.array([True, False]),
    }
    path = write_checkpoint(tmp_path / "ck.npz", "abc", state)
    back = read_checkpoint(path, "abc")
    assert _equal(back, state)
    assert back["abm"].rng.random() == copy.deepcopy(rng).random()


def test_invasion_pde_resume_is_bit_identical(tmp_path):
    params = InvasionParameters()
    plan = RunPlan(t_end=0.3, observe_interval=0.05, snapshot_interval=0.1, progress=False,
                   work_dir=tmp_path / "work", checkpoint_every=1e-9,
                   events=(SetParameter(time=0.1, parameter="omega", value=2.0),))  # fmt: skip
    numerics = {"dx": 1.0, "da": 0.1}
    full = run(InvasionPDE(params, numerics), replace(plan, work_dir=tmp_path / "full"))

    class Interrupt(Exception):
        pass

    class Dying(InvasionPDE):
        calls = 0

        def advance(self, state, t0, t1):
            Dying.calls += 1
            if Dying.calls == 5:
                raise Interrupt
            return super().advance(state, t0, t1)

    with pytest.raises(Interrupt):
        run(Dying(params, numerics), plan)
    resumed = run(InvasionPDE(params, numerics), plan, resume=True)
    assert resumed.resumed_from is not None and 0 < resumed.resumed_from < 0.3
    assert resumed.obs_times == full.obs_times
    for name, values in full.observables.items():
        np.testing.assert_array_equal(resumed.observables[name], values, err_msg=name)
    for name, snaps in full.snapshots.items():
        for a, b in zip(resumed.snapshots[name], snaps, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=name)
    assert [e.to_dict() for e in resumed.events] == [e.to_dict() for e in full.events]


def _manifest(path):
    with np.load(path) as archive:
        return json.loads(bytes(archive["manifest"]).decode()), {
            k: archive[k] for k in archive.files if k != "manifest"
        }


def _rewrite(path, manifest, arrays):
    blob = np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8)
    with open(path, "wb") as handle:
        np.savez(handle, manifest=blob, **arrays)


@pytest.fixture
def checkpoint(tmp_path):
    return write_checkpoint(tmp_path / "ck.npz", "run-1", {"state": StepMemory(0.1, 0.9)})


def test_truncated_and_corrupt_checkpoints_are_clear_errors(checkpoint):
    data = checkpoint.read_bytes()
    checkpoint.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated or corrupt"):
        read_checkpoint(checkpoint, "run-1")
    checkpoint.write_bytes(b"\x00" * 100)
    with pytest.raises(InputError, match="truncated or corrupt"):
        read_checkpoint(checkpoint, "run-1")


def test_foreign_files_and_other_runs_are_refused(checkpoint, tmp_path):
    with pytest.raises(InputError, match="different run"):
        read_checkpoint(checkpoint, "run-2")
    other = tmp_path / "other.npz"
    np.savez(other, x=np.arange(3))
    with pytest.raises(InputError, match="truncated or corrupt"):
        read_checkpoint(other)
    manifest, arrays = _manifest(checkpoint)
    _rewrite(other, {**manifest, "schema": "someone-else/9"}, arrays)
    with pytest.raises(InputError, match="not an oncoscale checkpoint"):
        read_checkpoint(other)


def test_a_tampered_checkpoint_cannot_run_code(checkpoint, tmp_path):
    manifest, arrays = _manifest(checkpoint)
    manifest["content"] = {"__state__": "os:system", "fields": {"command": "touch pwned"}}
    _rewrite(checkpoint, manifest, arrays)
    with pytest.raises(InputError, match="not registered"):
        read_checkpoint(checkpoint, "run-1")
    # a pickled object array inside the archive is refused, not unpickled
    bad = tmp_path / "bad.npz"
    _rewrite(bad, {"schema": SCHEMA, "fingerprint": "x", "content": {"__array__": "a0"}},
             {"a0": np.array([object()], dtype=object)})  # fmt: skip
    with pytest.raises(InputError, match="truncated or corrupt"):
        read_checkpoint(bad)
    assert not (tmp_path / "pwned").exists()


def test_only_registered_dataclasses_can_be_checkpointed(tmp_path):
    @dataclass
    class Unregistered:
        x: int = 1

    with pytest.raises(TypeError, match="state_class"):
        write_checkpoint(tmp_path / "ck.npz", "k", Unregistered())
    assert not (tmp_path / "ck.npz").exists()


def test_checkpoint_folder_has_no_pickle(tmp_path):
    write_checkpoint(tmp_path / "ck.npz", "k", {"a": np.arange(3)})
    with zipfile.ZipFile(tmp_path / "ck.npz") as z:
        assert sorted(z.namelist()) == ["a0.npy", "manifest.npy"]


def test_layout_template_is_empty_and_checks_like_the_state(tmp_path):
    """The resume check compares a checkpoint with an empty template of a fresh state (no
    second full-size state in memory): a state of the model passes, another layout does not."""
    from oncoscale.io.scenario import load_scenario, parse_overrides, resolve
    from oncoscale.run.checkpoint import check_layout, layout_of

    resolved = resolve(load_scenario("oncolytic-central"), "abm", parse_overrides(["L=3"]))
    rep = resolved.representation()
    state = rep.initial_state(np.random.default_rng(1))
    layout = layout_of(state)
    arrays = [v for v in vars(layout).values() if isinstance(v, np.ndarray) and v.ndim]
    assert arrays and all(a.size == 0 for a in arrays)
    assert state.counts.size > 0  # the state itself is untouched
    check_layout(state, layout, tmp_path / "checkpoint.npz")
    wrong = copy.copy(state)
    wrong.counts = state.counts.astype(np.float32)
    with pytest.raises(InputError, match=r"does not hold a state of this model.*expected int32"):
        check_layout(wrong, layout, tmp_path / "checkpoint.npz")
