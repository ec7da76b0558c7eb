"""`oncoscale export`: VTK (.vti/.vtp + .pvd) and CSV files read back equal to result.nc."""

import csv

import numpy as np
import pytest
import pyvista as pv
from click.testing import CliRunner

from oncoscale.cli import main
from oncoscale.io.export import particle_names, particles_at, split_field
from oncoscale.io.results import open_result
from oncoscale.io.scenario import load_scenario, resolve
from oncoscale.workflows.pipeline import execute_run


def _run(tmp_path_factory, scenario, model, t_end, sets):
    out = tmp_path_factory.mktemp(f"{scenario}-{model}")
    resolved = resolve(load_scenario(scenario), model, sets, t_end)
    execute_run(resolved, out, progress=False, figures=False)
    return out


@pytest.fixture(scope="module")
def pde3d(tmp_path_factory):
    """A coarse 3D invasion PDE run (fields on x, y, z with a phenotype dimension)."""
    sets = {"numerics.dx": 1.0, "output.snapshot_interval": 0.1, "output.observe_interval": 0.1}
    return _run(tmp_path_factory, "invasion-3d", "pde", 0.2, sets)


@pytest.fixture(scope="module")
def ibm(tmp_path_factory):
    """A short 2D invasion IBM run (particles with phenotype, compartment, age)."""
    sets = {"output.snapshot_interval": 0.05, "output.observe_interval": 0.05}
    return _run(tmp_path_factory, "invasion-homogeneous", "ibm", 0.1, sets)


@pytest.fixture(scope="module")
def abm(tmp_path_factory):
    """A short oncolytic lattice ABM run (cell counts per site as densities)."""
    return _run(tmp_path_factory, "oncolytic-central", "abm", 2.0, {"output.snapshot_interval": 1})


def _export(directory, fmt):
    res = CliRunner().invoke(main, ["export", str(directory), "--format", fmt])
    assert res.exit_code == 0, res.output
    return directory / fmt


@pytest.mark.parametrize("run", ["pde3d", "abm", "ibm"])
def test_vtk_fields_read_back_equal_to_result(run, request):
    directory = request.getfixturevalue(run)
    out = _export(directory, "vtk")
    ds = open_result(directory / "result.nc")
    reader = pv.get_reader(str(out / "fields.pvd"))
    np.testing.assert_array_equal(reader.time_values, ds["t"].values)
    space = [d for d in ("x", "y", "z") if d in ds.dims]
    for k in range(ds.sizes["t"]):
        image = pv.read(out / f"fields-{k:06d}.vti")
        assert image.dimensions[: len(space)] == tuple(ds.sizes[d] for d in space)
        # image data stores origin + spacing: coordinates agree to rounding, values exactly
        np.testing.assert_allclose(image.x[: ds.sizes["x"]], ds["x"].values, rtol=0, atol=1e-12)
        for name in ("u", "i", "z", "phi", "mm", "o2", "cells_p"):
            if name not in ds.data_vars:
                continue
            for array, values in split_field(ds, name, k):
                got = image.point_data[array].reshape(values.shape, order="F")
                np.testing.assert_array_equal(got, values)
    if "phenotype" in ds.dims:
        assert "cells_p_phenotype4" in image.point_data


def test_vtk_particles_carry_every_attribute(ibm):
    out = _export(ibm, "vtk")
    ds = open_result(ibm / "result.nc")
    assert set(particle_names(ds)) >= {"x", "y", "phenotype", "compartment", "age"}
    reader = pv.get_reader(str(out / "particles.pvd"))
    np.testing.assert_array_equal(reader.time_values, ds["t"].values)
    for k in range(ds.sizes["t"]):
        cloud = pv.read(out / f"particles-{k:06d}.vtp")
        parts = particles_at(ds, k)
        assert cloud.n_points == int(ds["particle_count"][k]) > 0
        np.testing.assert_array_equal(cloud.points[:, 0], parts["x"])
        np.testing.assert_array_equal(cloud.points[:, 2], 0.0)
        for name, values in parts.items():
            np.testing.assert_array_equal(cloud.point_data[name], values)
            assert cloud.point_data[name].dtype == values.dtype


def test_csv_tables_read_back_equal_to_result(ibm):
    out = _export(ibm, "csv")
    ds = open_result(ibm / "result.nc")
    with open(out / "particles.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == int(ds["particle_count"].sum())
    ages = np.array([float(r["age"]) for r in rows])
    np.testing.assert_array_equal(ages, ds["particle_age"].values)
    np.testing.assert_array_equal(
        [int(r["phenotype"]) for r in rows], ds["particle_phenotype"].values
    )
    last = [r for r in rows if int(r["snapshot"]) == ds.sizes["t"] - 1]
    assert float(last[0]["t"]) == ds["t"].values[-1]
    table = np.genfromtxt(out / "observables.csv", delimiter=",", names=True)
    np.testing.assert_array_equal(table["mass_cells"], ds["mass_cells"].values)
    fields = np.genfromtxt(out / "fields-000001.csv", delimiter=",", names=True)
    np.testing.assert_array_equal(fields["o2"], ds["o2"].isel(t=1).values.ravel(order="F"))


def test_export_rejects_a_folder_without_results(tmp_path):
    res = CliRunner().invoke(main, ["export", str(tmp_path)])
    assert res.exit_code == 2
    assert "holds no result.nc" in res.output
    assert not (tmp_path / "vtk").exists()


def test_export_of_an_ode_run_as_vtk_says_to_use_csv(tmp_path):
    resolved = resolve(load_scenario("oncolytic-central"), "ode", {}, 10.0)
    execute_run(resolved, tmp_path, progress=False, figures=False)
    res = CliRunner().invoke(main, ["export", str(tmp_path), "--format", "vtk"])
    assert res.exit_code == 2 and "use --format csv" in res.output
    res = CliRunner().invoke(main, ["export", str(tmp_path), "--format", "csv"])
    assert res.exit_code == 0
    table = np.genfromtxt(tmp_path / "csv" / "observables.csv", delimiter=",", names=True)
    assert table["u"].size == open_result(tmp_path / "result.nc").sizes["t_obs"]
