"""The AscendC kernels against the real CANN 8.1.RC1 headers, through the ascendc_emu checker.

Needs the public CANN 8.1.RC1 header dump (its git directory or an extracted toolkit root) in
``AAM_CANN_HEADERS``, and the checker's ``run.sh`` (default ``../shared/tools/ascendc_emu/run.sh``
next to the project; else ``AAM_ASCENDC_EMU``). Skipped with the reason when either is missing.
The headers are read in place; nothing from them is written into the project.

The checker compiles op_host and every op_kernel for float, half and bfloat16_t against the real
headers (tiling structs through CANN's own generator), then runs the kernels on its emulator of the
vector intrinsics over the op_host-accepted shape grid and compares them with the CPU twins and a
float64 reference. Its last line is ``N passed, M failed (K skipped...)``.
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
RUN_SH = Path(os.environ.get("AAM_ASCENDC_EMU", PROJECT.parent / "shared" / "tools" / "ascendc_emu" / "run.sh"))
CANN = os.environ.get("AAM_CANN_HEADERS", "")
SUMMARY_RE = re.compile(r"^(\d+) passed, (\d+) failed \((\d+) skipped")


def _skip_reason():
    if not CANN:
        return "AAM_CANN_HEADERS is not set (point it at the CANN 8.1.RC1 header dump)"
    if not Path(CANN).is_dir():
        return f"AAM_CANN_HEADERS={CANN} is not a directory"
    if not RUN_SH.is_file():
        return f"ascendc_emu checker not found at {RUN_SH} (set AAM_ASCENDC_EMU to its run.sh)"
    for tool in ("bash", "git", "python3", "g++"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return ""


@pytest.mark.slow
@pytest.mark.skipif(bool(_skip_reason()), reason=_skip_reason() or "ready")
def test_kernels_pass_ascendc_emu(tmp_path):
    res = subprocess.run(["bash", str(RUN_SH), "--cann", CANN, "--kernels", "ascend_kernels",
                          "--work", str(tmp_path / "emu")],
                         cwd=PROJECT, capture_output=True, text=True, check=False, timeout=3600)
    lines = res.stdout.strip().splitlines()
    assert lines, res.stderr
    summary = SUMMARY_RE.match(lines[-1])
    assert summary, lines[-1]
    failures = [ln for ln in lines if ln.startswith("FAIL")]
    assert int(summary.group(2)) == 0 and not failures, "\n".join(failures[:20])
    assert res.returncode == 0, res.stderr[-2000:]
    assert "CANN toolkit: 8.1.RC1" in res.stdout
    for kernel in ("lorentz_distance", "lorentz_distance_grad", "fp_diffusion_stencil", "fp_diffusion_stencil_grad"):
        for dtype in ("float", "half", "bfloat16_t"):
            assert f"PASS  compile {kernel}.cpp <{dtype}>" in res.stdout, (kernel, dtype)
    for op in ("LorentzDistance", "LorentzDistanceGrad", "FPDiffusionStencil", "FPDiffusionStencilGrad"):
        for dtype in ("float", "half", "bfloat16_t"):
            assert sum(ln.startswith(f"PASS  {op} {dtype} ") for ln in lines) >= 10, (op, dtype)
    assert int(summary.group(1)) >= 400
