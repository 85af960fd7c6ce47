"""docs/data.md's tables of columns, written from the code's own schema (study.results.columns).

    python scripts/data_dictionary.py           # rewrite the part between the markers
    python scripts/data_dictionary.py --check   # exit 1, saying so, when docs/data.md is stale

tests/study/test_data_dictionary.py fails when docs/data.md is not what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from study.results.columns import markdown  # noqa: E402

PAGE = ROOT / "docs" / "data.md"
START = "<!-- data dictionary: start (scripts/data_dictionary.py writes this part from study/results/columns.py) -->"
END = "<!-- data dictionary: end -->"


def block() -> str:
    return f"{START}\n\n{markdown()}\n{END}"


def rendered(text: str) -> str:
    """``text`` (docs/data.md) with its generated part as the code gives it."""
    if START not in text or END not in text:
        raise SystemExit(f"docs/data.md has no {START} ... {END} markers")
    head, rest = text.split(START, 1)
    return head + block() + rest.split(END, 1)[1]


def main(argv: list[str]) -> int:
    text = PAGE.read_text()
    new = rendered(text)
    if "--check" in argv:
        if new != text:
            print("docs/data.md is stale: run python scripts/data_dictionary.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(new)
    print("docs/data.md: tables written from study/results/columns.py")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
