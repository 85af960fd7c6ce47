"""python -m study.run (docs/commands.md): this module parses the options and prints; ``study.planning`` plans,
``run_plan`` runs a plan (``study.driver.execute``); ``Plan``, what ``study.plan`` returns, is a plan that runs
itself; ``describe_study`` and ``list_text`` are --list's text."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from palrnn.cli import Parser, any_case, fail
from palrnn.config import Config
from study.basics.errors import StorageError, StudyError
from study.basics.text import WIDTH, exact_text, wrap_parts
from study.planning.build import plan_from_args
from study.planning.kinds import kind_of, resolve
from study.planning.plan import DASHBOARD_PORT, StudyPlan
from study.spec.catalogue import grid_names, shipped
from study.spec.document import Study
from study.spec.fields import BASE, GRID_MODELS, MODELS, SEARCH_LENGTH, SEARCH_METRICS, SEARCH_MODEL
from study.spec.load import load

PROG = "python -m study.run"


def run_plan(plan: StudyPlan, **options: Any) -> dict[str, Any]:
    """Run (or resume) ``plan`` on Ray; return its tables. ``options``: echo, report, and the RunOptions
    (address, num_cpus, ...; default: those given when planning)."""
    from study.driver.execute import execute

    run = dataclasses.asdict(plan.options)
    return execute(plan, resume=plan.resume, **{**run, **options})


@dataclasses.dataclass
class Plan(StudyPlan):
    """The plan ``study.plan`` returns: a StudyPlan that runs itself."""

    @classmethod
    def of(cls, plan: StudyPlan) -> Plan:
        return cls(**{f.name: getattr(plan, f.name) for f in dataclasses.fields(plan)})

    def run(self, **options: Any) -> dict[str, Any]:  # run (or resume) on Ray; its tables (``run_plan``)
        return run_plan(self, **options)


def build_parser(prog: str = PROG) -> Parser:
    """Every option's default is None (so that the planner knows what was given) and its help says
    what leaving it out does."""
    p = Parser(prog=prog, description="Run a Ray Tune study of palrnn models: a named grid, a sweep of any config "
                                      "fields, a study file, an Optuna search or a memory frontier.")
    names = ", ".join(grid_names())
    what = p.add_argument_group("what to run")
    what.add_argument("--grid", help=f"a named grid: {names} (see --list); --sweep, --study or --search instead "
                                     "run those (default: lengths)")
    what.add_argument("--study", metavar="FILE", help="a study file (TOML: name, seeds, [fixed], [axes] or [search]; "
                                                      "see --list FILE), or a study folder: its study.toml reruns it")
    what.add_argument("--search", choices=["optuna"], type=any_case(["optuna"]),
                      help="an Optuna search instead of a grid")
    what.add_argument("--frontier", action="store_true",
                      help="a memory frontier instead of a grid: for every cell (the models x the other --sweep "
                           "axes) the longest T that K of N seeds solve; the search chooses the lengths and the "
                           "seeds (see the memory frontier options, docs/frontier.md)")
    what.add_argument("--list", nargs="?", const="", metavar="FILE",
                      help="print the shipped grids and search (or the study FILE): axes, trial counts, and exit")
    what.add_argument("--dry-run", action="store_true",
                      help="print every trial's settings that differ from the exercise's, and the count; "
                           "run nothing, write nothing")
    what.add_argument("--sweep", action="append", metavar="FIELD=V1,V2,...",
                      help="sweep any palrnn config field (repeatable), e.g. --sweep hidden=64,128 --sweep "
                           "max_norm=none,1; with --grid it adds or replaces that axis, alone the sweeps are the grid "
                           "(on the exercise's settings); a search sweeps only model and length (one search per cell)")
    what.add_argument("--set", action="append", metavar="FIELD=VALUE",
                      help="fix any palrnn config field for every trial (repeatable), e.g. --set steps=3000")
    what.add_argument("--models", nargs="+", metavar="M",
                      help=f"the models ({', '.join(MODELS)}): a grid's model axis, a search's cells (default: "
                           f"the grid's, {' and '.join(GRID_MODELS)}; a search: {SEARCH_MODEL})")
    what.add_argument("--lengths", nargs="+", metavar="T",
                      help="the lengths: a grid's length axis, a search's cells (default: the grid's; a search: "
                           f"{SEARCH_LENGTH})")
    what.add_argument("--seeds", help="a grid runs seeds 0 .. N-1 of every config (default: 3)")
    what.add_argument("--full", action="store_true",
                      help="train every trial for all its steps, as the exercise did (no stop at the target)")
    what.add_argument("--patience",
                      help="evaluations in a row at the target (0.99) after which a trial stops (default: 3)")
    what.add_argument("--smoke-test", action="store_true",
                      help="a tiny budget (1 seed, 200 steps, 16 units) to try the whole pipeline in a minute")
    opt = p.add_argument_group("optuna search")
    opt.add_argument("--space", action="append", metavar="FIELD=DIST",
                     help="what Optuna chooses (repeatable; the whole space when given): choice:V1,V2,..., "
                          "uniform:LOW:HIGH, loguniform:LOW:HIGH or int:LOW:HIGH, e.g. --space lr=loguniform:1e-4:3e-2 "
                          "(default: hidden, lr, max_norm, init, optimizer, and forget_bias for the LSTM)")
    opt.add_argument("--metric", action="append", metavar="NAME[:max|min]",
                     help="what Optuna optimises (default: eval_accuracy); repeatable: several objectives, "
                          "searched together (a Pareto front, pareto.csv), e.g. --metric eval_accuracy:max --metric "
                          "steps_to_target:min; a scheduler ranks trials by the first (metrics: "
                          f"{', '.join(SEARCH_METRICS)})")
    opt.add_argument("--mode", choices=["max", "min"], type=any_case(["max", "min"]),
                     help="one metric's direction (default: min for a loss, steps, params, seconds, else max)")
    opt.add_argument("--num-samples", help="trials Optuna proposes, per cell (default: 40)")
    opt.add_argument("--search-seed", help="seed of the sampler (default: 0)")
    opt.add_argument("--sampler", help="Optuna's sampler: tpe, random, cmaes (numbers only), gp (Gaussian "
                                       "process), qmc (quasi-Monte Carlo) or nsga2 (default: tpe)")
    opt.add_argument("--scheduler", help="what stops poor trials early: asha, hyperband (Ray's HyperBand), median "
                                         "(the median stopping rule), pbt (Population Based Training: --num-samples "
                                         "trials, lr and max_norm perturbed as they train) or none; on and off mean "
                                         "asha and none (default: asha)")
    opt.add_argument("--perturbation-interval", metavar="STEPS",
                     help="with --scheduler pbt: training steps between perturbations, a multiple of eval_every "
                          "(default: a quarter of the steps)")
    opt.add_argument("--perturb", action="append", metavar="FIELD",
                     help="with --scheduler pbt: a searched field PBT perturbs (repeatable; lr or max_norm; "
                          "default: both, where searched)")
    opt.add_argument("--model", help=f"the model searched, as --models M (default: {SEARCH_MODEL})")
    opt.add_argument("--length", help=f"the length searched, as --lengths T (default: {SEARCH_LENGTH})")
    fr = p.add_argument_group("memory frontier (--frontier)")
    fr.add_argument("--solve-rule", metavar="K/N",
                    help="a length passes when at least K of seeds 0 .. N-1 reach the target (default: 4/5)")
    fr.add_argument("--start-length", metavar="T", help="the first length probed (default: 5)")
    fr.add_argument("--max-length", metavar="T", help="the longest length probed (default: 100)")
    fr.add_argument("--speculate", metavar="S",
                    help="undecided probes per cell the search may run ahead of while CPUs are free; 0: one probe "
                         "per cell at a time (default: 1)")
    out = p.add_argument_group("results")
    out.add_argument("--out", metavar="FOLDER",
                     help="the study's folder, as every command's --out names where it writes (default: "
                          "results/<grid or study name>-<date>-<time>; the same as --results-dir DIR --name NAME)")
    out.add_argument("--name", help="the study's folder name, in --results-dir (default: <grid or study "
                                    "name>-<date>-<time>)")
    out.add_argument("--results-dir", help="where studies are written (default: results)")
    out.add_argument("--resume", action="store_true",
                     help="continue the interrupted study --out (or --name), without rerunning finished trials")
    out.add_argument("--no-report", action="store_true", help="skip summary.csv and figures at the end")
    out.add_argument("--storage", metavar="URI",
                     help="where trials keep their checkpoints and Ray its experiment, for a cluster whose nodes "
                          "share no disk: s3://bucket/prefix (endpoint from AWS_ENDPOINT_URL or "
                          "?endpoint_override=, credentials from the environment), another pyarrow.fs URI, or a "
                          "path every node sees (docs/storage.md); default: the study folder")
    out.add_argument("--mlflow", nargs="?", const="", metavar="TRACKING_URI",
                     help="log every trial to MLflow (params, metrics at every evaluation at the training step, "
                          "figures at the end); without a value, to a SQLite store in the study folder "
                          "(<folder>/mlflow.db); or e.g. http://host:5000")
    res = p.add_argument_group("resources and fault tolerance")
    res.add_argument("--cpus-per-trial", help="CPUs per trial; the trial's torch threads follow it (default: 1)")
    res.add_argument("--gpus-per-trial", help="GPUs per trial (fractions allowed) (default: 0)")
    res.add_argument("--max-concurrent", help="trials at once; 0: as many as the resources allow (default: 0)")
    res.add_argument("--num-cpus", help="CPUs of a Ray started here (default: all of them)")
    res.add_argument("--address", help="an existing Ray cluster, e.g. 127.0.0.1:6379 (default: $RAY_ADDRESS where set, "
                     "as in a Ray Job; else start Ray)")
    res.add_argument("--dashboard-host",
                     help="where a Ray started here serves its dashboard; anything else than 127.0.0.1 exposes it "
                          "(default: 127.0.0.1)")
    res.add_argument("--dashboard-port",
                     help=f"the dashboard's port (default: {DASHBOARD_PORT}, or the next free one when another "
                          "study's Ray holds it)")
    res.add_argument("--object-store-mb", help="object store of a Ray started here, MiB (default: 128)")
    res.add_argument("--checkpoint-every", help="steps between a trial's checkpoints (default: 1000)")
    res.add_argument("--max-failures", help="times a failed trial is resumed from its checkpoint (default: 2)")
    res.add_argument("--ignore-memory", action="store_true",
                     help="run trials that the estimate says cannot fit this machine's memory (or its GPU's), "
                          "which are otherwise refused before Ray starts (docs/estimates.md)")
    return p


def describe_study(study: Study, width: int = WIDTH, where: str | None = None) -> list[str]:
    """--list's lines for one study: its kind's description, then what it fixes beyond the exercise's settings."""
    res = resolve(study, where=where or study.name)
    lines = kind_of(study).describe(study, res, width)
    neutral = Config.from_dict({**BASE, "model": "LSTM"}).to_dict()
    differ = [f"{k}={exact_text(v)}" for k, v in res.study.fixed.items() if v != neutral.get(k)]
    if differ:
        lines += wrap_parts(differ, "  ", first=f"{'':<10} fixed: ", indent=" " * 18, width=width)
    return lines


def list_text(args: argparse.Namespace) -> str:
    """--list: the shipped studies; --list FILE: that study file, described the same way."""
    others = [k for k, v in vars(args).items() if k != "list" and v not in (None, False, [])]
    if others:
        raise StudyError(f"--{others[0].replace('_', '-')}: not with --list, which only prints")
    if not args.list:
        return "\n".join(line for s in shipped().values() for line in describe_study(s))
    where = f"--list {args.list}"
    return "\n".join(describe_study(load(args.list, where=where), where=where))


def _print(text: str) -> int:
    """Print; a closed pipe (``| head``) ends the output, not with a traceback."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _as_given(message: str, args: argparse.Namespace) -> str:
    """An error about the study's folder in the option the user gave: --out stands for --results-dir and --name."""
    if getattr(args, "out", None) is None or message.startswith("--out:"):
        return message
    return message.replace("--results-dir", "--out").replace("--name", "--out")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    try:
        if args.list is not None:
            return _print(list_text(args))
        plan = plan_from_args(args, argv, PROG)
        if args.dry_run:
            return _print(plan.text() + "\n--dry-run: nothing was run, nothing written")
        tables = run_plan(plan, report=not args.no_report)
    except StudyError as exc:
        fail(PROG, _as_given(str(exc), args))
    except StorageError as exc:  # not the user's input: exit status 1
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    interrupted = tables.get("unfinished") or tables.get("status") == "interrupted"
    return 130 if interrupted else 1 if tables.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
