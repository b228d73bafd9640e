"""On-disk cache of prompt embeddings: each distinct prompt is encoded once per encoder.

An entry lives in ``<cache_dir>/<sha256(fingerprint NUL prompt)>.npz`` (arrays ``embedding``,
``prompt``, ``fingerprint``), written through a temp file + rename, so a crash never leaves a
half-written entry and concurrent writers of the same prompt store the same bytes.
The fingerprint names the encoder weights and the tokenizer, so changing either starts a new
set of entries instead of returning stale vectors.

The cache lives in the user's cache folder (:func:`cache_root`: ``$AAM_CACHE_DIR``, else
``$XDG_CACHE_HOME/aam-ms``, else ``~/.cache/aam-ms``), never in the current directory; a cache
folder that cannot be written leaves the cache in memory only (one warning).
"""
import hashlib
import os
import sys

import numpy as np

from ..fileio import atomic_write
from ..resources import cache_root


def resolve_cache_dir(value=None):
    """A config's ``cache_dir``: None → ``cache_root()/prompts``; an absolute path → itself;
    a relative one → under :func:`cache_root` (never the current directory)."""
    if not value:
        return os.path.join(cache_root(), "prompts")
    value = os.path.expanduser(os.fspath(value))
    return value if os.path.isabs(value) else os.path.join(cache_root(), value)


def weights_fingerprint(cell):
    """sha256 over (name, shape, dtype, bytes) of every parameter of a MindSpore cell."""
    h = hashlib.sha256()
    for p in sorted(cell.get_parameters(), key=lambda q: q.name):
        a = p.asnumpy()
        h.update(f"{p.name}|{a.shape}|{a.dtype}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


class PromptCache:
    """``cache(prompts) -> float32 (N, D)`` with ``encoder(ids int32 (M, L)) -> (M, D)``.

    Only prompts absent from memory and disk are encoded, in one encoder call per request.
    ``fingerprint`` defaults to the sha256 of the encoder's parameters (if it is a cell)
    combined with the tokenizer's. Empty prompts raise; over-long prompts raise unless
    ``truncate`` (then they are cut keeping the end token, with a warning).
    """

    def __init__(self, encoder, tokenizer, cache_dir=None, fingerprint=None, truncate=False):
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.cache_dir = resolve_cache_dir(cache_dir)
        self.truncate = truncate
        if fingerprint is None:
            if not hasattr(encoder, "get_parameters"):
                raise ValueError("PromptCache: pass fingerprint= for an encoder that is not a "
                                 "MindSpore cell (it names the weights the entries belong to)")
            fingerprint = weights_fingerprint(encoder)
        self.fingerprint = hashlib.sha256(
            f"{fingerprint}|{tokenizer.fingerprint()}".encode()).hexdigest()
        self._memory = {}
        self._disk = True
        try:
            os.makedirs(self.cache_dir, exist_ok=True)
        except OSError as e:
            self._no_disk(e)

    def _no_disk(self, err):
        if self._disk:
            print(f"warning: prompt cache {self.cache_dir} is not writable ({err.strerror or err});"
                  " prompt embeddings are kept in memory only (set AAM_CACHE_DIR)", file=sys.stderr)
        self._disk = False

    def _path(self, prompt):
        key = hashlib.sha256(f"{self.fingerprint}\0{prompt}".encode("utf-8")).hexdigest()
        return os.path.join(self.cache_dir, key + ".npz")

    def _check(self, prompt):
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a string, got {type(prompt).__name__}")
        if not prompt.strip():
            raise ValueError("empty prompt: give a description (use the dataset's 'None' prompt "
                             "for general attention)")
        n, limit = self.tokenizer.n_tokens(prompt), self.tokenizer.context_length
        if n > limit and not self.truncate:
            raise ValueError(f"prompt of {n} tokens exceeds the CLIP context of {limit} "
                             f"(pass truncate=True to cut it): {prompt[:60]!r}...")

    def _load(self, prompt):
        path = self._path(prompt)
        if not self._disk or not os.path.isfile(path):
            return None
        with np.load(path) as z:
            if str(z["prompt"]) != prompt or str(z["fingerprint"]) != self.fingerprint:
                raise ValueError(f"prompt cache entry {path} does not belong to this prompt/encoder")
            return z["embedding"].astype(np.float32)

    def _store(self, prompt, emb):
        if not self._disk:
            return
        try:
            with atomic_write(self._path(prompt)) as f:
                np.savez(f, embedding=emb, prompt=np.array(prompt),
                         fingerprint=np.array(self.fingerprint))
        except OSError as e:
            self._no_disk(e)

    def __call__(self, prompts):
        single = isinstance(prompts, str)
        prompts = [prompts] if single else list(prompts)
        for p in prompts:
            self._check(p)
        todo = []
        for p in dict.fromkeys(prompts):
            if p not in self._memory:
                emb = self._load(p)
                if emb is None:
                    todo.append(p)
                else:
                    self._memory[p] = emb
        if todo:
            out = self.encoder(self._ids(todo))
            out = np.asarray(out.asnumpy() if hasattr(out, "asnumpy") else out, np.float32)
            for p, emb in zip(todo, out):
                self._store(p, emb)
                self._memory[p] = emb
        res = np.stack([self._memory[p] for p in prompts])
        return res[0] if single else res

    def _ids(self, prompts):
        ids = self.tokenizer(prompts, truncate=self.truncate)
        if hasattr(self.encoder, "get_parameters"):
            import mindspore as ms
            return ms.Tensor(ids)
        return ids
