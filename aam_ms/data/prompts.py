"""Dataset-level text prompts (paper section 3 / appendix B, F.2).

- ``RELEASED``: the 17 prompts of the AAM release (keys incl. "None"), verbatim; the defaults.
- ``DATASET_PROMPT_KEY``: dataset key → prompt key. Hollywood-2 / UCF Sports map to their own
  prompts (the release labels them "Hollywood_UCF", which is no prompt key — spec §10);
  FIGRIM and LEDOV have no released prompt and use "None" (LEDOV is trained without text).
- ``SLOTS``: per prompt key the five template slots
  [stimulus type] + [scene/domain] + [key elements] + [task setting] + [attention bias],
  from which the granularity levels are generated:
  G1 general (same for all), G2 + modality, G3 + viewing intention, G4 all five slots.
- ``PARAPHRASES``: ≥ 3 hand-written paraphrases per released prompt.
"""
import os
import warnings

import yaml

GENERIC = ("Generic visual stimulus observed under free-viewing conditions. "
           "Represents general human visual attention without assumptions about scene type, task or domain.")

RELEASED = {
    "UI": (
        "Static user interface screenshot showing webpages or mobile apps, with menus, buttons, icons and dense small text; "
        "free-viewing eye-tracking where attention is strongly biased to the top-left, typical of browsing UI layouts and posters."),
    "SalEC": (
        "Static e-commerce product image with packaging, brand logos, price tags and dense short text blocks; "
        "free-viewing eye-tracking dominated by text and logo-driven attention over retail and shopping items."),
    "OSIE": (
        "Static everyday indoor or outdoor scene containing multiple interacting objects and rich semantic relationships; "
        "free-viewing eye-tracking with moderate center bias, commonly attracted to faces, gaze direction, text and object interactions."),
    "Salicon": (
        "Static natural image from a large-scale object-in-context dataset, covering diverse everyday scenes and environments; "
        "free-viewing saliency data with weak to moderate center bias, designed for general-purpose saliency learning."),
    "CAT2000": (
        "Static high-resolution image from a wide variety of categories including natural scenes and artificial patterns such as cartoons, sketches, fractals and abstract textures; "
        "free-viewing saliency with strong variability in image style and category-dependent center bias."),
    "MIT1003": (
        "Static natural photograph with strong photographer-style center framing; "
        "free-viewing eye-tracking strongly attracted to faces, people, readable text, animals and vehicles, exhibiting a strong center bias."),
    "fiwi": (
        "Static webpage screenshot containing mixed visual elements such as text blocks, images, icons and faces in structured page layouts; "
        "free-viewing eye-tracking where attention is strongly guided by text regions, faces and layout-driven positional bias typical of webpage browsing."),
    "None": GENERIC,
    "DHF1K": (
        "Dynamic free-viewing video across diverse scenes and camera motions, containing multiple moving objects and complex backgrounds; "
        "saliency-style eye-tracking with dispersed attention and weak center bias."),
    "Hollywood": (
        "Dynamic cinematic movie clip with actors, dialogues, shot changes and film-style camera motion; "
        "task-driven action recognition with strong center framing and typical movie cinematography."),
    "UCF": (
        "Dynamic broadcast sports video showing athletes on courts or fields, often with uniforms, scoreboards and audience context; "
        "task-driven action recognition with strong center tracking of the main athlete and sports action."),
    "DIEM": (
        "Audio-visual real-world and cinematic video clips including film, television, online video and everyday events; "
        "free-viewing eye-tracking capturing how gaze behavior shapes visual perception, memory and emotional experience over time."),
    "AVAD": (
        "Audio-visual video clips centered on moving sound-generating objects, such as speaking faces, musical performances and action events; "
        "free-viewing eye-tracking emphasizing how tightly coupled audio and motion cues jointly guide visual attention over time."),
    "Coutrot_db1": (
        "Audio-visual conversational video clips featuring multiple interacting people in realistic social environments; "
        "free-viewing eye-tracking revealing attention toward talking faces over time."),
    "Coutrot_db2": (
        "Audio-visual video clips spanning landscapes, moving objects, and social conversations; "
        "free-viewing eye-tracking capturing how auditory cues modulate attention toward sound sources and talking faces."),
    "ETMD_av": (
        "Audio-visual video cinematic clips from Oscar-winning films featuring high-motion action, dialogues, and complex visual storytelling; "
        "free-viewing eye-tracking showing attention guided by chromatic and semantic cues such as faces over long durations."),
    "SumMe": (
        "Audio-visual video clips depicting events like sports and holidays with static, moving, and egocentric camera motions; "
        "task-driven video summarization capturing human consensus on interestingness via explicit selection of important segments."),
}

DATASET_PROMPT_KEY = {
    "SALICON": "Salicon", "MIT1003": "MIT1003", "CAT2000": "CAT2000", "OSIE": "OSIE",
    "FIGRIM": "None", "U-EYE": "UI", "FiWI": "fiwi", "SalECI": "SalEC",
    "DHF1K": "DHF1K", "Hollywood-2": "Hollywood", "UCF-Sports": "UCF", "LEDOV": "None",
    "DIEM": "DIEM", "Coutrot-1": "Coutrot_db1", "Coutrot-2": "Coutrot_db2", "AVAD": "AVAD",
    "ETMD": "ETMD_av", "SumMe": "SumMe",
}

# (stimulus type, scene/domain, key elements, task setting, attention bias)
SLOTS = {
    "UI": ("Static user interface screenshot", "of webpages and mobile apps",
           "menus, buttons, icons and dense small text", "free-viewing of interface layouts",
           "attention strongly biased to the top-left"),
    "SalEC": ("Static product image", "from e-commerce and retail",
              "packaging, brand logos, price tags and short text blocks", "free-viewing of shopping items",
              "attention dominated by text and logos"),
    "OSIE": ("Static image", "of everyday indoor or outdoor scenes",
             "multiple interacting objects, faces, gaze direction and text", "free-viewing",
             "moderate center bias"),
    "Salicon": ("Static natural image", "of diverse everyday scenes in context",
                "common objects in their environments", "free-viewing", "weak to moderate center bias"),
    "CAT2000": ("Static high-resolution image", "from many categories, natural and artificial",
                "cartoons, sketches, fractals, patterns and natural scenes", "free-viewing",
                "category-dependent center bias"),
    "MIT1003": ("Static natural photograph", "with photographer-style framing",
                "faces, people, readable text, animals and vehicles", "free-viewing", "strong center bias"),
    "fiwi": ("Static webpage screenshot", "with structured page layouts",
             "text blocks, images, icons and faces", "free-viewing of web pages",
             "text-, face- and layout-driven positional bias"),
    "None": ("Visual stimulus", "of any scene", "no specific elements", "free-viewing", "no specific bias"),
    "DHF1K": ("Dynamic video", "of diverse scenes with camera motion",
              "multiple moving objects and complex backgrounds", "free-viewing",
              "dispersed attention and weak center bias"),
    "Hollywood": ("Dynamic movie clip", "from cinema", "actors, dialogues and shot changes",
                  "task-driven action recognition", "strong center framing"),
    "UCF": ("Dynamic sports video", "from broadcast sports on courts and fields",
            "athletes, uniforms, scoreboards and audience", "task-driven action recognition",
            "strong center tracking of the main athlete"),
    "DIEM": ("Audio-visual video clip", "from film, television, online video and everyday events",
             "people, motion and sound", "free-viewing", "gaze shaped by memory and emotion over time"),
    "AVAD": ("Audio-visual video clip", "of sound-generating events",
             "speaking faces, musical performances and actions", "free-viewing",
             "attention to coupled audio and motion cues"),
    "Coutrot_db1": ("Audio-visual video clip", "of conversations in social environments",
                    "multiple interacting people", "free-viewing", "attention to talking faces"),
    "Coutrot_db2": ("Audio-visual video clip", "of landscapes, moving objects and conversations",
                    "sound sources and talking faces", "free-viewing",
                    "auditory cues modulating attention"),
    "ETMD_av": ("Audio-visual cinematic clip", "from Oscar-winning films",
                "high-motion action, dialogues and faces", "free-viewing",
                "chromatic and semantic cues over long durations"),
    "SumMe": ("Audio-visual video clip", "of sports and holiday events with varied camera motion",
              "important and interesting segments", "task-driven video summarization",
              "consensus on interestingness"),
}
# FIGRIM and LEDOV keep "None" as prompt key but get slot values for granularity studies.
SLOTS_BY_DATASET = {
    "FIGRIM": ("Static natural image", "of indoor and outdoor scene categories",
               "scene layouts and objects", "free-viewing memorability experiment", "moderate center bias"),
    "LEDOV": ("Dynamic video", "of daily actions, sports, social activity, animals and objects",
              "moving people, animals and objects", "free-viewing", "attention to moving objects"),
}

PARAPHRASES = {
    "UI": ["A screenshot of a website or phone app full of menus, buttons, icons and small text, viewed freely; eyes favour the top-left corner.",
           "Free viewing of a graphical interface: webpages and mobile screens with dense text and controls, with a strong top-left attention bias.",
           "Interface image (web or mobile) packed with icons, buttons and tiny text; people look at it freely and mostly start at the upper left."],
    "SalEC": ["A product photo from an online shop showing packaging, logos, prices and short texts; viewers look freely and are drawn to text and logos.",
              "Free viewing of an e-commerce image where brand marks, price tags and text blocks capture most of the gaze.",
              "Retail item picture with labels, logos and prices; attention under free viewing is led by the written and branded parts."],
    "OSIE": ["An everyday indoor or outdoor photo with many interacting objects; free viewing with a moderate center bias toward faces, gaze and text.",
             "Free-viewing eye movements on daily-life scenes rich in object relations, drawn to faces, where people look, and written words.",
             "Picture of a common scene containing several related objects; observers look freely, favouring faces, text and interactions near the center."],
    "Salicon": ["A natural photo of an everyday scene from a large objects-in-context collection, viewed freely with a mild center bias.",
                "Free viewing of diverse common scenes with objects in context; general-purpose saliency with weak to moderate central tendency.",
                "Everyday natural image with familiar objects in their surroundings; people look freely and slightly prefer the middle."],
    "CAT2000": ["A high-resolution image from many categories, from natural scenes to cartoons, sketches, fractals and patterns, viewed freely.",
                "Free viewing of images of widely varying style, natural or artificial, with a center bias that depends on the category.",
                "Picture drawn from diverse categories including abstract textures and line drawings; gaze under free viewing varies by style."],
    "MIT1003": ["A natural photograph framed around its subject; free viewing with strong center bias, drawn to faces, people, text, animals and cars.",
                "Free-viewing fixations on everyday photos composed like a photographer would, attracted by faces, words, animals and vehicles.",
                "Photo with the subject centered; observers look freely and mostly at people, readable text and animals near the middle."],
    "fiwi": ["A webpage screenshot mixing text blocks, pictures, icons and faces in a structured layout, viewed freely.",
             "Free viewing of web pages where text regions, faces and the page layout steer the gaze.",
             "Screenshot of a structured website with images and text; attention follows text, faces and positional layout cues."],
    "None": ["Any visual stimulus viewed freely, with no assumption about scene, task or domain.",
             "General human visual attention under free viewing, independent of content type or task.",
             "A generic image or video observed freely; attention without scene or task assumptions."],
    "DHF1K": ["A video of varied scenes with camera motion and several moving objects over busy backgrounds, viewed freely with dispersed attention.",
              "Free viewing of dynamic everyday videos: many moving things, complex backgrounds and only a weak center bias.",
              "Moving footage from diverse settings; observers watch freely and their gaze spreads across the moving objects."],
    "Hollywood": ["A movie clip with actors, dialogue, cuts and cinematic camera motion, watched while recognising the actions; strong center framing.",
                  "Action recognition task on film scenes: shot changes and dialogue, with gaze held near the centrally framed action.",
                  "Cinematic footage of people acting, viewed to identify what they do; attention stays near the center of the frame."],
    "UCF": ["A broadcast sports video of athletes on courts or fields with scoreboards and crowds, watched to recognise the action.",
            "Action recognition on televised sports: the gaze follows the main athlete near the center.",
            "Sports footage with uniforms, scoreboards and audience, where viewers track the central player to identify the sport action."],
    "DIEM": ["Video clips with sound from films, TV, online video and daily events, watched freely; gaze over time reflects perception and emotion.",
             "Free viewing of audio-visual footage of many kinds, capturing how eye movements relate to memory and feelings.",
             "Real-world and cinematic clips with audio; observers watch freely and their gaze evolves with the content."],
    "AVAD": ["Audio-visual clips of objects making sounds, like talking faces, musicians and actions, watched freely.",
             "Free viewing of video where sound and motion go together, jointly steering attention over time.",
             "Clips centred on sound sources such as speakers and instruments; gaze follows the coupled audio and movement."],
    "Coutrot_db1": ["Audio-visual clips of conversations among several people in real social settings, watched freely; gaze goes to whoever talks.",
                    "Free viewing of group conversation videos with sound, attention moving to the speaking faces.",
                    "Video with audio of people interacting and talking; observers watch freely and look at the talkers."],
    "Coutrot_db2": ["Audio-visual clips of landscapes, moving objects and conversations, watched freely; sounds pull the gaze to their sources.",
                    "Free viewing of varied videos with audio, where hearing shapes attention to sound sources and speakers.",
                    "Clips with sound ranging from scenery to dialogue; attention follows audible sources and talking faces."],
    "ETMD_av": ["Audio-visual clips from Oscar-winning movies with fast action, dialogue and complex storytelling, watched freely.",
                "Free viewing of award-winning film scenes with sound, where color and faces guide the gaze over long stretches.",
                "Cinematic movie excerpts with audio; attention follows chromatic and semantic cues such as faces over time."],
    "SumMe": ["Audio-visual clips of sports and holidays with static, moving and first-person cameras, watched to pick the important parts.",
              "Video summarization task: viewers choose interesting segments of event videos, reflecting shared judgements.",
              "Event footage with sound from varied camera styles, viewed to select its most interesting moments."],
}

_REGISTRY = {k: v for k, v in RELEASED.items()}
_SLOTS = dict(SLOTS)
_PARA = {k: list(v) for k, v in PARAPHRASES.items()}
GRANULARITIES = ("G1", "G2", "G3", "G4")


def prompt_key(dataset):
    """Prompt key of a dataset key (a prompt key maps to itself; unknown → "None")."""
    if dataset in _REGISTRY:
        return dataset
    return DATASET_PROMPT_KEY.get(dataset, "None")


def _check_text(text, where):
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: prompt must be a non-empty string, got {text!r}")
    return text.strip()


def register_prompts(mapping, slots=None, paraphrases=None):
    """Add or replace prompts ``{key: text}`` (e.g. a synthetic corpus), with optional slots
    ``{key: 5-tuple}`` and paraphrases ``{key: [text, ...]}``."""
    for k, v in mapping.items():
        _REGISTRY[str(k)] = _check_text(v, f"prompt {k!r}")
    for k, v in (slots or {}).items():
        if len(v) != 5:
            raise ValueError(f"slots of {k!r} must have 5 entries, got {len(v)}")
        _SLOTS[str(k)] = tuple(_check_text(x, f"slot of {k!r}") for x in v)
    for k, v in (paraphrases or {}).items():
        _PARA[str(k)] = [_check_text(x, f"paraphrase of {k!r}") for x in v]


def keys():
    return sorted(_REGISTRY)


def slots(key):
    """Five template slots of a prompt key or dataset key."""
    if key in SLOTS_BY_DATASET:
        return SLOTS_BY_DATASET[key]
    k = prompt_key(key)
    if k not in _SLOTS:
        raise KeyError(f"no template slots for {key!r}")
    return _SLOTS[k]


def granular_prompt(key, level):
    """Prompt at granularity G1 (general) … G4 (all five template slots)."""
    if level not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}, got {level!r}")
    stim, scene, elems, task, bias = slots(key)
    if level == "G1":
        return "Visual stimulus observed under free-viewing conditions."
    if level == "G2":
        return f"{stim} viewed by a human observer."
    if level == "G3":
        return f"{stim}; {task}."
    return f"{stim} {scene}, with {elems}; {task} with {bias}."


def get_prompt(key, granularity=None, paraphrase=None):
    """Prompt text of a prompt or dataset key: the released text by default, a generated
    granularity level (``"G1"``..``"G4"``), or paraphrase number ``paraphrase`` (0-based)."""
    if granularity is not None and paraphrase is not None:
        raise ValueError("choose granularity or paraphrase, not both")
    if granularity is not None:
        return granular_prompt(key, granularity)
    k = prompt_key(key)
    if paraphrase is not None:
        para = _PARA.get(k, [])
        if not 0 <= paraphrase < len(para):
            raise IndexError(f"{k!r} has {len(para)} paraphrases, asked for #{paraphrase}")
        return para[paraphrase]
    return _REGISTRY[k]


def _yaml_entry(path, key, value):
    """One prompt-file entry → (text, slots or None, paraphrases or None).

    An entry is the prompt text, or a mapping ``{prompt: text, slots: [5 texts],
    paraphrases: [texts]}`` (a corpus' own template slots for its G1–G4 prompts)."""
    where = f"{path}: key {key!r}"
    if not isinstance(value, dict):
        return _check_text(value, where), None, None
    unknown = set(value) - {"prompt", "slots", "paraphrases"}
    if unknown or "prompt" not in value:
        raise ValueError(f"{where}: expected a prompt text or a mapping with 'prompt' and optional "
                         f"'slots' / 'paraphrases', got keys {sorted(value)}")
    slots_ = value.get("slots")
    if slots_ is not None and (not isinstance(slots_, list) or len(slots_) != 5):
        raise ValueError(f"{where}: 'slots' must be a list of 5 texts (stimulus, scene, key "
                         f"elements, task, bias), got {slots_!r}")
    para = value.get("paraphrases")
    if para is not None and (not isinstance(para, list) or not para):
        raise ValueError(f"{where}: 'paraphrases' must be a non-empty list of texts")
    return _check_text(value["prompt"], where), slots_, para


def load_prompt_yaml(path, register=False):
    """``{key: text}`` from a YAML prompt file (optionally registered with its slots and
    paraphrases). Entries are ``key: text`` or ``key: {prompt: text, slots: [...],
    paraphrases: [...]}``."""
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as e:
        raise ValueError(f"{path}: cannot read prompt file ({e})") from None
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{path}: expected a non-empty mapping key -> prompt text")
    entries = {str(k): _yaml_entry(path, k, v) for k, v in data.items()}
    out = {k: e[0] for k, e in entries.items()}
    unknown = [k for k in out if k not in _REGISTRY and k not in DATASET_PROMPT_KEY]
    if unknown and not register:
        warnings.warn(f"{path}: keys {unknown} are not known prompt/dataset keys")
    if register:
        register_prompts(out, slots={k: e[1] for k, e in entries.items() if e[1]},
                         paraphrases={k: e[2] for k, e in entries.items() if e[2]})
    return out


def register_corpus_prompts(manifest, extra=None):
    """Register the prompts a corpus brings: ``prompts.yaml`` beside its manifest (with its
    template slots, so a SynthAttention corpus has its G1–G4 prompts), then ``extra`` (a user
    YAML)."""
    side = os.path.join(os.path.dirname(os.path.abspath(manifest)), "prompts.yaml")
    for path in ([side] if os.path.isfile(side) else []) + ([extra] if extra else []):
        load_prompt_yaml(path, register=True)
