"""The Latent map page: selections (kept whole, in the URL, shown by a spread sample), the default
view, captions that describe the projection in use, and caches that follow the weights."""
import base64
import json
import shutil

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import models
from models.checkpoint import sha256_file
from playground import selection
from conftest import assert_clean, run_app


# ---- pure: selection.py --------------------------------------------------------------------------

def test_a_short_selection_is_listed_and_a_long_one_is_a_bitmask_that_round_trips():
    assert selection.encode_selection([5, 2, 9, 2], 10) == "5,2,9"
    assert selection.decode_selection("5,2,9,2,x,99", 10) == [5, 2, 9]         # junk and repeats dropped
    many = list(range(0, 2000, 3))                                             # 667 points
    text = selection.encode_selection(many, 2000)
    assert text.startswith("0,3,m") and len(text) < 400                        # the first two, then a bitmask
    assert selection.decode_selection(text, 2000) == many
    assert selection.decode_selection("m!!not-base64", 2000) == []


def test_class_counts_keep_each_class_apart_from_its_count():
    assert selection.class_counts(np.array([477, 0, 0, 844, 0, 0, 0, 0, 543, 0]), list("0123456789")) \
        == "3: 844 · 8: 543 · 0: 477"
    assert selection.class_counts([2, 5], ["T-shirt", "Bag"]) == "Bag: 5 · T-shirt: 2"


def test_the_shown_sample_spreads_over_the_selection():
    rng = np.random.default_rng(0)
    # four tight clusters far apart, 100 points each, listed cluster by cluster
    centres = np.array([[0, 0], [100, 0], [0, 100], [100, 100]], float)
    y = np.concatenate([c + rng.normal(size=(100, 2)) for c in centres])
    picked = selection.representative(range(400), y, 8)
    assert len(picked) == len(set(picked)) == 8
    assert {i // 100 for i in picked} == {0, 1, 2, 3}             # every cluster, not the first 8
    assert picked == selection.representative(range(400), y, 8)   # deterministic
    assert selection.representative([3, 1, 3], y, 8) == [3, 1]


# ---- the page, through AppTest -------------------------------------------------------------------

def test_a_newcomer_lands_on_the_mnist_vae_under_tsne():
    at = run_app()
    assert_clean(at, "first visit")
    assert at.session_state.model == "mnist-vae" and at.session_state.proj == "tsne"


def test_duplicate_indices_in_the_link_show_each_image_once():
    at = run_app(model="mnist-vae", proj="tsne", sel="7,7,3,7")
    assert_clean(at, "duplicates")
    assert at.session_state.sel == [7, 3]
    assert any(s.value.startswith("2 selected") for s in at.subheader)
    caption = next(c for el in at.image for c in el.captions if c.startswith("#"))
    assert caption.count("#7 ") == 1 and caption.count("#3 ") == 1


def test_a_large_selection_is_counted_whole_and_shown_by_a_spread_sample():
    images, labels = models.reference("mnist")
    wanted = np.flatnonzero(np.isin(labels, [0, 1]))[:300].tolist()     # zeros and ones, sorted by index
    at = run_app(model="mnist-vae", proj="tsne", sel=",".join(map(str, wanted)))
    assert_clean(at, "300 selected")
    assert at.session_state.sel == wanted                                  # nothing cut at 256
    assert any(s.value.startswith("300 selected · 16 shown") for s in at.subheader)
    url_sel = at.query_params["sel"]
    url_sel = url_sel[0] if isinstance(url_sel, list) else url_sel
    assert selection.decode_selection(url_sel, len(labels)) == wanted      # the URL keeps all 300
    caption = next(c for el in at.image for c in el.captions if c.startswith("#"))
    shown = [int(part.split()[0][1:]) for part in caption.split(" · ")]
    assert len(shown) == 16 and set(shown) <= set(wanted)
    assert {int(labels[i]) for i in shown} == {0, 1}                       # both classes shown
    assert shown != wanted[:16]                                            # not just the first 16
    counts = next(c.value for c in at.caption if "of the selection:" in c.value)
    n0, n1 = int((labels[wanted] == 0).sum()), int((labels[wanted] == 1).sum())
    first, second = sorted([(n0, "0"), (n1, "1")], key=lambda t: (-t[0], t[1]))
    assert counts.endswith(f": {first[1]}: {first[0]} · {second[1]}: {second[0]}"), counts   # "0: 160", not "0 160"


def url_sel(at) -> str | None:
    value = at.query_params.get("sel")
    return value[0] if isinstance(value, list) else value


@pytest.mark.parametrize("crafted", [
    "9" * 5000,                                              # int() of it raises in Python 3.11
    "99999999999",
    ",".join(str(10**7 + i) for i in range(65)),             # used to become a 10-million-bit bitmask
    "m" + "_" * 400_000,                                     # 2.4 million set bits
    "3,m!!not-base64",
], ids=["5000-digits", "11-digits", "65-past-any-map", "huge-bitmask", "bad-base64"])
def test_a_crafted_selection_link_is_read_within_bounds_and_said_so(crafted):
    at = run_app(model="mnist-vae", proj="tsne", sel=crafted)
    assert_clean(at, f"sel={crafted[:20]}…")
    said = [w.value for w in at.sidebar.warning]
    assert any(w.startswith("The link's selection was read in part:") for w in said), said
    assert all(0 <= i < 10_000 for i in at.session_state.sel)              # within mnist-vae's map
    assert len(url_sel(at) or "") <= 10_000 // 6 + 10                      # at most a bitmask of the map


def test_a_linked_selection_past_the_map_is_trimmed_to_it_with_a_warning():
    at = run_app(model="mnist-vae", proj="tsne", sel="3,12500,7")      # the map has 10,000 points
    assert_clean(at, "sel past the map")
    assert any("past the last of this map's 10,000 points (such as #12,500)" in w.value for w in at.warning)
    assert at.session_state.sel == [3, 7] and url_sel(at) == "3,7"
    assert any(s.value.startswith("2 selected") for s in at.subheader)


@pytest.mark.parametrize("name, method, must, must_not", [
    ("mnist-vae", "pca", "PCA is a linear projection", "t-SNE"),
    ("mnist-vae", "tsne", "t-SNE has no inverse", "PCA"),
    ("mnist-gan", "pca", "PCA of the generated images' classifier features has no inverse", "t-SNE"),
    ("mnist-vae2d", "latent", "latent plane itself", "t-SNE"),
])
def test_atlas_caption_describes_the_projection_in_use(name, method, must, must_not):
    at = run_app(model=name, proj=method)
    assert_clean(at, f"{name}/{method}")
    caption = next(c for el in at.image for c in el.captions if "2-D manifold" in c)
    assert must in caption and must_not not in caption, caption


def plotly_array(value) -> np.ndarray:
    """A figure's array as the browser gets it: plotly writes numpy arrays as typed arrays
    ({"dtype": "i2", "bdata": base64, "shape": "n, m"}), lists stay lists."""
    if isinstance(value, dict) and "bdata" in value:
        a = np.frombuffer(base64.b64decode(value["bdata"]), np.dtype(value["dtype"]))
        shape = value.get("shape")
        return a.reshape([int(n) for n in str(shape).split(",")]) if shape else a
    return np.asarray(value)


def test_the_map_figure_marks_a_linked_selection_and_lets_a_click_select():
    from playground import session
    at = run_app(model="mnist-vae", proj="pca", sel="0,5")
    assert_clean(at, "sel=0,5")
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert fig["layout"]["dragmode"] == "pan"          # pan: a click selects (box / lasso in the toolbar)
    traces = [t for t in fig["data"] if "customdata" in t]
    lmap = session.latent_map("mnist-vae", "pca", quiet=True)
    every = np.concatenate([plotly_array(t["customdata"]) for t in traces]).astype(int)
    assert sorted(every.tolist()) == list(range(len(lmap.y)))       # each point once, by its map index
    marked = {}
    for t in traces:
        index, x, y = (plotly_array(t[k]) for k in ("customdata", "x", "y"))
        np.testing.assert_allclose(np.stack([x, y], 1), lmap.y[index.astype(int)], rtol=1e-6)
        assert t.get("selectedpoints") is not None, t["name"]      # every trace dims its others
        marked.update({int(index[i]): t["name"] for i in t["selectedpoints"]})
    assert set(marked) == {0, 5}                                    # exactly the linked selection
    names = session.load_model("mnist-vae").class_names
    assert {i: marked[i].split(": ")[-1] for i in marked} == {i: names[lmap.labels[i]] for i in (0, 5)}
    assert not any(t.get("name") == "selected" for t in fig["data"])   # no overlay trace to reset it


# ---- caches follow the weights, not the name ---------------------------------------------------

def _retrain_in_place(folder, keys=("vae.decoder.0.bias", "vae.to_mu.bias")):
    """Change a checkpoint's weights under the same name, as a new training run would (by default a
    VAE's decoder and encoder both change)."""
    w = folder / "model.safetensors"
    tensors = load_file(w)
    for key in keys:
        noise = np.random.default_rng(1).normal(0, tensors[key].std() + 0.1, tensors[key].shape)
        tensors[key] = (tensors[key] + 0.5 + noise).astype(tensors[key].dtype)
    save_file(tensors, w)
    card = json.loads((folder / "card.json").read_text())
    card["weights"]["sha256"] = sha256_file(w)
    card["weights"]["bytes"] = w.stat().st_size
    (folder / "card.json").write_text(json.dumps(card, indent=1))


def test_derived_caches_follow_a_checkpoint_retrained_under_the_same_name(tmp_path, monkeypatch,
                                                                          fresh_streamlit_caches):
    from playground import session
    root = tmp_path / "ckpts"
    for name in ("mnist-vae", "mnist-classifier", "reference"):
        shutil.copytree(models.CHECKPOINTS / name, root / name)
    monkeypatch.setattr(models, "CHECKPOINTS", root)
    lmap = session.latent_map("mnist-vae", "pca")
    before = dict(atlas=session.atlas("mnist-vae", "pca", 6, lmap, session.load_model("mnist-vae"))[0],
                  errors=session.reference_errors("mnist-vae").errors.copy(),
                  space=session.reference_space("mnist-vae")[1].copy())
    _retrain_in_place(root / "mnist-vae")
    session.listings.clear()                          # the listing's 30-s refresh, without the wait
    m2 = session.load_model("mnist-vae")
    assert m2.card["weights"]["sha256"] == sha256_file(root / "mnist-vae" / "model.safetensors")
    lmap2 = session.latent_map("mnist-vae", "pca")
    after = dict(atlas=session.atlas("mnist-vae", "pca", 6, lmap2, m2)[0],
                 errors=session.reference_errors("mnist-vae").errors, space=session.reference_space("mnist-vae")[1])
    for k in before:
        assert not np.array_equal(before[k], after[k]), f"{k} still comes from the old weights"
    # and the new values are the new model's own: a new map of the new codes, and what is derived
    assert lmap2 is not lmap and lmap2.cache_name != lmap.cache_name
    images = models.reference("mnist")[0]
    x = images[:, None].astype(np.float32) / 255
    new_z = m2.encode(x)
    assert not np.allclose(lmap.z, new_z, atol=1e-3)
    np.testing.assert_allclose(lmap2.z, new_z, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(lmap2.y, lmap2.projection.transform(new_z), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(after["space"], new_z, atol=1e-5)
    from playground.imaging import atlas as tile_atlas
    from playground.uploads import reference_errors
    np.testing.assert_allclose(after["atlas"], tile_atlas(m2.decode(lmap2.to_latent(lmap2.grid(6)[2])), 6, 6),
                               atol=1e-5)
    np.testing.assert_allclose(after["errors"], reference_errors(m2, images), rtol=1e-4, atol=1e-6)


def test_gan_caches_follow_its_classifier_retrained_under_the_same_name(tmp_path, monkeypatch,
                                                                        fresh_streamlit_caches):
    """A GAN's map lays its points out by a classifier's features: a new classifier under the same
    name is a new map, new reference neighbours and a new drag-page geometry, with the GAN unchanged."""
    import playground.dragmap as dragmap
    from playground import session
    root = tmp_path / "ckpts"
    for name in ("mnist-gan", "mnist-classifier", "reference"):
        shutil.copytree(models.CHECKPOINTS / name, root / name)
    monkeypatch.setattr(models, "CHECKPOINTS", root)
    session.listings.clear()
    sent = []                                           # what the drag page gives its component
    real = dragmap._component
    monkeypatch.setattr(dragmap, "_component", lambda **kw: sent.append(kw["data"]) or real(**kw))

    def drag_points():
        at = run_app(model="mnist-gan", proj="pca")
        at.switch_page("views/drag.py").run()
        assert_clean(at, "drag page")
        return np.array(json.loads(sent[-1]["points"])).reshape(-1, 2)

    lmap = session.latent_map("mnist-gan", "pca")
    space = session.reference_space("mnist-gan")[1].copy()
    points = drag_points()
    _retrain_in_place(root / "mnist-classifier", keys=("classifier.body.0.weight",))
    session.listings.clear()                            # the listing's 30-s refresh, without the wait
    clf2, gan = session.load_model("mnist-classifier"), session.load_model("mnist-gan")
    assert clf2.card["weights"]["sha256"] == sha256_file(root / "mnist-classifier" / "model.safetensors")

    lmap2 = session.latent_map("mnist-gan", "pca")
    assert lmap2 is not lmap and not np.allclose(lmap2.y, lmap.y)
    np.testing.assert_array_equal(lmap2.z, lmap.z)                       # the same GAN samples ...
    np.testing.assert_allclose(lmap2.space, clf2.features(gan.decode(lmap2.z)), rtol=1e-4, atol=1e-4)
    space2 = session.reference_space("mnist-gan")[1]                     # ... laid out by the new one
    x = models.reference("mnist")[0][:, None].astype(np.float32) / 255
    assert not np.allclose(space2, space)
    np.testing.assert_allclose(space2, clf2.features(x), rtol=1e-4, atol=1e-4)
    points2 = drag_points()
    from playground.dragmap import full_extent, normalise
    assert not np.allclose(points2, points, atol=1e-3)
    np.testing.assert_allclose(points2, normalise(lmap2.y, full_extent(lmap2.y)), atol=1e-4)


def test_the_reference_set_is_read_anew_from_another_folder_or_a_replaced_file(tmp_path, monkeypatch,
                                                                              fresh_streamlit_caches):
    """session.reference was cached by the data set's name: a checkpoints folder pointed elsewhere
    (or a reference file replaced) kept serving the first one read."""
    from playground import session
    images, labels = models.reference("mnist")
    for root, n in ((tmp_path / "a", 100), (tmp_path / "b", 60)):
        (root / models.REFERENCE_DIR).mkdir(parents=True)
        np.savez(root / models.REFERENCE_DIR / "mnist.npz", images=images[:n], labels=labels[:n])
    monkeypatch.setattr(models, "CHECKPOINTS", tmp_path / "a")
    first = session.reference("mnist")
    assert len(first[0]) == 100 and session.reference("mnist")[0] is first[0]     # cached
    assert not first[0].flags.writeable
    monkeypatch.setattr(models, "CHECKPOINTS", tmp_path / "b")
    assert len(session.reference("mnist")[0]) == 60                                # another folder
    np.savez(tmp_path / "b" / models.REFERENCE_DIR / "mnist.npz", images=images[:30], labels=labels[:30])
    got_images, got_labels = session.reference("mnist")                            # replaced in place
    np.testing.assert_array_equal(got_images, images[:30])
    np.testing.assert_array_equal(got_labels, labels[:30])


@pytest.mark.parametrize("name, method, must, must_not", [
    ("mnist-vae", "pca", "exactly by the map's own linear projection.", "t-SNE"),
    ("mnist-vae", "tsne", "t-SNE has no formula for new points", "linear"),
    ("mnist-gan", "pca", "linear projection of the classifier's features", "t-SNE"),
    ("mnist-vae2d", "latent", "their own codes", "t-SNE"),
])
def test_upload_placement_caption_describes_the_projection_in_use(name, method, must, must_not):
    from playground.latent_map import build_map, describe_placement
    m = models.load(name)
    ref = models.reference(m.dataset) if m.kind == "vae" else None
    clf = models.load(models.classifier_name(m.card)) if m.kind == "gan" else None
    text = describe_placement(build_map(m, method, ref, clf, write_dir=None))
    assert must in text and must_not not in text, text


# ---- map sizes -----------------------------------------------------------------------------------

def map_caption(at) -> str:
    return next(c.value for c in at.caption if " points**" in c.value)


def test_the_map_shows_all_10000_digits_by_default_with_the_training_ones_marked():
    at = run_app(model="mnist-vae", proj="tsne")
    assert_clean(at, "default size")
    assert map_caption(at).startswith("**10,000 points** (2,000 held out, 8,000 the model was trained on")
    picker = next(s for s in at.selectbox if s.label == "Points on the map")
    assert picker.value == 10_000 and picker.options == ["2,000", "5,000", "10,000 (all shipped images)"]
    chart = at.get("plotly_chart")[0].proto.spec
    fig = json.loads(chart)
    count = {}
    for t in fig["data"]:
        count[t["marker"]["symbol"]] = count.get(t["marker"]["symbol"], 0) + len(plotly_array(t["customdata"]))
        assert ("training image" in t["hovertemplate"]) == (t["marker"]["symbol"] == "circle-open")
    assert count == {"circle": 2_000, "circle-open": 8_000}                 # training ones hollow
    assert sum(t.get("showlegend", True) for t in fig["data"]) == 10        # one legend entry a class


def test_a_smaller_map_is_picked_by_link_or_by_the_picker_and_kept_in_the_url():
    at = run_app(model="mnist-vae", proj="tsne", n="2000", sel="3,2500,7")
    assert_clean(at, "n=2000")
    assert map_caption(at).startswith("**2,000 points** · ")                 # all held out: no split
    assert at.session_state.sel == [3, 7]                                    # #2500 is past this map
    picker = next(s for s in at.selectbox if s.label == "Points on the map")
    picker.set_value(5_000).run()
    assert_clean(at, "picked 5,000")
    assert map_caption(at).startswith("**5,000 points** (2,000 held out, 3,000 the model")
    assert at.query_params["n"] in ("5000", ["5000"]) and at.session_state.sel == [3, 7]


def test_a_link_asking_for_more_points_than_there_are_gets_them_all():
    at = run_app(model="mnist-vae", proj="pca", n="999999")
    assert_clean(at, "n too large")
    assert map_caption(at).startswith("**10,000 points**")


def test_a_gans_map_and_drag_page_say_why_it_has_3000_points_and_a_vaes_do_not():
    """A GAN's map has a fixed number of samples and no size picker: both pages say why."""
    for page in ("views/map.py", "views/drag.py"):
        at = run_app(model="mnist-gan", proj="pca")
        if page != "views/map.py":
            at.switch_page(page).run()
        assert_clean(at, page)
        notes = [c.value for c in at.caption if c.value.startswith("Why 3,000 points")]
        assert len(notes) == 1 and "no encoder" in notes[0], (page, [c.value for c in at.caption])
        at = run_app(model="mnist-vae", proj="pca")
        if page != "views/map.py":
            at.switch_page(page).run()
        assert not [c.value for c in at.caption if c.value.startswith("Why ")], page
