"""The Encode page with photos (#12), driven through AppTest: a number on paper becomes one input per
digit, each encoded and starred on the map, the number read back; the stages are shown; a person
can set the crop; the camera is one switch away."""
import base64
import json

import numpy as np
import pytest

import models
import photo_corpus as pc
from conftest import assert_clean, run_app
from playground.preprocess import prepare_many


@pytest.fixture(scope="module")
def number():
    """A photo of a number on paper that the models read right, and its digits."""
    vae, clf = models.load("mnist-vae"), models.load("mnist-classifier")
    for s in pc.corpus(pc.usable_digits(vae, clf), 8, ["several-digits"], seed=21)["several-digits"]:
        if len(s.labels) >= 3 and list(pc.read_back(vae, clf, prepare_many(s.data, vae.card))) == list(s.labels):
            return s
    pytest.fail("no number in the corpus is read right")


def upload(at, name, data):
    at.file_uploader(key="uploads").set_value([(name, data, "image/jpeg")]).run()
    return at


def stars(at) -> int:
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    trace = next(t for t in fig["data"] if t.get("name") == "your images")
    x = trace["x"]
    return len(np.frombuffer(base64.b64decode(x["bdata"]), np.dtype(x["dtype"]))) if isinstance(x, dict) else len(x)


def test_a_number_becomes_one_input_per_digit_and_is_read_back(number):
    at = run_app(model="mnist-vae", proj="pca")
    at.switch_page("views/upload.py").run()
    upload(at, "number.jpg", number.data)
    assert_clean(at, "a number")
    n = len(number.labels)
    digits = "".join(map(str, number.labels))
    assert any(f"as **{digits}** ({n} digits, left to right)" in m.value for m in at.markdown)
    assert [m.label for m in at.metric] == ["Pixel MSE"] * n
    assert stars(at) == n
    captions = [img.caption for el in at.image for img in el.proto.imgs]
    assert sum(c.startswith("What the model sees") for c in captions) == n
    for stage in ("Uploaded", "Flattened", "Ink kept", "Crop"):
        assert sum(c.startswith(stage) for c in captions) == 1, stage
    assert any(f"{n} digits found" in c.value for c in at.caption)
    at.switch_page("views/interpolate.py").run()
    at.radio(key="interp_source").set_value("Your uploaded images").run()
    assert at.selectbox(key="interp_uploaded image_a").options == [f"number.jpg · digit {i + 1}" for i in range(n)]


def test_the_person_sets_the_crop_and_gets_the_digit_inside(number):
    at = run_app(model="mnist-vae", proj="pca")
    at.switch_page("views/upload.py").run()
    upload(at, "number.jpg", number.data)
    [on] = [t for t in at.toggle if t.key.startswith("crop_on|number.jpg|")]
    [rows] = [s for s in at.slider if s.key.startswith("crop_rows|number.jpg|")]
    [cols] = [s for s in at.slider if s.key.startswith("crop_cols|number.jpg|")]
    top, bottom = rows.value
    left, right = cols.value
    cut = left + (right - left) // len(number.labels)                 # about the first digit's share
    cols.set_value((left, cut))
    on.set_value(True).run()
    assert_clean(at, "hand-set crop")
    assert [m.label for m in at.metric] == ["Pixel MSE"]
    assert any(c.value == "• Crop set by hand: all the ink inside it is the digit." for c in at.caption)
    assert any(f"as **{number.labels[0]}**." in m.value for m in at.markdown)
    at.toggle(key=on.key).set_value(False).run()                   # back to the automatic crop
    assert [m.label for m in at.metric] == ["Pixel MSE"] * len(number.labels)


def test_the_camera_is_behind_a_switch():
    at = run_app(model="mnist-vae", proj="pca")
    at.switch_page("views/upload.py").run()
    assert not at.get("camera_input")                               # no camera prompt for every visitor
    at.toggle(key="use_camera").set_value(True).run()
    assert_clean(at, "camera on")
    assert len(at.get("camera_input")) == 1


def test_an_unexpected_preprocessing_error_marks_that_file_and_the_others_still_encode(number, monkeypatch):
    """A bug in preprocessing (not an ImageError) is shown against its own file; the other files'
    results stay (it used to take the whole page down with a traceback)."""
    from playground import preprocess
    real = preprocess.prepare

    def flaky(data, card, region=None):
        if data == b"BOOM" + number.data:
            raise ValueError("max() arg is an empty sequence")
        return real(data, card, region=region)
    monkeypatch.setattr(preprocess, "prepare", flaky)
    at = run_app(model="mnist-vae", proj="pca")
    at.switch_page("views/upload.py").run()
    at.file_uploader(key="uploads").set_value([("bad.jpg", b"BOOM" + number.data, "image/jpeg"),
                                               ("good.jpg", number.data, "image/jpeg")]).run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "**bad.jpg** could not be processed" in errors[0] and "ValueError" in errors[0]
    assert stars(at) == len(number.labels)
