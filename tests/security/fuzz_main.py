"""Runs one fuzz target under atheris (libFuzzer): ``python fuzz_main.py TARGET [libFuzzer args]``.

    .venv/bin/python tests/security/fuzz_main.py sip -atheris_runs=20000 -seed=1 \\
        /tmp/new-inputs tests/security/corpus/sip

pyari's modules are imported under atheris' instrumentation, so the fuzzer sees which
branches an input reaches. libFuzzer writes the inputs it finds to the FIRST corpus
folder: give it a scratch folder first and the committed corpus second (test_fuzz.py
does). A crash is saved as ``<artifact_prefix>crash-<sha1>`` and the exit status is not 0.
"""

from __future__ import annotations

import atexit
import signal
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, as under pytest

with atheris.instrument_imports(include=["pyari"]):
    from security.fuzz_targets import TARGETS

    if sys.argv[1:2] == ["http"]:  # the HTTP target imports the server only when used
        import pyari.http.httptools_core
        import pyari.server  # noqa: F401


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: fuzz_main.py {{{','.join(TARGETS)}}} [libFuzzer args] [corpus dirs]")
    name = sys.argv.pop(1)
    target, max_len = TARGETS[name]
    args = sys.argv
    if not any(arg.startswith("-max_len=") for arg in args):
        args.append(f"-max_len={max_len}")
    atheris.Setup(args, target)
    # libFuzzer's -timeout arms a repeating SIGALRM; once the runs are done its handler
    # is gone but the timer is not, so a slow exit (a loaded machine) died of SIGALRM.
    atexit.register(signal.setitimer, signal.ITIMER_REAL, 0)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
