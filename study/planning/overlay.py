"""The overlay: python -m study.run's options and study.plan's keywords, typed but not yet planned.
``OPTIONS`` maps each keyword (num_samples: --num-samples) to the document's key path it sets (``run.*``: none)."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from palrnn.config import MODELS
from palrnn.names import canonical
from study.basics.errors import StudyError
from study.spec.catalogue import grid_names
from study.spec.document import FRONTIER_KEYS, RESOURCE_KEYS, mlflow_value, whole
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
from study.spec.search import SEARCH_KEYS
from study.spec.space import SYNTAX, parse_dist

SMOKE = {"steps": 200, "eval_every": 50, "hidden": 16}  # --smoke-test: 1 seed, these settings
_SEARCH = {"search_seed" if k == "seed" else k: f"search.{k}" for k in SEARCH_KEYS}
# Each keyword (and option): the key path it sets, and whom it is for: "search" or "frontier" (only that
# kind of study takes it), "run" (how a study runs, not which: --resume takes it; "cli": the command line's only).
OPTIONS: dict[str, tuple[str, str]] = {
    "grid": ("run.grid", ""), "study": ("run.study", ""), "search": ("run.search", ""),
    "frontier": ("run.frontier", ""), "axes": ("axes", ""), "fixed": ("fixed", ""), "seeds": ("seeds", ""),
    "models": ("axes.model", ""), "lengths": ("axes.length", ""),
    "model": ("axes.model", "search"), "length": ("axes.length", "search"),
    **{k: (_SEARCH[k], "search") for k in ("space", "metric", "mode", "num_samples", "search_seed", "scheduler",
                                             "sampler", "perturbation_interval", "perturb")},
    **{k: (f"frontier.{k}", "frontier") for k in FRONTIER_KEYS},
    "mlflow": ("mlflow", ""), "full": ("fixed.patience", ""), "patience": ("fixed.patience", ""),
    "smoke_test": ("run.smoke_test", ""), "description": ("description", ""),
    **{k: (f"run.{k}", "run") for k in ("name", "results_dir", "out", "resume")},
    **{k: (f"resources.{k}", "") for k in RESOURCE_KEYS},
    **{k: (f"run.{k}", "run") for k in ("address", "num_cpus", "dashboard_host", "dashboard_port", "object_store_mb")},
    "storage": ("storage", "run"), "ignore_memory": ("run.ignore_memory", "run"),
    "no_report": ("run.no_report", "cli"), "dry_run": ("run.dry_run", "cli"),
}


def option_name(key: str) -> str:
    return "--" + key.replace("_", "-")


def _options(*who: str) -> tuple[str, ...]:
    return tuple(option_name(k) for k, (_, w) in OPTIONS.items() if w in who)


RUN_OPTIONS, SEARCH_ONLY, FRONTIER_ONLY = _options("run", "cli"), _options("search"), _options("frontier")
KEYWORDS = (*(k for k, (_, w) in OPTIONS.items() if w != "cli"), "set")  # set: the same as fixed
DEFAULTS = {"results_dir": "results", "dashboard_host": "127.0.0.1", "object_store_mb": 128}


@dataclass
class Overlay:
    """What the user asked for, by keyword; ``given``: the options given, by their command-line names."""

    values: dict[str, Any]
    given: list[str]
    command: str

    def get(self, key: str) -> Any:
        return self.values.get(key, DEFAULTS.get(key))


def checked(fail: str | Callable[[ValueError], Exception], fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """``fn(*args, **kw)``, its ValueError raised as ``fail(exc)`` (a str: a StudyError ``fail: exc``)."""
    try:
        return fn(*args, **kw)
    except ValueError as exc:
        raise (StudyError(f"{fail}: {exc}") if isinstance(fail, str) else fail(exc)) from None


def int_option(option: str, value: Any, low: int) -> int:
    return checked(option, whole, value, low)


def _typed(option: str, pairs: Any, typed: Callable[[str, Any], Any]) -> dict[str, Any]:
    out = {}
    for key, value in pairs:
        key = checked(option, field_name, key)
        out[key] = checked(option, typed, key, value)
    return out


def _pairs(option: str, items: Sequence[str], form: str) -> Any:
    out: dict[str, str] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise StudyError(f"{option}: expected {form}, got {item!r}")
        key = checked(option, field_name, key.strip())
        if key in out:
            raise StudyError(f"{option}: {key} is given twice")
        out[key] = text
    return out.items()


def _axis_text(key: str, text: str) -> list[Any]:
    if not text.strip():
        raise ValueError(f"{key}: no values; give at least one, e.g. --sweep {key}=V1,V2")
    return check_axis(key, [text_value(key, t) for t in text.split(",")])


def _axis(key: str, values: Any) -> list[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise ValueError(f"{key}: give a list of values, e.g. {{{key!r}: [...]}}")
    return check_axis(key, list(values))


def _mapping(option: str, what: str, values: Any) -> Any:
    if not isinstance(values, Mapping):
        raise StudyError(f"{option}: give a dict of {what}, got {values!r}")
    return values.items()


def _frontier(value: Any) -> Any:
    if value is False:
        return None
    if value is not True and not isinstance(value, Mapping):
        raise StudyError(f"--frontier: give True or a [frontier] table as a dict ({', '.join(FRONTIER_KEYS)}), "
                         f"got {value!r}")
    return value


# A keyword's value typed and checked (any other as given, checked later); None: not given (search=False, ...).
TYPED: dict[str, Callable[[Any], Any]] = {
    "search": lambda v: "optuna" if v is True else None if v is False else v,
    "fixed": lambda v: _typed("--set", _mapping("--set", "config fields", v), config_value),
    "axes": lambda v: _typed("--sweep", _mapping("--sweep", "config fields and their values", v), _axis),
    "space": lambda v: _typed("--space", _mapping("--space", "config fields and distributions", v), parse_dist),
    "frontier": _frontier,
    "mlflow": lambda v: "" if (uri := mlflow_value(v, lambda m: StudyError(f"--{m}"))) is True else uri,
}


def from_args(args: Any, argv: Sequence[str], prog: str = "python -m study.run") -> Overlay:
    """The command line's options as an overlay: --set, --sweep and --space read from their text."""
    fixed = _typed("--set", _pairs("--set", args.set or [], "FIELD=VALUE"), text_value)
    axes = _typed("--sweep", _pairs("--sweep", args.sweep or [], "FIELD=V1,V2,..."), _axis_text)
    space = _typed("--space", _pairs("--space", args.space, f"FIELD=DIST with DIST one of {SYNTAX}"),
                   parse_dist) if args.space else None
    kw = {k: getattr(args, k) for k in KEYWORDS if k not in ("study", "set", "space") and hasattr(args, k)}
    if kw.get("mlflow") is not None:  # --mlflow without a value: the study folder's own store
        kw["mlflow"] = kw["mlflow"].strip() or True
    given = [option_name(k) for k, v in vars(args).items() if v is not None and v is not False and v != []]
    ov = from_kwargs(args.study, given=given, command=" ".join([prog, *map(shlex.quote, argv)]), **kw)
    ov.values.update(fixed=fixed, axes=axes, space=space)
    return ov


def from_kwargs(study: Any = None, *, given: list[str] | None = None, command: str | None = None,
                **kw: Any) -> Overlay:
    """``study.plan``'s keywords as an overlay, each standing for its command-line option."""
    if unknown := [k for k in kw if k not in KEYWORDS]:
        raise TypeError(f"unknown keyword {unknown[0]!r}; allowed: {', '.join(KEYWORDS)}")
    if kw.get("fixed") is not None and kw.get("set") is not None:
        raise StudyError("--set: give fixed= or set= (the same thing), not both")
    if given is None:
        given = [option_name("set" if k == "fixed" else "sweep" if k == "axes" else k) for k, v in kw.items()
                 if v is not None and (v is not False or k == "scheduler")
                 and not (k in ("results_dir", "dashboard_host") and v == DEFAULTS[k])]
        given = ["--study", *given] if study is not None else given
    shown = str(study) if isinstance(study, Path) else study
    command = command or "study.plan(" + ", ".join(
        [*([repr(shown)] if study is not None else []), *(f"{k}={v!r}" for k, v in kw.items() if v is not None)]) + ")"
    values: dict[str, Any] = {"study": study, "fixed": {}, "axes": {}}
    for key, value in kw.items():
        key = "fixed" if key == "set" else key
        if value is not None and (typed := TYPED.get(key, lambda v: v)(value)) is not None:
            values[key] = typed
    # Names in any case (palrnn.names) in their one spelling; others stay, refused later with "did you mean".
    models = values.get("models")
    values["models"] = [canonical(m, MODELS) for m in models] if isinstance(models, (list, tuple)) else \
        canonical(models, MODELS)
    for key, names in (("grid", grid_names()), ("model", MODELS), ("scheduler", (*SCHEDULER_NAMES, "on", "off")),
                       ("search", ("optuna",)), ("mode", MODES)):
        values[key] = canonical(values.get(key), names)
    values["sampler"] = sampler_name(values.get("sampler"))
    if (out := values.get("out")) is not None:  # --out FOLDER: its parent is --results-dir, its last part --name
        if "--name" in given or "--results-dir" in given:
            raise StudyError(f"--out: not with {'--name' if '--name' in given else '--results-dir'}; --out names "
                             "the study's folder whole (DIR/NAME)")
        folder = Path(str(out))
        if not str(out).strip() or not NAME_RE.fullmatch(folder.name) or ".." in folder.name:
            raise StudyError(f"--out: {str(out)!r} is not allowed; its last part is the study's name: letters, "
                             "digits, '.', '_' and '-' (at most 100 characters)")
        values.update(name=folder.name, results_dir=str(folder.parent))
    return Overlay(values, given, command)
