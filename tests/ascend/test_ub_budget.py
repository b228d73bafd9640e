"""UB budget and tile coverage of the AscendC kernels, without CANN.

The op_host tiling functions and the op_kernel kernels of ``ascend_kernels/`` are compiled with g++
against the recording stubs of ``ascend_kernels/tests/stubs`` (8.1.RC1 signatures) and run by
``ub_driver.cpp`` over the shape range op_host accepts, per dtype. For every accepted shape:

    sum of the kernel's TPipe::InitBuffer bytes  <=  UB - 8 KB     (UB = 192 KB on 910B; the top
                                                                    8 KB from TMP_UB_OFFSET = 184 KB
                                                                    is Select/Duplicate scratch)
    every output element is written exactly once (all blocks, all tiles, tails included)
    no LocalTensor range, UB alignment, GM bound or CompareScalar repeat violation
    tiling struct size % 8 == 0    (the CPU-side GET_TILING_DATA copies sizeof/8 uint64 words)
"""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "ascend_kernels"
STUBS = ROOT / "tests" / "stubs"
DRIVER = Path(__file__).with_name("ub_driver.cpp")
UB_910B = 192 * 1024
RESERVED = 8 * 1024  # 192 KB - TMP_UB_OFFSET (184 KB on dav-c220)
DTYPES = ["float", "half", "bfloat16_t"]
KERNELS = {  # kernel source -> tiling header, tiling struct
    "lorentz_distance": ("lorentz_distance_tiling.h", "LorentzDistanceTilingData"),
    "lorentz_distance_grad": ("lorentz_distance_tiling.h", "LorentzDistanceTilingData"),
    "fp_diffusion_stencil": ("fp_diffusion_stencil_tiling.h", "FPDiffusionStencilTilingData"),
    "fp_diffusion_stencil_grad": ("fp_diffusion_stencil_tiling.h", "FPDiffusionStencilTilingData"),
}
FIELD_RE = re.compile(r"TILING_DATA_FIELD_DEF\((\w+),\s*(\w+)\)")
LORENTZ_D = [1, 3, 63, 64, 65, 128, 1000, 4096, 4500]
STENCIL_T = [1, 2, 3, 4, 17, 64, 1000]

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ is not installed")


def _gxx(args, cwd):
    res = subprocess.run(["g++", "-std=c++17", "-O1", "-Wall", "-Werror", f"-I{STUBS}", *args],
                         capture_output=True, text=True, check=False, cwd=cwd)
    assert res.returncode == 0, res.stderr


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    """Path of the built ub_driver (2 op_host TUs, 4 kernels x 3 dtypes, the driver)."""
    work = tmp_path_factory.mktemp("ub_driver")
    objs = []
    for src in sorted((ROOT / "op_host").glob("*.cpp")):
        obj = work / f"host_{src.stem}.o"
        _gxx(["-c", f"-I{ROOT / 'op_host'}", str(src), "-o", str(obj)], work)
        objs.append(obj)
    for kernel, (header, struct) in KERNELS.items():
        fields = FIELD_RE.findall((ROOT / "op_host" / header).read_text())
        body = "".join(f"  {t} {n};\n" for t, n in fields)
        gen = work / f"{kernel}_tiling_data.h"  # what CANN's generator emits for the kernel side
        gen.write_text(f"#include <cstdint>\n#pragma pack(push, 1)\nstruct {struct} {{\n{body}}};\n#pragma pack(pop)\n")
        for dtype in DTYPES:
            obj = work / f"{kernel}_{dtype}.o"
            _gxx(["-c", "-include", str(gen), f"-DAAM_TILING_TYPE={struct}", f"-D{kernel}={kernel}_{dtype}",
                  *(f"-DDTYPE_{n}={dtype}" for n in ("X", "RHO", "DOUT")),
                  str(ROOT / "op_kernel" / f"{kernel}.cpp"), "-o", str(obj)], work)
            objs.append(obj)
    exe = work / "ub_driver"
    _gxx([str(DRIVER), *map(str, objs), "-o", str(exe)], work)
    return exe


def _run(driver, lines):
    res = subprocess.run([str(driver)], input="\n".join(lines) + "\n", capture_output=True, text=True,
                         check=False, timeout=600)
    assert res.returncode == 0, res.stderr
    out = [json.loads(s) for s in res.stdout.splitlines()]
    assert len(out) == len(lines)
    return out


def _check_cases(driver, lines, ub):
    for line, r in zip(lines, _run(driver, lines)):
        assert r["status"] == 0, f"op_host rejected {line}"
        assert r["ub"] <= ub - RESERVED, f"{line}: InitBuffer total {r['ub']} B > {ub - RESERVED} B"
        assert r["violations"] == [], f"{line}: {r['violations']}"
        assert r["writes"] and all(v == [1, 1] for v in r["writes"].values()), f"{line}: writes {r['writes']}"
        assert r["tilingBytes"] % 8 == 0 and r["tilingBytes"] == 32, line


def _probe(driver, op, dtype, ub=UB_910B):
    return _run(driver, [f"probe {op} {dtype} {ub}"])[0]["max"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["LorentzDistance", "LorentzDistanceGrad"])
def test_lorentz_ub_and_coverage(driver, op, dtype):
    dmax = _probe(driver, op, dtype)
    assert 1024 <= dmax < 1 << 20, dmax  # D <= 1024 must work (the model uses 128); the limit is finite
    lines = []
    for d in [x for x in LORENTZ_D if x <= dmax] + [dmax]:
        for mode in (0, 1, 2):
            n, m = (2, 2) if d == dmax else ((5, 67) if mode == 0 else (5, 5))  # 67 = one tile of 64 + tail
            for cores in (48, 2):
                lines.append(f"{op} {dtype} {cores} {UB_910B} {n} {m} {d} {mode} 0.0001")
    _check_cases(driver, lines, UB_910B)
    # the budget is used: the largest d fills UB to within one d-chunk step of 64 elements
    top = _run(driver, [f"{op} {dtype} 48 {UB_910B} 1 1 {dmax} 0 0.0001",
                        f"{op} {dtype} 48 {UB_910B} 1 1 {dmax + 1} 0 0.0001"])
    assert top[0]["ub"] > UB_910B - RESERVED - 64 * 40 and top[1]["status"] != 0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["FPDiffusionStencil", "FPDiffusionStencilGrad"])
def test_stencil_ub_and_coverage(driver, op, dtype):
    tmax = _probe(driver, op, dtype)  # = the largest tile length: a tile holds at least one row
    assert 64 <= tmax < 1 << 20, tmax
    lines = []
    for t in [x for x in STENCIL_T if x <= tmax] + [tmax]:
        rows = 3 * (tmax // t) + 1  # four tiles, the last one a single row
        for cfl in (0, 1):
            for cores in (48, 2):
                lines.append(f"{op} {dtype} {cores} {UB_910B} {rows} {t} 0.2 {cfl}")
    _check_cases(driver, lines, UB_910B)
    top = _run(driver, [f"{op} {dtype} 48 {UB_910B} 1 {tmax} 0.2 1", f"{op} {dtype} 48 {UB_910B} 1 {tmax + 1} 0.2 1"])
    per_elem = {"FPDiffusionStencil": 60, "FPDiffusionStencilGrad": 137}[op]  # fp32 bytes per tile element
    assert top[0]["ub"] > UB_910B - RESERVED - 64 * per_elem and top[1]["status"] != 0


def test_tiles_follow_platform_ub(driver):
    """A smaller UB gives smaller tiles that still fit; the limits scale with the UB size."""
    ub = 96 * 1024
    for op in ("LorentzDistance", "LorentzDistanceGrad", "FPDiffusionStencil", "FPDiffusionStencilGrad"):
        small, full = _probe(driver, op, "float", ub), _probe(driver, op, "float")
        assert 0 < small < full / 1.9, (op, small, full)
        shape = f"3 3 {small} 0 0.0001" if op.startswith("Lorentz") else f"7 {small} 0.2 1"
        _check_cases(driver, [f"{op} float 2 {ub} {shape}"], ub)


def test_recorder_catches_faults(tmp_path):
    """The stubs report a short CompareScalar, a UB overrun and a double GM write (the test can fail)."""
    src = tmp_path / "fault.cpp"
    src.write_text(r'''
#include <cstdio>
#include "kernel_operator.h"
int main() {
  float gm[100];
  aam_stub::Recorder::Output o;
  o.base = reinterpret_cast<uintptr_t>(gm); o.elems = 100; o.elemBytes = 4; o.writes.assign(100, 0);
  aam_stub::Rec().outputs["out"] = o;
  AscendC::TPipe pipe;
  AscendC::TBuf<AscendC::TPosition::VECCALC> buf, mask;
  pipe.InitBuffer(buf, 100 * sizeof(float));
  pipe.InitBuffer(mask, 32);
  AscendC::LocalTensor<float> t = buf.Get<float>();
  AscendC::CompareScalar(mask.Get<uint8_t>(), t, 0.5f, AscendC::CMPMODE::LE, 100u);
  AscendC::Adds(t[1], t[1], 1.0f, 8);
  AscendC::Muls(t, t, 2.0f, 101);
  AscendC::GlobalTensor<float> g;
  g.SetGlobalBuffer(gm, 100);
  g.SetValue(3, 1.0f);
  g.SetValue(3, 1.0f);
  g.SetValue(100, 1.0f);
  for (auto& v : aam_stub::Rec().violations) std::printf("%s\n", v.c_str());
  std::printf("writes[3]=%u ub=%llu\n", aam_stub::Rec().outputs["out"].writes[3],
              (unsigned long long)aam_stub::Rec().ubBytes);
}
''')
    _gxx([str(src), "-o", str(tmp_path / "fault")], tmp_path)
    out = subprocess.run([str(tmp_path / "fault")], capture_output=True, text=True, check=True).stdout
    assert "CompareScalar: count is not a whole number" in out
    assert "Adds: UB operand not 32-byte aligned" in out
    assert "Muls: range past the LocalTensor" in out
    assert "GlobalTensor::SetValue: GM range past SetGlobalBuffer" in out
    assert "writes[3]=2 ub=448" in out  # 400 B rounded up to 416, plus 32
