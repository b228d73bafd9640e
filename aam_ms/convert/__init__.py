"""Weight converters: third-party PyTorch checkpoints → MindSpore, and back.

Run ``python -m aam_ms.convert --help``. torch is imported lazily, only by converters.
"""
