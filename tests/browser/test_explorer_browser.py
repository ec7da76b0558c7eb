"""The explorer in a real browser: Debian's headless chromium driven by Playwright.

The server is started as a user would (``oncoscale explore --port N DIR``) on a free loopback
port. Screenshots go to ``test-artifacts/browser/`` (or ``$ONCOSCALE_ARTIFACTS``). Without
chromium these tests fail with the command that installs it (``make browser``): they never
pass silently.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from playwright.sync_api import expect

from oncoscale.cli import main
from oncoscale.io.scenario import load_scenario
from oncoscale.viz.report import key_number_rows

# one server and one browser: every test of this module on the same xdist worker
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

CHROMIUM = os.environ.get("ONCOSCALE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(
    os.environ.get("ONCOSCALE_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts/browser")
)
TIMEOUT_MS = 120_000
expect.set_options(timeout=60_000)  # CI machines are small and shared


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("explore-root")


def _start_explorer(root: Path, port: int) -> subprocess.Popen | None:
    """Start ``oncoscale explore`` on ``port`` and wait until it answers; None if another
    process took the port in between (a Dask scheduler of an ensemble running beside the
    tests once did: its handshake is not HTTP)."""
    exe = Path(sys.executable).with_name("oncoscale")
    proc = subprocess.Popen(
        [str(exe), "explore", "--port", str(port), str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:  # listening? (the first page itself may take long to build on a busy machine)
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            urllib.request.urlopen(url, timeout=120).read()
            return proc
        except http.client.HTTPException:  # not our server on that port
            proc.kill()
            proc.wait(timeout=30)
            return None
        except OSError:
            if proc.poll() is not None:
                out = proc.stdout.read().decode()
                if "address already in use" in out.lower():
                    return None
                pytest.fail(f"explorer exited: {out}")
            time.sleep(0.5)
    proc.kill()
    pytest.fail("explorer did not answer within 240 s")


@pytest.fixture(scope="module")
def server(root):
    """``oncoscale explore`` on a free loopback port (another one if the port is taken before
    the server binds it); killed at the end."""
    for _ in range(3):
        port = _free_port()
        proc = _start_explorer(root, port)
        if proc is not None:
            break
    else:
        pytest.fail("three free ports were taken before the explorer could bind them")
    yield f"http://127.0.0.1:{port}/"
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def page(server):
    """A chromium page on the explorer (fresh profile)."""
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.fail(
            f"no chromium at {CHROMIUM}: the browser tests need Debian's chromium. Install it "
            "with `make browser` (apt-get install chromium chromium-driver, as root), then run "
            "`make browser-test` or `make test`."
        )
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="oncoscale-chromium-")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            viewport={"width": 1500, "height": 1000},
        )
        pg = context.new_page()
        pg.set_default_timeout(TIMEOUT_MS)
        pg.goto(server)
        pg.wait_for_selector(".run button")
        yield pg
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


def _tab(page, name: str):
    return page.locator(".bk-tab").get_by_text(name, exact=True)


def _fill(page, selector: str, value: str) -> None:
    box = page.locator(f"{selector} input")
    box.fill(value)
    box.press("Enter")


def _choose(page, family: str, scenario: str, model: str, t_end: str) -> None:
    page.locator(".family select").select_option(family)
    page.locator(".scenario select").select_option(scenario)
    title = load_scenario(scenario).title  # the form is rebuilt for the scenario: wait for it
    expect(page.locator(".scenario-description")).to_contain_text(title[:40])
    page.wait_for_timeout(500)
    page.locator(".model select").select_option(model)
    _fill(page, ".t-end", t_end)


def _text(page, selector: str) -> str:
    """The text of a Panel pane (Panel renders panes inside a shadow root)."""
    return page.locator(selector).first.evaluate(
        "el => el.shadowRoot ? el.shadowRoot.textContent : el.textContent"
    )


def _status_text(page) -> str:
    return _text(page, ".run-status")


def _run(page, name: str) -> float:
    """Start a run and wait until a new one has finished (its status differs from the last).

    The status is read through the locator on every poll: Panel may replace the element when
    the form is rebuilt for another family, so a handle taken before the click can go stale.
    """
    _tab(page, "Run").click()
    before = _status_text(page)
    t0 = time.perf_counter()
    page.locator(".run button").click()
    while True:
        text = _status_text(page)
        if text != before and "finished" in text:
            break
        assert "failed" not in text, f"the run failed in the explorer: {text[:500]}"
        assert time.perf_counter() - t0 < TIMEOUT_MS / 1000, f"no finished run: {text[:300]}"
        page.wait_for_timeout(250)
    page.wait_for_timeout(1000)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
    return time.perf_counter() - t0


def _shown(page) -> dict[str, str]:
    rows = page.locator(".key-numbers tr[data-key]")
    return {
        rows.nth(k).get_attribute("data-key"): rows.nth(k).locator("td.value").inner_text()
        for k in range(rows.count())
    }


def _cli_numbers(tmp_path, args) -> dict[str, str]:
    res = CliRunner().invoke(main, [*args, "--no-figures", "--quiet", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    from oncoscale.viz.report import _fmt

    return {k: _fmt(v) for k, _, v in key_number_rows(summary)}


def _model_numbers(numbers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in numbers.items() if k.startswith(("final.", "fronts.", "theory."))}


def test_oncolytic_run_shows_the_cli_numbers(page, tmp_path):
    _choose(page, "oncolytic", "oncolytic-central", "pde-radial", "100")
    _fill(page, ".param-zeta", "5")
    expect(page.locator(".param-zeta input")).to_have_value("5")
    seconds = _run(page, "explorer-oncolytic-pde-radial")
    page.locator(".run-status").get_by_text("--set zeta=5").wait_for()  # the command shown
    shown = _model_numbers(_shown(page))
    cli = _model_numbers(
        _cli_numbers(
            tmp_path,
            ["run", "oncolytic-central", "--model", "pde-radial", "--t-end", "100",
             "--set", "zeta=5"],
        )
    )  # fmt: skip
    assert len(shown) > 10 and shown == cli
    print(f"oncolytic pde-radial run in the browser: {seconds:.1f} s")


def test_out_of_range_value_shows_the_cli_message(page, tmp_path):
    _choose(page, "oncolytic", "oncolytic-central", "pde-radial", "100")
    _fill(page, ".param-p", "-1")
    message = page.locator(".explorer-message div").first
    message.get_by_text("invalid value for 'p'").wait_for()
    res = CliRunner().invoke(
        main, ["run", "oncolytic-central", "--set", "p=-1", "--out", str(tmp_path / "x")]
    )
    cli = res.output.strip().removeprefix("error: ")
    assert res.exit_code == 2 and cli in message.inner_text()
    page.screenshot(path=ARTIFACTS / "explorer-invalid-value.png")
    _fill(page, ".param-p", "0.0187")  # valid again: the message goes
    expect(page.locator(".explorer-message")).to_be_hidden(timeout=10_000)


def test_invasion_ibm_particles_by_phenotype(page, tmp_path):
    _choose(page, "invasion", "invasion-homogeneous", "ibm", "0.2")
    _run(page, "explorer-invasion-ibm")
    shown = _model_numbers(_shown(page))
    cli = _model_numbers(
        _cli_numbers(tmp_path, ["run", "invasion-homogeneous", "--model", "ibm", "--t-end", "0.2"])
    )
    assert shown["final.n_p"] == cli["final.n_p"] and shown == cli


def test_kinetic_run_and_homogeneous_ode_follow_the_slider(page):
    _choose(page, "kinetic", "kinetic-pc-window", "pde-1d", "5")
    _run(page, "explorer-kinetic-pde-1d")
    _tab(page, "Homogeneous ODE").click()
    page.locator(".ode-parameter select").select_option("B")
    t0 = time.perf_counter()
    while not _text(page, ".ode-info").startswith("B = "):  # the view for B is drawn
        assert time.perf_counter() - t0 < 120, _text(page, ".ode-info")
        page.wait_for_timeout(100)
    before = _text(page, ".ode-info")
    handle = page.locator(".ode-slider .noUi-handle")
    t0 = time.perf_counter()
    handle.press("ArrowRight")
    while _text(page, ".ode-info") == before:
        assert time.perf_counter() - t0 < 60, "the ODE view did not follow the slider in 60 s"
        page.wait_for_timeout(20)
    seconds = time.perf_counter() - t0
    page.wait_for_timeout(500)
    page.screenshot(path=ARTIFACTS / "explorer-kinetic-ode.png", full_page=True)
    after = _text(page, ".ode-info")
    assert "B = " in after and "trajectories in" in after and before != after
    assert seconds < 5, f"the ODE view took {seconds:.1f} s to follow the slider"
    print(f"kinetic ODE view follows the slider in {seconds * 1000:.0f} ms (round trip)")


def test_open_and_compare_finished_runs(page, root):
    for zeta in ("1", "5"):  # two finished runs of its own (test order is not guaranteed)
        out = root / "finished" / f"oncolytic-central-zeta{zeta}"
        if not (out / "result.nc").exists():
            args = ["run", "oncolytic-central", "--model", "pde-radial", "--t-end", "50"]
            res = CliRunner().invoke(
                main, [*args, "--set", f"zeta={zeta}", "--no-figures", "--quiet", "--out", str(out)]
            )
            assert res.exit_code == 0, res.output
    _tab(page, "Open result").click()
    tab = page.locator(".open-left select").first
    page.get_by_role("button", name="Refresh list").first.click()
    oncolytic = [f"finished/oncolytic-central-zeta{z}" for z in ("1", "5")]
    tab.select_option(oncolytic[0])
    page.locator(".open button").first.click()
    slider = page.locator(".time-slider").first
    slider.wait_for()
    page.screenshot(path=ARTIFACTS / "explorer-open-result.png", full_page=True)
    _tab(page, "Compare runs").click()
    # only the shown tab's widgets are visible: the Compare tab's own list and button
    page.get_by_role("button", name="Refresh list").first.click()
    page.locator(".open-left select:visible").first.select_option(oncolytic[0])
    page.locator(".open-right select:visible").first.select_option(oncolytic[1])
    page.locator(".open button:visible").first.click()
    page.locator(".compare-numbers table").wait_for()
    assert "difference" in page.locator(".compare-numbers table:visible").first.inner_text()
    page.screenshot(path=ARTIFACTS / "explorer-compare.png", full_page=True)
