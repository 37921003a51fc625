#!/usr/bin/env python3
"""Runs one fuzz target for a fixed number of inputs from a fixed seed, over
a copy of its seed corpus (libFuzzer adds what it finds to its first corpus
directory: the one in the source tree stays as it is).  Any crash, sanitizer
report or failed property fails the test; the input is kept as an artifact
in the build directory's fuzz-artifacts/.
Usage: run.py FUZZER SEED_CORPUS_DIR RUNS ARTIFACT_DIR [MAX_LEN]
(MAX_LEN, default 4096: the longest input tried; binary formats whose
smallest real input is longer give more)"""
import os
import subprocess
import sys
import tempfile

fuzzer, seeds, runs, artifacts = sys.argv[1:5]
max_len = sys.argv[5] if len(sys.argv) > 5 else "4096"
os.makedirs(artifacts, exist_ok=True)
with tempfile.TemporaryDirectory(prefix="leakscan-fuzz-") as work:
    p = subprocess.run([fuzzer, f"-runs={runs}", "-seed=1", f"-max_len={max_len}", "-timeout=20", "-max_total_time=120",
                        "-print_final_stats=1", f"-artifact_prefix={artifacts}/", work, seeds],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace")
out = (p.stdout + p.stderr).strip().splitlines()
print("\n".join(out[-40:] if p.returncode else out[-8:]))
if p.returncode != 0:
    sys.exit(f"FAIL {os.path.basename(fuzzer)}: exit status {p.returncode} (inputs in {artifacts})")
print(f"ok   {os.path.basename(fuzzer)}: {runs} inputs, no finding")
