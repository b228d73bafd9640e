"""Wav2CLIP audio encoder (Wu et al. 2022; ``descriptinc/lyrebird-wav2clip``), frozen in AAM.

    a(x) = MLP(ResNet18₁(Ŝ(x)))  ∈ R⁵¹²,   x a 16 kHz mono waveform
Ŝ: normalised log power spectrogram (``aam_ms.audio.features``; n_fft 512, hop 353);
ResNet18₁: torchvision ResNet-18 layout with a 1-channel 7×7 stem, global average pool, no fc;
MLP: Linear → ReLU → Dropout(0.1) → Linear (the released ``transform``, 512 → 512 → 512).
Names mirror the released checkpoint (``audio_encoder.*`` → ``encoder.*``,
``audio_transform.*`` → ``transform.*``). BatchNorm uses its moving statistics (eval mode).
"""
from dataclasses import dataclass

import mindspore as ms
from mindspore import nn

from aam_ms.audio.features import (SAMPLE_RATE, LogSpectrogram, as_batch, centred_windows,
                                   frame_signal, resample)


@dataclass(frozen=True)
class Wav2CLIPConfig:
    widths: tuple = (64, 128, 256, 512)
    blocks: tuple = (2, 2, 2, 2)
    transform_units: tuple = (512, 512, 512)   # () for the encoder without the MLP
    n_fft: int = 512
    hop_length: int = 353
    normalisation: str = "batch"               # "batch" (released) or "clip"


def _conv(cin, cout, k, stride=1):
    return nn.Conv2d(cin, cout, k, stride=stride, pad_mode="pad", padding=k // 2, has_bias=False)


class BasicBlock(nn.Cell):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = _conv(cin, cout, 3, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = _conv(cout, cout, 3)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = (nn.SequentialCell([_conv(cin, cout, 1, stride), nn.BatchNorm2d(cout)])
                           if stride != 1 or cin != cout else None)

    def construct(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class AudioResNet(nn.Cell):
    """Spectrogram front end + ResNet-18 trunk → (B, widths[-1])."""

    def __init__(self, config):
        super().__init__()
        c = config
        self.spectrogram = LogSpectrogram(c.n_fft, c.hop_length, c.normalisation)
        self.conv1 = nn.Conv2d(1, c.widths[0], 7, stride=2, pad_mode="pad", padding=3,
                               has_bias=False)
        self.bn1 = nn.BatchNorm2d(c.widths[0])
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, pad_mode="pad", padding=1)
        if len(c.widths) != 4 or len(c.blocks) != 4:
            raise ValueError(f"Wav2CLIP ResNet has 4 stages, got widths {c.widths}, "
                             f"blocks {c.blocks}")
        cin = c.widths[0]
        for i, (w, n) in enumerate(zip(c.widths, c.blocks)):
            stride = 1 if i == 0 else 2
            layer = []
            for j in range(n):
                layer.append(BasicBlock(cin, w, stride if j == 0 else 1))
                cin = w
            setattr(self, f"layer{i + 1}", nn.SequentialCell(layer))

    def construct(self, wave):
        x = self.spectrogram(wave)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return x.mean(axis=(2, 3))


class MLPLayers(nn.Cell):
    """Linear → ReLU → Dropout → … → Linear; Dense cells at indices 0, 3, 6, …"""

    def __init__(self, units, dropout=0.1):
        super().__init__()
        seq = []
        for u0, u1 in zip(units[:-1], units[1:]):
            seq += [nn.Dense(u0, u1), nn.ReLU(), nn.Dropout(p=dropout)]
        self.sequential = nn.SequentialCell(seq[:-2])

    def construct(self, x):
        return self.sequential(x)


class Wav2CLIP(nn.Cell):
    """16 kHz waveform (B, L) → clip embedding (B, D); D = transform_units[-1] (512)."""

    def __init__(self, config=Wav2CLIPConfig()):
        super().__init__()
        self.config = config
        self.encoder = AudioResNet(config)
        self.transform = MLPLayers(list(config.transform_units)) if config.transform_units else None
        if config.transform_units and config.transform_units[0] != config.widths[-1]:
            raise ValueError(f"transform_units[0]={config.transform_units[0]} must equal the "
                             f"ResNet width {config.widths[-1]}")

    def construct(self, wave):
        feat = self.encoder(wave)
        if self.transform is not None:
            feat = self.transform(feat)
        return feat

    @property
    def min_samples(self):
        """Shortest input the centred reflect padding accepts."""
        return self.config.n_fft // 2 + 1

    def _run(self, batch):
        return self(ms.Tensor(batch)).asnumpy()

    def embed(self, wave, sample_rate=SAMPLE_RATE):
        """Clip-level embeddings (B, D) of (L,), (B, L) or (B, 1, L) audio at any rate."""
        wave = as_batch(wave)
        wave = as_batch(resample(wave, sample_rate), min_length=self.min_samples)
        return self._run(wave)

    def embed_frames(self, wave, frame_length, hop_length, sample_rate=SAMPLE_RATE):
        """Wav2CLIP frame mode: windows of ``frame_length`` samples every ``hop_length`` (both
        at 16 kHz, no padding) → (B, n, D). With "batch" normalisation the statistics span all
        B·n windows, as in the original."""
        wave = resample(as_batch(wave), sample_rate)
        if frame_length < self.min_samples:
            raise ValueError(f"frame_length {frame_length} < {self.min_samples} samples")
        frames = frame_signal(wave, frame_length, hop_length)
        b, n, _ = frames.shape
        return self._run(frames.reshape(b * n, frame_length)).reshape(b, n, -1)

    def embed_centred(self, wave, times, sample_rate=SAMPLE_RATE, context_sec=2.0):
        """AAM's per-frame audio tokens: one 2 s window centred on each time in ``times``
        (seconds; zeros beyond the signal), resampled to 16 kHz → (T, D)."""
        windows = centred_windows(wave, sample_rate, times, context_sec)
        windows = as_batch(resample(windows, sample_rate), min_length=self.min_samples)
        return self._run(windows)


__all__ = ["Wav2CLIP", "Wav2CLIPConfig", "AudioResNet", "MLPLayers", "BasicBlock"]
