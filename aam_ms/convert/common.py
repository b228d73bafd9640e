"""The one mapping-report format of every converter, and the name-by-name tensor matcher.

Pure bookkeeping (no file I/O, no MindSpore): the converters map a source state dict onto our
parameter names and record what happened; :mod:`aam_ms.weights` reads and writes the files.
"""
import re
from dataclasses import dataclass, field

import numpy as np

# Entries of a training checkpoint that belong to the optimizer, not the model: our AdamW
# (aam_ms.optim: adamw_m/adamw_v moments, adamw_step, adamw_lr) and MindSpore's optimizers.
OPTIMIZER_STATE = re.compile(r"^(adamw?_[mv]\.|moment[12]\.|adamw_step$|adamw_lr$|"
                             r"global_step$|learning_rate$|beta[12]_power$)")


@dataclass
class MappingReport:
    """What a conversion did: mapped pairs, source keys left over, target keys not filled."""
    mapped: list = field(default_factory=list)
    unexpected: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    shape_mismatch: list = field(default_factory=list)

    @property
    def ok(self):
        return not (self.unexpected or self.missing or self.shape_mismatch)

    def line(self):
        """One line: the counts and the first problem of each kind."""
        parts = [f"mapped {len(self.mapped)}"]
        for name, items in (("unexpected", self.unexpected), ("missing", self.missing),
                            ("shape mismatch", self.shape_mismatch)):
            if items:
                parts.append(f"{len(items)} {name} (first: {items[0]})")
        return ", ".join(parts)

    def summary(self):
        lines = [f"mapped {len(self.mapped)}, unexpected {len(self.unexpected)}, "
                 f"missing {len(self.missing)}, shape mismatches {len(self.shape_mismatch)}"]
        for name, items in (("unexpected", self.unexpected), ("missing", self.missing),
                            ("shape mismatch", self.shape_mismatch)):
            for it in items[:20]:
                lines.append(f"  {name}: {it}")
            if len(items) > 20:
                lines.append(f"  ... {len(items) - 20} more {name}")
        return "\n".join(lines)

    def raise_if_partial(self, what="checkpoint"):
        if not self.ok:
            raise ValueError(f"refusing a partial load of {what}:\n{self.summary()}")


def match_tensors(pairs, expected, report):
    """Fill ``report`` and return {our name: float32 array} for ``pairs`` of
    (source key, our name, array) against ``expected`` {our name: shape}: names we lack are
    unexpected, wrong shapes are mismatches, expected names never seen are missing."""
    params, seen = {}, set()
    for key, ours, v in pairs:
        if ours not in expected:
            report.unexpected.append(key)
            continue
        seen.add(ours)
        if tuple(v.shape) != tuple(expected[ours]):
            report.shape_mismatch.append(f"{key}: checkpoint {tuple(v.shape)} vs model "
                                         f"{tuple(expected[ours])}")
        else:
            params[ours] = np.asarray(v, np.float32)
            report.mapped.append((key, ours))
    report.missing = [n for n in expected if n not in seen]
    return params


def match_own_names(tensors, net):
    """(params, MappingReport) for a file that already uses ``net``'s parameter names; the
    optimizer entries of a training checkpoint are left out, not reported."""
    expected = {p.name: tuple(p.shape) for p in net.get_parameters()}
    report = MappingReport()
    pairs = [(k, k, v) for k, v in tensors.items()
             if k in expected or not OPTIMIZER_STATE.match(k)]
    return match_tensors(pairs, expected, report), report
