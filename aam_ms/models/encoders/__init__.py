"""Text and audio encoders that condition AAM: CLIP ViT-L/14 text, Wav2CLIP audio, and their
download-free stand-ins for the demo (``demo``)."""
