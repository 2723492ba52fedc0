"""Streamlit glue shared by every page: cached resources and the state kept in the URL.

Pages import from here; the math lives in the pure modules (projection, latent_map, interpolation,
imaging, figures)."""
from __future__ import annotations

import dataclasses
import threading

import numpy as np

import streamlit as st

import models
from playground.bounded import LRU, MB, cache_data, cache_resource, memo
from playground.latent_map import LatentMap, build_map, methods_for
from playground.projection import LABELS
from playground.selection import MAX_POINTS, encode_selection, literal, parse_selection, unique_indices

KIND_LABEL = {"vae": "VAE", "gan": "GAN", "classifier": "Classifier"}


# ---- cached resources ---------------------------------------------------------------------------

GAN_MAP_NOTE = ("Why {n:,} points: a GAN has no encoder to place a data set's images, so its map shows a "
                "fixed set of {n:,} samples it generated (the same seed for everyone); the size of "
                "a VAE's map can be picked.")
TRAINED_HERE = "trained here"      # the origin shown beside a run saved from the Train page


def listings() -> list[models.Listing]:
    """All checkpoint folders: the shipped ones, then the runs saved from the Train page (in
    `models.lab.user_dir()`), then the models named by the person who started the server
    (`models.sources`: --checkpoints folders and --model adapter files). Re-read every 30 s (or at
    once after `listings.clear()`), so a fixed, added or saved checkpoint shows up. A saved run
    whose folder name is a shipped name is listed as 'name (trained here)': the shipped name always
    means the shipped model. An adapter that failed since is listed as broken, with the reason."""
    import sys
    from pathlib import Path
    from models import adapters, sources
    from models.lab import user_dir
    src = sources.parse(sys.argv[1:])
    files = tuple((str(f), _sha_or_none(f), str(r) if r else "") for f, r in src.adapters)
    from playground.checkpoint_upload import uploads_dir
    out = _listings(str(models.CHECKPOINTS), str(user_dir()), tuple(map(str, src.checkpoint_dirs)), files,
                    str(uploads_dir()))
    out += [models.Listing("--reference", Path("--reference"), None, why) for why in src.problems]
    return [dataclasses.replace(l, card=None, error=why) if l.ok and _is_adapter(l.card)
            and (why := adapters.broken_reason(l.path, l.card["weights"]["sha256"])) else l for l in out]


def _sha_or_none(path) -> str:
    from models.adapters import source_sha
    try:
        return source_sha(path)
    except OSError:
        return ""


def _is_adapter(card: dict | None) -> bool:
    from models.adapters import is_adapter
    return is_adapter(card)


# A resource, not data: shared, never copied. It is read about 30 times in every run (each model
# lookup, the sidebar's labels), and st.cache_data unpickled a fresh copy each time (1-2 ms each,
# about a tenth of a drag page run); st.cache_resource still cost 0.15 ms a read (Streamlit inspects
# and hashes the arguments), a few ms of every release under load. Callers only read it; nothing
# may change a listing or its card.
@memo(ttl=30, max_entries=4, max_bytes=8 * MB)
def _listings(shipped_root: str, user_root: str, extra_dirs: tuple = (), adapter_files: tuple = (),
              uploaded_root: str = "") -> list[models.Listing]:
    from pathlib import Path
    from models.adapters import AdapterError, load_adapter

    shipped = models.available(shipped_root)
    taken = {l.name for l in shipped}

    def add(found, origin):
        out = []
        for l in found:
            key, i = l.name, 1
            while key in taken:
                key = f"{l.name} ({origin})" if i == 1 else f"{l.name} ({origin} {i})"
                i += 1
            taken.add(key)
            out.append(dataclasses.replace(l, name=key))
        return out

    mine = add(models.available(user_root) if user_root != shipped_root else [], TRAINED_HERE)
    extra = []
    for d in map(Path, extra_dirs):
        if (d / models.checkpoint.CARD_FILE).is_file():        # the folder is one checkpoint
            found = [l for l in models.available(d.parent) if l.path == d]
        elif d.is_dir():
            found = models.available(d)
        else:
            found = [models.Listing(d.name or str(d), d, None, "no such checkpoint folder")]
        extra += add(found, f"from {d.name}")
    if uploaded_root and Path(uploaded_root).is_dir():          # added in the browser (data only)
        extra += add(models.available(uploaded_root), "uploaded")
    for f, _sha, ref in adapter_files:
        try:
            m = load_adapter(f, ref or None)
            found = [models.Listing(m.name, Path(f), m.card, None)]
        except AdapterError as e:
            found = [models.Listing(Path(f).stem, Path(f), None, e.problem)]
        extra += add(found, "adapter")
    return shipped + mine + extra


listings.clear = _listings.clear     # callers refresh the listing without knowing its cache key


def is_trained_here(name: str) -> bool:
    """True for a run saved from the Train page (a folder in the user's checkpoint folder)."""
    from models.lab import user_dir
    listing = {l.name: l for l in listings()}.get(name)
    return listing is not None and listing.path.parent == user_dir()


@cache_resource(show_spinner=False, max_entries=16, max_bytes=512 * MB)
def _load(name: str, folder: str, sha: str) -> models.LatentModel:
    from pathlib import Path
    return models.load(Path(folder))       # by its folder: a saved run may share a shipped name


def load_model(name: str) -> models.LatentModel:
    """Load (once per weights hash) a checkpoint, shipped or saved from the Train page, by the name
    it is listed under; raises `models.CheckpointError`."""
    listing = {l.name: l for l in listings()}.get(name)
    if listing is None or not listing.ok:
        raise models.CheckpointError(listing.path if listing else models.CHECKPOINTS / name,
                                     listing.error if listing else "no such checkpoint")
    if _is_adapter(listing.card):          # cached by models.adapters, per file content
        return models.load(str(listing.path), reference=listing.card["source"]["reference"])
    return _load(name, str(listing.path), listing.card["weights"]["sha256"])


def reference(dataset: str):
    """The shipped reference set (images, labels), shared by every session: read-only, so no page
    can alter it. Cached per file (its folder, size and modification time), so a checkpoints folder
    pointed elsewhere, or a reference file replaced, is read anew."""
    return _reference(dataset, str(models.CHECKPOINTS), reference_stamp(dataset))


def reference_stamp(dataset: str) -> tuple | None:
    """The reference file's size and modification time (None when missing): part of the key of
    every cache computed from the reference set, beside its folder."""
    try:
        info = models.reference_path(dataset).stat()
        return (info.st_size, info.st_mtime_ns)
    except OSError:                    # missing: models.reference says so in words
        return None


@cache_resource(show_spinner=False, max_entries=8, max_bytes=128 * MB)
def _reference(dataset: str, root: str, stamp: tuple | None):
    return _read_only(*models.reference(dataset, root))


def _read_only(*arrays):
    for a in arrays:
        if isinstance(a, np.ndarray):
            a.setflags(write=False)
    return arrays


class _MapCache:
    """Process-wide LRU of built maps, shared by all sessions (like `st.cache_resource`), bounded by
    entries and bytes (`bounded.LRU`), with one lock per key so two sessions asking for the same new
    map compute it once. Not a Streamlit cache, because building reports progress into an element of
    the page that asked for it. The lock is held only while building (progress reports are queued to
    the browser, never waited on), and dropped however the build ends."""

    def __init__(self, size: int = 24, max_bytes: int = 256 * MB):
        self.items, self.locks = LRU(size, max_bytes), {}
        self.guard = threading.Lock()

    def get(self, key, build):
        with self.guard:
            if key in self.items:
                return self.items.get(key)
            lock = self.locks.setdefault(key, threading.Lock())
        with lock:
            try:
                if key in self.items:
                    return self.items.get(key)
                value = build()
                self.items.put(key, value)
                return value
            finally:
                with self.guard:
                    self.locks.pop(key, None)


_MAPS = _MapCache()


def map_points(m) -> int | None:
    """How many points a VAE's map of a shipped data set shows in this session (the size picked on
    the Latent map page, or in the link; default map_points.DEFAULT_POINTS); None for other maps."""
    from playground import map_points as mp
    if m.kind != "vae" or m.dataset not in mp.POOLED:
        return None
    ss = st.session_state
    try:
        n = int(ss.get("map_points") or mp.DEFAULT_POINTS)
    except (TypeError, ValueError):
        n = mp.DEFAULT_POINTS
    offered = mp.sizes(mp.available(m.dataset, models.CHECKPOINTS))
    from_url = ss.pop("_map_points_from_url", False)
    if n not in offered:         # a link's ?n=: only the sizes the picker offers (each is a t-SNE build)
        near = mp.nearest_size(n, offered)
        if from_url:
            st.warning(f"The link asked for a map of {n:,} points; it shows {near:,}, the nearest "
                       f"size offered here ({', '.join(f'{k:,}' for k in offered)}).")
        ss.map_points = n = near
        if from_url:
            sync_url()           # the link now says what the page shows
    return n


def latent_map(name: str, method: str, *, quiet: bool = False, points: int | None = None) -> LatentMap:
    """The model's map, with a progress bar while it is computed for the first time (`quiet`: no
    page elements, for the warm-up thread that has no page). Keyed by the weights of the model and,
    for a GAN (laid out by a classifier's features), of its classifier, and by the number of points
    (`points`, else the session's `map_points`; the default size in the warm-up)."""
    m = load_model(name)
    clf = classifier_or_none(m) if m.kind == "gan" else None
    from playground import map_points as mp
    if m.kind == "vae" and m.dataset in mp.POOLED:
        points = points or (mp.DEFAULT_POINTS if quiet else map_points(m))
    else:
        points = None

    def build():
        holder = None if quiet else st.empty()
        try:
            if points is not None:
                from playground import map_points as mp
                ref = mp.pool(m.dataset, models.CHECKPOINTS, points)
            else:
                ref = reference(m.dataset) if m.kind == "vae" else None
            say = None if holder is None else (
                lambda f, t: holder.progress(min(max(f, 0.0), 1.0), text=t))
            from contextlib import nullcontext
            from playground.map_builds import map_build_slot
            with map_build_slot(holder) if method == "tsne" else nullcontext():   # queued: heavy
                lmap = build_map(m, method, ref, clf, progress=say)
        finally:
            if holder is not None:
                holder.empty()
        _read_only(lmap.z, lmap.space, lmap.y, lmap.labels, lmap.images,     # shared by all sessions
                   *([] if lmap.training is None else [lmap.training]))
        return lmap

    data = (mp.pool_stamp(m.dataset, models.CHECKPOINTS, points) if points is not None else
            (str(models.CHECKPOINTS), reference_stamp(m.dataset)) if m.kind == "vae" else None)
    folder = (m.card.get("source") or {}).get("reference")           # an adapter's --reference
    key = (name, m.card["weights"]["sha256"], method, points, data) + ((str(folder),) if folder else ())
    return _MAPS.get(key + ((clf.card["weights"]["sha256"],) if clf is not None else ()), build)


def weights_sha(name: str) -> str:
    """The sha256 of a checkpoint's weights: what every cache derived from a model is keyed by, so a
    checkpoint retrained under the same name never meets an old map, atlas, error set or neighbours."""
    return load_model(name).card["weights"]["sha256"]


def reference_errors(name: str):
    """`uploads.ReferenceErrors` (errors, source, warning) of the model's reference set, cached per
    weights."""
    return _reference_errors(name, weights_sha(name), load_model(name).dataset)   # an adapter's: its folder


@cache_data(show_spinner="Measuring how well the model reproduces reference images (once per model)…",
               max_entries=32, max_bytes=32 * MB)
def _reference_errors(name: str, sha: str, dataset: str):
    """`uploads.ReferenceErrors`: a VAE's errors on the whole reference set; a GAN's from the
    inversions shipped in checkpoints/maps, or (visibly, with the reason) a few inverted now."""
    from playground.latent_map import shipped_maps
    from playground.uploads import load_reference_errors
    from playground.waiting import inversion_slot, stay_connected

    m = load_model(name)
    return load_reference_errors(m, reference(m.dataset)[0], shipped_maps(),   # a GAN's: queued
                                 progress=stay_connected(None), slot=inversion_slot)


def classifier_for(m: models.LatentModel) -> models.LatentModel:
    """The classifier that judges `m`'s images (`models.classifier_name`); raises CheckpointError."""
    return load_model(models.classifier_name(m.card))


def has_classifier(m: models.LatentModel) -> bool:
    """Whether a classifier for `m`'s data is listed at all (sound or broken). A model brought by
    its person (an adapter, a data set of its own) usually has none: pages then hide class colours,
    IS/FD and votes, and lay a GAN's map out by its decoded pixels."""
    if models.classifier_name(m.card) in {l.name for l in listings()}:
        return True
    return not is_adapter(m) and m.dataset in CLASSIFIED      # expected, so missing means damaged


CLASSIFIED = ("mnist", "fashion-mnist")      # data sets the project ships a classifier for


def classifier_or_none(m: models.LatentModel) -> models.LatentModel | None:
    """`classifier_for(m)`, or None when no classifier for its data is listed; a listed one that
    cannot be loaded still raises CheckpointError."""
    return classifier_for(m) if has_classifier(m) else None


def is_adapter(m: models.LatentModel) -> bool:
    from models.adapters import is_adapter
    return is_adapter(m)


NO_CLASSIFIER = ("There is no classifier for this model's data, so there are no class colours, "
                 "no votes and no Inception Score or Fréchet distance here.")


def reference_space(name: str):
    """Reference images, the space their neighbours are found in (VAE: z; GAN: classifier
    features), and their labels (cached per weights: the model's and a GAN's classifier's)."""
    m = load_model(name)
    clf = classifier_or_none(m) if m.kind == "gan" else None
    clf_sha = clf.card["weights"]["sha256"] if clf is not None else None
    return _reference_space(name, weights_sha(name), clf_sha, m.dataset)     # an adapter's: its folder


@cache_data(show_spinner=False, max_entries=32, max_bytes=256 * MB)
def _reference_space(name: str, sha: str, classifier_sha: str | None, dataset: str):
    """VAE: the reference codes; GAN: the reference images in `gan_space` (the classifier's
    features, or without a classifier their pixels as the map lays them out)."""
    from playground.batches import images_per_batch
    m = load_model(name)
    images, labels = reference(m.dataset)
    clf = classifier_for(m) if m.kind == "gan" and classifier_sha else None
    embed = m.encode if m.kind == "vae" else (lambda x: gan_space(m, clf, x))
    step = images_per_batch(m.image_shape)   # a batch at a time: 5,000 RGB 128 x 128 images are 983 MB as float32
    space = [embed(m.as_input(images[i:i + step])) for i in range(0, len(images), step)]
    empty = np.zeros((0, m.latent_dim if m.kind == "vae" else 0), np.float32)
    return images, (np.concatenate(space) if space else empty), labels


def gan_space(m, clf, x) -> np.ndarray:
    """Where a GAN's images are compared (float32 (N, C, H, W)): its classifier's features, or
    without one the pixels as its map lays them out (`latent_map.pixel_features`: averaged down to
    at most PIXEL_BUDGET numbers an image)."""
    from playground.latent_map import pixel_features
    return clf.features(x) if clf is not None else pixel_features(x)


def classifier_features(name: str, images):
    """Features a GAN's neighbours are found by: its classifier's, or the pixels without one."""
    m = load_model(name)
    return gan_space(m, classifier_or_none(m), np.asarray(images, np.float32).reshape(-1, *m.image_shape))


# ---- state in the URL ---------------------------------------------------------------------------

def generative_names() -> list[str]:
    return [l.name for l in listings() if l.ok and l.card["kind"] in ("vae", "gan")]


from playground.first_map import DEFAULT_MODEL, DEFAULT_PROJECTION  # noqa: E402  (shared with the preview)


def init_state() -> None:
    """On a session's first run, take model, projection and selection from the URL."""
    ss = st.session_state
    if ss.get("_initialised"):
        return
    ss._initialised = True
    qp = st.query_params
    names = generative_names()
    wanted = qp.get("model")
    ss.model = wanted if wanted in names else default_model(names)
    notes = []
    if wanted and wanted not in names:
        notes.append(f"The link asked for model {literal(wanted, 40)}, which is not available here.")
    ss.proj = qp.get("proj", "")
    if str(qp.get("n", "")).isdigit():          # the map's size; snapped to a size offered when used
        ss.map_points = int(qp.get("n"))
        ss["_map_points_from_url"] = True
    sel = parse_selection(qp.get("sel"))        # untrusted: bounded by MAX_POINTS, never raises
    ss.sel = sel.indices
    if sel.warning:
        notes.append(sel.warning)
    if notes:
        ss.url_warning = " ".join(notes)


def default_model(names: list[str]) -> str | None:
    return DEFAULT_MODEL if DEFAULT_MODEL in names else (names[0] if names else None)


def default_projection(methods: list[str]) -> str | None:
    """A model's own default: its latent plane when it has one (z = 2: the plane IS the code, nothing
    is projected), else t-SNE."""
    for method in ("latent", DEFAULT_PROJECTION):
        if method in methods:
            return method
    return methods[0] if methods else None


def model_switched() -> None:
    """The person picked another model: no selection, and the projection goes back to that model's
    default (app.py fills it in once it knows the model's projections). A link that names a model
    and a projection keeps its projection: it goes through init_state, not here."""
    st.session_state.update(sel=[], proj="")


def note_page(path: str) -> None:
    """Called by app.py on every full run: remembers whether this run arrived from another page."""
    ss = st.session_state
    ss["_arrived"] = ss.get("_page") != path
    ss["_page"] = path


def arrived() -> bool:
    """True on the first run of a page after the person came from another page (or a reload)."""
    return bool(st.session_state.get("_arrived", True))


def current_methods() -> list[str]:
    m = load_model(st.session_state.model)
    return methods_for(m.latent_dim)


def sync_url() -> None:
    ss = st.session_state
    params = {"model": ss.get("model") or "", "proj": ss.get("proj") or ""}
    if ss.get("map_points"):
        params["n"] = str(ss.map_points)
    if ss.get("sel"):
        params["sel"] = encode_selection(ss.sel, MAX_POINTS)    # a bitmask is as long as max(sel) needs
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)


def set_selection(indices, n_points: int) -> None:
    """The whole selection (no cap; the URL holds it compactly), duplicates dropped."""
    sel = unique_indices(indices, n_points)
    if sel != st.session_state.get("sel"):
        st.session_state.sel = sel
        sync_url()


def method_label(method: str) -> str:
    return LABELS.get(method, method)


DATASET_LABEL = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}


def model_label(name: str) -> str:
    """Short enough for the sidebar: the name and latent size (kind and data set go below it), and
    the origin of a run saved from the Train page ('my-vae · z=2 · trained here')."""
    listing = {l.name: l for l in listings()}[name]
    if is_trained_here(name):
        return f"{listing.path.name} · z={listing.card['latent_dim']} · {TRAINED_HERE}"
    return f"{name} · z={listing.card['latent_dim']}"


def model_summary(name: str) -> str:
    listing = {l.name: l for l in listings()}[name]
    card = listing.card
    ds = DATASET_LABEL.get(card["dataset"]["name"], card["dataset"]["name"])
    text = f"{KIND_LABEL[card['kind']]} trained on {ds}, {card['latent_dim']}-D latent space"
    if _is_adapter(card):
        text = (f"{KIND_LABEL[card['kind']]} from the adapter file `{listing.path.name}`, "
                f"{'×'.join(map(str, card['image_shape']))} images, {card['latent_dim']}-D latent space")
    if is_trained_here(name):
        text += f"; your run from the Train page, saved in `{listing.path}`"
    elif not _is_adapter(card) and listing.path.parent != models.CHECKPOINTS:
        text += f"; from `{listing.path.parent}`"           # a --checkpoints folder
    return text


def atlas(name: str, method: str, n: int, _lmap: LatentMap, _model) -> tuple:
    """Decode an n x n grid over the map in one batch: (atlas image, extent); cached per weights
    (the model's and, for a GAN map, its classifier's: both are in the map's cache name)."""
    return _atlas(name, method, n, _model.card["weights"]["sha256"], _lmap.cache_name, _lmap, _model)


@cache_data(show_spinner=False, max_entries=64, max_bytes=128 * MB)
def _atlas(name: str, method: str, n: int, sha: str, map_name: str, _lmap: LatentMap, _model) -> tuple:
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


def header(title: str, blurb: str, *, needs_classifier: bool = True) -> models.LatentModel:
    """Page title and blurb; returns the current model. Stops the page, saying why, on a broken
    model or, for a GAN on a page that lays out its map (`needs_classifier`), a broken classifier:
    the one place a page's model and a GAN's classifier are checked before anything uses them."""
    st.header(title)
    st.caption(blurb)
    try:
        m = load_model(st.session_state.model)
    except models.CheckpointError as e:
        st.error(f"This checkpoint cannot be loaded: {e}")
        st.stop()
    if m.kind == "gan" and needs_classifier and has_classifier(m):
        try:
            classifier_for(m)
        except models.CheckpointError as e:
            st.error(f"**{st.session_state.model}** lays out its map by the features of the "
                     f"classifier **{models.classifier_name(m.card)}**, which cannot be loaded ({e}). "
                     "Pick another model, or restore that checkpoint.")
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
