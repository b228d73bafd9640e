"""Image backbones: DINOv3 ViT (with LoRA adapters)."""
from .dinov3 import (INTERMEDIATE_LAYERS, VARIANTS, DinoV3Config, DinoVisionTransformer,
                     build_dinov3, make_config)
from .lora import LoRALinear

__all__ = ["INTERMEDIATE_LAYERS", "VARIANTS", "DinoV3Config", "DinoVisionTransformer",
           "build_dinov3", "make_config", "LoRALinear"]
