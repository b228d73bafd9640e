"""serve: the page's HTTP API on a tiny model (image, video + audio, two prompts, bad files,
the upload limit), then the real page in headless Chromium (upload, overlay, screenshot)."""
import io
import os
import shutil
import threading
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from aam_ms import serve  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TINY = str(REPO / "configs" / "aam_tiny.yaml")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _scene(h=72, w=96, seed=0):
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 120, np.uint8) + rng.integers(0, 10, (h, w, 3)).astype(np.uint8)
    cv2.circle(img, (w // 4, h // 2), 9, (220, 40, 40), -1)
    cv2.rectangle(img, (3 * w // 4 - 8, h // 2 - 8), (3 * w // 4 + 8, h // 2 + 8), (40, 70, 225), -1)
    return img


def _jpeg(rgb):
    return cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    import mindspore as ms
    from aam_ms.session import load_session
    ms.set_context(mode=ms.GRAPH_MODE)
    cache = tmp_path_factory.mktemp("cache")
    session = load_session(config=TINY, allow_random=True, overrides=[
        "input.size=[64,64]", "input.clip_len=4", f"text_encoder.cache_dir={cache}"])
    work = tmp_path_factory.mktemp("work")
    pred = serve.Predictor(session, str(work), max_frames=8)
    return serve.create_app(pred, "aam_tiny", max_upload_mb=1, queue=4), work


def test_page_and_prompt_list(app):
    c = TestClient(app[0])
    page = c.get("/")
    assert page.status_code == 200
    for element in ('id="file"', 'id="audio"', 'id="prompt"', 'id="prompt_b"', 'id="dataset"',
                    'id="overlay"', 'id="map"', 'id="compare"', "aam_tiny"):
        assert element in page.text
    keys = {p["key"]: p["text"] for p in c.get("/api/prompts").json()}
    assert len(keys) >= 17 and keys["None"].startswith("Generic visual stimulus")


def test_image_two_prompts_and_downloads(app):
    c = TestClient(app[0])
    r = c.post("/api/predict", files={"file": ("scene.jpg", _jpeg(_scene()), "image/jpeg")},
               data={"prompt": "DHF1K", "prompt_b": "find the red disc on the left"})
    assert r.status_code == 200, r.text
    js = r.json()
    assert js["kind"] == "image" and js["size"] == [72, 96] and len(js["prompts"]) == 2
    assert js["prompts"][1] == "find the red disc on the left"
    get = lambda name: c.get(f"/results/{js['id']}/{name}")  # noqa: E731
    ov = cv2.imdecode(np.frombuffer(get(js["show"]["overlay"]).content, np.uint8), 1)
    sal = cv2.imdecode(np.frombuffer(get(js["show"]["map"]).content, np.uint8), 0)
    cmp_ = cv2.imdecode(np.frombuffer(get(js["show"]["compare"]).content, np.uint8), 1)
    assert ov.shape == (72, 96, 3) and sal.shape == (72, 96)
    assert sal.min() == 0 and sal.max() == 255                      # min-max scaled map
    assert cmp_.shape[1] > 2 * 300                                  # two tiles side by side
    z = zipfile.ZipFile(io.BytesIO(get("outputs.zip").content))
    assert {"map_1.png", "map_2.png", "overlay_1.jpg", "overlay_2.jpg", "compare.jpg"} <= set(z.namelist())
    # the two prompts give two different maps
    m1 = cv2.imdecode(np.frombuffer(z.read("map_1.png"), np.uint8), 0).astype(int)
    m2 = cv2.imdecode(np.frombuffer(z.read("map_2.png"), np.uint8), 0).astype(int)
    assert np.abs(m1 - m2).mean() > 0.1
    assert get("../../etc/passwd").status_code == 404


def test_video_with_audio(app, tmp_path):
    c = TestClient(app[0])
    path = tmp_path / "clip.avi"
    wr = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 8.0, (96, 72))
    for t in range(10):
        wr.write(cv2.cvtColor(_scene(seed=t), cv2.COLOR_RGB2BGR))
    wr.release()
    wav = io.BytesIO()
    sf.write(wav, (0.3 * np.sin(np.arange(20000) / 16000 * 2 * np.pi * 440)).astype(np.float32),
             16000, format="WAV")
    r = c.post("/api/predict", files={"file": ("clip.avi", path.read_bytes(), "video/x-msvideo"),
                                      "audio": ("clip.wav", wav.getvalue(), "audio/wav")},
               data={"prompt": "", "prompt_b": ""})
    assert r.status_code == 200, r.text
    js = r.json()
    assert js["kind"] == "video" and js["audio"] and js["frames"] == 8 and js["truncated"]
    z = zipfile.ZipFile(io.BytesIO(c.get(f"/results/{js['id']}/outputs.zip").content))
    assert len([n for n in z.namelist() if n.startswith("prompt_1/maps/")]) == 8
    assert js["show"]["video"].startswith("prompt_1/overlay.") and js["show"]["video"] in z.namelist()
    assert "compare" not in js["show"]
    # a truncated audio file is refused with the CLI's reason, naming the upload
    r = c.post("/api/predict", files={"file": ("clip.avi", path.read_bytes(), "video/x-msvideo"),
                                      "audio": ("cut.wav", wav.getvalue()[:2000], "audio/wav")})
    assert r.status_code == 400 and r.json()["error"].startswith("cut.wav: truncated WAV"), r.text


def test_bad_files_get_the_cli_messages(app):
    c = TestClient(app[0])
    work = app[1]
    before = sorted(os.listdir(work))
    r = c.post("/api/predict", files={"file": ("broken.png", b"\x89PNG not really", "image/png")})
    assert r.status_code == 400
    msg = r.json()["error"]
    assert msg.startswith("broken.png: ") and "tmp" not in msg, msg
    r = c.post("/api/predict", files={"file": ("notes.txt", b"hello", "text/plain")})
    assert r.status_code == 400 and "notes.txt: unsupported file type .txt" in r.json()["error"]
    r = c.post("/api/predict", files={"file": ("scene.jpg", _jpeg(_scene()), "image/jpeg")},
               data={"prompt": "DHF1Kx"})
    assert r.status_code == 400 and "no known prompt or dataset key" in r.json()["error"]
    r = c.post("/api/predict", files={"file": ("big.png", b"0" * (2 << 20), "image/png")})
    assert r.status_code == 413 and "over the limit of 1 MB" in r.json()["error"]
    assert sorted(os.listdir(work)) == before            # failed requests leave nothing behind


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium installed (apt-get install chromium)")
def test_page_in_headless_chromium(app, tmp_path):
    pw = pytest.importorskip("playwright.sync_api", reason="playwright (pip) is not installed")
    import uvicorn
    server = uvicorn.Server(uvicorn.Config(app[0], host="127.0.0.1", port=0, log_level="warning"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    img = tmp_path / "upload.jpg"
    img.write_bytes(_jpeg(_scene()))
    try:
        with pw.sync_playwright() as p:
            # a fresh profile folder (Playwright's own way to pass --user-data-dir)
            browser = p.chromium.launch_persistent_context(
                str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=FLAGS,
                viewport={"width": 1000, "height": 900})
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function("document.querySelectorAll('#dataset option').length > 17")
            page.select_option("#dataset", "DHF1K")
            assert page.input_value("#prompt") == "DHF1K"
            page.fill("#prompt_b", "find the blue square on the right")
            page.set_input_files("#file", str(img))
            page.click("#run")
            page.wait_for_function("document.getElementById('overlay').naturalWidth > 0 && "
                                   "document.getElementById('compare').naturalWidth > 0",
                                   timeout=120000)
            assert page.inner_text("#status").startswith("done in")
            assert page.eval_on_selector("#overlay", "e => e.naturalWidth") == 96
            href = page.get_attribute("#download", "href")
            assert href.endswith("/outputs.zip")
            shot = tmp_path / "page.png"
            page.screenshot(path=str(shot), full_page=True)
            # a bad file shows the CLI's message on the page
            bad = tmp_path / "broken.png"
            bad.write_bytes(b"not an image")
            page.set_input_files("#file", str(bad))
            page.click("#run")
            page.wait_for_selector("#status.err")
            assert page.inner_text("#status").startswith("broken.png: ")
            browser.close()
    finally:
        server.should_exit = True
        th.join(10)
    pix = cv2.imread(str(shot))
    assert pix is not None and pix.shape[0] > 400
    assert float(pix.astype(np.float64).var()) > 500.0          # not a blank page
    ov = pix[..., 2].astype(int) - pix[..., 0].astype(int)       # heat colours of the overlay
    assert (np.abs(ov) > 60).sum() > 500
