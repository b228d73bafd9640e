"""Static checks of the AscendC op project (no CANN here): every host and kernel source passes a
g++ ``-fsyntax-only`` pass against the stubs in ``ascend_kernels/tests/stubs``, which declare only
the CANN 8.1.RC1 API the sources use (so a call that 8.1 lacks fails here), each kernel's constants
agree with op_host and its CPU twin, and the tiling headers suit CANN's tiling generator.
"""
import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "ascend_kernels"
STUBS = ROOT / "tests" / "stubs"
OPS = {  # kernel source -> (tiling header, tiling struct, dtype macro, CPU twin)
    "lorentz_distance": ("lorentz_distance_tiling.h", "LorentzDistanceTilingData", "DTYPE_X",
                         "lorentz_distance_cpu.cc"),
    "lorentz_distance_grad": ("lorentz_distance_tiling.h", "LorentzDistanceTilingData", "DTYPE_X",
                              "lorentz_distance_cpu.cc"),
    "fp_diffusion_stencil": ("fp_diffusion_stencil_tiling.h", "FPDiffusionStencilTilingData", "DTYPE_RHO",
                             "fp_diffusion_stencil_cpu.cc"),
    "fp_diffusion_stencil_grad": ("fp_diffusion_stencil_tiling.h", "FPDiffusionStencilTilingData", "DTYPE_DOUT",
                                  "fp_diffusion_stencil_cpu.cc"),
}
CONST_RE = re.compile(r"constexpr\s+(?:u?int\d+_t|float)\s+((?:LD|FPD)_[A-Z_]+)\s*=\s*([^;]+);")
FIELD_RE = re.compile(r"TILING_DATA_FIELD_DEF\((\w+),\s*(\w+)\)")

needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ is not installed")


def _constants(*paths):
    """{name: value} of the LD_/FPD_ constexpr constants in source files (with kernel-local includes)."""
    text = "".join(p.read_text() for p in paths)
    path = paths[0]
    for inc in re.findall(r'#include "(\w+\.h)"', text):
        if (path.parent / inc).is_file():
            text += (path.parent / inc).read_text()
    out = {}
    for name, value in CONST_RE.findall(text):
        value = value.strip()
        if value.startswith("int64_t{1} <<"):
            value = str(1 << int(value.split("<<")[1]))
        if "*" in value:  # a product of integers, e.g. 8 * 1024
            value = str(math.prod(int(v) for v in value.split("*")))
        out[name] = float(value.rstrip("fF"))
    return out


def _kernel_tiling_header(tmp_path, op):
    """The kernel-side tiling struct that the CANN build generates from the op_host header."""
    header, struct, _, _ = OPS[op]
    fields = FIELD_RE.findall((ROOT / "op_host" / header).read_text())
    assert fields, f"no TILING_DATA_FIELD_DEF in {header}"
    body = "".join(f"  {t} {n};\n" for t, n in fields)
    out = tmp_path / f"{op}_kernel_tiling.h"
    out.write_text(f"#include <cstdint>\nstruct {struct} {{\n{body}}};\n")
    return out


def _gxx(args):
    res = subprocess.run(["g++", "-std=c++17", "-fsyntax-only", "-Wall", "-Werror", f"-I{STUBS}", *args],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr


@needs_gxx
@pytest.mark.parametrize("src", sorted(p.name for p in (ROOT / "op_host").glob("*.cpp")))
def test_host_sources_compile(src):
    _gxx([f"-I{ROOT / 'op_host'}", str(ROOT / "op_host" / src)])


@needs_gxx
@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("dtype", ["float", "half", "bfloat16_t"])
def test_kernel_sources_compile(op, dtype, tmp_path):
    _, struct, macro, _ = OPS[op]
    _gxx(["-include", str(_kernel_tiling_header(tmp_path, op)), f"-DAAM_TILING_TYPE={struct}",
          f"-D{macro}={dtype}", str(ROOT / "op_kernel" / f"{op}.cpp")])


@pytest.mark.parametrize("op", sorted(OPS))
def test_tiling_constants_match_cpu_twin(op):
    header, _, _, twin = OPS[op]
    host = _constants(ROOT / "op_host" / header, ROOT / "op_host" / (twin.replace("_cpu.cc", ".cpp")))
    kernel = _constants(ROOT / "op_kernel" / f"{op}.cpp")
    cpu = _constants(ROOT / "cpu" / twin)
    assert host and kernel, f"no tiling constants parsed for {op}"
    for name, value in _constants(ROOT / "op_host" / header).items():
        assert cpu.get(name) == value, f"{name}: op_host {value} vs CPU twin {cpu.get(name)}"
    for name, value in kernel.items():
        assert host.get(name, cpu.get(name)) == value, f"{name}: kernel {value} vs host/CPU twin"


def test_tiling_fields_cover_kernel_use():
    """Every ``td.<field>`` a kernel reads is a field of its tiling struct."""
    for op, (header, _, _, _) in OPS.items():
        fields = {n for _, n in FIELD_RE.findall((ROOT / "op_host" / header).read_text())}
        used = set(re.findall(r"\btd\.(\w+)", (ROOT / "op_kernel" / f"{op}.cpp").read_text()))
        assert used and used <= fields, f"{op}: unknown tiling fields {used - fields}"


def test_op_json_matches_opdef():
    """The msopgen JSON lists the same inputs/outputs/attrs as the OpDef in op_host."""
    import json
    files = sorted(ROOT.glob("*.json"))
    assert [f.name for f in files] == ["fp_diffusion_stencil.json", "lorentz_distance.json"]
    for js in files:
        for op in json.loads(js.read_text()):
            host = (ROOT / "op_host" / js.name.replace(".json", ".cpp")).read_text()
            cls = host[host.index(f"class {op['op']} "):]
            cls = cls[:cls.index("};")]
            names = re.findall(r'(Input|Output|Attr)\("(\w+)"\)', cls)
            want = ([("Input", d["name"]) for d in op["input_desc"]] + [("Output", d["name"]) for d in op["output_desc"]]
                    + [("Attr", a["name"]) for a in op.get("attr", [])])
            assert sorted(names) == sorted(want), f"{js.name}:{op['op']}"


FIELD_SIZES = {"uint32_t": 4, "int32_t": 4, "float": 4, "uint64_t": 8, "int64_t": 8, "uint16_t": 2, "uint8_t": 1}


@pytest.mark.parametrize("header", ["lorentz_distance_tiling.h", "fp_diffusion_stencil_tiling.h"])
def test_tiling_header_suits_generator(header):
    """Field lines carry nothing after the macro (tiling_data_def_build.py parses them line by line)
    and the struct is a whole number of 8-byte words (the CPU-side GET_TILING_DATA copies sizeof/8)."""
    lines = [ln for ln in (ROOT / "op_host" / header).read_text().splitlines() if "TILING_DATA_FIELD_DEF" in ln]
    assert lines
    for ln in lines:
        assert re.fullmatch(r"\s*TILING_DATA_FIELD_DEF\(\w+, \w+\);", ln), f"{header}: {ln!r}"
    sizes = [FIELD_SIZES[t] for t, _ in FIELD_RE.findall("\n".join(lines))]
    offset = 0
    for size in sizes:
        assert offset % size == 0, f"{header}: field at offset {offset} not {size}-byte aligned"
        offset += size
    assert offset % 8 == 0, f"{header}: struct of {offset} bytes is not a whole number of 8-byte words"


def test_stubs_state_cann_version():
    for stub in sorted(STUBS.rglob("*.h")):
        assert "CANN 8.1.RC1" in stub.read_text(), stub


@needs_gxx
@pytest.mark.parametrize("call", ["float r = AscendC::Sqrt(2.0f);", "float r = AscendC::Log(2.0f);",
                                  "float r = AscendC::Exp(2.0f);"])
def test_syntax_check_rejects_calls_not_in_81(call, tmp_path):
    """Scalar Sqrt/Log (and any other function 8.1 lacks) do not compile against the stubs."""
    src = tmp_path / "bad_kernel.cpp"
    src.write_text(f'#include "kernel_operator.h"\nfloat F() {{ {call} return r; }}\n')
    res = subprocess.run(["g++", "-std=c++17", "-fsyntax-only", f"-I{STUBS}", str(src)], capture_output=True,
                         text=True, check=False)
    assert res.returncode != 0 and "error" in res.stderr
