#!/bin/sh
# Replaces itself with the leaking program: the leak is in this same process.
exec "$(dirname "$0")/ae-leaker"
