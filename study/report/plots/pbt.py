"""Population Based Training: each trial's learning rate and held-out accuracy over the steps, the
points at which it went on from another trial's weights (an exploit) marked."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure


def _segments(df: pd.DataFrame, by_member: dict[int, pd.DataFrame]) -> tuple[list[list[tuple[float, float]]],
                                                                              list[tuple[float, float, float]]]:
    """A member's accuracy curve as stretches between its exploits, and each exploit as (step,
    its own accuracy there, the donor's): a stretch after an exploit starts at the donor's point."""
    stretches: list[list[tuple[float, float]]] = [[]]
    jumps = []
    previous = None
    for _, row in df.iterrows():
        donor_id = pd.to_numeric(pd.Series([row["exploited_from"]]), errors="coerce").iloc[0]
        if pd.notna(donor_id) and previous is not None:
            donor = by_member.get(int(donor_id))
            there = donor[donor["step"] == previous[0]] if donor is not None else None
            if there is not None and len(there):
                start = (previous[0], float(there["eval_accuracy"].iloc[0]))
                jumps.append((previous[0], previous[1], start[1]))
                stretches.append([start])
        point = (float(row["step"]), float(row["eval_accuracy"]))
        stretches[-1].append(point)
        previous = point
    return stretches, jumps


def plot_pbt(curves: pd.DataFrame) -> Figure:
    """Two panels sharing the steps: lr (log scale) above, held-out accuracy below; one colour per
    trial (labelled by its member). A star marks each exploit at its step: in the lower panel at the
    donor's accuracy, where the trial's curve goes on from (a dotted line from its own)."""
    if "lr" not in curves or "exploited_from" not in curves:
        raise ValueError("not a PBT study: curves.csv has no lr and exploited_from columns")
    fig = Figure(figsize=(8.5, 6.2))
    top, bottom = fig.subplots(2, 1, sharex=True)
    members = curves["trial_id"].astype(str).str.rsplit("_", n=1).str[-1].astype(int)
    by_member = {int(m): df.sort_values("step") for m, df in curves.assign(_member=members).groupby("_member")}
    exploits = 0
    for i, (m, df) in enumerate(sorted(by_member.items())):
        colour = f"C{i % 10}"
        top.plot(df["step"], df["lr"], drawstyle="steps-pre", color=colour, label=f"m{m}")
        stretches, jumps = _segments(df, by_member)
        for stretch in stretches:
            if stretch:
                bottom.plot(*zip(*stretch, strict=True), color=colour)
        for step, own, donor in jumps:
            exploits += 1
            bottom.plot([step, step], [own, donor], ":", color=colour, linewidth=1)
            bottom.plot(step, donor, "*", color=colour, markersize=11, markeredgecolor="k")
            after = df[df["step"] > step]
            if len(after):
                top.plot(step, after["lr"].iloc[0], "*", color=colour, markersize=11, markeredgecolor="k")
    top.set_yscale("log")
    top.set_ylabel("learning rate")
    bottom.set_ylabel("held-out accuracy")
    bottom.set_xlabel("training step")
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    top.legend(fontsize=8, ncol=min(len(by_member), 6), title="member", title_fontsize=8)
    fig.suptitle(f"Population Based Training: {len(by_member)} trials, {exploits} exploits "
                 "(a star: the trial went on from another's weights and a new lr)", fontsize=10)
    return fig
