#!/usr/bin/env python3
"""replay-page.py: drives Debian's headless Chromium over the DevTools
protocol (--remote-debugging-pipe: NUL-separated JSON on fds 3 and 4, no
port, no driver to download) against provost-replay's HTML page, with the
network emulated offline and every request the page makes recorded.

  replay-page.py CHROMIUM WORKDIR CHECK PAGE [ARG...]

CHECK is one of
  probe                 the request monitor sees a request a page makes
  session SECOND BEFORE AFTER
                        the page loads offline with no request and no error;
                        at SECOND the player shows BEFORE and not AFTER;
                        clicking the command whose text is AFTER's command
                        moves the player to that command's time; searching
                        for AFTER finds it in the output and the hit seeks
  hostile               nothing from the recording runs or renders as
                        anything but neutralised text
  index N NEEDLE        the page lists N recordings; searching for NEEDLE
                        finds it in recording N and the hit opens it
  files N PATH SHA256   recording N, opened from the index, lists the
                        transfer of PATH with that SHA-256
Prints one line per finding; exits 0 if all hold, 1 otherwise, with a
screenshot in WORKDIR/shots/ at each failure.
"""
import base64
import json
import os
import select
import subprocess
import sys
import time


class Fail(Exception):
    pass


class Browser:
    def __init__(self, chromium, workdir):
        self.workdir = workdir
        self.shots = os.path.join(workdir, "shots")
        os.makedirs(self.shots, exist_ok=True)
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def fds():
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
                "--remote-debugging-pipe", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--disable-default-apps",
                "--metrics-recording-only", "--mute-audio",
                # nothing may leave this machine even if the page tried
                "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
                "--user-data-dir=" + os.path.join(workdir, "profile"),
                "--window-size=1280,1000", "about:blank"]
        self.log = open(os.path.join(workdir, "chromium.log"), "w")
        self.proc = subprocess.Popen(args, pass_fds=(3, 4), preexec_fn=fds,
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def close(self):
        try:
            self.call("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def _read(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail("chromium did not answer in time")
            r, _, _ = select.select([self.from_chrome], [], [], left)
            if r:
                d = os.read(self.from_chrome, 1 << 20)
                if not d:
                    raise Fail("chromium closed the DevTools pipe")
                self.buf += d
        m, _, self.buf = self.buf.partition(b"\0")
        return json.loads(m)

    def call(self, method, params=None, session=True, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise Fail("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def pump(self, seconds):
        """Collects events for a while."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._read(deadline))
        except Fail as e:
            if "in time" not in str(e):
                raise

    def open_tab(self):
        t = self.call("Target.createTarget", {"url": "about:blank"},
                      session=False)
        a = self.call("Target.attachToTarget",
                      {"targetId": t["targetId"], "flatten": True},
                      session=False)
        self.session = a["sessionId"]
        for m in ("Page.enable", "Network.enable", "Runtime.enable",
                  "Log.enable"):
            self.call(m)
        self.call("Network.emulateNetworkConditions",
                  {"offline": True, "latency": 0, "downloadThroughput": -1,
                   "uploadThroughput": -1})

    def load(self, url):
        self.events = []
        self.call("Page.navigate", {"url": url})
        self.wait_for("document.readyState === 'complete'", 30)

    def eval(self, expr, await_promise=False):
        r = self.call("Runtime.evaluate",
                      {"expression": expr, "returnByValue": True,
                       "awaitPromise": await_promise})
        if "exceptionDetails" in r:
            raise Fail("%s: %s" % (expr, r["exceptionDetails"].get(
                "exception", {}).get("description", r["exceptionDetails"])))
        return r["result"].get("value")

    def wait_for(self, expr, seconds=15):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.eval(expr):
                return
            self.pump(0.1)
        raise Fail("still false after %ss: %s" % (seconds, expr))

    def click(self, selector_expr):
        """A real mouse click in the middle of the element."""
        box = self.eval("(function(){var e=%s; if(!e) return null;"
                        "e.scrollIntoView({block:'center'});"
                        "var r=e.getBoundingClientRect();"
                        "return [r.left+r.width/2, r.top+r.height/2];})()"
                        % selector_expr)
        if box is None:
            raise Fail("nothing to click: " + selector_expr)
        for t in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent",
                      {"type": t, "x": box[0], "y": box[1],
                       "button": "left", "clickCount": 1})

    def type_into(self, selector, text):
        self.click("document.querySelector(%s)" % json.dumps(selector))
        self.call("Input.insertText", {"text": text})

    def screenshot(self, name):
        try:
            d = self.call("Page.captureScreenshot", {"format": "png"})
            path = os.path.join(self.shots, name + ".png")
            with open(path, "wb") as f:
                f.write(base64.b64decode(d["data"]))
            return path
        except Exception as e:
            return "no screenshot (%s)" % e

    def requests(self, page_url):
        """Every request but the page's own load."""
        out = []
        for m in self.events:
            if m.get("method") == "Network.requestWillBeSent":
                u = m["params"]["request"]["url"]
                if u != page_url:
                    out.append(u[:120])
        return out

    def problems(self):
        """Exceptions, console errors and CSP refusals seen so far."""
        out = []
        for m in self.events:
            meth, p = m.get("method"), m.get("params", {})
            if meth == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                out.append("exception: %s" % d.get("exception", {}).get(
                    "description", d.get("text")))
            elif meth == "Log.entryAdded" and \
                    p["entry"]["level"] in ("error", "warning"):
                out.append("log: %s" % p["entry"]["text"][:200])
            elif meth == "Runtime.consoleAPICalled" and \
                    p["type"] in ("error", "warning", "assert"):
                out.append("console.%s: %s" % (p["type"], json.dumps(
                    [a.get("value", a.get("description"))
                     for a in p["args"]])[:200]))
        return out


TERM_TEXT = "document.querySelector('.ap-term-text') ? " \
    "document.querySelector('.ap-term-text').innerText : ''"


def seek_and_read(b, second):
    b.eval("pvReplay.player().seek(%f)" % second, await_promise=True)
    b.pump(0.3)
    return b.eval(TERM_TEXT)


def player_time(b):
    return b.eval("pvReplay.player().getCurrentTime()")


def loaded(b, url):
    b.load(url)
    b.wait_for("window.pvReplay && pvReplay.player() && "
               "document.querySelector('.ap-term-text') !== null", 20)
    b.pump(0.5)


def check_probe(b, url, findings):
    # The monitor must see what a page asks for, or "no request" means nothing.
    b.load(url)
    b.pump(1.0)
    got = [m for m in b.events if m.get("method") ==
           "Network.requestWillBeSent" and
           m["params"]["request"]["url"].startswith("http://")]
    if not got:
        raise Fail("the request monitor missed the probe page's request")
    findings.append("the monitor sees a page's request (%s)" %
                    got[0]["params"]["request"]["url"])


def check_session(b, url, second, before, after, findings):
    loaded(b, url)
    reqs = b.requests(url)
    if reqs:
        raise Fail("the page made requests: %s" % reqs)
    probs = b.problems()
    if probs:
        raise Fail("errors while loading: %s" % probs)
    findings.append("loads offline: no request, no error")
    shown = b.eval("document.getElementById('pv-warning').innerText")
    if "decrypted" not in shown or "0600" not in shown:
        raise Fail("no warning at the top: %r" % shown)
    text = seek_and_read(b, second)
    if before not in text or after in text:
        raise Fail("at %ss the screen should show %r and not %r: %r" %
                   (second, before, after, text))
    findings.append("at %ss the player shows %r, not yet %r" %
                    (second, before, after))
    # click the command that printed AFTER: the player goes to its time
    cmds = b.eval("Array.from(document.querySelectorAll('#pv-commands "
                  "button.pv-cmd')).map(function(e){return [e.dataset.t, "
                  "e.querySelector('.pv-text').textContent];})")
    want = [c for c in cmds if after in c[1]]
    if not want:
        raise Fail("no command with %r in the timeline: %s" % (after, cmds))
    t = int(want[0][0]) / 1000.0
    b.eval("pvReplay.player().seek(0)", await_promise=True)
    b.click("Array.from(document.querySelectorAll('#pv-commands "
            "button.pv-cmd')).filter(function(e){return e.dataset.t === "
            "%s;})[0]" % json.dumps(want[0][0]))
    deadline = time.monotonic() + 5
    while abs((player_time(b) or 0) - t) > 0.05:
        if time.monotonic() > deadline:
            raise Fail("after clicking %r (at %.3fs) the player is at %s" %
                       (want[0][1], t, player_time(b)))
        b.pump(0.1)
    try:
        b.wait_for("(%s).indexOf(%s) >= 0" % (TERM_TEXT, json.dumps(before)),
                   3)
    except Fail:
        raise Fail("after the click the screen lacks %r: %r" %
                   (before, b.eval(TERM_TEXT)))
    findings.append("clicking %r moves the player to %.3fs" % (want[0][1], t))
    # search for AFTER: a hit in the output, whose click seeks there
    b.type_into("#pv-search", after)
    b.wait_for("document.querySelectorAll('#pv-hits button.pv-hit').length "
               "> 0", 5)
    hits = b.eval("Array.from(document.querySelectorAll('#pv-hits "
                  "button.pv-hit')).map(function(e){return [e.dataset.t, "
                  "e.querySelector('.pv-kind').textContent, "
                  "e.querySelector('.pv-text').textContent];})")
    out = [h for h in hits if h[1] == "output" and after in h[2]]
    if not out:
        raise Fail("search %r found no output line: %s" % (after, hits))
    t = int(out[0][0]) / 1000.0
    b.eval("pvReplay.player().seek(0)", await_promise=True)
    b.click("Array.from(document.querySelectorAll('#pv-hits button.pv-hit'))"
            ".filter(function(e){return e.querySelector('.pv-kind')"
            ".textContent === 'output';})[0]")
    deadline = time.monotonic() + 5
    while abs((player_time(b) or 0) - t) > 0.05:
        if time.monotonic() > deadline:
            raise Fail("after clicking the hit (at %.3fs) the player is at %s"
                       % (t, player_time(b)))
        b.pump(0.1)
    try:
        b.wait_for("(%s).indexOf(%s) >= 0" % (TERM_TEXT, json.dumps(after)), 3)
    except Fail:
        raise Fail("after clicking the hit the screen lacks %r: %r" %
                   (after, b.eval(TERM_TEXT)))
    findings.append("search finds %r in the output (%d hits); its hit seeks "
                    "to %.3fs, where the screen shows it" % (after, len(hits), t))
    reqs, probs = b.requests(url), b.problems()
    if reqs or probs:
        raise Fail("requests or errors while used: %s %s" % (reqs, probs))


HOSTILE_MARKERS = ["PWNED", "pwned"]
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066",
        "\u2067", "\u2068", "\u2069"]


def check_hostile(b, url, findings):
    loaded(b, url)
    title0 = b.eval("document.title")
    # play it through, as an analyst would
    text = seek_and_read(b, 1e6)
    b.type_into("#pv-search", "inject")
    b.pump(1.0)
    state = b.eval("""(function(){
      var bad = [];
      document.querySelectorAll('*').forEach(function(e){
        for (var i = 0; i < e.attributes.length; i++) {
          var n = e.attributes[i].name.toLowerCase();
          if (n.indexOf('on') === 0) bad.push(e.tagName + ' ' + n);
        }
      });
      return {
        pwned: window.__pv_pwned === undefined ? null : String(window.__pv_pwned),
        title: document.title,
        handlers: bad,
        elements: document.querySelectorAll(
          'img, iframe, object, embed, a, form, base, meta[http-equiv=refresh], link, audio, video').length,
        scripts: document.scripts.length,
        body: document.body.innerText,
        term: document.querySelector('.ap-term-text').innerText,
        meta: document.getElementById('pv-meta').innerText,
        hits: document.getElementById('pv-hits').innerText,
        index: document.getElementById('pv-sessions').innerText
      };})()""")
    if state["pwned"] is not None:
        raise Fail("a script from the recording ran: __pv_pwned=%s" %
                   state["pwned"])
    if state["title"] != title0 or "PWNED" in state["title"]:
        raise Fail("the title changed to %r" % state["title"])
    if state["handlers"]:
        raise Fail("event handler attributes in the page: %s" %
                   state["handlers"])
    if state["elements"] != 0:
        raise Fail("%d img/iframe/a/... elements in the page" %
                   state["elements"])
    if state["scripts"] != 3:
        raise Fail("%d script elements, not the page's 3" % state["scripts"])
    for c in BIDI:
        if c in state["body"]:
            raise Fail("a bidi control U+%04X is in the page's text" % ord(c))
    if "\x1b" in state["body"] or "]52;" in state["term"] or \
            "]8;" in state["term"] or "]0;" in state["term"]:
        raise Fail("an escape sequence reached the screen: %r" % state["term"])
    # the injection attempts are there, as text
    for needle in ("<script>", "<img src=x", "</script>"):
        if needle not in state["term"] or needle not in state["hits"]:
            raise Fail("%r is not shown as text (screen %r, hits %r)" %
                       (needle, state["term"][-300:], state["hits"][:300]))
    # header strings from the recording: controls and bidi made visible
    if "\u241b]52;" not in state["meta"] or "[U+202E]" not in state["meta"]:
        raise Fail("the hostile TERM is not shown neutralised: %r" %
                   state["meta"])
    probs = [p for p in b.problems()]
    if probs:
        raise Fail("errors or CSP refusals: %s" % probs)
    reqs = b.requests(url)
    if reqs:
        raise Fail("the page made requests: %s" % reqs)
    findings.append("hostile recording: no script ran, no handler, no "
                    "element, no request, title kept; OSC 52/8/title gone "
                    "from the screen, bidi controls gone, injections shown "
                    "as text, header escapes shown as \u241b and [U+202E]")


def check_index(b, url, n, needle, findings):
    loaded(b, url)
    rows = b.eval("document.querySelectorAll('#pv-sessions tbody tr').length")
    if rows != n:
        raise Fail("the index lists %s recordings, not %d" % (rows, n))
    b.type_into("#pv-search", needle)
    b.wait_for("document.querySelectorAll('#pv-hits button.pv-hit').length "
               "> 0", 5)
    sess = b.eval("document.querySelector('#pv-hits button.pv-hit')"
                  ".dataset.session")
    if sess != str(n - 1):
        raise Fail("%r found in recording %s, not %d" % (needle, sess, n))
    b.click("document.querySelector('#pv-hits button.pv-hit')")
    b.wait_for("pvReplay.current() === %d" % (n - 1), 5)
    b.wait_for("document.querySelector('.ap-term-text') !== null", 10)
    findings.append("index of %d recordings; %r is found in the last and its "
                    "hit opens it" % (n, needle))
    reqs, probs = b.requests(url), b.problems()
    if reqs or probs:
        raise Fail("requests or errors: %s %s" % (reqs, probs))


def check_files(b, url, n, path, sha, findings):
    loaded(b, url)
    b.click("document.querySelector('#pv-sessions button.pv-open"
            "[data-session=\"%d\"]')" % (n - 1))
    b.wait_for("pvReplay.current() === %d" % (n - 1), 5)
    rows = b.eval("Array.from(document.querySelectorAll('#pv-files tbody tr'))"
                  ".map(function(r){return r.innerText;})")
    hit = [r for r in rows if path in r and sha in r]
    if not hit:
        raise Fail("no transfer of %s with sha256 %s in recording %d: %s" %
                   (path, sha, n, rows))
    findings.append("recording %d lists %r" % (n, hit[0]))
    reqs, probs = b.requests(url), b.problems()
    if reqs or probs:
        raise Fail("requests or errors: %s %s" % (reqs, probs))


def main():
    if len(sys.argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    chromium, workdir, check, page = sys.argv[1:5]
    args = sys.argv[5:]
    url = page if check == "probe" else "file://" + os.path.abspath(page)
    findings = []
    b = Browser(chromium, workdir)
    rc = 0
    try:
        b.open_tab()
        if check == "probe":
            check_probe(b, url, findings)
        elif check == "session":
            check_session(b, url, float(args[0]), args[1], args[2], findings)
        elif check == "hostile":
            check_hostile(b, url, findings)
        elif check == "index":
            check_index(b, url, int(args[0]), args[1], findings)
        elif check == "files":
            check_files(b, url, int(args[0]), args[1], args[2], findings)
        else:
            raise Fail("unknown check " + check)
    except Fail as e:
        shot = b.screenshot("%s-%d" % (check, int(time.time())))
        print("FAIL: %s: %s (screenshot: %s)" % (check, e, shot))
        rc = 1
    finally:
        b.close()
    for f in findings:
        print("ok: %s: %s" % (check, f))
    return rc


if __name__ == "__main__":
    sys.exit(main())
