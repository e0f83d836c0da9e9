# WebDriver over chromedriver (Browser) and Marionette for Firefox (Firefox),
# for the lab tests that drive a real browser
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


class Firefox:
    """Headless Firefox over Marionette, the remote protocol built into
    Firefox (geckodriver, the WebDriver bridge, is not packaged in Debian):
    length-prefixed JSON on a local port. The same go/run/wait as Browser."""

    def __init__(self, profile, width=1600, height=1000):
        self.profile, self.size = profile, (width, height)
        self.port, self.next_id = free_port(), 0

    def __enter__(self):
        os.makedirs(self.profile, exist_ok=True)
        with open(os.path.join(self.profile, "user.js"), "w") as prefs:
            for name, value in [("marionette.port", self.port), ("browser.shell.checkDefaultBrowser", False),
                                ("datareporting.policy.dataSubmissionEnabled", False),
                                ("app.update.disabledForTesting", True), ("network.proxy.type", 0),
                                ("browser.startup.homepage_override.mstone", "ignore")]:
                prefs.write(f"user_pref({json.dumps(name)}, {json.dumps(value)});\n")
        env = dict(os.environ, HOME=self.profile, MOZ_HEADLESS="1")
        self.process = subprocess.Popen(
            ["firefox-esr", "--headless", "--marionette", "--no-remote", "--profile", self.profile,
             f"--width={self.size[0]}", f"--height={self.size[1]}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            deadline = time.time() + 60
            while True:
                try:
                    self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
                    break
                except OSError:
                    if time.time() > deadline or self.process.poll() is not None:
                        raise RuntimeError("Firefox's Marionette port never opened")
                    time.sleep(0.2)
            self.file = self.sock.makefile("rb")
            self.receive()  # the server's hello
            self.call("WebDriver:NewSession", {"capabilities": {}})
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        try:
            self.call("Marionette:Quit", {"flags": ["eForceQuit"]})
        except Exception:
            pass
        self.stop()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def receive(self):
        length = b""
        while not length.endswith(b":"):
            byte = self.file.read(1)
            if not byte:
                raise RuntimeError("Marionette closed the connection")
            length += byte
        return json.loads(self.file.read(int(length[:-1])))

    def call(self, command, params):
        self.next_id += 1
        message = json.dumps([0, self.next_id, command, params]).encode()
        self.sock.sendall(str(len(message)).encode() + b":" + message)
        _, _, error, result = self.receive()
        if error:
            raise RuntimeError(f"{command}: {error}")
        return result

    def go(self, url):
        self.call("WebDriver:Navigate", {"url": url})

    def run(self, script, *args):
        return self.call("WebDriver:ExecuteScript", {"script": script, "args": list(args)})["value"]

    def wait(self, script, seconds=10, *args):
        deadline = time.time() + seconds
        while True:
            value = self.run(script, *args)
            if value or time.time() > deadline:
                return value
            time.sleep(0.1)

    def screenshot(self, path):
        import base64
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.call("WebDriver:TakeScreenshot", {"full": False})["value"]))
