"""``make mutation``: mutation-test the judgement modules and hold each to a score.

Runs mutmut as ``[tool.mutmut]`` in pyproject.toml configures it (the pure judgement modules,
against ``tests/governance/policy/`` only), from an empty ``mutants/`` so no result is reused
from an older run, then reports per module::

    score = killed / (mutants - known equivalents)

Known equivalents are the surviving mutants listed in ``tools/mutation_equivalents.toml``,
each with why it cannot change behaviour. They are matched on the function and the mutated
lines, not on mutmut's numbering (``x__grant__mutmut_7`` shifts when the code does), so a
new survivor stands out. Every survivor not on the list is printed with its diff. Exits 1
when any module scores below the threshold (97%), or when mutmut fails.

    .venv/bin/python tools/mutation_report.py                # run mutmut, then report
    .venv/bin/python tools/mutation_report.py --report-only  # report on the last run
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = ROOT / "tools" / "mutation_equivalents.toml"
THRESHOLD = 0.97
CAUGHT = {"killed", "timeout"}  # a timeout is a mutant the tests did not let pass
# The policy tests need none of the installed pytest plugins (Django, Hypothesis, ...);
# loading them costs each of the ~1,400 mutant runs a fifth of a second.
PYTEST_ENV = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


@dataclass(frozen=True)
class Mutant:
    name: str  # mutmut's: governance.iam_policy.x__grant__mutmut_7
    module: str  # governance/iam_policy.py
    status: str  # mutmut's: killed, survived, timeout, no tests, ...

    @property
    def function(self) -> str:
        """``governance.iam_policy._grant`` or ``governance.iam_statements.Statement.granted``."""
        from mutmut.utils.format_utils import orig_function_and_class_names_from_key

        function, cls = orig_function_and_class_names_from_key(self.name)
        dotted = self.module.removesuffix(".py").replace("/", ".")
        return ".".join(part for part in (dotted, cls, function) if part)

    def diff(self) -> str:
        from mutmut.mutation.diff_apply import get_diff_for_mutant

        return get_diff_for_mutant(self.name, path=self.module)

    def key(self) -> tuple[str, str, str]:
        """(function, removed lines, added lines), each line stripped: stable across edits
        elsewhere in the module."""
        lines = [line for line in self.diff().splitlines()
                 if line[:1] in "+-" and not line.startswith(("+++", "---"))]
        removed = "\n".join(line[1:].strip() for line in lines if line.startswith("-"))
        added = "\n".join(line[1:].strip() for line in lines if line.startswith("+"))
        return self.function, removed, added


def modules() -> list[str]:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["tool"]["mutmut"]["only_mutate"]


def equivalents() -> dict[tuple[str, str, str], str]:
    with open(EQUIVALENTS, "rb") as handle:
        entries = tomllib.load(handle).get("equivalent", [])
    return {(e["function"], e["removed"].strip(), e["added"].strip()): e["why"] for e in entries}


def run_mutmut() -> None:
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    started = time.monotonic()
    done = subprocess.run([str(Path(sys.executable).parent / "mutmut"), "run"],  # noqa: S603
                          cwd=ROOT, env=PYTEST_ENV, capture_output=True, text=True, check=False)
    print(f"mutmut ran in {time.monotonic() - started:.0f} s")
    if done.returncode != 0:
        print(done.stdout[-4000:], done.stderr[-4000:], sep="\n")
        sys.exit(f"mutmut failed (exit {done.returncode})")


def results() -> list[Mutant]:
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.stats import status_by_exit_code

    found = []
    for module in modules():
        data = SourceFileMutationData(path=module)
        data.load()
        if not data.exit_code_by_key:
            sys.exit(f"no mutation results for {module}: did mutmut run?")
        found += [Mutant(name, module, status_by_exit_code[code])
                  for name, code in data.exit_code_by_key.items()]
    return found


def report(found: list[Mutant], known: dict[tuple[str, str, str], str]) -> bool:
    """Print the scores and the unexplained survivors; whether every module passes."""
    survivors = [m for m in found if m.status not in CAUGHT]
    keys = {m.name: m.key() for m in survivors}
    matched = {m.name for m in survivors if keys[m.name] in known}
    passed = True
    print(f"\n{'module':<32}{'mutants':>8}{'killed':>8}{'equiv.':>8}{'survived':>9}  score")
    for module in modules():
        mine = [m for m in found if m.module == module]
        killed = sum(m.status in CAUGHT for m in mine)
        equivalent = sum(m.name in matched for m in mine)
        judged = len(mine) - equivalent
        score = killed / judged if judged else 1.0
        ok = score >= THRESHOLD
        passed &= ok
        below = "" if ok else f"  below {THRESHOLD:.0%}"
        print(f"{module:<32}{len(mine):>8}{killed:>8}{equivalent:>8}"
              f"{judged - killed:>9}  {score:6.1%}{below}")
    unexplained = [m for m in survivors if m.name not in matched]
    if unexplained:
        print(f"\n{len(unexplained)} surviving mutants not on {EQUIVALENTS.relative_to(ROOT)}:")
        for m in unexplained:
            print(f"\n# {m.name} ({m.status}) in {m.function}\n{m.diff()}")
    stale = set(known) - {keys[name] for name in matched}
    if stale:
        print(f"\n{len(stale)} listed equivalents no longer survive (remove them from the list):")
        for function, removed, added in sorted(stale):
            print(f"  {function}: {removed!r} -> {added!r}")
    print(f"\n{len(matched)} known equivalent mutants; threshold {THRESHOLD:.0%} of the rest "
          "killed in each module: " + ("met" if passed else "NOT met"))
    return passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report-only", action="store_true",
                        help="report on the results in mutants/ without running mutmut")
    args = parser.parse_args()
    if not args.report_only:
        run_mutmut()
    return 0 if report(results(), equivalents()) else 1


if __name__ == "__main__":
    sys.exit(main())
