"""Review of #14: caches keyed by every file they read, a link's map size snapped to a size offered,
and a GAN's reference errors inverted inside an inversion slot. Each test fails with its fix removed."""
from types import SimpleNamespace

import numpy as np

import models
from conftest import assert_clean, run_app


def test_a_gan_without_shipped_errors_inverts_its_reference_images_in_an_inversion_slot(tmp_path, monkeypatch):
    from playground import jobs, uploads
    slots = jobs.Slots(1)
    monkeypatch.setattr(jobs, "_inversions", slots)
    seen = []

    def reference_errors(model, images, n=None, progress=None):
        seen.append(slots.state())
        return np.ones(n)
    monkeypatch.setattr(uploads, "reference_errors", reference_errors)
    gan = SimpleNamespace(kind="gan", name="uploaded-gan", card={"weights": {"sha256": "0" * 64}})
    ref = uploads.load_reference_errors(gan, np.zeros((20, 28, 28), np.uint8), tmp_path)
    assert seen == [(1, 0)] and slots.state() == (0, 0)                     # held, then freed
    assert len(ref.errors) == uploads.GAN_LIVE_IMAGES and "inverted just now" in ref.warning


def test_the_factor_analysis_is_measured_anew_when_the_reference_file_is_replaced(tmp_path, monkeypatch):
    from playground import factors_view, session
    (tmp_path / "reference").mkdir()
    path = tmp_path / "reference" / "toy-shapes.npz"
    np.savez(path, labels=np.zeros(3))
    monkeypatch.setattr(models, "CHECKPOINTS", tmp_path)
    monkeypatch.setattr(session, "weights_sha", lambda name: "s" * 64)
    monkeypatch.setattr(session, "load_model", lambda name: None)
    monkeypatch.setattr(session, "reference", lambda d: (np.zeros(1), None))
    monkeypatch.setattr(factors_view, "reference_factors", lambda d: (np.zeros((1, 1)), ("f",)))
    calls = []
    monkeypatch.setattr(factors_view, "analyse", lambda *a: calls.append(a) or len(calls))
    m = SimpleNamespace(name="toy-vae", dataset="toy-shapes")
    factors_view._analysis.clear()
    assert factors_view.analysis(m) == factors_view.analysis(m) == 1       # a hit
    np.savez(path, labels=np.zeros(5))                                      # replaced (another size)
    assert factors_view.analysis(m) == 2
    factors_view._analysis.clear()


def test_a_link_asking_for_a_map_size_not_offered_gets_the_nearest_and_is_told():
    at = run_app(model="mnist-vae", proj="pca", n="1")
    assert_clean(at, "n=1")
    caption = next(c.value for c in at.caption if " points**" in c.value)
    assert caption.startswith("**2,000 points**")
    assert any("asked for a map of 1 points" in w.value and "2,000" in w.value for w in at.warning)
    assert at.query_params["n"] in ("2000", ["2000"])
    picker = next(s for s in at.selectbox if s.label == "Points on the map")
    assert picker.options == ["2,000", "5,000", "10,000 (all shipped images)"]
