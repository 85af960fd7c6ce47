"""Study files: a whole study as data, in TOML (read with the standard library's ``tomllib``).

A grid: every combination of the ``[axes]`` values, each run with seeds 0 .. ``seeds`` - 1::

    name = "hidden-lr"                  # the study's name; its folders are <name>-<date>-<time>
    description = "hidden units x learning rate at longer T"
    seeds = 2                           # default 3

    [fixed]                             # palrnn Config fields, the same in every trial
    steps = 3000                        # (patience = 0 trains every step, like --full)

    [axes]                              # swept Config fields: lists of values
    model = ["RNN"]                     # default: RNN and LSTM
    hidden = [64, 128]
    lr = [1e-3, 3e-3]
    length = [15, 20]                   # default: 5 .. 10
    # max_norm = ["none", 1.0]          # none turns clipping off

A search: an Optuna TPE search per model x length cell (``[axes]`` may hold only model and length)::

    name = "rnn20"

    [fixed]
    model = "RNN"                       # default RNN (or [axes] model = [...] for one search per model)
    length = 20                         # default 20

    [search]
    num_samples = 40                    # trials per cell; default 40
    metric = "eval_accuracy"            # default eval_accuracy; several: ["eval_accuracy:max",
                                        #   "steps_to_target:min"] (study/spec/objectives.py)
    mode = "max"                        # one metric's direction; default: min for a loss, else max
    scheduler = "asha"                  # asha, hyperband, median or none (true: asha, false: none)
    seed = 0                            # the sampler's seed; default 0
    sampler = "tpe"                     # tpe, random, cmaes, gp, qmc or nsga2; default tpe

    [space]                      # FIELD = "choice:V1,V2,..." | "uniform:LOW:HIGH" |
    lr = "loguniform:1e-4:3e-2"         #         "loguniform:LOW:HIGH" | "int:LOW:HIGH"
    hidden = "choice:32,64,128"

A memory frontier (docs/frontier.md): for every cell, a combination of the ``[axes]`` values
(model always among them), the longest T at which K of seeds 0 .. N-1 reach the target; the
search chooses the lengths and the seeds, so neither ``seeds`` nor a ``length`` is given::

    name = "frontier-init"

    [fixed]
    hidden = 64

    [axes]
    model = ["RNN", "LSTM", "GRU"]      # default: RNN and LSTM
    init = ["default", "xavier"]

    [frontier]
    solve_rule = "4/5"                  # K/N: a length passes when K of seeds 0 .. N-1 solve it
    start_length = 5                    # the first length probed; default 5
    max_length = 100                    # the longest; default 100
    speculate = 1                       # undecided probes a cell may run ahead of; default 1

Any study may also log every trial to MLflow (docs/watching.md): ``mlflow = true`` (a SQLite
store in the study folder) or ``mlflow = "http://host:5000"`` (a tracking URI), at the top.

Every study starts from the exercise's settings (``EXERCISE``) and stops a trial once it has held
the target for 3 evaluations (``patience = 3``); ``[fixed]`` changes any of them. A file is a
study document (``study.spec.document``: its keys but ``resources`` and ``format_version``),
checked by its one parser, palrnn's own Config validation included, before anything runs; an
error names the key as the file writes it (``[fixed] lr: ...``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from study.basics.errors import StudyError, first_line
from study.spec.document import (
    FRONTIER_KEYS,
    TOP_KEYS,
    DocumentError,
    Search,
    Study,
    frontier_block,
    frontier_options,
    mlflow_value,
    parse,
    search_block,
    to_dict,
)
from study.spec.document import toml_value as _toml
from study.spec.fields import NAME_RE

__all__ = ["FRONTIER_KEYS", "Search", "Study", "frontier_block", "frontier_options", "from_dict", "mlflow_value",
           "read_toml", "search_block", "to_dict", "to_toml"]


def read_toml(path: Path, where: str) -> Study:
    """The study in a TOML study file; StudyError (``where: ...``) when it cannot be read or checked."""
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StudyError(f"{where}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StudyError(f"{where}: cannot be read ({first_line(exc)})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StudyError(f"{where}: not valid TOML: {first_line(exc)}") from None
    default_name = path.stem if NAME_RE.fullmatch(path.stem) else "study"
    return from_dict(data, where, default_name=default_name)


def from_dict(data: Any, where: str, default_name: str = "study") -> Study:
    """A study from a file's contents (or the same dict in Python); StudyError names the key as the file does."""
    try:
        return parse(data, default_name, keys=TOP_KEYS)
    except DocumentError as exc:
        raise StudyError(f"{where}: {exc.toml}") from None


def to_toml(study: Study, comments: list[str] | None = None) -> str:
    """The study as a TOML study file; ``load`` reads it back to the same study."""
    data = to_dict(study)
    lines = [f"# {c}" for c in comments or []]
    for key in ("name", "description", "seeds", "mlflow", "storage", "kind"):
        if key in data:
            lines.append(f"{key} = {_toml(data[key])}")
    for key in ("fixed", "axes"):
        lines += ["", f"[{key}]"] + [f"{k} = {_toml(v)}" for k, v in data[key].items()]
    if "search" in data:
        block = dict(data["search"])
        space = block.pop("space")
        lines += ["", "[search]"] + [f"{k} = {_toml(v)}" for k, v in block.items()]
        lines += ["", "[search.space]"] + [f"{k} = {_toml(v)}" for k, v in space.items()]
    if "frontier" in data:
        lines += ["", "[frontier]"] + [f"{k} = {_toml(v)}" for k, v in data["frontier"].items()]
    return "\n".join(lines) + "\n"
