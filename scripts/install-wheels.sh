#!/bin/sh
# Download the wheels the agent's payload needs for hosts on Python 3.6-3.8
# (pyroute2 0.8.1; the dataclasses backport for 3.6) into hostnet's wheel cache,
# only those missing. The controller never installs them: hostnet.payload reads
# the modules out of the wheels and ships them to such hosts in memory.
set -eu
cd "$(dirname "$0")/.."
PY=.venv/bin/python
dir=$($PY -c 'from hostnet.payload import wheel_dir; print(wheel_dir())')
wheels=$($PY -c 'from hostnet.payload import OLD_WHEELS; print(" ".join(OLD_WHEELS))')
missing=""
for req in $wheels; do
    file="$dir/$(echo "$req" | sed 's/==/-/')-py3-none-any.whl"
    [ -f "$file" ] || missing="$missing $req"
done
if [ -z "$missing" ]; then
    echo "install-wheels: all present in $dir ($wheels)"
    exit 0
fi
mkdir -p "$dir"
# --python-version 3.6: the wheels that interpreter would install, whatever runs pip.
# shellcheck disable=SC2086 # word splitting of the wheel list is intended
$PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.6 -d "$dir" $missing
echo "install-wheels: $dir has $wheels"
