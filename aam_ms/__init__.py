"""aam-ms: the Attend to Anything Model (AAM) in MindSpore.

Layers (docs/ARCHITECTURE.md): ``data`` (Attention-1.75M readers, pipelines, SynthAttention) and
``models`` (backbones, text/audio encoders, FPD, fusion, hyperbolic decoder, the ``AAM`` cell)
on top of ``geometry`` (Lorentz model), ``kernels`` (custom operators), ``audio``, ``text`` and
``metrics``; ``weights`` (every weight file, converters in ``convert``); ``inference`` (the one
engine for images, clips and videos); the tools ``predict``, ``train``, ``eval``, ``export``.
"""

__version__ = "0.1.0"
