#!/usr/bin/env bash
# python.pip_install: the README's Python commands. A venv over Debian's Python (seeing its numpy), the
# package installed with pip from python/ offline (--no-index, --no-build-isolation), the quickstart run
# from outside the checkout so that it imports the installed package. BUILD reuses the build's module
# (AUTOREC_BUILD_DIR) instead of building the engine again.
set -euo pipefail
src=$1 build=$2 python=$3
venv=$build/python-venv
rm -rf "$venv"
"$python" -m venv --system-site-packages "$venv"
AUTOREC_BUILD_DIR=$build "$venv/bin/pip" install --quiet --no-build-isolation --no-index "$src/python"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$venv/bin/python" -c 'import autorec, sys; p = autorec.__file__; sys.exit(0 if "python-venv" in p else "imported " + p)'
"$venv/bin/python" "$src/python/examples/quickstart.py" "$work" | tee "$work/out.txt"
grep -q "test RMSE" "$work/out.txt"
[ -s "$work/quickstart.fb" ]
echo "pip_install: installed into $venv and ran the quickstart"
