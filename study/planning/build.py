"""From an overlay to a StudyPlan: every check before anything runs or is written."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from study.basics import tracking
from study.basics.errors import StudyError, first_line
from study.basics.layout import DRIVER_STATE, STUDY_FILE, STUDY_TOML
from study.basics.text import value_text
from study.planning.kinds import KINDS, kind_of, resolve
from study.planning.merge import base as base_study
from study.planning.merge import merge
from study.planning.overlay import RUN_OPTIONS, Overlay, from_args, from_kwargs, int_option, option_name
from study.planning.plan import RunOptions, StudyPlan, check_memory
from study.spec.document import RESOURCE_KEYS, DocumentError, Resources
from study.spec.fields import NAME_RE
from study.spec.load import load


def make_plan(ov: Overlay) -> StudyPlan:
    """Check every option and every trial's Config; raise StudyError before anything runs or is written."""
    try:
        plan = _resumed_plan(ov) if ov.get("resume") else _new_plan(ov, check_folder=True)
    except StudyError as exc:  # --out stands for --results-dir and --name: the error names the option given
        if ov.get("out") is None or str(exc).startswith("--out:"):
            raise
        raise StudyError(str(exc).replace("--results-dir", "--out").replace("--name", "--out")) from None
    plan.estimate = check_memory(plan, ignore=bool(ov.get("ignore_memory")))  # a trial too large: refused here
    return plan


def _new_plan(ov: Overlay, check_folder: bool) -> StudyPlan:
    resources, options = _resources(ov)
    base, where = base_study(ov)
    kind_of(base, where).check_options(ov.given, where)  # options this kind does not use: refused, not ignored
    study, origin = merge(base, ov, where)
    res = resolve(study, origin, where)
    devices = res.param_space["device"] if "device" in res.grid_axes else [res.param_space["device"]]
    for device in (d for d in devices if d != "cpu"):  # a GPU only from Ray, and only where there is one
        if not ov.get("address"):
            from palrnn.cli import UsageError, check_device
            try:
                check_device(device)
            except UsageError as exc:
                raise StudyError(f"{origin.get('device', where)}: {str(exc).removeprefix('--')}") from None
        if device.startswith("cuda") and resources.gpus_per_trial == 0:
            raise StudyError(f"{origin.get('device', where)}: device: {device} needs a GPU from Ray for each trial; "
                             "give --gpus-per-trial (the trials then train on their GPU without --set device)")
    plan = StudyPlan(
        name="", results_dir=str(ov.get("results_dir")), kind=study.kind, axes=res.axes, param_space=res.param_space,
        grid_axes=res.grid_axes, n_trials=res.n_trials, command=ov.command, target=res.base.target,
        extra={"seeds": res.study.seeds, "full": bool(ov.get("full")), "patience": res.base.patience,
               "set": dict(ov.get("fixed"))},
        study=dataclasses.replace(res.study, resources=resources), options=options,
        **{"grid": None, **KINDS[study.kind].plan_parts(study, res)}, **dataclasses.asdict(resources))
    plan.name = _check_name(ov.get("name"), study.name)
    if (value := plan.study.mlflow) is not None:  # its tracking URI (study.toml keeps True: the folder's own store)
        try:
            plan.mlflow = tracking.mlflow_uri("" if value is True else str(value), plan.folder)
        except StudyError as exc:
            if ov.get("mlflow") is not None:
                raise
            raise StudyError(f"{where}: {str(exc).removeprefix('--')}") from None
        plan.study = dataclasses.replace(plan.study, mlflow=True if value is True else plan.mlflow)
    if (storage := ov.get("storage")) is not None or base.storage is not None:  # --storage, else the file's
        plan.storage = storage_uri(storage if storage is not None else base.storage,
                                   "--storage" if storage is not None else f"{where}: storage")
        plan.study = dataclasses.replace(plan.study, storage=plan.storage)
    if check_folder:
        _check_folder(plan, resume=False)
    return plan


def storage_uri(value: Any, where: str) -> str:
    """A storage as study.json keeps it, checked without reading or writing it: its URI, a path made absolute."""
    from study.basics.store import open_storage
    store = open_storage(str(value), where)
    return str(store.local.resolve()) if store.local is not None else store.uri


def _resources(ov: Overlay) -> tuple[Resources, RunOptions]:
    """--cpus-per-trial, ... as the document's ``resources``, and where Ray runs; checked against this machine."""
    try:
        resources = Resources.parse({k: ov.get(k) for k in RESOURCE_KEYS if ov.get(k) is not None})
    except DocumentError as exc:
        raise StudyError(f"{option_name(exc.path[-1])}: {exc.message}") from None
    options = _run_options(ov)
    cpus, gpus = resources.cpus_per_trial, resources.gpus_per_trial
    local_cpus = options.num_cpus or os.cpu_count() or 1
    if not options.address and cpus > local_cpus:
        raise StudyError(f"--cpus-per-trial: {cpus:g} asked for, but this machine's Ray has {local_cpus} CPUs")
    if gpus > 0 and not options.address:
        import torch
        if not torch.cuda.is_available():
            raise StudyError(f"--gpus-per-trial: {gpus:g} asked for, but this machine has no CUDA GPU; use 0")
    return resources, options


def _run_options(ov: Overlay) -> RunOptions:
    num_cpus, port = (None if ov.get(k) is None else int_option(option_name(k), ov.get(k), 1)
                      for k in ("num_cpus", "dashboard_port"))
    if port is not None and port > 65535:
        raise StudyError(f"--dashboard-port: must be a port number from 1 to 65535, got {port}")
    store = int_option("--object-store-mb", ov.get("object_store_mb"), 64)
    if num_cpus is not None and ov.get("address"):
        raise StudyError("--num-cpus: only for a Ray started here; a cluster (--address) has its own")
    return RunOptions(address=ov.get("address") or None, num_cpus=num_cpus,
                      dashboard_host=str(ov.get("dashboard_host")), dashboard_port=port, object_store_mb=store)


def _check_name(name: Any, label: str) -> str:
    if name is None:
        return f"{label}-{dt.datetime.now():%Y%m%d-%H%M%S}"
    if not isinstance(name, str) or not NAME_RE.fullmatch(name) or ".." in name:
        raise StudyError(f"--name: {name!r} is not allowed; use letters, digits, '.', '_' and '-' "
                         "(no '/', no '..', at most 100 characters)")
    return name


def _check_folder(plan: StudyPlan, resume: bool, fetched: dict[str, bytes] | None = None) -> None:
    """--results-dir and the study folder fit a new study, or a resumed one (``fetched``: from --storage)."""
    root = Path(plan.results_dir)
    if root.exists() and not root.is_dir():
        raise StudyError(f"--results-dir: {root} exists and is not a folder")
    probe = root if root.exists() else next((p for p in root.absolute().parents if p.exists()), Path("/"))
    try:  # really try: permission bits say nothing for root, nor on a read-only file system
        Path(tempfile.mkdtemp(prefix=".palrnn-probe-", dir=probe)).rmdir()
    except OSError:
        raise StudyError(f"--results-dir: {root} cannot be written (no folder can be made in {probe})") from None
    folder = plan.folder
    if resume:
        if not fetched and not (folder / STUDY_FILE).is_file():
            raise StudyError(f"--resume: no study {plan.name!r} in {root} (no {STUDY_FILE}); "
                             "give --name of an existing study")
    elif folder.exists():
        raise StudyError(f"--name: {folder} already exists; choose another --name, or add --resume to continue it")


def _resumed_plan(ov: Overlay) -> StudyPlan:
    if ov.get("name") is None:
        raise StudyError("--resume: give the study's --name")
    name = _check_name(ov.get("name"), "")
    folder = Path(str(ov.get("results_dir"))) / name
    # No study folder here, and --storage given: the study's state as its driver left it there.
    fetched = fetch_state(ov.get("storage"), name, str(ov.get("results_dir"))) \
        if ov.get("storage") is not None and not (folder / STUDY_FILE).is_file() else None
    try:
        plan = StudyPlan.from_meta(json.loads(fetched[STUDY_FILE] if fetched else (folder / STUDY_FILE).read_text()))
    except FileNotFoundError:
        raise StudyError(f"--resume: no study {name!r} in {ov.get('results_dir')} (no {STUDY_FILE}); give --name of "
                         "an existing study, or its --storage where it ran on another machine") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise StudyError(f"--resume: {folder / STUDY_FILE} is not a study file ({exc})") from None
    plan.results_dir, plan.resume = str(ov.get("results_dir")), True
    with tempfile.TemporaryDirectory() as tmp:  # the study as written at its start (its name, its description)
        if fetched and STUDY_TOML in fetched:
            (Path(tmp) / STUDY_TOML).write_bytes(fetched[STUDY_TOML])
        with contextlib.suppress(StudyError):  # none, or one that no longer reads: study.json's stays
            plan.study = load((Path(tmp) if fetched else folder) / STUDY_TOML)
    plan.options = _run_options(ov)
    # The study's storage is its study.json's; another one would lose its trials.
    if ov.get("storage") is not None and (asked := storage_uri(ov.get("storage"), "--storage")) != plan.storage:
        raise StudyError(f"--storage: {asked} here, but study {plan.name!r} keeps its trials in "
                         f"{plan.storage or 'its study folder'}; resume it without --storage")
    if planning := [o for o in ov.given if o not in RUN_OPTIONS]:
        _check_same_study(plan, ov, planning)
    _check_folder(plan, resume=True, fetched=fetched)
    plan.fetched = fetched
    return plan


def fetch_state(storage: str, name: str, results_dir: str) -> dict[str, bytes]:
    """Study ``name``'s driver state as its driver copied it to ``storage``, each file's bytes by its name."""
    from study.basics.store import open_storage
    store = open_storage(storage).child(name)
    files: dict[str, bytes] = {}
    for key in DRIVER_STATE:
        try:
            files[key] = store.read(key)
        except FileNotFoundError:
            continue
        except Exception as exc:  # an endpoint that does not answer, no credentials
            raise StudyError(f"--storage: cannot read {store.uri_of(key)} ({first_line(exc)})") from None
    if STUDY_FILE not in files:
        raise StudyError(f"--resume: no study {name!r} in {results_dir} (no {STUDY_FILE}) nor in {storage}; "
                         "give --name of an existing study")
    return files


def write_state(folder: Path, files: dict[str, bytes]) -> None:
    """The fetched files into the local study folder, each written atomically."""
    from study.basics.io import write_bytes_atomic
    for key, data in files.items():
        (folder / key).parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(folder / key, data)


def _check_same_study(plan: StudyPlan, ov: Overlay, given: list[str]) -> None:
    """Options given with --resume must plan the study being resumed: never silently ignored."""
    b = plan.to_meta()

    def refuse(what: str, here: Any, there: Any) -> StudyError:
        return StudyError(f"--resume: these options plan another study than {plan.name!r} ({what}: "
                          f"{_shown(here)} here, {_shown(there)} in its {STUDY_FILE}); resume it with "
                          f"--resume --name {plan.name} and no planning options")

    resources, _ = _resources(ov)
    for key in RESOURCE_KEYS:
        if option_name(key) in given and getattr(resources, key) != b[key]:
            raise refuse(option_name(key), getattr(resources, key), b[key])
    if "--mlflow" in given:  # where the study logs: its study.json's store, or refused
        uri = tracking.mlflow_uri(str(ov.get("mlflow")), plan.folder)
        if uri != b.get("mlflow"):
            raise refuse("--mlflow", uri, b.get("mlflow"))
    if all(o in map(option_name, (*RESOURCE_KEYS, "mlflow")) for o in given):
        return
    a = _new_plan(Overlay({**ov.values, "resume": False, "name": plan.name}, ov.given, ov.command),
                  check_folder=False).to_meta()
    if a["kind"] != b["kind"]:
        raise refuse("kind", a["kind"], b["kind"])
    for key in sorted(set(a["param_space"]) & set(b["param_space"])):  # a field newer than the study: its default
        if a["param_space"][key] != b["param_space"][key]:
            raise refuse(key, a["param_space"].get(key), b["param_space"].get(key))
    if a["grid_axes"] != b["grid_axes"]:
        raise refuse("swept", a["grid_axes"], b["grid_axes"])
    if a["frontier"] != b.get("frontier"):
        raise refuse("frontier", a["frontier"], b.get("frontier"))
    if (a["search"] is None) != (b["search"] is None):
        raise refuse("search", a["search"], b["search"])
    if a["search"] is not None:
        for key in sorted(set(a["search"]) & set(b["search"])):
            if a["search"][key] != b["search"][key]:
                raise refuse(f"search {key}", a["search"][key], b["search"][key])


def _shown(v: Any) -> str:
    text = value_text(v) if not isinstance(v, (list, dict)) else json.dumps(v, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def plan(study: Any = None, **keywords: Any) -> StudyPlan:
    return make_plan(from_kwargs(study, **keywords))


def plan_from_args(args: Any, argv: Sequence[str], prog: str = "python -m study.run") -> StudyPlan:
    """The command line's plan (``python -m study.run``, ``python -m study.bench``)."""
    return make_plan(from_args(args, argv, prog))
