"""The request: what the user asked for, from the command line or Python keywords, typed but not yet planned."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from palrnn.config import MODELS
from palrnn.names import canonical
from study.basics.errors import StudyError
from study.spec.catalogue import grid_names
from study.spec.document import whole
from study.spec.fields import (
    MODES,
    NAME_RE,
    SCHEDULER_NAMES,
    check_axis,
    config_value,
    field_name,
    sampler_name,
    text_value,
)
from study.spec.space import SYNTAX, Dist, parse_dist
from study.spec.studyfile import FRONTIER_KEYS, mlflow_value

SMOKE = {"steps": 200, "eval_every": 50, "hidden": 16}  # --smoke-test: 1 seed, these settings
# Options that say how to run a study, not which: --resume takes them; every other option must
# plan the very study it resumes.
RUN_OPTIONS = ("--resume", "--out", "--name", "--results-dir", "--no-report", "--dry-run", "--address", "--num-cpus",
               "--dashboard-host", "--dashboard-port", "--object-store-mb", "--ignore-memory", "--storage")
SEARCH_ONLY = ("--model", "--length", "--space", "--metric", "--mode", "--num-samples", "--search-seed",
               "--scheduler", "--sampler", "--perturbation-interval", "--perturb")


def option_name(key: str) -> str:
    """The command-line option of a document's key or a keyword: cpus_per_trial, --cpus-per-trial."""
    return "--" + key.replace("_", "-")


FRONTIER_ONLY = tuple(map(option_name, FRONTIER_KEYS))  # --solve-rule, ...


@dataclass
class Request:
    """What the user asked for, from the command line or Python, not yet checked. ``given``: the
    options given, by their command-line names (an API keyword counts as its option)."""

    given: list[str] = field(default_factory=list)
    grid: str | None = None
    study: Any = None  # a path (str, Path) or a study file's contents (dict)
    search: Any = None  # "optuna" / True, or a [search] table (dict)
    seeds: Any = None
    models: Any = None
    lengths: Any = None
    model: Any = None
    length: Any = None
    sets: dict[str, Any] = field(default_factory=dict)  # field -> value (typed and checked)
    sweeps: dict[str, list[Any]] = field(default_factory=dict)  # field -> values (typed and checked)
    space: dict[str, Dist] | None = None
    metric: Any = None
    mode: Any = None
    num_samples: Any = None
    search_seed: Any = None
    sampler: Any = None  # one of study.spec.fields.SAMPLERS (checked in planning)
    scheduler: Any = None  # a name of study.spec.fields.SCHEDULER_NAMES (on/off, True/False: asha/none)
    perturbation_interval: Any = None  # PBT's (study.spec.pbt)
    perturb: Any = None  # the fields PBT perturbs: a list of names
    frontier: Any = None  # True, or a [frontier] table (dict)
    solve_rule: Any = None
    start_length: Any = None
    max_length: Any = None
    speculate: Any = None
    mlflow: Any = None  # "" (the study folder's own store) or a tracking URI; None: not given
    full: bool = False
    patience: Any = None
    smoke_test: bool = False
    description: Any = None
    name: Any = None
    results_dir: Any = "results"
    out: Any = None  # the study's folder: --results-dir and --name in one (_out)
    resume: bool = False
    cpus_per_trial: Any = 1
    gpus_per_trial: Any = 0
    checkpoint_every: Any = 1000
    max_failures: Any = 2
    max_concurrent: Any = 0
    address: Any = None
    num_cpus: Any = None
    dashboard_host: Any = "127.0.0.1"
    dashboard_port: Any = None
    object_store_mb: Any = 128
    storage: Any = None  # --storage: where trials keep what they share (study.basics.store); None: the study folder
    ignore_memory: bool = False  # run trials the estimate says cannot fit this machine's memory
    command: str = ""


def int_option(option: str, value: Any, low: int) -> int:
    try:
        return whole(value, low)
    except ValueError as exc:
        raise StudyError(f"{option}: {exc}") from None


def _field(option: str, key: Any) -> str:
    """A config field as typed (``max_norm`` or ``max-norm``), as Config spells it; StudyError naming ``option``."""
    try:
        return field_name(key)
    except ValueError as exc:
        raise StudyError(f"{option}: {exc}") from None


def _pairs(option: str, items: Sequence[str], form: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise StudyError(f"{option}: expected {form}, got {item!r}")
        key = _field(option, key)
        if key in out:
            raise StudyError(f"{option}: {key} is given twice")
        out[key] = text
    return out


def sets_from_text(items: Sequence[str]) -> dict[str, Any]:
    out = {}
    for key, text in _pairs("--set", items, "FIELD=VALUE").items():
        try:
            out[key] = text_value(key, text)
        except ValueError as exc:
            raise StudyError(f"--set: {exc}") from None
    return out


def sweeps_from_text(items: Sequence[str]) -> dict[str, list[Any]]:
    out = {}
    for key, text in _pairs("--sweep", items, "FIELD=V1,V2,...").items():
        try:
            if not text.strip():
                raise ValueError(f"{key}: no values; give at least one, e.g. --sweep {key}=V1,V2")
            out[key] = check_axis(key, [text_value(key, t) for t in text.split(",")])
        except ValueError as exc:
            raise StudyError(f"--sweep: {exc}") from None
    return out


def space_from_text(items: Sequence[str]) -> dict[str, Dist]:
    out = {}
    for key, text in _pairs("--space", items, f"FIELD=DIST with DIST one of {SYNTAX}").items():
        try:
            out[key] = parse_dist(key, text)
        except ValueError as exc:
            raise StudyError(f"--space: {exc}") from None
    return out


def sets_from_mapping(values: Any) -> dict[str, Any]:
    return _typed_mapping("--set", "config fields", values, config_value)


def sweeps_from_mapping(values: Any) -> dict[str, list[Any]]:
    if not isinstance(values, Mapping):
        raise StudyError(f"--sweep: give a dict of config fields and their values, got {values!r}")
    out = {}
    for key, vs in values.items():
        key = _field("--sweep", key)
        if isinstance(vs, (str, bytes)) or not isinstance(vs, Sequence):
            raise StudyError(f"--sweep: {key}: give a list of values, e.g. {{{key!r}: [...]}}")
        try:
            out[key] = check_axis(key, list(vs))
        except ValueError as exc:
            raise StudyError(f"--sweep: {exc}") from None
    return out


def space_from_mapping(values: Any) -> dict[str, Dist]:
    return _typed_mapping("--space", "config fields and distributions", values, parse_dist)


def _typed_mapping(option: str, what: str, values: Any, typed: Callable[[str, Any], Any]) -> dict[str, Any]:
    """An API keyword's dict, each value typed and checked for its field: StudyError naming ``option``."""
    if not isinstance(values, Mapping):
        raise StudyError(f"{option}: give a dict of {what}, got {values!r}")
    out = {}
    for key, value in values.items():
        key = _field(option, key)
        try:
            out[key] = typed(key, value)
        except ValueError as exc:
            raise StudyError(f"{option}: {exc}") from None
    return out


# The API's keywords, each the command-line option it stands for: a Request field's name (grid: --grid, ...),
# and axes and fixed (or set), which give the Request's sweeps and sets.
KEYWORDS = {**{f.name: option_name(f.name) for f in fields(Request) if f.name not in ("given", "sets", "sweeps",
                                                                                      "command")},
            "axes": "--sweep", "fixed": "--set", "set": "--set"}


def _frontier_keyword(value: Any) -> Any:
    if value is not True and not isinstance(value, Mapping):
        raise StudyError(f"--frontier: give True or a [frontier] table as a dict ({', '.join(FRONTIER_KEYS)}), "
                         f"got {value!r}")
    return value


def _mlflow_keyword(value: Any) -> str | None:
    uri = mlflow_value(value, lambda m: StudyError(f"--{m}"))
    return "" if uri is True else uri


def _as_given(value: Any) -> Any:
    return value


# A keyword's Request field and how its value is typed and checked (any other: its own field, as given;
# the scheduler, for one, is checked with the search's other settings). OFF: False is not given.
TYPED = {"fixed": ("sets", sets_from_mapping), "set": ("sets", sets_from_mapping),
         "axes": ("sweeps", sweeps_from_mapping), "space": ("space", space_from_mapping),
         "frontier": ("frontier", _frontier_keyword), "mlflow": ("mlflow", _mlflow_keyword)}
OFF = ("search", "frontier", "mlflow")


def request_from_args(args: Any, argv: Sequence[str], prog: str = "python -m study.run") -> Request:
    """The command line's options (text, as argparse leaves them) as a Request: --set, --sweep and
    --space read from their text, every other option as the keyword it stands for."""
    sets, sweeps = sets_from_text(args.set or []), sweeps_from_text(args.sweep or [])
    space = space_from_text(args.space) if args.space else None
    kw = {k: getattr(args, k) for k in KEYWORDS if k not in ("study", "set", "space") and hasattr(args, k)}
    if kw.get("mlflow") is not None:  # --mlflow without a value: the study folder's own store
        kw["mlflow"] = kw["mlflow"].strip() or True
    given = [option_name(k) for k, v in vars(args).items() if v is not None and v is not False and v != []]
    req = request_from_kwargs(args.study, given=given,
                              command=" ".join([prog, *map(shlex.quote, argv)]), **kw)
    req.sets, req.sweeps, req.space = sets, sweeps, space
    return req


def _out(req: Request) -> None:
    """--out FOLDER, the study's folder, as every command names where it writes: its parent is
    --results-dir, its last part --name (which stay, for a name made from the date)."""
    if req.out is None:
        return
    if "--name" in req.given or "--results-dir" in req.given:
        raise StudyError(f"--out: not with {'--name' if '--name' in req.given else '--results-dir'}; --out names the "
                         "study's folder whole (DIR/NAME)")
    folder = Path(str(req.out))
    if not str(req.out).strip() or not NAME_RE.fullmatch(folder.name) or ".." in folder.name:
        raise StudyError(f"--out: {str(req.out)!r} is not allowed; its last part is the study's name: letters, "
                         "digits, '.', '_' and '-' (at most 100 characters)")
    req.name, req.results_dir = folder.name, str(folder.parent)


def request_from_kwargs(study: Any = None, *, given: list[str] | None = None, command: str | None = None,
                        **kw: Any) -> Request:
    """``study.plan``'s keywords as a Request; each stands for its command-line option (``given``,
    ``command``: the command line's, where it stands for them)."""
    unknown = [k for k in kw if k not in KEYWORDS]
    if unknown:
        raise TypeError(f"unknown keyword {unknown[0]!r}; allowed: study, {', '.join(KEYWORDS)}")
    if "fixed" in kw and "set" in kw and kw["fixed"] is not None and kw["set"] is not None:
        raise StudyError("--set: give fixed= or set= (the same thing), not both")
    defaults = Request()
    if given is None:
        given = [KEYWORDS[k] for k, v in kw.items() if v is not None and (v is not False or k == "scheduler")
                 and not (k in ("results_dir", "dashboard_host") and v == getattr(defaults, k))]
        given = ["--study", *given] if study is not None else given
    shown = str(study) if isinstance(study, Path) else study
    req = Request(given=given, command=command or "study.plan(" + ", ".join(
        [*([repr(shown)] if study is not None else []), *(f"{k}={v!r}" for k, v in kw.items() if v is not None)]) + ")")
    req.study = study
    for key, value in kw.items():
        if value is not None and not (value is False and key in OFF):
            field, typed = TYPED.get(key, (key, _as_given))
            setattr(req, field, typed(value))
    if kw.get("search") is True:
        req.search = "optuna"
    _canonical_names(req)
    _out(req)
    return req


def _canonical_names(req: Request) -> None:
    """Names as people type them (palrnn.names): the grid, the models, the sampler, the scheduler,
    the search and the mode in any case, turned into their one spelling before anything is checked
    (a name that is none of them stays as given, for the planner to refuse with "did you mean")."""
    req.grid = canonical(req.grid, grid_names())
    if isinstance(req.models, (list, tuple)):
        req.models = [canonical(m, MODELS) for m in req.models]
    else:
        req.models = canonical(req.models, MODELS)
    req.model = canonical(req.model, MODELS)
    req.sampler = sampler_name(req.sampler)
    req.scheduler = canonical(req.scheduler, (*SCHEDULER_NAMES, "on", "off"))
    req.search = canonical(req.search, ("optuna",))
    req.mode = canonical(req.mode, MODES)
