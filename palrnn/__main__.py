"""python -m palrnn: train one model without Ray, with a progress bar
(python -m palrnn --model LSTM --length 10 --steps 10000 --save lstm10.pt --json)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from palrnn.cli import Parser, UsageError, check_device, fail, option_name
from palrnn.config import MODELS, RESUMABLE, Config, field_names, parse_value

PROG = "python -m palrnn"


def build_parser() -> Parser:
    p = Parser(prog=PROG, description=f"Train one model ({', '.join(MODELS[:-1])} or {MODELS[-1]}, or one of "
                                      "your own: --model MODULE:CLASS) on the palindrome task (no Ray). Names are "
                                      "taken in any case (--model lstm, --init Xavier).")
    # One option per Config field, values parsed later. --max-norm is also taken as --max_norm (as
    # study.run's --set writes it), unlisted.
    for f in dataclasses.fields(Config):
        p.add_argument(option_name(f.name), dest=f.name, metavar=f.name.upper(),
                       help=f"{f.metadata['help']} (default: {'none' if f.default is None else f.default})")
        if "_" in f.name:
            p.add_argument("--" + f.name, dest=f.name, help=argparse.SUPPRESS)
    p.add_argument("--save", metavar="PATH", help="write the final checkpoint here (default: none)")
    p.add_argument("--resume", metavar="PATH", help="continue from a checkpoint written by --save (default: none)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--json", action="store_true", help="print one JSON object of the results as the last line")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def config_from_args(args: argparse.Namespace, base: Config | None = None) -> Config:
    """Config from the parsed options; a bad value raises UsageError naming the option."""
    try:
        changes = {name: parse_value(name, getattr(args, name)) for name in field_names()
                   if getattr(args, name, None) is not None}
        return (base or Config()).replace(**changes)
    except ValueError as exc:  # "length: must be ..." -> "--length: must be ..."
        field, sep, rest = str(exc).partition(":")
        raise UsageError(f"{option_name(field)}:{rest}" if sep and field in field_names() else str(exc)) from None


def _check_save_path(path: str) -> None:
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"--save: {path} is a folder; give a file path such as {path.rstrip('/')}/model.pt")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"--save: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"--save: folder {parent} is not writable")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config, state = _resumed(args) if args.resume else (config_from_args(args), None)
        if args.threads is not None and args.threads < 1:
            raise UsageError(f"--threads: must be an integer >= 1, got {args.threads}")
        check_device(config.device)
        if args.save:
            _check_save_path(args.save)
    except UsageError as exc:
        fail(PROG, str(exc))

    import torch
    from tqdm import tqdm

    from palrnn.train import new_state, save_checkpoint, train

    if args.threads:
        torch.set_num_threads(args.threads)
    state = state or new_state(config)
    start = time.perf_counter()
    bar = None if args.no_progress else tqdm(total=config.steps, initial=state.step, unit="step", file=sys.stderr,
                                             desc=f"{config.model} T={config.length}", dynamic_ncols=True)
    for r in train(state, on_step=None if bar is None else lambda step: bar.update(1)):
        line = (f"step {r['step']:>6}  batch {config.batch_size}  {r['examples_per_second']:>8.0f} ex/s  "
                f"train acc {r['train_accuracy']:.3f}  loss {r['train_loss']:.4f}  eval acc {r['eval_accuracy']:.3f}")
        if bar is not None:
            bar.set_postfix(acc=f"{r['eval_accuracy']:.3f}", loss=f"{r['train_loss']:.3f}")
            bar.write(line, file=sys.stderr)
        elif not args.json:
            print(line, flush=True)
    if bar is not None:
        bar.close()
    result = {"model": config.model, "length": config.length, "steps": config.steps, **state.last,
              "wall_seconds": time.perf_counter() - start,
              "backend": type(state.model).__name__ + ":" + getattr(state.model, "backend", "?")}
    if args.save:
        save_checkpoint(state, args.save)
    status = "diverged" if result["diverged"] else ("reached target, stopped" if result["stopped_early"] else "done")
    print(f"{config.model} T={config.length}: {status} at step {result['step']}, held-out accuracy "
          f"{result['eval_accuracy']:.4f}, steps_to_target {result['steps_to_target']}, {result['wall_seconds']:.1f} s",
          file=sys.stderr if args.json else sys.stdout)
    if args.json:
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in result.items()}
        print(json.dumps(clean), flush=True)
    return 0


def _resumed(args: argparse.Namespace) -> tuple[Any, Any]:
    """--resume: the checkpoint's state and its config, changed only where RESUMABLE allows, and its device."""
    from palrnn.train import CheckpointError, load_checkpoint

    if not Path(args.resume).is_file():
        raise UsageError(f"--resume: {args.resume} is not a file")
    device = None
    if args.device is not None:  # the checkpoint is rebuilt there (its generator is a CPU one)
        device = config_from_args(argparse.Namespace(device=args.device)).device
        check_device(device)
    try:
        state = load_checkpoint(args.resume, device=device)
    except CheckpointError as exc:  # every problem with the file: one line, exit 2
        raise UsageError(f"--resume: {exc}") from None
    config = config_from_args(args, base=state.config)
    allowed = (*RESUMABLE, "device")
    fixed = sorted(k for k, v in config.to_dict().items() if v != getattr(state.config, k) and k not in allowed)
    if fixed:
        raise UsageError(f"{option_name(fixed[0])}: cannot change on --resume; only "
                         f"{', '.join(map(option_name, allowed))} can")
    state.reconfigure(config)  # a new --target or --patience: the bookkeeping recounted from the history
    return config, state


if __name__ == "__main__":
    sys.exit(main())
