"""The AAM cell: DINOv3 backbone + DPT-style hyperbolic head (released ``DPT`` / ``DPTHead``).

Head, for backbone levels f₁..f₄ (N frames, h·w tokens, C channels) and text t:
  P_i = Conv₁ₓ₁(f_i) → [96, 192, 384, 768] ch.; video: P₃, P₄ ← FPD over each clip's T frames;
  audio: P₄ ← audio-visual fusion (per frame)
  z_img = exp₀(e^α_v W_v GAP(P₄)), z_txt = exp₀(e^α_t W_t t), z_anc = exp₀(e^α_t a)  (no clip)
  d₀ = SiLU(GN₃₂(Conv₁ₓ₁ P₄)); d_k = SE(fuse_k([stage_k(d_{k−1}, t, z_txt); resize(P_{4−k})]))
  logits = Gaussian-bias head(d₃, t, z_txt);  map = σ(bilinear_align_corners(logits, H×W))

Video convention: the released code feeds one clip with time as the batch axis; here video is
(B, T, 3, H, W), the backbone and decoder see the B·T frames, the FPD sees (B, C, T, h, w).
A missing prompt (``text_emb=None``) follows the released code: the dataset-less sample uses the
CLIP embedding of the "None" prompt ("generic visual stimulus … free-viewing"), which the caller
sets once with :meth:`AAM.set_none_prompt`; z_anc is always the learned anchor.
"""
import math

import numpy as np
from mindspore import Parameter, Tensor, nn, ops

from ..geometry import lorentz
from .av_fusion import SelectiveAudioVisualFusion
from .backbones.dinov3 import INTERMEDIATE_LAYERS, build_dinov3, canonical_variant
from .decoder import DecoderStage, SELayer, conv_norm_act, resize_like
from .fpd import FokkerPlanckDynamics
from .head import GaussianBiasHead
from .projections import build_projections

FPD_LEVELS = (2, 3)   # levels (0-based) that carry temporal dynamics in video mode


def upsample_prob(logits, hh, ww):
    """σ(bilinear_align_corners(logits, H × W))."""
    return ops.sigmoid(ops.interpolate(logits, size=(hh, ww), mode="bilinear", align_corners=True))


class AAMHead(nn.Cell):
    """DPT-style head (released ``DPTHead``); parameter names mirror its state dict."""

    def __init__(self, in_channels, out_channels=(96, 192, 384, 768), features=256,
                 decoder_channels=(128, 64, 32), se_reduction=(16, 8, 4), hyp_dim=128,
                 text_dim=768, audio_dim=512, fusion_hidden=256, fusion_dropout=0.1, fpd_frames=64,
                 fpd_heads=8,
                 curv_init=1.0, fp_cfl=False, nclass=1):
        super().__init__()
        c1, c2, c3, c4 = out_channels
        d1, d2, d3 = decoder_channels
        self.projects = build_projections(in_channels, out_channels)
        self.av_fusion = SelectiveAudioVisualFusion(c4, audio_dim, fusion_hidden,
                                                    dropout=fusion_dropout)
        # Five FPD blocks as released (levels 1-4 and the 256-wide start); only levels 3 and 4
        # run. The others stay so released checkpoints load and parameter counts match.
        self.motion_modules = nn.CellList([
            FokkerPlanckDynamics(c, num_frames=fpd_frames, num_heads=fpd_heads, fp_cfl=fp_cfl)
            for c in (c1, c2, c3, c4, features)])
        self.curv = Parameter(Tensor(np.float32(math.log(curv_init))))
        self.visual_alpha = Parameter(Tensor(np.float32(math.log(hyp_dim ** -0.5))))
        self.textual_alpha = Parameter(Tensor(np.float32(math.log(hyp_dim ** -0.5))))
        self.visual_proj = nn.Dense(c4, hyp_dim, has_bias=False)
        self.textual_proj = nn.Dense(text_dim, hyp_dim, has_bias=False)
        self.none_anchor_tan = Parameter(Tensor(np.zeros((1, hyp_dim), np.float32)))
        self.decoder_stage1 = DecoderStage(features, d1, text_dim, hyp_dim, curv=curv_init)
        self.decoder_stage2 = DecoderStage(d1, d2, text_dim, hyp_dim, curv=curv_init)
        self.decoder_stage3 = DecoderStage(d2, d3, text_dim, hyp_dim, curv=curv_init)
        self.decoder_out = GaussianBiasHead(d3, nclass, text_dim, hyp_dim=hyp_dim, curv=curv_init)
        self.start_proj = conv_norm_act(c4, features, 32)
        self.fuse1 = conv_norm_act(d1 + c3, d1, 8)
        self.fuse2 = conv_norm_act(d2 + c2, d2, 8)
        self.fuse3 = conv_norm_act(d3 + c1, d3, 8)
        self.se1 = SELayer(d1, se_reduction[0])
        self.se2 = SELayer(d2, se_reduction[1])
        self.se3 = SELayer(d3, se_reduction[2])

    def _motion(self, i, x, clip_len):
        """(B·T, C, h, w) → FPD over time per clip → (B·T, C, h, w)."""
        n, c, h, w = x.shape
        xt = x.reshape(n // clip_len, clip_len, c, h, w).transpose(0, 2, 1, 3, 4)
        xt = self.motion_modules[i](xt)
        return xt.transpose(0, 2, 1, 3, 4).reshape(n, c, h, w)

    def levels(self, features, patch_h, patch_w, audio_emb=None, clip_len=0):
        """The clip-level part: P₁..P₄ = Conv₁ₓ₁(f_i) as maps (N, C_i, h, w); video: P₃, P₄ ←
        FPD over each clip; audio: P₄ ← fusion. → (P₁, P₂, P₃, P₄), gate (None without audio).
        Everything after this is per frame (:meth:`decode_levels`)."""
        outs = ()
        for i in range(4):
            f = features[i]
            x = f.transpose(0, 2, 1).reshape(f.shape[0], f.shape[2], patch_h, patch_w)
            x = self.projects[i](x)
            if clip_len > 0 and i in FPD_LEVELS:
                x = self._motion(i, x, clip_len)
            outs = outs + (x,)
        layer_1, layer_2, layer_3, layer_4 = outs
        gate = None
        if clip_len > 0 and audio_emb is not None:
            layer_4, gate = self.av_fusion(layer_4, audio_emb)
        return (layer_1, layer_2, layer_3, layer_4), gate

    def decode_levels(self, layers, text_emb):
        """The per-frame part: hyperbolic embeddings and the decoder on P₁..P₄ of n frames
        with their prompt rows (n, D_t) → logits (n, 1, h·8, w·8), z_img, z_txt, z_anc, c."""
        layer_1, layer_2, layer_3, layer_4 = layers
        curv = lorentz.clamp_log_curv(self.curv)
        n = layer_4.shape[0]
        z_img = lorentz.encode(self.visual_proj(ops.mean(layer_4, (2, 3))), self.visual_alpha, curv)
        z_txt = lorentz.encode(self.textual_proj(text_emb), self.textual_alpha, curv)
        z_anc = ops.broadcast_to(lorentz.encode(self.none_anchor_tan, self.textual_alpha, curv),
                                 (n, self.none_anchor_tan.shape[-1]))

        d = self.start_proj(layer_4)
        d = self.decoder_stage1(d, text_emb, z_txt)
        d = self.se1(self.fuse1(ops.concat((d, resize_like(layer_3, d)), 1)))
        d = self.decoder_stage2(d, text_emb, z_txt)
        d = self.se2(self.fuse2(ops.concat((d, resize_like(layer_2, d)), 1)))
        d = self.decoder_stage3(d, text_emb, z_txt)
        d = self.se3(self.fuse3(ops.concat((d, resize_like(layer_1, d)), 1)))
        logits = self.decoder_out(d, text_emb, z_txt)
        return logits, z_img, z_txt, z_anc, curv

    def construct(self, features, patch_h, patch_w, text_emb, audio_emb=None, clip_len=0):
        """features: 4 × (N, h·w, C); text_emb (N, D_t); audio_emb (N, D_a) or None;
        clip_len T > 0 runs the video path on N = B·T frames.
        → logits, z_img, z_txt, z_anc, c, and the audio relevance gate (N, 1, 1) (None
        without audio; the gate-sparsity loss needs it)."""
        layers, gate = self.levels(features, patch_h, patch_w, audio_emb, clip_len)
        logits, z_img, z_txt, z_anc, curv = self.decode_levels(layers, text_emb)
        return logits, z_img, z_txt, z_anc, curv, gate


class AAM(nn.Cell):
    """Attend to Anything Model.

    ``construct(x, text_emb=None, audio_emb=None)``:
      x: image (B, 3, H, W) or video (B, T, 3, H, W), H, W multiples of 16, ImageNet-normalised;
      text_emb: (B, D_t) or (1, D_t) (broadcast), or None → the "None" prompt embedding;
      audio_emb (video only): (B, T, D_a) or (T, D_a) for B = 1.
    Returns (pred, z_img, z_txt, z_anc, curv): pred in (0, 1), (B, 1, H, W) for images and
    (B, T, 1, H, W) for video; z_* (N, hyp_dim) with N = B (image) or B·T (video, frame-major
    per clip as in the released time-as-batch convention); curv a scalar.
    """

    def __init__(self, variant="vitl16", lora_r=32, lora_alpha=64, lora_dropout=0.05,
                 lora_last_n=None, intermediate_layers=None, rope_rescale=2.0, **head_kwargs):
        super().__init__()
        variant = canonical_variant(variant)
        self.variant = variant
        self.backbone = build_dinov3(variant, lora_r, lora_alpha, lora_dropout, lora_last_n,
                                     rope_rescale)
        self.intermediate_layers = tuple(intermediate_layers or INTERMEDIATE_LAYERS[variant])
        self.patch_size = self.backbone.patch_size
        self.head = AAMHead(self.backbone.embed_dim, **head_kwargs)
        self.text_dim = self.head.textual_proj.in_channels
        self.audio_dim = self.head.av_fusion.audio_dim
        self.none_prompt_emb = None

    def set_none_prompt(self, emb):
        """Embedding (1, D_t) used when ``text_emb`` is None (the released "None" prompt)."""
        emb = Tensor(np.asarray(emb, np.float32).reshape(1, -1))
        if emb.shape[-1] != self.text_dim:
            raise ValueError(f"set_none_prompt: expected {self.text_dim} values, got {emb.shape[-1]}")
        self.none_prompt_emb = emb

    def frame_text(self, text_emb, b, t=0):
        """Prompt rows per frame: (B, D_t) or (1, D_t) (None → the "None" prompt) →
        (B, D_t) for images (t = 0) or (B·T, D_t), frame-major per clip, for video."""
        if text_emb is None:
            if self.none_prompt_emb is None:
                raise ValueError("AAM: text_emb is None and no 'None'-prompt embedding is set; "
                                 "call set_none_prompt(clip_encode(PROMPTS['None'])) first")
            text_emb = self.none_prompt_emb
        if text_emb.ndim != 2 or text_emb.shape[-1] != self.text_dim:
            raise ValueError("AAM: text_emb must be (B, " + str(self.text_dim) + ") or (1, "
                             + str(self.text_dim) + "), got " + str(text_emb.shape))
        if text_emb.shape[0] != b and text_emb.shape[0] != 1:
            raise ValueError("AAM: text_emb has " + str(text_emb.shape[0]) + " rows for a batch of "
                             + str(b))
        text = ops.broadcast_to(text_emb, (b, self.text_dim))
        if t == 0:
            return text
        return ops.broadcast_to(text[:, None], (b, t, self.text_dim)).reshape(b * t, self.text_dim)

    def frame_audio(self, audio_emb, b, t):
        """Audio rows per frame: (B, T, D_a) or (T, D_a) → (B·T, D_a); None stays None."""
        if audio_emb is None:
            return None
        if t == 0:
            raise ValueError("AAM: audio_emb is only used with video input (B, T, 3, H, W)")
        if audio_emb.ndim == 2:
            audio_emb = audio_emb.reshape(1, audio_emb.shape[0], audio_emb.shape[1])
        if audio_emb.ndim != 3 or audio_emb.shape[0] != b or audio_emb.shape[1] != t \
                or audio_emb.shape[2] != self.audio_dim:
            raise ValueError("AAM: audio_emb must be (B, T, " + str(self.audio_dim) + ") or (T, "
                             + str(self.audio_dim) + ") with B=" + str(b) + ", T=" + str(t)
                             + ", got " + str(audio_emb.shape))
        return audio_emb.reshape(b * t, self.audio_dim)

    def decode(self, feats, hh, ww, text, audio=None, t=0):
        """Head on backbone levels of N frames (images, or B clips of T frames frame-major):
        → pred (N, 1, H, W) = σ(bilinear_align_corners(logits)), z_img, z_txt, z_anc, c, gate.
        Equals ``head.levels`` on all N frames followed by :meth:`decode_frames` on any split
        of the frames (the decoder is per frame)."""
        logits, z_img, z_txt, z_anc, curv, gate = self.head(
            feats, hh // self.patch_size, ww // self.patch_size, text, audio, t)
        return upsample_prob(logits, hh, ww), z_img, z_txt, z_anc, curv, gate

    def decode_frames(self, layers, hh, ww, text):
        """The per-frame part of :meth:`decode` on P₁..P₄ of n frames (from ``head.levels``)
        and their prompt rows (n, D_t) → pred (n, 1, H, W), z_img, z_txt, z_anc, c. Calling it
        as separate graphs on chunks of frames bounds the decoder's full-resolution maps to one
        chunk (a single GRAPH keeps every intermediate it computes, chunked inside or not)."""
        logits, z_img, z_txt, z_anc, curv = self.head.decode_levels(layers, text)
        return upsample_prob(logits, hh, ww), z_img, z_txt, z_anc, curv

    def construct(self, x, text_emb=None, audio_emb=None):
        return self.forward_train(x, text_emb, audio_emb)[:5]

    def forward_train(self, x, text_emb=None, audio_emb=None):
        """As ``construct``, plus the audio relevance gate (B·T, 1, 1) (None without audio),
        which the gate-sparsity loss needs."""
        if x.ndim == 4:
            b, t = x.shape[0], 0
            frames = x
        elif x.ndim == 5:
            b, t = x.shape[0], x.shape[1]
            frames = x.reshape(b * t, x.shape[2], x.shape[3], x.shape[4])
        else:
            raise ValueError("AAM: x must be an image batch (B, 3, H, W) or a video batch "
                             "(B, T, 3, H, W), got shape " + str(x.shape))
        hh, ww = x.shape[-2], x.shape[-1]
        if x.shape[-3] != 3:
            raise ValueError("AAM: x must have 3 colour channels, got shape " + str(x.shape))
        if hh % self.patch_size != 0 or ww % self.patch_size != 0:
            raise ValueError("AAM: H and W must be multiples of " + str(self.patch_size)
                             + ", got H=" + str(hh) + ", W=" + str(ww))
        text = self.frame_text(text_emb, b, t)
        audio = self.frame_audio(audio_emb, b, t)
        feats = self.backbone.get_intermediate_layers(frames, self.intermediate_layers)
        pred, z_img, z_txt, z_anc, curv, gate = self.decode(feats, hh, ww, text, audio, t)
        if t > 0:
            pred = pred.reshape(b, t, pred.shape[1], hh, ww)
        return pred, z_img, z_txt, z_anc, curv, gate
