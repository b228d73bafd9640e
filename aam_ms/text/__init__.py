"""Text side of AAM: the CLIP BPE tokenizer and the on-disk prompt-embedding cache."""
from .tokenizer import CLIPTokenizer, clean_text
from .prompt_cache import PromptCache

__all__ = ["CLIPTokenizer", "clean_text", "PromptCache"]
