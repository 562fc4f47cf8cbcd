"""The interactive API documentation: /swagger/ in headless Chromium with
every other host unreachable lists every operation of /openapi.json; the
document in JSON and YAML; /docs leads there; and the document passes
Redocly's linter with no errors (npx @redocly/cli@2.77.0 lint). The lint
test is skipped, and says so, only when npx cannot obtain the linter."""
import os
import re
import shutil
import subprocess
import tempfile

import pytest
import requests
import yaml

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
REDOCLY = "@redocly/cli@2.77.0"
CHROME_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync",
                # no network but gantryd's: every other host name fails to resolve
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]


def operations(doc):
    return [(m.upper(), p) for p, item in doc["paths"].items() for m in item]


def test_documents_in_json_and_yaml_and_the_redirects(gantryd):
    doc = gantryd.get("/openapi.json").json()
    assert gantryd.get("/swagger/swagger.json").json() == doc
    r = gantryd.get("/swagger/swagger.yaml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/yaml")
    assert not r.text.lstrip().startswith("{")           # block YAML, not JSON in disguise
    assert yaml.safe_load(r.text) == doc
    for path in ("/docs", "/swagger"):
        r = gantryd.get(path, allow_redirects=False)
        assert r.status_code == 301 and r.headers["location"] == "/swagger/"
    page = gantryd.get("/swagger/")
    assert page.status_code == 200 and "swagger-ui-bundle.js" in page.text
    assert gantryd.get("/swagger/index.html").text == page.text
    assert "http" not in re.sub(r"<!doctype html>", "", page.text, flags=re.I)   # nothing from outside
    assert gantryd.get("/swagger/swagger-ui-bundle.js").status_code == 200
    assert gantryd.get("/swagger/nope.js").status_code == 404


def test_every_operation_has_a_description_a_response_and_its_errors(gantryd):
    doc = gantryd.get("/openapi.json").json()
    assert len(operations(doc)) >= 45
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert op["summary"] and op["description"] and op["operationId"], (method, path)
            codes = set(op["responses"])
            assert codes & {"200", "201", "101", "301"}, (method, path, codes)
            assert "400" in codes, (method, path)           # unknown query parameters
            if op["security"]:
                assert "401" in codes, (method, path)
            if "{" in path:
                assert "404" in codes or method == "delete", (method, path)
            for p in op["parameters"]:
                name = p.get("name") or p["$ref"].rsplit("/", 1)[1]
                assert name in path or name in doc["components"]["parameters"], (path, name)
    assert doc["paths"]["/api/tasks"]["post"]["requestBody"]["content"]["application/json"]["schema"]


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="chromium and chromium-driver are not installed")
def test_swagger_page_lists_every_operation_with_no_network(gantryd):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    want = operations(gantryd.get("/openapi.json").json())
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        opts.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="gantry-swagger-")
    opts.add_argument(f"--user-data-dir={profile}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        d.set_window_size(1400, 900)
        d.get(gantryd.url + "/docs")
        assert d.current_url == gantryd.url + "/swagger/"
        WebDriverWait(d, 30).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= len(want))
        shown = set()
        for block in d.find_elements(By.CSS_SELECTOR, ".opblock"):
            method = block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text.strip()
            path = block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute("data-path")
            shown.add((method, path))
        assert len(d.find_elements(By.CSS_SELECTOR, ".opblock")) == len(want)
        assert shown == set(want)
        origin = gantryd.url
        loaded = d.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert loaded and all(u.startswith(origin) for u in loaded), loaded
        severe = [e["message"] for e in d.get_log("browser") if e["level"] == "SEVERE"]
        assert not severe, severe
        os.makedirs(os.path.join(os.path.dirname(__file__), "..", "..", "build"), exist_ok=True)
        d.save_screenshot(os.path.join(os.path.dirname(__file__), "..", "..", "build", "swagger.png"))
    finally:
        d.quit()
        shutil.rmtree(profile, ignore_errors=True)


def redocly_available():
    if not shutil.which("npx"):
        return False
    try:
        r = subprocess.run(["npx", "-y", REDOCLY, "--version"], capture_output=True, text=True,
                           timeout=300)
    except subprocess.TimeoutExpired:
        return False
    return r.returncode == 0 and "2.77.0" in r.stdout


def test_the_document_passes_redocly_lint(gantryd, tmp_path):
    if not redocly_available():
        pytest.skip(f"npx could not obtain {REDOCLY} (no npm, or no network and no npm cache)")
    path = tmp_path / "openapi.json"
    path.write_text(requests.get(gantryd.url + "/openapi.json", timeout=10).text)
    r = subprocess.run(["npx", "-y", REDOCLY, "lint", str(path), "--format=stylish"],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    out = r.stdout + r.stderr
    errors = [l for l in out.splitlines() if re.search(r"\berror\b", l) and re.match(r"\s+\d+:\d+", l)]
    print(out)
    assert r.returncode == 0 and not errors, out
    assert "Your API description is valid" in out
