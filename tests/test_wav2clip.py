"""Wav2CLIP: parity with an independent torch reference laid out as the released package
(ResNet with the spectrogram inside, ``audio_encoder.*`` / ``audio_transform.*`` checkpoint),
GRAPH mode, frame modes, normalisation batch dependence, resampling, clear errors, CLI."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import mindspore as ms  # noqa: E402
from torch import nn  # noqa: E402

from aam_ms.audio.features import centred_windows, frame_signal, resample  # noqa: E402
from aam_ms.convert import wav2clip as conv  # noqa: E402
from aam_ms.cli import run  # noqa: E402
from aam_ms.convert.__main__ import main as convert_main  # noqa: E402
from aam_ms.weights import load_weights, set_params  # noqa: E402
from aam_ms.models.encoders.wav2clip import Wav2CLIP, Wav2CLIPConfig  # noqa: E402

WIDTHS, UNITS = (8, 16, 32, 64), (64, 64, 64)


# ---- torch reference (structure of wav2clip/model/resnet.py + encoder.py) -------------------
class RefBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class RefSpectrogram(nn.Module):
    def __init__(self, n_fft=512, hop=353):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.register_buffer("window", torch.hann_window(n_fft))

    def forward(self, x):
        shape = x.shape
        spec = torch.stft(x.reshape(-1, shape[-1]), self.n_fft, self.hop, self.n_fft, self.window,
                          center=True, pad_mode="reflect", normalized=False, onesided=True,
                          return_complex=True).abs().pow(2.0)
        return spec.reshape(shape[:-1] + spec.shape[-2:])


class RefResNet(nn.Module):
    def __init__(self, widths):
        super().__init__()
        self.spectrogram = RefSpectrogram()
        self.conv1 = nn.Conv2d(1, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = widths[0]
        for i, w in enumerate(widths):
            s = 1 if i == 0 else 2
            setattr(self, f"layer{i + 1}", nn.Sequential(RefBlock(cin, w, s), RefBlock(w, w, 1)))
            cin = w
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))

    def forward(self, x):
        x = self.spectrogram(x.unsqueeze(1))
        x = torch.log(x + 1e-7)
        x = (x - torch.mean(x)) / (torch.std(x) + 1e-9)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.avgpool(x).reshape(x.size(0), -1)


class RefMLP(nn.Module):
    def __init__(self, units):
        super().__init__()
        seq = []
        for u0, u1 in zip(units[:-1], units[1:]):
            seq += [nn.Linear(u0, u1), nn.ReLU(), nn.Dropout(0.1)]
        self.sequential = nn.Sequential(*seq[:-2])

    def forward(self, x):
        return self.sequential(x)


class RefExtractor(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder, self.transform = RefResNet(WIDTHS), RefMLP(UNITS)

    def forward(self, x):
        return self.transform(self.encoder(x))

    def frames(self, x, frame_length, hop):
        f = np.lib.stride_tricks.sliding_window_view(x.numpy(), frame_length, axis=-1)[:, ::hop]
        b, n, _ = f.shape
        out = self(torch.from_numpy(np.ascontiguousarray(f)).reshape(b * n, frame_length))
        return out.reshape(b, n, -1).swapaxes(1, 2)  # (B, D, n) as the released frame mode


@pytest.fixture(scope="module")
def ref():
    torch.manual_seed(0)
    model = RefExtractor()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.normal_(1.0, 0.2), m.bias.normal_(0, 0.2)
                m.running_mean.normal_(0, 0.2), m.running_var.uniform_(0.5, 1.5)
    return model.eval()


def _checkpoint(ref):
    """A checkpoint laid out as Wav2CLIP.pt: audio tower, image MLP, loss temperatures."""
    ck = {"audio_encoder." + k: v for k, v in ref.encoder.state_dict().items()}
    ck.update({"audio_transform." + k: v for k, v in ref.transform.state_dict().items()})
    ck.update({"image_transform." + k: v.clone() for k, v in ref.transform.state_dict().items()})
    ck["loss_fn_a.logit_scale"] = torch.tensor(2.66)
    return ck


def _np(ck):
    return {k: v.numpy() for k, v in ck.items()}


@pytest.fixture(scope="module")
def ours(ref):
    params, report = conv.convert_state_dict(_np(_checkpoint(ref)))
    assert report.ok and not report.unexpected, report.summary()
    model = set_params(Wav2CLIP(conv.config_from_state_dict(_np(_checkpoint(ref)))), params)
    model.set_train(False)
    return model


def _audio(b, n, seed=0):
    return (0.3 * np.random.default_rng(seed).standard_normal((b, n))).astype(np.float32)


def test_clip_parity_pynative_and_graph(ref, ours):
    x = _audio(3, 16000)
    with torch.no_grad():
        want = ref(torch.from_numpy(x)).numpy()
    got = ours.embed(x)
    assert got.shape == (3, 64)
    assert np.abs(got - want).max() <= 1e-4
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        got_graph = ours(ms.Tensor(x)).asnumpy()
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    assert np.abs(got_graph - want).max() <= 1e-4


def test_frame_mode_parity(ref, ours):
    x = _audio(2, 12000, seed=1)
    with torch.no_grad():
        want = ref.frames(torch.from_numpy(x), 4000, 2000).numpy()
    got = ours.embed_frames(x, 4000, 2000)
    assert got.shape == (2, 5, 64)
    assert np.abs(got.transpose(0, 2, 1) - want).max() <= 1e-4


def test_normalisation_batch_dependence(ref, ours):
    x = _audio(2, 8000, seed=2)
    x[1] *= 20.0
    alone, together = ours.embed(x[:1]), ours.embed(x)[:1]
    assert np.abs(alone - together).max() > 1e-3  # released "batch" statistics couple clips
    cfg = Wav2CLIPConfig(widths=WIDTHS, transform_units=UNITS, normalisation="clip")
    per_clip = Wav2CLIP(cfg)
    ms.load_param_into_net(per_clip, {p.name: p for p in ours.get_parameters()}, strict_load=True)
    per_clip.set_train(False)
    assert np.abs(per_clip.embed(x[:1]) - per_clip.embed(x)[:1]).max() <= 1e-5
    assert np.abs(per_clip.embed(x[:1]) - alone).max() <= 1e-4  # one clip: same statistics


def test_resampling_and_centred_windows(ours):
    x48 = _audio(1, 24000, seed=3)
    assert np.abs(ours.embed(x48, sample_rate=48000) - ours.embed(resample(x48, 48000))).max() == 0
    assert resample(x48, 48000).shape == (1, 8000)
    t = np.sin(2 * np.pi * 440 * np.arange(16000) / 16000).astype(np.float32)
    y = resample(resample(t, 16000, 48000), 48000, 16000)
    assert np.abs(y[1000:-1000] - t[1000:-1000]).max() < 1e-2
    sig = np.arange(1, 101, dtype=np.float32)
    w = centred_windows(sig, 10, [0.0, 5.0, 9.9], context_sec=2.0)
    assert w.shape == (3, 20)
    assert w[0, :10].tolist() == [0] * 10 and w[0, 10:].tolist() == list(range(1, 11))
    assert w[1].tolist() == list(range(41, 61))
    assert w[2, :10].tolist() == list(range(90, 100)) and w[2, 11:].tolist() == [0] * 9
    emb = ours.embed_centred(_audio(1, 48000, seed=4)[0], [0.0, 1.0, 2.9], sample_rate=48000)
    assert emb.shape == (3, 64) and np.isfinite(emb).all()
    assert frame_signal(np.arange(10.0), 4, 3).tolist() == [[[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]]


def test_bad_audio_errors(ours):
    with pytest.raises(ValueError, match="empty audio"):
        ours.embed(np.zeros((2, 0), np.float32))
    with pytest.raises(ValueError, match=r"mono waveform .* got shape \(2, 2, 100\)"):
        ours.embed(np.zeros((2, 2, 100), np.float32))
    with pytest.raises(ValueError, match="too short"):
        ours.embed(np.zeros(100, np.float32))
    with pytest.raises(ValueError, match="NaN or Inf"):
        ours.embed(np.full(1000, np.nan, np.float32))
    with pytest.raises(ValueError, match="sample rates must be positive integers"):
        ours.embed(np.zeros(1000), sample_rate=0)


def test_checkpoint_errors(ref):
    ck = _np(_checkpoint(ref))
    with pytest.raises(ValueError, match="not a Wav2CLIP checkpoint"):
        conv.convert_state_dict({"token_embedding.weight": np.zeros((10, 4))})
    bad = dict(ck)
    bad["audio_encoder.layer2.0.conv2.weight"] = np.zeros((16, 16, 5, 5), np.float32)
    bad["audio_encoder.fc.weight"] = np.zeros((309, 64), np.float32)
    del bad["audio_transform.sequential.3.bias"]
    bad["audio_encoder.spectrogram.window"] = np.ones(512, np.float32)
    _, report = conv.convert_state_dict(bad)
    assert report.unexpected == ["audio_encoder.fc.weight"]
    assert report.missing == ["transform.sequential.3.bias"]
    assert sorted(s.split(":")[0] for s in report.shape_mismatch) == \
        ["audio_encoder.layer2.0.conv2.weight", "audio_encoder.spectrogram.window"]
    assert not report.ok


def test_cli_and_loader(ref, ours, tmp_path):
    src, dst = tmp_path / "Wav2CLIP.pt", tmp_path / "wav2clip.ckpt"
    torch.save(_checkpoint(ref), str(src))
    assert convert_main(["wav2clip", str(src), str(dst)]) == 0
    loaded = ms.load_checkpoint(str(dst))
    assert np.array_equal(loaded["encoder.bn1.moving_variance"].asnumpy(),
                          ref.encoder.bn1.running_var.numpy())
    model = Wav2CLIP(conv.config_from_state_dict(_np(_checkpoint(ref))))
    assert load_weights(model, str(src)).ok          # the released .pt, converted on load
    model.set_train(False)
    x = _audio(2, 8000, seed=5)
    assert np.abs(model.embed(x) - ours.embed(x)).max() == 0
    ck = _checkpoint(ref)
    ck["audio_encoder.layer1.0.conv1.weight"] = torch.zeros(8, 8, 5, 5)
    torch.save(ck, str(src))
    assert run(convert_main, ["wav2clip", str(src), str(tmp_path / "partial.ckpt")]) == 2
    assert not (tmp_path / "partial.ckpt").exists()
