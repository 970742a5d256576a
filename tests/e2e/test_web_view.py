"""The bridge's live view in a real browser: a bridge with recorded runs (profiling runs, then
adaptive runs the policy plans and predicts), its pages opened in headless Debian Chromium."""

import copy
import shutil
import time
import urllib.request

import pytest
import zmq
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from pacer_testbed.bridge import BridgeProcess
from pacer_testbed.protocol_schema import samples

APP = "WebView KMeans"
JOBS = 6
MIN_EXECUTORS, MAX_EXECUTORS = 1, 8


class Listener:
    """Sends a run's events as a listener does (a REQ socket, JSON) and keeps the replies."""

    def __init__(self, endpoint):
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.REQ)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.RCVTIMEO, 10_000)
        self.socket.connect(endpoint)
        self.events = samples()

    def send(self, name, **fields):
        message = copy.deepcopy(self.events[name])
        message["payload"].update(fields)
        self.socket.send_json(message)
        return self.socket.recv_json()

    def run(self, adaptive, target_ms, start_ms, job_ms):
        """One run: each job takes `job_ms` × 4 / scale-out, at the scale-out the bridge asks for."""
        start = self.send("application_start.json", application_id="app-%d" % start_ms,
                          app_name=APP, app_time=start_ms, is_adaptive=adaptive,
                          app_specs={**self.events["application_start.json"]["payload"]["app_specs"],
                                     "target_runtime": target_ms, "min_executors": MIN_EXECUTORS,
                                     "max_executors": MAX_EXECUTORS})
        run_id, scale_out = start["app_event_id"], start["recommended_scale_out"]
        now = start_ms + 500
        for job in range(JOBS):
            self.send("job_start.json", app_event_id=run_id, app_time=now, job_id=job,
                      num_executors=scale_out)
            now += job_ms * 4 // scale_out
            reply = self.send("job_end.json", app_event_id=run_id, app_time=now, job_id=job,
                              num_executors=scale_out, stages={})
            scale_out = max(MIN_EXECUTORS, reply["recommended_scale_out"])
        self.send("application_end.json", app_event_id=run_id, app_time=now + 200,
                  num_executors=scale_out)
        return run_id

    def close(self):
        self.socket.close()
        self.context.term()


@pytest.fixture
def browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "scripts/ensure-deps browser installs chromium and chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--no-first-run", "--window-size=1280,1400"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    yield session
    session.quit()


def wait_for_page(url, text, timeout=10):
    """The store commits in groups a few milliseconds after the replies: wait until the page
    shows `text` (every run recorded)."""
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(url, timeout=10) as response:
            if text in response.read().decode() or time.monotonic() > deadline:
                return
        time.sleep(0.05)


def console_errors(session):
    return [entry for entry in session.get_log("browser") if entry["level"] == "SEVERE"]


def test_the_live_view_shows_applications_runs_charts_and_decisions(tmp_path, browser):
    bridge = BridgeProcess(tmp_path / "history.db", policy="pacer", log_path=tmp_path / "bridge.log",
                           http=True).start()
    try:
        listener = Listener(bridge.endpoint)
        start = 1_700_000_000_000
        for i in range(3):
            listener.run(False, 0, start + i * 100_000, 4_000)
        adaptive = [listener.run(True, 20_000, start + (3 + i) * 100_000, 4_000) for i in range(2)]
        listener.close()
        wait_for_page(bridge.http_url, "2 met, 0 missed")

        browser.get(bridge.http_url)
        assert APP in browser.find_element(By.CSS_SELECTOR, "h2.app").text
        rows = browser.find_elements(By.CSS_SELECTOR, "table.runs tr")
        assert len(rows) == 1 + 5, "a header and the five runs"
        assert "met" in browser.find_element(By.CSS_SELECTOR, "table.runs").text
        browser.save_screenshot(str(tmp_path / "applications.png"))
        assert console_errors(browser) == []

        browser.find_element(By.CSS_SELECTOR, 'a[href="/runs/%s"]' % adaptive[-1]).click()
        assert browser.current_url.endswith("/runs/%s" % adaptive[-1])
        executors = browser.find_element(By.CSS_SELECTOR, "#executors-chart svg")
        assert executors.size["width"] > 300 and executors.size["height"] > 150
        assert browser.find_elements(By.CSS_SELECTOR, "#predictions-chart svg"), \
            "an adaptive run planned by pacer has a predicted finish after each job"
        decisions = browser.find_elements(By.CSS_SELECTOR, "table.decisions tr")
        assert len(decisions) >= 2, "a header and at least the decision at APPLICATION_START"
        jobs = browser.find_elements(By.CSS_SELECTOR, "table.jobs tr")
        assert len(jobs) == 1 + JOBS
        browser.save_screenshot(str(tmp_path / "run.png"))
        assert console_errors(browser) == []

        with urllib.request.urlopen(bridge.http_url + "metrics", timeout=10) as response:
            assert 'pacer_bridge_runs_finished_total{outcome="met"}' in response.read().decode()
        print("screenshots in %s" % tmp_path)
    finally:
        assert bridge.stop() == 0
