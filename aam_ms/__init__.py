"""aam-ms: the Attend to Anything Model (AAM) in MindSpore.

Sub-packages, one idea each: ``geometry`` (Lorentz model), ``losses`` (training objectives),
``metrics`` (MIT-benchmark evaluation, numpy only), ``models`` (backbones, FPD, fusion,
hyperbolic decoder, the full ``AAM`` cell), ``kernels`` (custom-operator selection),
``convert`` (PyTorch -> MindSpore weights), ``data`` (Attention-1.75M readers, SynthAttention).
"""

__version__ = "0.1.0"
