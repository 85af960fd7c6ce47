"""A study's results as pandas tables, without Ray (docs/design.md lists the modules)."""
