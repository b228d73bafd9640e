#!/usr/bin/env bash
# Build the AAM AscendC custom op package (LorentzDistance, FPDiffusionStencil and their Grad ops)
# with CANN's msopgen flow: generate the project skeleton from the op JSONs, drop in op_host/ and
# op_kernel/, set the vendor name and CANN path in CMakePresets.json, then run the generated build.
# Output: build_out/custom_opp_<os>_<arch>.run.  Usage: ./build.sh [cann_install_path]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CANN="${1:-${ASCEND_HOME_PATH:-/usr/local/Ascend/ascend-toolkit/latest}}"
WORK="${HERE}/build/AamCustomOps"
VENDOR="aam_ms"

if ! command -v msopgen >/dev/null 2>&1; then
  # shellcheck disable=SC1091
  source "${CANN}/bin/setenv.bash" 2>/dev/null || source "${CANN}/../set_env.sh"
fi
command -v msopgen >/dev/null 2>&1 || { echo "msopgen not found: set up CANN (${CANN})" >&2; exit 1; }

rm -rf "${WORK}"
mkdir -p "$(dirname "${WORK}")"
msopgen gen -i "${HERE}/lorentz_distance.json" -f tf -c ai_core-ascend910b -lan cpp -out "${WORK}"
msopgen gen -i "${HERE}/fp_diffusion_stencil.json" -f tf -c ai_core-ascend910b -lan cpp -out "${WORK}" -m 1

# Our sources replace the generated templates (one host file and one tiling header per op family).
rm -f "${WORK}"/op_host/*.cpp "${WORK}"/op_host/*_tiling.h "${WORK}"/op_kernel/*.cpp
cp "${HERE}"/op_host/*.cpp "${HERE}"/op_host/*.h "${WORK}/op_host/"
cp "${HERE}"/op_kernel/*.cpp "${HERE}"/op_kernel/*.h "${WORK}/op_kernel/"

python3 - "${WORK}/CMakePresets.json" "${CANN}" "${VENDOR}" <<'PY'
import json, sys
path, cann, vendor = sys.argv[1:]
presets = json.load(open(path))
cache = presets["configurePresets"][0]["cacheVariables"]
cache["ASCEND_CANN_PACKAGE_PATH"]["value"] = cann
cache["vendor_name"]["value"] = vendor
cache["ASCEND_COMPUTE_UNIT"]["value"] = "ascend910b"
json.dump(presets, open(path, "w"), indent=4)
PY

(cd "${WORK}" && bash build.sh)
mkdir -p "${HERE}/build_out"
cp "${WORK}"/build_out/custom_opp_*.run "${HERE}/build_out/"
echo "package: $(ls "${HERE}"/build_out/custom_opp_*.run)"
