# WebDriver over chromedriver, for the lab tests that drive a real browser
# (Debian's headless Chromium). Prepended to a test's script by
# `common::browser_script`; the script then uses `Browser`:
#     with Browser(profile_dir) as b:
#         b.go("http://…/"); b.type("input[name=user]", "bob"); b.click("button")
import json, os, socket, subprocess, time, urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    def __init__(self, profile, width=1600, height=1000):
        self.profile, self.size = profile, (width, height)
        self.port = free_port()

    def __enter__(self):
        self.driver = subprocess.Popen(["chromedriver", f"--port={self.port}"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    self.call("GET", "/status"); break
                except Exception:
                    time.sleep(0.1)
            caps = {"capabilities": {"alwaysMatch": {"goog:chromeOptions": {"args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking",
                f"--window-size={self.size[0]},{self.size[1]}",
                "--user-data-dir=" + self.profile]}}}}
            self.session = f"/session/{self.call('POST', '/session', caps)['sessionId']}"
        except BaseException:
            self.stop_driver()
            raise
        return self

    def __exit__(self, *exc):
        try:
            self.call("DELETE", self.session)
        finally:
            self.stop_driver()

    def stop_driver(self):
        self.driver.terminate()
        self.driver.wait()

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.load(r)["value"]

    def go(self, url):
        self.call("POST", self.session + "/url", {"url": url})

    def url(self):
        return self.call("GET", self.session + "/url")

    def title(self):
        return self.call("GET", self.session + "/title")

    def element(self, css):
        found = self.call("POST", self.session + "/element", {"using": "css selector", "value": css})
        return next(iter(found.values()))

    def type(self, css, text):
        self.call("POST", self.session + f"/element/{self.element(css)}/value", {"text": text})

    def click(self, css):
        self.call("POST", self.session + f"/element/{self.element(css)}/click", {})

    def run(self, script, *args):
        return self.call("POST", self.session + "/execute/sync", {"script": script, "args": list(args)})

    def wait(self, script, seconds=10, *args):
        """The script's value once it is truthy; the last value at the deadline."""
        deadline = time.time() + seconds
        while True:
            value = self.run(script, *args)
            if value or time.time() > deadline:
                return value
            time.sleep(0.1)

    def screenshot(self, path):
        import base64
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.call("GET", self.session + "/screenshot")))
