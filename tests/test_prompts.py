"""Prompt table: released texts, dataset→key map, granularity levels, paraphrases, YAML."""
import pytest

from aam_ms.data import prompts
from aam_ms.data.readers import READERS


def test_released_keys_and_defaults():
    assert len(prompts.RELEASED) == 17 and "None" in prompts.RELEASED
    assert prompts.get_prompt("SALICON") == prompts.RELEASED["Salicon"]
    assert prompts.get_prompt("MIT1003").startswith("Static natural photograph with strong photographer-style")
    assert prompts.get_prompt("None").startswith("Generic visual stimulus observed under free-viewing")


def test_every_dataset_has_a_prompt_key():
    assert set(READERS) == set(prompts.DATASET_PROMPT_KEY)
    assert prompts.prompt_key("Hollywood-2") == "Hollywood" and prompts.prompt_key("UCF-Sports") == "UCF"
    assert all(v in prompts.RELEASED for v in prompts.DATASET_PROMPT_KEY.values())


@pytest.mark.parametrize("ds", sorted(prompts.DATASET_PROMPT_KEY))
def test_granularity_levels_grow(ds):
    texts = [prompts.get_prompt(ds, granularity=g) for g in prompts.GRANULARITIES]
    assert len(set(texts)) == 4 or prompts.prompt_key(ds) == "None" and ds not in prompts.SLOTS_BY_DATASET
    assert texts[0] == prompts.get_prompt("DHF1K", granularity="G1")     # G1 is shared
    assert len(texts[3]) > len(texts[1])
    with pytest.raises(ValueError):
        prompts.get_prompt(ds, granularity="G5")


def test_paraphrases():
    for k in prompts.RELEASED:
        p = [prompts.get_prompt(k, paraphrase=i) for i in range(3)]
        assert len(set(p + [prompts.RELEASED[k]])) == 4
    with pytest.raises(IndexError):
        prompts.get_prompt("UCF", paraphrase=99)


def test_register_and_yaml(tmp_path):
    prompts.register_prompts({"SynthX": "Synthetic shapes on grey background."},
                             slots={"SynthX": ("Static image", "of shapes", "circles", "free-viewing", "none")})
    assert prompts.get_prompt("SynthX") == "Synthetic shapes on grey background."
    assert prompts.get_prompt("SynthX", "G3") == "Static image; free-viewing."
    good = tmp_path / "p.yaml"
    good.write_text("DHF1K: a custom video prompt\nSynthY: another\n")
    assert prompts.load_prompt_yaml(str(good), register=True)["DHF1K"] == "a custom video prompt"
    assert prompts.get_prompt("SynthY") == "another"
    prompts.register_prompts({"DHF1K": prompts.RELEASED["DHF1K"]})
    bad = tmp_path / "b.yaml"
    bad.write_text("OSIE: ''\n")
    with pytest.raises(ValueError, match="b.yaml.*non-empty"):
        prompts.load_prompt_yaml(str(bad))
    bad.write_text("- a list\n")
    with pytest.raises(ValueError, match="mapping"):
        prompts.load_prompt_yaml(str(bad))


def test_yaml_entries_with_slots_and_paraphrases(tmp_path):
    f = tmp_path / "corpus.yaml"
    f.write_text("SynthZ:\n  prompt: Discs on grey.\n  slots: [Synthetic clip, of discs, two discs,"
                 " finding the loud one, a left bias]\n  paraphrases: [Grey discs., Discs on a grey"
                 " ground.]\nSynthW: plain text\n")
    assert prompts.load_prompt_yaml(str(f), register=True) == {"SynthZ": "Discs on grey.",
                                                             "SynthW": "plain text"}
    assert prompts.get_prompt("SynthZ", "G4") == ("Synthetic clip of discs, with two discs; "
                                                  "finding the loud one with a left bias.")
    assert prompts.get_prompt("SynthZ", paraphrase=1) == "Discs on a grey ground."
    with pytest.raises(KeyError):
        prompts.get_prompt("SynthW", "G4")
    for bad, msg in (("SynthV: {prompt: x, slots: [a, b]}\n", "5 texts"),
                     ("SynthV: {text: x}\n", "mapping with 'prompt'"),
                     ("SynthV: {prompt: x, paraphrases: []}\n", "non-empty list")):
        f.write_text(bad)
        with pytest.raises(ValueError, match=msg):
            prompts.load_prompt_yaml(str(f), register=True)


def test_prompts_import_no_corpus_module():
    """The prompt table knows corpora only through their prompts.yaml (no prompts → synth
    import, not even inside a function)."""
    import ast
    import inspect
    tree = ast.parse(inspect.getsource(prompts))
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    imported += [n.module or "." for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert imported and not [m for m in imported if "synth" in m or m.startswith(".")]
