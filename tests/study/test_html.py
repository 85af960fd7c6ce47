"""report.html: written by every report, self-contained, escaped; rendered for real by headless Chromium.

The Chromium tests load the page the way a reader does (file://, no network) in a harness page of
their own: the harness's script (the report has none) checks that every figure decodes, reads the
main table's cells and lists every resource the page fetched; Chromium's net log, with every host
name mapped to nowhere, shows any request the page made. They skip only where no Chromium binary
is found (``apt-get install chromium``; .ci/run installs it; ``CHROMIUM=/path`` picks another).
"""

import base64
import html
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from study.basics.provenance import provenance_line
from study.report import write_report
from study.report.html import FILE
from study.report.page import figure_files
from study.results.exercise import EXERCISE_RESULTS as EXERCISE
from study.results.folder import summary_axes
from study.results.summary import parity_table

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "results"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


class Page(HTMLParser):
    """Every tag with its attributes, every table's cells (by id), and the page's text."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.text: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attrs))
        if tag == "table":
            self._table = attrs.get("id", f"table-{len(self.tables)}")
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def external_references(text: str) -> list[str]:
    """Everything in the page that could make a browser fetch something that is not a data: URI."""
    page = Page(text)
    found = [f"<{tag}>" for tag, _ in page.tags if tag in ("script", "link", "iframe", "frame", "object", "embed",
                                                            "base", "form", "audio", "video", "source", "track")]
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            if name in ("src", "href", "srcset", "poster", "action", "data", "background", "formaction", "ping",
                        "xlink:href") and not value.startswith(("data:", "#")):
                found.append(f"<{tag} {name}={value[:60]}>")
            if name.startswith("on"):
                found.append(f"<{tag} {name}>")
    lowered = text.lower()
    found += [s for s in ("http://", "https://", "ftp://", "@import", "@font-face", "javascript:") if s in lowered]
    found += [m for m in re.findall(r"url\(\s*['\"]?([^'\")\s]*)", text) if not m.startswith("data:")]
    found += [m for m in re.findall(r"""(?:src|href)\s*=\s*["']?//""", text, flags=re.I)]
    return found


@pytest.fixture(scope="module")
def reported(tmp_path_factory) -> Path:
    """The committed reference-lengths study, copied and re-reported (figures redrawn) into the copy."""
    copy = tmp_path_factory.mktemp("html") / "reference-lengths"
    shutil.copytree(RESULTS / "reference-lengths", copy, ignore=shutil.ignore_patterns(FILE))
    write_report(copy, echo=False, figures=True)
    return copy


def expected_main_rows(summary: pd.DataFrame) -> list[list[str]]:
    """summary.csv's rows as report.py prints them: CI to three decimals, solved k/n, train and exercise to two."""
    rows = []
    for r in summary.itertuples(index=False):
        exercise = EXERCISE.get(r.model, {}).get(int(r.length))
        ci = f"{r.eval_accuracy_mean:.3f}" + (f" [{r.eval_accuracy_low:.3f}, {r.eval_accuracy_high:.3f}]"
                                              if r.seeds >= 2 else "")
        rows.append([r.model, str(r.length), ci, f"{r.solved}/{r.seeds}", f"{r.train_accuracy_final:.2f}",
                     "-" if exercise is None else f"{exercise:.2f}"])
    return rows


def test_every_report_writes_a_self_contained_page(reported):
    text = (reported / FILE).read_text(encoding="utf-8")
    assert external_references(text) == []
    page = Page(text)
    images = [attrs for tag, attrs in page.tags if tag == "img"]
    files = figure_files(reported)
    assert [p.name for p in files] == ["accuracy_vs_length.png", "curves_both.png", "curves_LSTM.png",
                                       "curves_RNN.png", "steps_to_target.png", "mean_accuracy_vs_length.png"]
    assert len(images) == len(files)  # every figure, each the file's very bytes
    for attrs, path in zip(images, files, strict=True):
        assert attrs["src"].startswith("data:image/png;base64,")
        assert base64.b64decode(attrs["src"].split(",", 1)[1]) == path.read_bytes()
        assert attrs["alt"]
    styles = [tag for tag, _ in page.tags if tag == "style"]
    assert styles == ["style"]  # one inline style sheet
    csp = next(a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp and "img-src data:" in csp


def test_the_page_shows_the_study(reported):
    meta = json.loads((reported / "study.json").read_text())
    page = Page((reported / FILE).read_text(encoding="utf-8"))
    words = " ".join(" ".join(page.text).split())
    assert "Study reference-lengths" in words
    assert meta["command"] in words and provenance_line(meta) in words
    assert "Status complete" in words and "Wall time 55 min (3,321 s)" in words
    summary = pd.read_csv(reported / "summary.csv")
    rows = page.tables["summary"]
    assert rows[0] == ["model", "T", "held-out accuracy, mean [95% CI]", "solved", "final train", "exercise"]
    assert rows[1:] == expected_main_rows(summary)
    # the odd/even contrasts as report.py computes them
    trials = pd.read_csv(reported / "trials.csv", dtype={"trial_id": str})
    parity = parity_table(trials, summary_axes(meta, trials.columns))
    assert page.tables["parity"][1:] == [[r.model, str(r.length), r.parity,
                                          f"{r.contrast:+.3f} [{r.low:+.3f}, {r.high:+.3f}]"]
                                         for r in parity.itertuples()]
    assert page.tables["steps"][1] == ["RNN", "7000", "5500", "8000", "-", "-", "-"]
    # every column of summary.csv, as written there
    csv_rows = (reported / "summary.csv").read_text().splitlines()
    assert [",".join(r) for r in page.tables["summary-csv"]] == csv_rows


def test_a_re_report_writes_the_same_page(tmp_path):
    copy = tmp_path / "study"
    shutil.copytree(RESULTS / "reference-lengths", copy)
    write_report(copy, echo=False, figures=False)
    first = (copy / FILE).read_bytes()
    write_report(copy, echo=False, figures=False)
    assert (copy / FILE).read_bytes() == first
    assert len(re.findall(rb"<img ", first)) == 6  # --no-figures still embeds the figures the folder has


def test_all_text_is_escaped(tmp_path):
    copy = tmp_path / "study"
    shutil.copytree(RESULTS / "reference-lengths", copy, ignore=shutil.ignore_patterns("figures"))
    meta = json.loads((copy / "study.json").read_text())
    meta.update(name="<script>alert(1)</script>", command='python -m study.run --name "a&b" <img src=x onerror=y>',
                status="<b>done</b>", provenance={"host": "<i>h</i>", "versions": {"torch": "1 & 2"}})
    (copy / "study.json").write_text(json.dumps(meta))
    write_report(copy, echo=False, figures=False)
    text = (copy / FILE).read_text(encoding="utf-8")
    assert "<script" not in text.lower() and "<img" not in text and "<b>" not in text and "<i>" not in text
    assert external_references(text) == []
    assert html.escape(meta["command"]) in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "host &lt;i&gt;h&lt;/i&gt;" in text and "torch 1 &amp; 2" in text
    assert [t for t, _ in Page(text).tags if t == "img"] == []  # no figures in this copy


def test_a_search_shows_its_best_trials(tmp_path):
    copy = tmp_path / "search"
    shutil.copytree(RESULTS / "reference-search-rnn20", copy)
    write_report(copy, echo=False, figures=False)
    text = (copy / FILE).read_text(encoding="utf-8")
    assert external_references(text) == []
    page = Page(text)
    best = json.loads((copy / "best.json").read_text())
    top = page.tables["best-trials"]
    assert top[0][:2] == ["trial_id", "hidden"] and len(top) == 11  # the ten best, best first
    assert top[1][0] == best["trial_id"]
    words = " ".join(" ".join(page.text).split())
    # Optuna's best_trial among the two trials at 1.0 (docs/search.md), the other named as tied.
    assert "Best trial: eval_accuracy=1, hidden=128" in words and best["confirm"] in words
    assert "tied with 1 other: 21842a5d; chosen as the first of them in Optuna's trial order" in words
    assert "fANOVA (Optuna's FanovaImportanceEvaluator, seeds 0-9)" in words
    assert len(page.tables["summary"]) == 41  # one row per config, folded below
    assert sum(1 for t, _ in page.tags if t == "img") == 3


def test_a_study_without_finished_trials(tmp_path):
    copy = tmp_path / "study"
    shutil.copytree(RESULTS / "reference-lengths", copy, ignore=shutil.ignore_patterns("figures"))
    (copy / "trials.csv").write_text("")
    write_report(copy, echo=False, figures=False)
    text = (copy / FILE).read_text(encoding="utf-8")
    assert "No finished trials to summarise." in text and external_references(text) == []


def test_the_static_check_finds_external_references():
    bad = ('<html><head><link rel="stylesheet" href="https://x.org/a.css"><style>@import "b.css"; '
           "body{background:url(//c.org/x.png)}</style></head><body><img src='//d.org/y.png'>"
           '<a href="http://e.org">e</a><img src="data:image/png;base64,AA=="></body></html>')
    found = external_references(bad)
    assert "<link>" in found and "http://" in found and "https://" in found and "@import" in found
    assert "//c.org/x.png" in found and any("d.org" in f for f in found)
    assert external_references('<img src="data:image/png;base64,AA==">') == []


# ---- a real browser -----------------------------------------------------------------------------

def chromium() -> str | None:
    if os.environ.get("CHROMIUM"):
        return shutil.which(os.environ["CHROMIUM"]) or os.environ["CHROMIUM"]
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


needs_chromium = pytest.mark.skipif(chromium() is None, reason="no Chromium binary found (apt-get install chromium, "
                                    "or set CHROMIUM=/path/to/chrome); .ci/run installs it")

HARNESS = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>harness</title></head><body>
<pre id="out">pending</pre>
<iframe id="page" src="REPORT" width="1200" height="900"></iframe>
<script>
const out = document.getElementById("out");
document.getElementById("page").addEventListener("load", () => {
  try {
    const win = document.getElementById("page").contentWindow, doc = win.document;
    const images = Array.from(doc.images).map(i => ({alt: i.alt, scheme: i.src.split(":")[0], complete: i.complete,
                                                     width: i.naturalWidth, height: i.naturalHeight}));
    const table = doc.querySelector("table#summary");
    const rows = table ? Array.from(table.rows).map(r => Array.from(r.cells).map(c => c.textContent.trim())) : null;
    const resources = win.performance.getEntriesByType("resource").map(e => e.name);
    out.textContent = JSON.stringify({ok: true, title: doc.title, images, rows, resources});
  } catch (e) {
    out.textContent = JSON.stringify({ok: false, error: String(e)});
  }
});
</script></body></html>
"""


def browse(folder: Path, report: str, work: Path) -> tuple[dict, list[str]]:
    """Load ``folder``/``report`` in the harness with no network; (the harness's findings, the URLs the
    page itself asked for according to Chromium's net log)."""
    harness = folder / "harness.html"
    harness.write_text(HARNESS.replace("REPORT", report), encoding="utf-8")
    net_log = work / "net-log.json"
    cmd = [chromium(), "--headless=new", "--disable-gpu", "--no-sandbox", "--no-first-run",
           "--no-default-browser-check", f"--user-data-dir={work / 'profile'}", "--disable-extensions",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--allow-file-access-from-files",  # lets the harness read the page in its iframe (both file://)
           "--host-resolver-rules=MAP * ~NOTFOUND",  # no host name resolves: nothing can be fetched
           f"--log-net-log={net_log}", "--net-log-capture-mode=Everything",
           "--virtual-time-budget=5000", "--dump-dom", harness.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="out">(.*?)</pre>', done.stdout, flags=re.S)
    assert found, done.stdout[:2000]
    assert found.group(1) != "pending", "the page never loaded in the harness"
    result = json.loads(html.unescape(found.group(1)))
    assert result["ok"], result
    return result, page_requests(net_log)


def page_requests(net_log: Path) -> list[str]:
    """URLs of the requests a page started, from a net log: Chromium's own (its updater, clock, account
    checks) have no initiating origin ("not an origin") and are not the page's."""
    log = json.loads(net_log.read_text(encoding="utf-8"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log["events"]:
        params = event.get("params") or {}
        if event.get("type") == start and "url" in params and params.get("initiator") != "not an origin":
            urls.append(params["url"])
    return urls


@needs_chromium
def test_chromium_renders_every_figure_and_the_summary_table(reported, tmp_path):
    result, requested = browse(reported, FILE, tmp_path)
    files = figure_files(reported)
    assert result["title"] == "Study reference-lengths"
    assert len(result["images"]) == len(files) == 6
    for image in result["images"]:
        assert image["scheme"] == "data" and image["complete"] and image["width"] > 0 and image["height"] > 0, image
    summary = pd.read_csv(reported / "summary.csv")
    assert result["rows"][1:] == expected_main_rows(summary)
    assert result["resources"] == []  # the page fetched nothing (data: images are not fetches)
    assert [u for u in requested if not u.startswith(("file:", "data:"))] == []


@needs_chromium
def test_the_browser_checks_catch_an_external_request(tmp_path):
    """The same checks on a page that does fetch from the network: they must see it."""
    folder = tmp_path / "leaky"
    folder.mkdir()
    (folder / "leaky.html").write_text(
        '<!DOCTYPE html><html><head><style>body{background:url(https://bg.invalid/b.png)}</style></head>'
        '<body><img src="http://probe.invalid/a.png"><table id="summary"><tr><td>1</td></tr></table></body></html>')
    result, requested = browse(folder, "leaky.html", tmp_path)
    assert result["images"][0]["width"] == 0  # nothing resolves: the external image is broken
    assert "http://probe.invalid/a.png" in result["resources"]
    assert {"http://probe.invalid/a.png", "https://bg.invalid/b.png"} <= set(requested)
    assert result["rows"] == [["1"]]
