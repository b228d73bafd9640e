"""The import layering of docs/ARCHITECTURE.md, checked on the source (imports inside functions
count too): base → primitives → data | models → weights → inference → tools, each module
importing only its own layer or those below it, and data and models never each other."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "aam_ms"
# layer rank, by module or folder (the longest matching prefix decides)
LAYERS = {
    "cli": 0, "fileio": 0, "resources": 0, "config": 0, "runtime": 0,
    "geometry": 1, "kernels": 1, "audio": 1, "text": 1, "metrics": 1,
    "data": 2, "models": 2, "losses": 2, "optim": 2, "amp": 2,
    "weights": 3, "convert": 3, "checkpoint": 3,
    "session": 4, "encoders": 4, "inference": 4, "overlay": 4,
    "predict": 5, "train": 5, "eval": 5, "export": 5, "serve": 5, "viz": 5, "report": 5,
    "convert.__main__": 5,
}
SIBLINGS = {"data", "models"}   # same rank, independent of each other


def _unit(module):
    """The LAYERS key of a dotted module name below ``aam_ms`` (longest prefix)."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in LAYERS:
            return ".".join(parts[:n])
    return None


def _imports(path, root):
    """Dotted names (below ``aam_ms``) that the file at ``path`` imports, anywhere in it."""
    package = list(path.relative_to(root).parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module == "aam_ms" or (node.module or "").startswith("aam_ms."):
                target = node.module[len("aam_ms."):]
            else:
                continue
            out.update(f"{target}.{a.name}".strip(".") for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name[len("aam_ms."):] for a in node.names if a.name.startswith("aam_ms."))
    return out


def violations(root):
    """``file imports target`` for every import that goes up a layer or between siblings."""
    bad = []
    for path in sorted(root.rglob("*.py")):
        me = _unit(".".join(path.relative_to(root).with_suffix("").parts))
        if me is None:
            continue
        for target in sorted(_imports(path, root)):
            other = _unit(target)
            if other is None or other.split(".")[0] == me.split(".")[0]:
                continue
            upward = LAYERS[other] > LAYERS[me]
            sideways = {me.split(".")[0], other.split(".")[0]} == SIBLINGS
            if upward or sideways:
                bad.append(f"{path.relative_to(root)} imports {target}")
    return bad


def test_every_module_has_a_layer():
    modules = [".".join(p.relative_to(PACKAGE).with_suffix("").parts)
               for p in PACKAGE.rglob("*.py")]
    unplaced = sorted(m for m in modules if m != "__init__" and _unit(m) is None)
    assert not unplaced, f"modules without a layer in docs/ARCHITECTURE.md: {unplaced}"


def test_imports_follow_the_layers():
    bad = violations(PACKAGE)
    assert not bad, "imports against the layering:\n" + "\n".join(bad)


def test_the_checker_sees_imports_inside_functions(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "probe.py").write_text(
        "import numpy\nfrom . import fpd\nfrom ..geometry import lorentz\n\n\n"
        "def f():\n    from ..inference import Engine\n    import aam_ms.data.synth\n")
    assert _imports(tmp_path / "models" / "probe.py", tmp_path) == \
        {"models.fpd", "geometry.lorentz", "inference.Engine", "data.synth"}
    assert violations(tmp_path) == ["models/probe.py imports data.synth",
                                    "models/probe.py imports inference.Engine"]
