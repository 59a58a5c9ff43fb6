#!/usr/bin/env bash
# The lint and type gate (docs/architecture.md, "Conventions"): run from the repository root.
#   ruff check           lint rules of pyproject.toml [tool.ruff.lint]
#   ruff format --check  the formatting, without changing files
#   mypy                 types of bot/, domain/, handlers/, storage/, scheduler/ ([tool.mypy])
#   vulture              dead code in the same packages, vulture_whitelist.py for framework-called names
# Every step runs; the script fails if any of them failed.
set -u
cd "$(dirname "$0")/.."
status=0
step() {
    echo "== $*"
    "$@" || status=1
}
step python3 -m ruff check .
step python3 -m ruff format --check .
step python3 -m mypy
step python3 -m vulture
exit $status
