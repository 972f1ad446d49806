#!/usr/bin/env bash
# Create (once) the peers' own environment benchmarks/.env and install peer packages in it.
# It sees the system site-packages (torch, numpy) so no second torch is downloaded; peers
# never become genlab dependencies. Usage: benchmarks/peers.sh PACKAGE[==VERSION]...
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
env="$here/.env"
if [ ! -x "$env/bin/python" ]; then
    python3 -m venv --system-site-packages "$env"
fi
if [ "$#" -gt 0 ]; then
    # --no-deps for packages whose pins would pull another torch; callers add the rest.
    "$env/bin/python" -m pip install -q "$@" 'torch==2.13.0'
fi
echo "$env/bin/python"
