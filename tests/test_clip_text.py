"""CLIP text tower: HF CLIPTextModelWithProjection vs ours after conversion, OpenAI naming,
GRAPH mode, converter errors, prompt cache and the converter CLI."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
import mindspore as ms  # noqa: E402

from aam_ms.convert import clip as conv  # noqa: E402
from aam_ms.cli import run  # noqa: E402
from aam_ms.convert.__main__ import main as convert_main  # noqa: E402
from aam_ms.weights import set_params  # noqa: E402
from aam_ms.models.encoders.clip_text import CLIPTextConfig, CLIPTextEncoder  # noqa: E402

VOCAB, WIDTH, LAYERS, HEADS, EMBED = 99, 32, 2, 4, 16


@pytest.fixture(scope="module")
def hf_model():
    torch.manual_seed(0)
    cfg = transformers.CLIPTextConfig(vocab_size=VOCAB, hidden_size=WIDTH, intermediate_size=4 * WIDTH,
                                      num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                                      projection_dim=EMBED, max_position_embeddings=77,
                                      bos_token_id=VOCAB - 2, eos_token_id=VOCAB - 1)
    model = transformers.CLIPTextModelWithProjection(cfg).eval()
    with torch.no_grad():  # LayerNorms away from (1, 0), biases non-zero: every tensor matters
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


def _ids(n=3, seed=0):
    rng = np.random.default_rng(seed)
    ids = np.zeros((n, 77), np.int64)
    for i, length in enumerate(rng.integers(1, 75, n)):
        ids[i, 0] = VOCAB - 2
        ids[i, 1:length + 1] = rng.integers(1, VOCAB - 2, length)
        ids[i, length + 1] = VOCAB - 1  # end token = the largest id, as in CLIP
    ids[-1, :] = rng.integers(1, VOCAB - 2, 77)
    ids[-1, 0], ids[-1, -1] = VOCAB - 2, VOCAB - 1  # a full-length row
    return ids


def _hf_sd(model):
    return {k: v.detach().numpy() for k, v in model.state_dict().items()}


def _openai_sd(hf_sd):
    """OpenAI naming built from the HF tensors (q/k/v fused, projection transposed) plus an
    image tower and the scalar entries an OpenAI file carries."""
    sd = {"token_embedding.weight": hf_sd["text_model.embeddings.token_embedding.weight"],
          "positional_embedding": hf_sd["text_model.embeddings.position_embedding.weight"],
          "text_projection": hf_sd["text_projection.weight"].T.copy(),
          "ln_final.weight": hf_sd["text_model.final_layer_norm.weight"],
          "ln_final.bias": hf_sd["text_model.final_layer_norm.bias"],
          "visual.conv1.weight": np.zeros((8, 3, 14, 14), np.float32),
          "visual.proj": np.zeros((8, EMBED), np.float32), "logit_scale": np.float32(4.6),
          "input_resolution": np.int64(224), "context_length": np.int64(77),
          "vocab_size": np.int64(VOCAB)}
    for i in range(LAYERS):
        h, o = f"text_model.encoder.layers.{i}.", f"transformer.resblocks.{i}."
        for t in ("weight", "bias"):
            sd[o + f"attn.in_proj_{t}"] = np.concatenate(
                [hf_sd[h + f"self_attn.{q}_proj.{t}"] for q in "qkv"])
            sd[o + f"attn.out_proj.{t}"] = hf_sd[h + f"self_attn.out_proj.{t}"]
            sd[o + f"ln_1.{t}"] = hf_sd[h + f"layer_norm1.{t}"]
            sd[o + f"ln_2.{t}"] = hf_sd[h + f"layer_norm2.{t}"]
            sd[o + f"mlp.c_fc.{t}"] = hf_sd[h + f"mlp.fc1.{t}"]
            sd[o + f"mlp.c_proj.{t}"] = hf_sd[h + f"mlp.fc2.{t}"]
    return sd


def _ours(params):
    cfg = CLIPTextConfig(vocab_size=VOCAB, width=WIDTH, layers=LAYERS, heads=HEADS, embed_dim=EMBED)
    model = set_params(CLIPTextEncoder(cfg), params)
    model.set_train(False)
    return model


def test_hf_parity_pynative_and_graph(hf_model):
    ids = _ids()
    with torch.no_grad():
        ref = hf_model(input_ids=torch.from_numpy(ids)).text_embeds.numpy()
    params, report = conv.convert_state_dict(_hf_sd(hf_model), heads=HEADS)
    assert report.ok, report.summary()
    assert len(report.mapped) == 4 + 12 * LAYERS + 1
    model = _ours(params)
    out = model(ms.Tensor(ids.astype(np.int32))).asnumpy()
    assert out.shape == (3, EMBED)
    assert np.abs(out - ref).max() <= 1e-4
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        out_graph = model(ms.Tensor(ids.astype(np.int32))).asnumpy()
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    assert np.abs(out_graph - ref).max() <= 1e-4


def test_openai_naming_loads_with_no_unexpected_keys(hf_model):
    hf_sd = _hf_sd(hf_model)
    p_hf, _ = conv.convert_state_dict(hf_sd, heads=HEADS)
    p_oa, report = conv.convert_state_dict(_openai_sd(hf_sd), heads=HEADS)
    assert report.ok and not report.unexpected, report.summary()
    assert set(p_oa) == set(p_hf)
    assert all(np.array_equal(p_oa[k], p_hf[k]) for k in p_hf)
    cfg = conv.config_from_state_dict(_openai_sd(hf_sd), heads=HEADS)
    assert (cfg.vocab_size, cfg.width, cfg.layers, cfg.embed_dim) == (VOCAB, WIDTH, LAYERS, EMBED)
    # OpenAI's head rule for real checkpoints: width // 64 (ViT-L/14 text: 768 → 12)
    assert conv.config_from_state_dict(
        {"token_embedding.weight": np.zeros((49408, 768)), "positional_embedding": np.zeros((77, 768)),
         "text_projection": np.zeros((768, 768))}).heads == 12


def test_disagreeing_checkpoints_are_reported(hf_model):
    hf_sd = _hf_sd(hf_model)
    wrong = dict(hf_sd)
    del wrong["text_projection.weight"]                       # CLIPTextModel without projection
    wrong["text_model.encoder.layers.0.mlp.fc1.weight"] = np.zeros((7, WIDTH), np.float32)
    wrong["text_model.pooler.dense.weight"] = np.zeros((2, 2), np.float32)
    with pytest.raises(ValueError, match="text_projection"):
        conv.convert_state_dict(wrong, heads=HEADS)           # config cannot even be read
    cfg = CLIPTextConfig(vocab_size=VOCAB, width=WIDTH, layers=LAYERS, heads=HEADS, embed_dim=EMBED)
    _, report = conv.convert_state_dict(wrong, config=cfg)
    assert report.missing == ["text_projection"]
    assert report.unexpected == ["text_model.pooler.dense.weight"]
    assert len(report.shape_mismatch) == 1 and "mlp.c_fc.weight" in report.shape_mismatch[0]
    with pytest.raises(ValueError, match="refusing a partial load"):
        report.raise_if_partial("x.bin")
    deeper = CLIPTextConfig(vocab_size=VOCAB, width=WIDTH, layers=LAYERS + 1, heads=HEADS, embed_dim=EMBED)
    _, report = conv.convert_state_dict(hf_sd, config=deeper)
    assert len(report.missing) == 12 and all(m.startswith("transformer.resblocks.2.") for m in report.missing)
    with pytest.raises(ValueError, match="not a CLIP text-tower"):
        conv.convert_state_dict({"audio_encoder.conv1.weight": np.zeros((4, 1, 7, 7))})


def test_cli_converts_and_refuses_partial(hf_model, tmp_path, capsys):
    from safetensors.numpy import save_file
    hf_sd = {k: np.ascontiguousarray(v) for k, v in _hf_sd(hf_model).items()}
    src = tmp_path / "model.safetensors"
    save_file(hf_sd, str(src))
    dst = tmp_path / "clip_text.ckpt"
    assert convert_main(["clip", str(src), str(dst), "--heads", str(HEADS)]) == 0
    loaded = ms.load_checkpoint(str(dst))
    ref, _ = conv.convert_state_dict(hf_sd, heads=HEADS)
    assert set(loaded) == set(ref)
    assert np.array_equal(loaded["text_projection"].asnumpy(), ref["text_projection"])
    assert "mapped 29, unexpected 0" in capsys.readouterr().out
    hf_sd["text_model.extra.weight"] = np.zeros(3, np.float32)
    save_file(hf_sd, str(src))
    dst2 = tmp_path / "partial.ckpt"
    assert run(convert_main, ["clip", str(src), str(dst2), "--heads", str(HEADS)]) == 2
    assert not dst2.exists()
    assert "text_model.extra.weight" in capsys.readouterr().out


def test_prompt_cache_encodes_each_prompt_once(hf_model, tmp_path):
    from aam_ms.text import PromptCache
    from test_tokenizer import build_vocab_files
    from aam_ms.text.tokenizer import CLIPTokenizer
    tok = CLIPTokenizer.from_file(str(build_vocab_files(tmp_path / "tok")["vocab"]))
    params, _ = conv.convert_state_dict(_hf_sd(hf_model), heads=HEADS)
    cfg = CLIPTextConfig(vocab_size=len(tok.encoder), width=WIDTH, layers=LAYERS, heads=HEADS,
                         embed_dim=EMBED)
    params["token_embedding.embedding_table"] = np.random.default_rng(1).normal(
        0, 0.02, (len(tok.encoder), WIDTH)).astype(np.float32)
    model = set_params(CLIPTextEncoder(cfg), params)
    model.set_train(False)
    calls = []

    def encoder(ids):
        calls.append(ids.shape[0])
        return model(ms.Tensor(ids)).asnumpy()

    cache = PromptCache(encoder, tok, tmp_path / "cache", fingerprint="tiny-clip")
    a = cache(["a red car", "the cat", "a red car"])
    assert calls == [2] and a.shape == (3, EMBED) and np.array_equal(a[0], a[2])
    assert np.array_equal(cache("the cat"), a[1]) and calls == [2]
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2
    again = PromptCache(encoder, tok, tmp_path / "cache", fingerprint="tiny-clip")
    assert np.array_equal(again(["the cat", "a red car"]), a[[1, 0]]) and calls == [2]
    other = PromptCache(encoder, tok, tmp_path / "cache", fingerprint="other-weights")
    other("the cat")
    assert calls == [2, 1]
    # the cache holds the encoder's own output (compared in the batch it was computed in:
    # float32 results of a batch of two and of one may differ in the last bits)
    assert np.array_equal(a[:2], model(ms.Tensor(tok(["a red car", "the cat"]))).asnumpy())
    direct = model(ms.Tensor(tok(["the cat"]))).asnumpy()[0]
    with pytest.raises(ValueError, match="empty prompt"):
        cache("   ")
    long_prompt = " ".join(["car"] * 100)
    with pytest.raises(ValueError, match="exceeds the CLIP context of 77"):
        cache(long_prompt)
    lenient = PromptCache(encoder, tok, tmp_path / "cache", fingerprint="tiny-clip", truncate=True)
    with pytest.warns(UserWarning, match="truncated"):
        lenient(long_prompt)
    assert calls == [2, 1, 1]
    by_weights = PromptCache(model, tok, tmp_path / "cache2")  # fingerprint = sha256 of weights
    assert np.abs(by_weights(["the cat"])[0] - direct).max() == 0
    assert len(by_weights.fingerprint) == 64 and by_weights.fingerprint != cache.fingerprint


def test_vit_l14_size_and_cli_kinds():
    n = sum(int(np.prod(p.shape)) for p in CLIPTextEncoder().get_parameters())
    assert n == 123_650_304  # OpenAI ViT-L/14 text tower
    import aam_ms.convert.__main__ as cli
    from aam_ms.weights import CONVERTERS
    parser = cli.build_parser()
    assert parser.parse_args(["clip", "a.pt", "b.ckpt"]).kind == "clip"
    assert {parser.parse_args([k, "a", "b"] + (["--variant", "tiny"] if k == "dinov3" else []))
            .kind for k in CONVERTERS} == {"aam", "dinov3", "clip", "wav2clip"}
