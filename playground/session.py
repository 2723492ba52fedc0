"""Streamlit glue shared by every page: cached resources and the state kept in the URL.

Pages import from here; the math lives in the pure modules (projection, latent_map, interpolation,
imaging, figures)."""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

import streamlit as st

import models
from playground.latent_map import LatentMap, build_map, methods_for
from playground.projection import LABELS

KIND_LABEL = {"vae": "VAE", "gan": "GAN", "classifier": "Classifier"}


# ---- cached resources ---------------------------------------------------------------------------

@st.cache_data(ttl=30, show_spinner=False)
def listings() -> list[models.Listing]:
    """All checkpoint folders (re-read every 30 s, so a fixed or added checkpoint shows up)."""
    return models.available()


@st.cache_resource(show_spinner=False, max_entries=16)
def _load(name: str, sha: str) -> models.LatentModel:
    return models.load(name)


def load_model(name: str) -> models.LatentModel:
    """Load (once per weights hash) a checkpoint; raises `models.CheckpointError`."""
    listing = {l.name: l for l in listings()}.get(name)
    if listing is None or not listing.ok:
        raise models.CheckpointError(models.CHECKPOINTS / name,
                                     listing.error if listing else "no such checkpoint")
    return _load(name, listing.card["weights"]["sha256"])


@st.cache_resource(show_spinner=False)
def reference(dataset: str):
    return models.reference(dataset)


class _MapCache:
    """Process-wide LRU of built maps, shared by all sessions (like `st.cache_resource`), with one
    lock per key so two sessions asking for the same new map compute it once. Not a Streamlit cache,
    because building reports progress into an element of the page that asked for it."""

    def __init__(self, size: int = 24):
        self.size, self.items, self.locks = size, OrderedDict(), {}
        self.guard = threading.Lock()

    def get(self, key, build):
        with self.guard:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
            lock = self.locks.setdefault(key, threading.Lock())
        with lock:
            with self.guard:
                if key in self.items:
                    return self.items[key]
            value = build()
            with self.guard:
                self.items[key] = value
                while len(self.items) > self.size:
                    self.items.popitem(last=False)
                self.locks.pop(key, None)
            return value


_MAPS = _MapCache()


def latent_map(name: str, method: str) -> LatentMap:
    """The model's map, with a progress bar while it is computed for the first time."""
    m = load_model(name)

    def build():
        holder = st.empty()
        try:
            ref = reference(m.dataset) if m.kind == "vae" else None
            clf = classifier_for(m) if m.kind == "gan" else None
            return build_map(m, method, ref, clf,
                             progress=lambda f, t: holder.progress(min(max(f, 0.0), 1.0), text=t))
        finally:
            holder.empty()

    return _MAPS.get((name, m.card["weights"]["sha256"], method), build)


@st.cache_data(show_spinner="Measuring how well the model reproduces reference images (once per model)…",
               max_entries=32)
def reference_errors(name: str):
    """Per-image reproduction error of the reference set: a VAE's on all of it; a GAN's from the
    inversions shipped in checkpoints/maps, or (a GAN without them) a few inverted now."""
    import numpy as np

    from playground.latent_map import SHIPPED_MAPS
    from playground.uploads import GAN_LIVE_IMAGES, errors_file, reference_errors as errors

    m = load_model(name)
    if m.kind == "gan":
        path = SHIPPED_MAPS / errors_file(m)
        if path.is_file():
            try:
                with np.load(path, allow_pickle=False) as f:
                    return f["errors"]
            except (OSError, ValueError, KeyError):
                pass                                   # unreadable: measure a few instead
        return errors(m, reference(m.dataset)[0], n=GAN_LIVE_IMAGES)
    return errors(m, reference(m.dataset)[0])


def classifier_for(m: models.LatentModel) -> models.LatentModel:
    """The classifier that judges `m`'s images (`models.classifier_name`); raises CheckpointError."""
    return load_model(models.classifier_name(m.card))


@st.cache_data(show_spinner=False, max_entries=32)
def reference_space(name: str):
    """Reference images, the space their neighbours are found in (VAE: z; GAN: classifier
    features), and their labels."""
    m = load_model(name)
    images, labels = reference(m.dataset)
    x = images[:, None].astype("float32") / 255
    space = m.encode(x) if m.kind == "vae" else classifier_for(m).features(x)
    return images, space, labels


def classifier_features(name: str, images):
    return classifier_for(load_model(name)).features(images.reshape(-1, 1, 28, 28))


# ---- state in the URL ---------------------------------------------------------------------------

def generative_names() -> list[str]:
    return [l.name for l in listings() if l.ok and l.card["kind"] in ("vae", "gan")]


def parse_indices(text: str | None, limit: int = 256) -> list[int]:
    out = []
    for part in (text or "").split(","):
        part = part.strip()
        if part.isdigit():
            out.append(int(part))
    return out[:limit]


def init_state() -> None:
    """On a session's first run, take model, projection and selection from the URL."""
    ss = st.session_state
    if ss.get("_initialised"):
        return
    ss._initialised = True
    qp = st.query_params
    names = generative_names()
    wanted = qp.get("model")
    ss.model = wanted if wanted in names else (names[0] if names else None)
    if wanted and wanted not in names:
        ss.url_warning = f"The link asked for model {wanted!r}, which is not available here."
    ss.proj = qp.get("proj", "")
    ss.sel = parse_indices(qp.get("sel"))


def current_methods() -> list[str]:
    m = load_model(st.session_state.model)
    return methods_for(m.latent_dim)


def sync_url() -> None:
    ss = st.session_state
    params = {"model": ss.get("model") or "", "proj": ss.get("proj") or ""}
    if ss.get("sel"):
        params["sel"] = ",".join(map(str, ss.sel))
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)


def set_selection(indices, n_points: int) -> None:
    sel = [int(i) for i in indices if 0 <= int(i) < n_points][:256]
    if sel != st.session_state.get("sel"):
        st.session_state.sel = sel
        sync_url()


def method_label(method: str) -> str:
    return LABELS.get(method, method)


def model_label(name: str) -> str:
    card = {l.name: l for l in listings()}[name].card
    ds = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}.get(card["dataset"]["name"], card["dataset"]["name"])
    return f"{name} · {KIND_LABEL[card['kind']]} · {ds} · z={card['latent_dim']}"


@st.cache_data(show_spinner=False, max_entries=64)
def atlas(name: str, method: str, n: int, _lmap: LatentMap, _model) -> tuple:
    """Decode an n x n grid over the map in one batch: (atlas image, extent)."""
    from playground.imaging import atlas as tile_atlas

    _, _, pts = _lmap.grid(n)
    images = _model.decode(_lmap.to_latent(pts))
    return tile_atlas(images, n, n), _lmap.extent()


def axis_titles(lmap: LatentMap) -> tuple[str, str]:
    if lmap.method == "pca":
        r = lmap.projection.explained_variance_ratio_
        return f"PC 1 ({r[0]:.0%} of variance)", f"PC 2 ({r[1]:.0%})"
    if lmap.method == "latent":
        return "z₁", "z₂"
    return "t-SNE 1", "t-SNE 2"


def header(title: str, blurb: str) -> tuple:
    """Page title + the current model, map and selection; stops the page on a broken model."""
    st.header(title)
    st.caption(blurb)
    try:
        m = load_model(st.session_state.model)
    except models.CheckpointError as e:
        st.error(f"This checkpoint cannot be loaded: {e}")
        st.stop()
    return m


# ---- values shared between pages (typed, bounded, per model) -------------------------------------

MAX_UPLOADED_CODES = 32          # per session: codes of uploaded pictures kept for other pages
MAX_PINS = 24                    # per session: pins dropped on the drag page


def _model_key(name: str) -> tuple[str, str]:
    """(name, weights sha256): codes found with one set of weights mean nothing to another."""
    listing = {l.name: l for l in listings()}.get(name)
    sha = listing.card["weights"]["sha256"] if listing is not None and listing.ok else ""
    return name, sha


def _bounded(codes: dict, limit: int) -> dict:
    items = list(codes.items())[-limit:]
    return {str(k): np.asarray(v, np.float32).copy() for k, v in items}


def uploaded_codes(name: str) -> dict[str, "np.ndarray"]:
    """Latent codes of the pictures uploaded for model `name` (newest last), by display name."""
    store = st.session_state.get("_uploaded_codes")
    return dict(store[1]) if store and store[0] == _model_key(name) else {}


def remember_uploads(name: str, codes: dict) -> None:
    """Keep the latest uploads' codes for other pages (at most MAX_UPLOADED_CODES)."""
    st.session_state["_uploaded_codes"] = (_model_key(name), _bounded(codes, MAX_UPLOADED_CODES))


def pinned_codes(name: str) -> dict[str, "np.ndarray"]:
    """Codes of the pins dropped on the drag page for model `name`, as 'pin 1', 'pin 2', …"""
    store = st.session_state.get("_pinned_codes")
    return dict(store[1]) if store and store[0] == _model_key(name) else {}


def remember_pins(name: str, codes: dict) -> None:
    """Keep the drag page's pins for other pages (at most MAX_PINS, the newest)."""
    st.session_state["_pinned_codes"] = (_model_key(name), _bounded(codes, MAX_PINS))
