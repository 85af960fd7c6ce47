"""report.html and compare.html lead with the answer, and fit a desktop page.

report.html: the headline (its figure and table: accuracy against T, the memory frontier, or a
search's best config) comes before the table of contents, which comes before the rest; every
figure is captioned and none repeats another; the footer and a search's confirm command name the
folder as the user gave it. compare.html: the verdicts and the settings that differ first, the raw
table folded. The printed comparison fits 100 columns. In headless Chromium (as test_html.py drives
it), each page laid out 1,400 px wide: the sections in that order, and no table past the page's
right edge (nor, with every disclosure opened, the page wider than the window). Pages are made from
the committed references, copied and re-reported without redrawing their figures.
"""

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from test_html import Page, chromium, external_references, needs_chromium

import study
from study.report import write_report
from study.report.compare import WIDTH, printed_table, text_lines
from study.report.html import FILE
from study.report.page import figure_files, shown_folder
from study.report.text import left_out_words, trials_text
from study.report.write import confirm_results_dir, stale_figures

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "results"
REPORTS = ("reference-lengths", "reference-init", "reference-frontier-best", "reference-search-rnn20")


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """The four references re-reported in copies (their committed figures kept, and in reference-init
    a stale accuracy_vs_length_by_init.png planted), and compare.html of reference-lengths against
    reference-init; name -> the page's path."""
    root = tmp_path_factory.mktemp("pages")
    out = {}
    for name in REPORTS:
        shutil.copytree(RESULTS / name, root / name)
        if name == "reference-init":  # a figure older report code drew, which repeats accuracy_vs_length
            figures = root / name / "figures"
            shutil.copy(figures / "accuracy_vs_length.png", figures / "accuracy_vs_length_by_init.png")
        write_report(root / name, echo=False, figures=False)
        out[name] = root / name / FILE
    comparison = study.compare(root / "reference-lengths", root / "reference-init", ignore="patience",
                               out=root / "compare")
    assert comparison.studies == ["reference-lengths", "reference-init"]
    out["compare"] = root / "compare" / "compare.html"
    return out


def _at(text: str, needle: str) -> int:
    assert needle in text, needle
    return text.index(needle)


HEADLINES = {  # the page, the headline's table, the headline's figure (None: a search leads with its best config)
    "reference-lengths": ('<table id="summary"', "figures/accuracy_vs_length.png"),
    "reference-init": ('<table id="summary"', "figures/accuracy_vs_length.png"),
    "reference-frontier-best": ('<table id="frontier"', "figures/frontier.png"),
    "reference-search-rnn20": ('<table id="best"', None),
}


@pytest.mark.parametrize("name", REPORTS)
def test_the_headline_then_the_contents_then_the_rest(pages, name):
    text = pages[name].read_text(encoding="utf-8")
    table, figure = HEADLINES[name]
    head, nav = _at(text, '<section id="headline">'), _at(text, '<nav class="contents" id="contents">')
    about = _at(text, '<section id="about">')
    assert head < _at(text, table) < nav < about
    if figure:
        assert head < _at(text, f"({figure})</figcaption>") < nav
    # the contents link every section, in page order
    sections = re.findall(r'<section id="([^"]+)">', text)
    links = re.findall(r'<a href="#([^"]+)">', text[nav:text.index("</nav>", nav)])
    assert links == sections and sections[:2] == ["headline", "about"] and len(sections) >= 4
    assert external_references(text) == []


def test_a_search_leads_with_its_best_config_and_a_confirm_command_for_this_folder(pages):
    text = pages["reference-search-rnn20"].read_text(encoding="utf-8")
    best = json.loads((pages["reference-search-rnn20"].parent / "best.json").read_text())
    rows = Page(text).tables["best"]
    assert rows[0] == ["trial_id", "eval_accuracy", "hidden", "lr", "max_norm", "init", "optimizer", "steps_to_target"]
    assert rows[1][:3] == [best["trial_id"], "1", "128"] and len(rows) == 2
    # the committed study was run with --results-dir /tmp/refs-out; a copy reported elsewhere names no such folder
    assert "--results-dir" not in best["confirm"] and "/tmp/refs-out" not in best["confirm"]
    assert html.escape(best["confirm"]) in text[:text.index('id="contents"')]


def test_every_figure_is_captioned_and_none_repeats_another(pages):
    for name in REPORTS:
        text = pages[name].read_text(encoding="utf-8")
        figures = re.findall(r"<figure[^>]*>(.*?)</figure>", text, flags=re.S)
        assert figures and all(re.search(r"<figcaption>[^<]{20,}</figcaption>", f) for f in figures), name
        assert len(figures) == len(figure_files(pages[name].parent)) == text.count("<img ")
    frontier = pages["reference-frontier-best"].read_text(encoding="utf-8")
    assert "Gradient flow: ||dL/dh_t|| / ||dL/dh_T|| against t" in frontier  # study.gradients's figure too
    init = pages["reference-init"].parent
    assert (init / "figures" / "accuracy_vs_length_by_init.png").is_file()  # planted by the fixture
    assert "accuracy_vs_length_by_init.png" not in pages["reference-init"].read_text(encoding="utf-8")
    stale = stale_figures(init / "figures", [init / "figures" / n for n in (
        "accuracy_vs_length.png", "curves_both.png", "curves_LSTM.png", "curves_RNN.png", "steps_to_target.png",
        "mean_accuracy_vs_length.png")])
    assert [p.name for p in stale] == ["accuracy_vs_length_by_init.png"]
    frontier_figures = pages["reference-frontier-best"].parent / "figures"
    assert stale_figures(frontier_figures, []) and all(
        p.name not in ("gradient_flow.png", "frontier.png") for p in stale_figures(frontier_figures, []))


def test_the_footer_names_the_folder_as_given(tmp_path, monkeypatch):
    copy = tmp_path / "studies" / "reference-lengths"
    shutil.copytree(RESULTS / "reference-lengths", copy, ignore=shutil.ignore_patterns("figures"))
    footer = re.compile(r"Written by <code>python -m study.report ([^<]*)</code>")
    write_report(copy, echo=False, figures=False)  # absolute, outside the current directory: its name
    assert footer.search((copy / FILE).read_text()).group(1) == "reference-lengths"
    monkeypatch.chdir(tmp_path)
    write_report(copy, echo=False, figures=False)  # absolute, under here: relative to here
    assert footer.search((copy / FILE).read_text()).group(1) == "studies/reference-lengths"
    write_report("studies/./reference-lengths", echo=False, figures=False)  # relative: as typed
    assert footer.search((copy / FILE).read_text()).group(1) == "studies/reference-lengths"
    assert str(tmp_path) not in (copy / FILE).read_text()
    assert shown_folder(Path("/elsewhere/x/reference-lengths")) == "reference-lengths"


def test_the_confirm_command_names_the_results_folder_as_given(tmp_path, monkeypatch):
    meta = {"results_dir": "/tmp/refs-out", "name": "s"}
    monkeypatch.chdir(tmp_path)
    assert confirm_results_dir(Path("results/s"), meta) == "results"
    assert confirm_results_dir(Path("out/runs/s"), meta) == "out/runs"
    assert confirm_results_dir(tmp_path / "mine" / "s", meta) == "mine"
    assert confirm_results_dir(Path("/somewhere/else/s"), meta) == "results"  # a copy: the default
    written = tmp_path.parent / "scratch"
    assert confirm_results_dir(written / "s", {"results_dir": str(written)}) == str(written)  # where it was run


def test_plurals():
    assert trials_text(1) == "1 trial" and trials_text(0) == "0 trials" and trials_text(9) == "9 trials"
    summary = pd.DataFrame({"errored": [1, 0], "unfinished": [0, 2], "cut": [4, 5]})
    assert left_out_words(summary) == ["1 trial errored", "2 trials unfinished", "9 trials cut by the scheduler"]
    one = summary.assign(cut=[1, 0], unfinished=0)
    assert left_out_words(one) == ["1 trial errored", "1 trial cut by the scheduler"]


def test_the_report_of_one_trial_says_trial(tmp_path, capsys):
    copy = tmp_path / "one"
    shutil.copytree(RESULTS / "reference-lengths", copy, ignore=shutil.ignore_patterns("figures"))
    trials = pd.read_csv(copy / "trials.csv")
    trials.iloc[:1].to_csv(copy / "trials.csv", index=False)
    write_report(copy, echo=True, figures=False)
    out = capsys.readouterr().out
    assert "(grid lengths): 1 trial\n" in out
    assert "; 1 trial; complete;" in (copy / FILE).read_text()


def test_the_printed_comparison_fits_100_columns(tmp_path, capsys):
    from study.compare import main

    assert WIDTH == 100
    args = [str(RESULTS / "reference-lengths"), str(RESULTS / "reference-init"), "--ignore", "patience",
            "--no-figures", "--out", str(tmp_path / "c")]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines[:-1]) <= 100  # the last line names the output folder
    header = [i for i, line in enumerate(lines) if "B - A [95% interval]" in line]
    assert len(header) == 1  # one block, not wrapped into two
    assert lines[header[0]].split() == ["model", "T", "init", "B", "-", "A", "[95%", "interval]", "verdict", "A",
                                        "mean", "n", "B", "mean", "n", "solved", "A", "/", "B"]
    rows = lines[header[0] + 1:header[0] + 41]
    assert "RNN     5  seed        +0.0073 [-0.1143, +0.0576]  inconclusive  0.976 n=5  0.983 n=3  5/5 / 3/3" in rows
    assert sum(r.split()[3:5] == ["-", "only"] for r in rows) == 36


def test_a_wider_comparison_leaves_columns_out_to_fit(tmp_path):
    lengths = RESULTS / "reference-lengths"
    comparison = study.compare(lengths, lengths, lengths, write=False)
    table, left_out = printed_table(comparison)
    assert table[0].split()[:2] == ["B", "model"] and {r.split()[0] for r in table[1:]} == {"B1", "B2"}
    assert max(map(len, table)) <= 100 and len(table) == 1 + 24
    assert left_out == []
    narrow, dropped = printed_table(comparison, width=70)
    assert dropped == ["solved A / B", "A mean n"] and max(map(len, narrow)) <= 70
    assert text_lines(comparison)[0] == ("A = reference-lengths; B1 = reference-lengths#2; "
                                         "B2 = reference-lengths#3")


def test_compare_html_leads_with_the_verdicts(pages):
    text = pages["compare"].read_text(encoding="utf-8")
    verdicts, nav = _at(text, '<section id="verdicts">'), _at(text, 'id="contents"')
    differ, cells = _at(text, '<table id="settings-differ">'), _at(text, '<table id="compare">')
    assert verdicts < differ < cells < nav
    head = Page(text).tables["compare"][0]
    assert head[:5] == ["model", "length", "init", "B - A [95% interval]", "verdict"]
    assert len(Page(text).tables["compare"]) == 1 + 4  # the cells both studies ran; the rest below
    assert len(Page(text).tables["only"]) == 1 + 36
    folded = text.index("<details><summary>compare.csv")
    assert folded < _at(text, '<table id="compare-csv">') and "a_accuracy_low" not in text[:folded]
    assert "<figcaption>B - A held-out accuracy with its 95% interval" in text


# ---- laid out by a real browser, 1,400 px wide ---------------------------------------------------------

LAYOUT = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>layout</title></head><body style="margin:0">
<pre id="out">pending</pre>
FRAMES
<script>
const frames = Array.from(document.querySelectorAll("iframe"));
const results = {};
function measure(frame) {
  const win = frame.contentWindow, doc = win.document, width = doc.documentElement.clientWidth;
  const box = e => { const r = e.getBoundingClientRect();
                     return {top: r.top + win.scrollY, bottom: r.bottom + win.scrollY, left: r.left, right: r.right}; };
  const shown = t => !t.closest("details:not([open])");  // a closed disclosure's table is not laid out
  const tables = () => Array.from(doc.querySelectorAll("table")).filter(shown).map(t => ({
      id: t.id, right: t.getBoundingClientRect().right,
      inBox: t.parentElement.scrollWidth <= t.parentElement.clientWidth}));
  const blocks = Array.from(doc.querySelectorAll("body > section, body > nav")).map(e => ({id: e.id, ...box(e)}));
  const q = s => { const e = doc.querySelector(s); return e ? box(e) : null; };
  const closed = {tables: tables(), page: doc.documentElement.scrollWidth};
  doc.querySelectorAll("details").forEach(d => { d.open = true; });
  const opened = {tables: tables(), page: doc.documentElement.scrollWidth};
  return {width, blocks, closed, opened, headFigure: q("#headline figure"), headTable: q("#headline table"),
          verdicts: q("#verdicts table#compare")};
}
function done(frame) {
  if (frame.name in results) return;
  try { results[frame.name] = measure(frame); } catch (e) { results[frame.name] = {error: String(e)}; }
  if (Object.keys(results).length === frames.length) {
    document.getElementById("out").textContent = JSON.stringify(results);
  }
}
frames.forEach(frame => {
  frame.addEventListener("load", () => done(frame));
  // a frame whose page loaded before this script ran fires no load event for it
  const doc = frame.contentDocument;
  if (doc && doc.readyState === "complete" && doc.URL !== "about:blank") done(frame);
});
</script></body></html>
"""


def layout(pages: dict[str, Path], work: Path, width: int = 1400) -> dict[str, dict]:
    """Every page in an iframe ``width`` px wide, measured once laid out (``LAYOUT``'s script)."""
    frames = "\n".join(f'<iframe name="{name}" src="{path.as_uri()}" width="{width}" height="900"></iframe>'
                       for name, path in pages.items())
    harness = work / "layout.html"
    harness.write_text(LAYOUT.replace("FRAMES", frames), encoding="utf-8")
    # Virtual time runs on while the large pages (their figures inline) are parsed, so a loaded
    # machine can use the budget up first: a generous budget, and one more try if it still did.
    for _ in range(2):
        cmd = [chromium(), "--headless=new", "--disable-gpu", "--no-sandbox", "--no-first-run",
               "--no-default-browser-check", f"--user-data-dir={work / 'profile'}", "--disable-extensions",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--allow-file-access-from-files", "--host-resolver-rules=MAP * ~NOTFOUND",
               f"--window-size={width + 100},1000", "--virtual-time-budget=60000", "--dump-dom", harness.as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=240,
                              env={**os.environ, "LANG": "C.UTF-8"})
        assert done.returncode == 0, done.stderr[-2000:]
        found = re.search(r'<pre id="out">(.*?)</pre>', done.stdout, flags=re.S)
        if found and found.group(1) != "pending":
            break
    assert found and found.group(1) != "pending", "the pages never loaded in the harness"
    results = json.loads(html.unescape(found.group(1)))
    assert not [r for r in results.values() if "error" in r], results
    return results


def fits(measured: dict) -> list[str]:
    """What overflows: a table past the page's right edge or cut off in its box, or a page wider than
    the window (with every disclosure opened, too: a wide table scrolls in its own box)."""
    width, bad = measured["width"], []
    for state in ("closed", "opened"):
        if measured[state]["page"] > width:
            bad.append(f"{state}: the page is {measured[state]['page']} px wide in {width}")
    for t in measured["closed"]["tables"]:  # what the reader sees: whole, within the page
        if t["right"] > width + 0.5 or not t["inBox"]:
            bad.append(f"table#{t['id']} ends at {t['right']:.0f} px in {width}" + ("" if t["inBox"] else ", cut off"))
    return bad


@needs_chromium
def test_the_pages_in_a_browser_1400_px_wide(pages, tmp_path):
    measured = layout(pages, tmp_path)
    assert set(measured) == {*REPORTS, "compare"}
    for name in REPORTS:
        m = measured[name]
        assert 1300 < m["width"] <= 1400, m["width"]
        assert fits(m) == [], (name, fits(m))
        order = [b["id"] for b in m["blocks"]]
        assert order[:3] == ["headline", "contents", "about"], order
        tops = [b["top"] for b in m["blocks"]]
        pairs = zip(m["blocks"], m["blocks"][1:], strict=False)
        assert tops == sorted(tops) and all(a["bottom"] <= b["top"] for a, b in pairs)
        nav = m["blocks"][1]
        assert m["headTable"]["bottom"] <= nav["top"], name
        if HEADLINES[name][1]:
            assert m["headFigure"]["bottom"] <= nav["top"], name
    # a narrow headline figure sits beside its table on a desktop page; a wide one above it
    lengths, init = measured["reference-lengths"], measured["reference-init"]
    assert lengths["headFigure"]["right"] <= lengths["headTable"]["left"]
    assert init["headFigure"]["bottom"] <= init["headTable"]["top"]
    compare = measured["compare"]
    assert fits(compare) == [], fits(compare)
    assert [b["id"] for b in compare["blocks"]][:2] == ["verdicts", "contents"]
    assert compare["verdicts"]["bottom"] <= compare["blocks"][1]["top"]
