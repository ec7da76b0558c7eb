"""Output folders that cannot take a run: read-only, full (a real 2 MB tmpfs, mounted in a
private mount namespace with ``unshare``; and a simulated ENOSPC where that is not possible),
a file where a folder is expected. Each gives one clear line and exit status 2, and an
earlier finished result in that folder is left intact; after the disk is freed, --resume
finishes the run with the result of an uninterrupted one."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fuzzing import Case, check, cli_entry
from identity import result_difference

ONCOSCALE = str(Path(sys.executable).with_name("oncoscale"))
RUN = ["run", "oncolytic-central", "--t-end", "40", "--set", "numerics.dr=0.05",
       "--set", "output.snapshot_interval=4", "--set", "output.checkpoint_every=1e-9",
       "--quiet", "--no-figures"]  # fmt: skip


def _can_mount() -> bool:
    if shutil.which("unshare") is None:
        return False
    res = subprocess.run(["unshare", "-r", "-m", "true"], capture_output=True)
    return res.returncode == 0


needs_mount = pytest.mark.skipif(not _can_mount(), reason="no private mount namespace")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def earlier(tmp_path_factory):
    """A finished result of another run (zeta = 0.6) and the reference of the run to come."""
    root = tmp_path_factory.mktemp("earlier")
    for name, extra in (("earlier", ["--set", "zeta=0.6"]), ("reference", [])):
        res = subprocess.run([ONCOSCALE, *RUN, *extra, "--out", str(root / name)],
                             capture_output=True, text=True, timeout=600)  # fmt: skip
        assert res.returncode == 0, res.stderr
    return root


def in_namespace(script: str, tmp: Path) -> dict[str, str]:
    """Run a bash script as root of a private user and mount namespace (its mounts vanish
    with it); return the files it wrote into ``tmp`` (name → text)."""
    res = subprocess.run(["unshare", "-r", "-m", "bash", "-euc", script], capture_output=True,
                         text=True, timeout=900)  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    return {p.name: p.read_text(errors="replace") for p in tmp.iterdir() if p.suffix == ".txt"}


@needs_mount
def test_read_only_folder_is_refused_and_the_earlier_result_kept(earlier, tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    out = in_namespace(f"""
        mount -t tmpfs -o size=2m tmpfs {mnt}
        cp -r {earlier / "earlier"} {mnt}/run
        mount -o remount,ro {mnt}
        set +e
        {ONCOSCALE} {" ".join(RUN)} --out {mnt}/run 2> {tmp_path}/err.txt
        echo $? > {tmp_path}/rc.txt
        sha256sum {mnt}/run/result.nc > {tmp_path}/after.txt
        ls -A {mnt}/run > {tmp_path}/ls.txt
    """, tmp_path)  # fmt: skip
    assert out["rc.txt"].strip() == "2", out
    lines = out["err.txt"].strip().splitlines()
    assert len(lines) == 1 and "read-only" in lines[0] and str(mnt / "run") in lines[0], lines
    assert out["after.txt"].split()[0] == digest(earlier / "earlier" / "result.nc")
    assert sorted(out["ls.txt"].split()) == ["result.nc", "summary.json"]


@needs_mount
def test_full_disk_is_a_clear_error_and_resume_finishes_after_freeing_space(earlier, tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    out = in_namespace(f"""
        mount -t tmpfs -o size=2m tmpfs {mnt}
        cp -r {earlier / "earlier"} {mnt}/run
        avail=$(df --output=avail -B1 {mnt} | tail -1)
        head -c $((avail - 12288)) /dev/zero > {mnt}/filler
        set +e
        {ONCOSCALE} {" ".join(RUN)} --out {mnt}/run 2> {tmp_path}/err.txt
        echo $? > {tmp_path}/rc.txt
        sha256sum {mnt}/run/result.nc > {tmp_path}/after.txt
        ls -A {mnt}/run {mnt}/run/.partial > {tmp_path}/ls.txt
        rm {mnt}/filler
        {ONCOSCALE} {" ".join(RUN)} --out {mnt}/run --resume 2> {tmp_path}/err2.txt
        echo $? > {tmp_path}/rc2.txt
        cp {mnt}/run/result.nc {tmp_path}/resumed.nc
        ls -A {mnt}/run > {tmp_path}/ls2.txt
    """, tmp_path)  # fmt: skip
    assert out["rc.txt"].strip() == "2", out
    lines = out["err.txt"].strip().splitlines()
    assert len(lines) == 1 and "No space left on device" in lines[0], lines
    assert str(mnt / "run") in lines[0], lines
    assert out["after.txt"].split()[0] == digest(earlier / "earlier" / "result.nc")
    assert ".tmp" not in out["ls.txt"], out["ls.txt"]  # no temporary file left behind
    assert out["rc2.txt"].strip() == "0", out["err2.txt"]
    assert result_difference(earlier / "reference" / "result.nc", tmp_path / "resumed.nc") is None
    assert ".partial" not in out["ls2.txt"].split()


@pytest.mark.parametrize("site", ["write:snap:2", "write:checkpoint:3", "result-snapshot:2",
                                  "write:result:1"])  # fmt: skip
def test_simulated_full_disk_at_every_kind_of_write(earlier, tmp_path, site, monkeypatch):
    """ENOSPC raised where a write would fail (the fault points of oncoscale.faults): one
    line, status 2, the earlier result intact, no temporary file left."""
    from oncoscale import faults

    run = tmp_path / "run"
    shutil.copytree(earlier / "earlier", run)
    before = digest(run / "result.nc")
    faults.arm(f"{site}:enospc")
    try:
        res = check(cli_entry, Case([*RUN, "--out", str(run)], ["No space left on device"]))
    finally:
        faults.arm("")
    assert res.status == 2
    assert digest(run / "result.nc") == before
    assert not [p for p in run.rglob("*") if ".tmp" in p.name]


def test_a_file_where_the_folder_should_be(earlier, tmp_path):
    target = tmp_path / "taken"
    target.write_text("a file")
    for out in (target, target / "run"):
        check(cli_entry, Case([*RUN, "--out", str(out)], [str(target), "--out"], [target]))
