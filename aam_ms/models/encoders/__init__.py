"""Text and audio encoders that condition AAM: CLIP ViT-L/14 text, Wav2CLIP audio."""
