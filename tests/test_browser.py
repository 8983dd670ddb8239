"""The report of a real short run, opened in a real browser (Debian's headless Chromium through chromedriver).

Checks what a reader would see: the page loads from the file with no request to any other host and no console
error, every chart decodes, the key numbers are those of summary.json, it fits a phone's width, and the page
reads in Chinese too. Screenshots at desktop and phone width are saved in the run folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import IMAGES, MODEL_320, ROOT, SYSTEM_PYTHON

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FAKE = Path(__file__).parent / "fakes" / "fake_runner.py"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, real_assets: None) -> Path:
    folder = tmp_path_factory.mktemp("browser")
    config = folder / "c.yaml"
    config.write_text(textwrap.dedent(f"""\
        name: browser-check
        models: [{{name: yolov5s-320, path: {MODEL_320}, input_size: 320}}]
        images: [{IMAGES / 'bus.jpg'}, {IMAGES / 'zidane.jpg'}]
        runners:
          - {{name: go, kind: go}}
          - {{name: python-system, kind: python, interpreter: {SYSTEM_PYTHON}}}
        scenario: {{warmup: 1, iterations: 4, repeats: 2}}
        threads: 1
        compare: [[go, python-system]]
        """))
    out = folder / "run"
    done = subprocess.run([sys.executable, "-m", "orchestrator", "run", str(config), "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201 - selenium's type
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def open_page(browser, path: Path, width: int) -> None:  # noqa: ANN001
    browser.set_window_size(width, 900)
    browser.get(path.as_uri())
    browser.get_log("performance")  # drop what came before
    browser.refresh()


def requests_made(browser) -> list[str]:  # noqa: ANN001
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def test_page_loads_offline_with_every_chart_and_no_error(browser, run_dir: Path) -> None:  # noqa: ANN001
    page = run_dir / "report.html"
    open_page(browser, page, 1280)
    foreign = [u for u in requests_made(browser) if not (u.startswith("file://") or u.startswith("data:"))]
    assert foreign == []
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])")
    assert len(images) >= 3 and all(ok and width > 100 for ok, width, _ in images), images
    browser.save_screenshot(str(run_dir / "screenshot-desktop.png"))
    assert (run_dir / "screenshot-desktop.png").stat().st_size > 10_000


def test_key_numbers_match_summary_json(browser, run_dir: Path) -> None:  # noqa: ANN001
    open_page(browser, run_dir / "report.html", 1280)
    text = browser.find_element("tag name", "body").text
    summary = json.loads((run_dir / "summary.json").read_text())
    for cell in summary["cells"]:
        lat = cell["latency_ms"]
        level = lat["process_median"]
        assert f"{lat['mean']:.1f}" in text and f"{level['center']:.1f} [{level['ci95'][0]:.1f}" in text
        assert f"{cell['memory_mb']['peak_rss']:.0f}" in text
    verdict = next(c["verdict"] for c in summary["comparisons"] if c["metric"] == "latency_p50")
    assert verdict in text


def test_readable_at_phone_width(browser, run_dir: Path) -> None:  # noqa: ANN001
    open_page(browser, run_dir / "report.html", 390)
    overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1  # wide tables scroll inside their own box, the page does not
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(390, min(height, 8000))
    browser.save_screenshot(str(run_dir / "screenshot-phone.png"))
    assert (run_dir / "screenshot-phone.png").stat().st_size > 10_000


def test_chinese_report(browser, run_dir: Path) -> None:  # noqa: ANN001
    done = subprocess.run([sys.executable, "-m", "orchestrator", "report", str(run_dir), "--lang", "zh-CN"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "missing from font" not in done.stderr  # the charts found a CJK font
    open_page(browser, run_dir / "report.html", 1280)
    text = browser.find_element("tag name", "body").text
    assert "结论" in text and "汇总" in text and "延迟中位数" in text
    assert browser.execute_script("return document.documentElement.lang") == "zh-CN"
    browser.save_screenshot(str(run_dir / "screenshot-desktop-zh.png"))


def test_html_in_a_config_value_stays_text(browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    import io

    from orchestrator import run as run_mod
    from orchestrator import runners
    from orchestrator.progress import Progress

    monkeypatch.setattr(runners, "PY_SCRIPT", FAKE)
    (tmp_path / "m.onnx").write_bytes(b"x")
    (tmp_path / "a.jpg").write_bytes(b"x")
    config = tmp_path / "c.yaml"
    config.write_text(textwrap.dedent(f"""\
        name: "<img src=x onerror=alert(2)>"
        models: [{{name: m, path: m.onnx, input_size: 320}}]
        images: [a.jpg]
        runners: [{{name: "<script>alert(1)</script>", kind: python, interpreter: {sys.executable}}}]
        scenario: {{warmup: 1, iterations: 3, repeats: 1}}
        """))
    run_mod.run(config, tmp_path / "run", progress=Progress(io.StringIO(), interactive=False))
    open_page(browser, tmp_path / "run" / "report.html", 1280)
    text = browser.find_element("tag name", "body").text  # an alert would make this raise
    assert "<script>alert(1)</script>" in text and "<img src=x onerror=alert(2)>" in text
    assert browser.execute_script("return document.scripts.length") == 0


@pytest.fixture(scope="module")
def merged_dir(tmp_path_factory: pytest.TempPathFactory, real_assets: None) -> Path:
    """One config (`threads: auto`) run as two machines with the real runners: this one, and `other`, simulated
    by pinning the orchestrator to one CPU, so that its `auto` is another thread count; then `merge`."""
    folder = tmp_path_factory.mktemp("machines")
    config = folder / "c.yaml"
    config.write_text(textwrap.dedent(f"""\
        name: machines-check
        models: [{{name: yolov5s-320, path: {MODEL_320}, input_size: 320}}]
        images: [{IMAGES / 'bus.jpg'}, {IMAGES / 'zidane.jpg'}]
        runners:
          - {{name: go, kind: go}}
          - {{name: python-system, kind: python, interpreter: {SYSTEM_PYTHON}}}
        scenario: {{warmup: 1, iterations: 3, repeats: 2}}
        threads: auto
        compare: [[go, python-system]]
        """))
    for name, pin in (("here", None), ("other", {0})):
        argv = [sys.executable, "-m", "orchestrator", "run", str(config), "--out", str(folder / name), "--machine",
                name]
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600,
                              preexec_fn=(lambda cpus=pin: os.sched_setaffinity(0, cpus)) if pin else None)
        assert done.returncode == 0, done.stdout + done.stderr
    done = subprocess.run([sys.executable, "-m", "orchestrator", "merge", str(folder / "here"), str(folder / "other"),
                           "--out", str(folder / "merged")], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return folder / "merged"


def test_merged_report_of_two_machines(browser, merged_dir: Path) -> None:  # noqa: ANN001
    summary = json.loads((merged_dir / "summary.json").read_text())
    here, other = summary["machines"]
    threads = [{c["threads"] for c in m["summary"]["cells"]} for m in (here, other)]
    if len(os.sched_getaffinity(0)) > 1:
        assert threads[1] == {1} and threads[0] != threads[1]  # each machine's own `auto`
    open_page(browser, merged_dir / "report.html", 1280)
    foreign = [u for u in requests_made(browser) if not (u.startswith("file://") or u.startswith("data:"))]
    assert foreign == [] and [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    images = browser.execute_script("return Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
    assert len(images) == 2 and all(ok and width > 100 for ok, width in images), images
    heads = [e.text for e in browser.find_elements("css selector", "#machine-table th.machine")]
    assert heads == ["here", "other"]
    across = browser.find_element("css selector", "table.across").text
    for row in summary["across_machines"][0]["rows"]:  # the page's numbers are summary.json's
        assert f"{row['old_ms']:.1f}" in across and f"{row['new_ms']:.1f}" in across and row["change"] in across
    for m in (here, other):  # every cell row is one machine's, with that machine's own median
        rows = browser.find_elements("css selector", f"#cell-table tr[data-machine='{m['name']}']")
        assert len(rows) == len(m["summary"]["cells"])
        for c in m["summary"]["cells"]:
            assert any(f"{c['latency_ms']['process_median']['center']:.1f}" in r.text for r in rows)
    browser.save_screenshot(str(merged_dir / "screenshot-desktop.png"))
    link = browser.find_element("css selector", "a[href='machines/other/report.html']")
    link.click()
    assert browser.title.startswith("machines-check") and "machines/other/report.html" in browser.current_url
    overflow_page = merged_dir / "report.html"
    open_page(browser, overflow_page, 390)
    assert browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth") <= 1
