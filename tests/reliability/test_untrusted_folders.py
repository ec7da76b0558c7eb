"""Folders from someone else: loading a result, a checkpoint, a partial record or an ensemble
never runs code (pickles are refused, provenance is read with ``ast.literal_eval``, JSON is
JSON), and a damaged or tampered file gives one line naming it and exit status 2."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import zipfile
from pathlib import Path

import netCDF4
import numpy as np
import pytest
from fuzzing import Case, check, cli_entry

from oncoscale import faults

RUN = ["run", "oncolytic-central", "--t-end", "20", "--set", "numerics.dr=0.1",
       "--set", "output.snapshot_interval=5", "--set", "output.checkpoint_every=1e-9",
       "--quiet"]  # fmt: skip
ENSEMBLE = ["ensemble", "oncolytic-central", "--model", "abm", "--runs", "2", "--t-end", "2",
            "--set", "L=3", "--quiet", "--no-figures"]  # fmt: skip


class Payload:
    """Unpickling this creates the file ``target``: the proof that code ran."""

    def __init__(self, target: Path):
        self.target = str(target)

    def __reduce__(self):
        return (Path.touch, (Path(self.target),))


def malicious_npz(path: Path, target: Path, **extra) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, manifest=np.array([Payload(target)], dtype=object), **extra)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "run"
    assert check(cli_entry, Case([*RUN, "--out", str(out)], [])).status == 0
    return out


@pytest.fixture
def interrupted(tmp_path) -> Path:
    """A run stopped just before writing its result (disk full): .partial holds a checkpoint
    and the snapshots."""
    out = tmp_path / "run"
    faults.arm("write:result:1:enospc")
    try:
        assert check(cli_entry, Case([*RUN, "--out", str(out)], ["No space"])).status == 2
    finally:
        faults.arm("")
    assert (out / ".partial" / "checkpoint.npz").exists()
    return out


def copy_of(finished: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(finished, tmp_path / "copy"))


def set_attr(path: Path, name: str, value: str) -> None:
    with netCDF4.Dataset(path, "a") as nc:
        nc.setncattr(name, value)


def test_a_result_with_code_in_its_provenance_is_refused(finished, tmp_path):
    run = copy_of(finished, tmp_path)
    pwned = tmp_path / "pwned"
    set_attr(run / "result.nc", "scenario_resolved",
             f"scenario = __import__('pathlib').Path('{pwned}').touch()\nmodel = 'x'\n"
             "t_end = 1\nseed = 0\noverrides = {}")  # fmt: skip
    res = check(cli_entry, Case(["figures", str(run)], [str(run / "result.nc")]))
    assert res.status == 2 and not pwned.exists()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "bad json"])
def test_a_damaged_result_is_a_clear_error(finished, tmp_path, damage):
    run = copy_of(finished, tmp_path)
    result = run / "result.nc"
    if damage == "garbage":
        result.write_bytes(os.urandom(4096))
    elif damage == "truncated":
        result.write_bytes(result.read_bytes()[:2000])
    else:
        set_attr(result, "parameters", "{not json")
    res = check(cli_entry, Case(["figures", str(run)], [str(result)]))
    assert res.status == 2


def test_a_pickled_checkpoint_is_refused_without_running_it(interrupted, tmp_path):
    pwned = tmp_path / "pwned"
    malicious_npz(interrupted / ".partial" / "checkpoint.npz", pwned)
    case = Case([*RUN, "--out", str(interrupted), "--resume"], ["checkpoint", "corrupt"])
    assert check(cli_entry, case).status == 2
    assert not pwned.exists()


def test_a_tampered_checkpoint_state_is_refused(interrupted):
    """Same schema and fingerprint, but the state's field array is float32 and shorter: the
    layout check refuses it before any kernel sees it."""
    path = interrupted / ".partial" / "checkpoint.npz"
    with np.load(path) as archive:
        arrays = {k: archive[k] for k in archive.files}
    manifest = json.loads(bytes(arrays.pop("manifest")).decode())
    key = manifest["content"]["__dict__"]["state"]["fields"]["y"]["__array__"]
    arrays[key] = arrays[key][:, :-3].astype(np.float32)
    blob = np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8)
    with open(path, "wb") as handle:
        np.savez(handle, manifest=blob, **arrays)
    case = Case([*RUN, "--out", str(interrupted), "--resume"], ["does not hold a state"])
    assert check(cli_entry, case).status == 2


def test_a_pickled_snapshot_in_the_partial_record_is_refused(interrupted, tmp_path):
    pwned = tmp_path / "pwned"
    snap = interrupted / ".partial" / "snap-000001.npz"
    assert snap.exists()
    with open(snap, "wb") as handle:  # a pickle where a field should be
        np.savez(handle, t=np.array(5.0), **{"field/u": np.array([Payload(pwned)], dtype=object)})
    case = Case([*RUN, "--out", str(interrupted), "--resume"], [str(snap)])
    assert check(cli_entry, case).status == 2
    assert not pwned.exists()
    assert not (interrupted / "result.nc").exists()


def test_a_missing_snapshot_is_found_when_resuming(interrupted):
    (interrupted / ".partial" / "snap-000001.npz").unlink()
    case = Case([*RUN, "--out", str(interrupted), "--resume"], ["snap-000001.npz"])
    assert check(cli_entry, case).status == 2


def test_ensembles_with_damaged_or_pickled_files(tmp_path):
    out = tmp_path / "ens"
    assert check(cli_entry, Case([*ENSEMBLE, "--out", str(out)], [])).status == 0
    run1 = out / "runs" / "run-0001" / "result.nc"
    run1.write_bytes(b"CDF\x01" + os.urandom(500))
    case = Case([*ENSEMBLE, "--out", str(out), "--resume"], [str(run1)])
    assert check(cli_entry, case).status == 2
    pwned = tmp_path / "pwned"
    with open(out / "ensemble.nc", "wb") as handle:
        pickle.dump(Payload(pwned), handle)
    case = Case(["ensemble-compare", str(out), "--out", str(tmp_path / "cmp")],
                [str(out / "ensemble.nc")])  # fmt: skip
    assert check(cli_entry, case).status == 2
    assert not pwned.exists()


def test_checkpoints_hold_no_pickle(interrupted):
    with zipfile.ZipFile(interrupted / ".partial" / "checkpoint.npz") as z:
        for name in z.namelist():
            with z.open(name) as member:
                header = member.read(256)
            assert b"'descr': '|O'" not in header, name  # no object arrays
