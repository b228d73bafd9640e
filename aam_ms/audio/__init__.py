"""Audio front end: waveform checks, resampling to 16 kHz, framing, log spectrogram."""
from .features import LogSpectrogram, as_batch, centred_windows, frame_signal, resample

__all__ = ["LogSpectrogram", "as_batch", "centred_windows", "frame_signal", "resample"]
