"""Headless Chromium driven over the DevTools protocol on a pipe: enough to load a page and look at it.

`--remote-debugging-pipe` makes Chromium read protocol commands from file descriptor 3 and write
replies and events to descriptor 4, each a JSON message ended by a NUL byte: no port, no network,
no extra package. `Browser.open(url)` loads a page in a new tab; `evaluate` runs JavaScript there
(awaiting a promise), `screenshot` returns PNG bytes.
"""

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class Browser:
    def __init__(self, executable: str, width: int = 1200, height: int = 1600, timeout: float = 60.0):
        self.timeout, self.next_id, self.buffer, self.events = timeout, 0, b"", []
        self.profile = tempfile.mkdtemp(prefix="neural_filter_chromium_")
        self.log = Path(self.profile) / "stderr.log"  # Chromium's own messages, quoted when it fails
        commands_read, self.commands = os.pipe()  # we write commands; Chromium reads them as fd 3
        self.replies, replies_write = os.pipe()  # Chromium writes fd 4; we read
        commands_read, replies_write = _above_four(commands_read), _above_four(replies_write)
        flags = ["--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--no-default-browser-check", "--mute-audio", "--autoplay-policy=no-user-gesture-required",
                 f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"]
        # bash (dash takes no descriptor above 9) puts the two pipes on descriptors 3 and 4, then becomes Chromium
        script = f'exec "$0" "$@" 3<&{commands_read} 4>&{replies_write} {commands_read}<&- {replies_write}>&-'
        self.process = subprocess.Popen(["bash", "-c", script, executable, *flags], pass_fds=(commands_read, replies_write),
                                        stdout=subprocess.DEVNULL, stderr=open(self.log, "wb"))
        os.close(commands_read)
        os.close(replies_write)
        self.session = None

    def close(self):
        try:
            self.send("Browser.close", session=False)
        except Exception:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for descriptor in (self.commands, self.replies):
            try:
                os.close(descriptor)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _message(self, deadline: float) -> dict:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.replies], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self.replies, 1 << 20)
            if not chunk:
                log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
                raise RuntimeError(f"Chromium closed the pipe; its last words:\n{log}")
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session=True) -> dict:
        """One command; its result (events that arrive meanwhile are kept for wait_for)."""
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, event: str) -> dict:
        deadline = time.monotonic() + self.timeout
        while True:
            for index, message in enumerate(self.events):
                if message.get("method") == event:
                    return self.events.pop(index)
            self.events.append(self._message(deadline))

    def open(self, url: str) -> None:
        """A new tab showing `url`, loaded (its load event fired)."""
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        self.send("Page.enable")
        self.send("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")
        deadline = time.monotonic() + self.timeout  # that event may have been about:blank's: wait for ours
        while self.evaluate("document.readyState + ' ' + location.href") != f"complete {url}":
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not load")
            time.sleep(0.1)

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (a promise is awaited)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self) -> bytes:
        return base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"])


def _above_four(descriptor: int) -> int:
    """The same pipe end on a descriptor above 4, so that the shell's 3< and 4> cannot clobber it."""
    high = fcntl.fcntl(descriptor, fcntl.F_DUPFD, 10)
    os.close(descriptor)
    return high


def file_url(path) -> str:
    return Path(path).resolve().as_uri()
