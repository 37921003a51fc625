#!/bin/sh
# Runs the leaking program as a child process (no exec): --follow-forks sees it.
"$(dirname "$0")/ae-leaker"
echo "child done"
