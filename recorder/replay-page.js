/*
 * replay-page.js: the script of provost-replay's HTML page (export --format
 * html): the index of sessions, the player, the timeline of commands, the
 * file transfers and the search.  Everything from a recording reaches the
 * page as text nodes (textContent, never innerHTML) after clean(), which
 * makes control and bidirectional-override characters visible as such.
 */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("pv-data").textContent);
  var sessions = data.sessions || [];
  var player = null;
  var current = -1;
  var MAX_HITS = 500;

  /* Control characters as their visible symbols, bidi controls as [U+XXXX]. */
  function clean(s) {
    return String(s)
      .replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, function (c) {
        var n = c.charCodeAt(0);
        return String.fromCharCode(n === 0x7f ? 0x2421 : 0x2400 + n);
      })
      .replace(/[\u0080-\u009f]/g, "\ufffd")
      .replace(/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
        function (c) {
          return "[U+" + c.charCodeAt(0).toString(16).toUpperCase() + "]";
        });
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) {
      e.className = cls;
    }
    if (text !== undefined && text !== null) {
      e.textContent = clean(text);
    }
    return e;
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function hms(ms) {
    var s = Math.floor(ms / 1000);
    return pad(Math.floor(s / 3600)) + ":" + pad(Math.floor(s / 60) % 60) +
      ":" + pad(s % 60);
  }

  function bytes(n) {
    if (n === undefined || n === null) {
      return "";
    }
    var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0, v = n;
    while (v >= 1024 && i < u.length - 1) {
      v /= 1024;
      i++;
    }
    return (i === 0 ? String(v) : v.toFixed(1)) + " " + u[i];
  }

  function who(s) {
    return (s.engineer || "?") + " \u2192 " + (s.account || "?") + "@" +
      (s.target || "?");
  }

  function verdict(s) {
    return s.ok ? "OK: complete and authentic" : "FAILED: " + (s.error || "?");
  }

  function exitText(o) {
    if (o.exit_status !== undefined) {
      return "exit " + o.exit_status;
    }
    if (o.exit_signal !== undefined) {
      return "signal " + (o.exit_signal || "?");
    }
    return "";
  }

  /* The index: one row per recording. */
  function renderIndex() {
    var body = document.querySelector("#pv-sessions tbody");
    sessions.forEach(function (s, i) {
      var tr = el("tr", s.ok ? "" : "pv-bad");
      var b = el("button", "pv-open", String(i + 1));
      b.type = "button";
      b.dataset.session = String(i);
      b.addEventListener("click", function () {
        openSession(i);
      });
      var td = el("td");
      td.appendChild(b);
      tr.appendChild(td);
      [s.engineer, s.provider, s.target, s.account, s.start, s.end,
        s.duration_ms !== undefined ? hms(s.duration_ms) : "",
        bytes(s.output_bytes), verdict(s),
        s.commands ? String(s.commands.length) : "",
        s.files ? String(s.files.length) : "", s.file
      ].forEach(function (v) {
        tr.appendChild(el("td", "", v === undefined ? "" : v));
      });
      body.appendChild(tr);
    });
  }

  function meta(dl, name, value) {
    if (value === undefined || value === null || value === "") {
      return;
    }
    dl.appendChild(el("dt", "", name));
    dl.appendChild(el("dd", "", value));
  }

  function seek(ms) {
    if (!player) {
      return Promise.resolve();
    }
    var p = player.pause();
    return Promise.resolve(p).then(function () {
      return player.seek(ms / 1000);
    });
  }

  function openSession(i, then) {
    var s = sessions[i];
    if (current !== i) {
      current = i;
      if (player) {
        player.dispose();
        player = null;
      }
      document.getElementById("pv-session").hidden = false;
      document.getElementById("pv-title").textContent =
        clean("Session " + (i + 1) + ": " + who(s));
      var v = document.getElementById("pv-verify");
      v.textContent = clean(verdict(s));
      v.className = s.ok ? "pv-ok" : "pv-bad";
      var dl = document.getElementById("pv-meta");
      dl.textContent = "";
      meta(dl, "session", s.session);
      meta(dl, "engineer", s.engineer);
      meta(dl, "provider", s.provider);
      meta(dl, "target", s.target);
      meta(dl, "account", s.account);
      meta(dl, "client", s.client);
      meta(dl, "start", s.start);
      meta(dl, "end", s.end);
      meta(dl, "duration", s.duration_ms !== undefined ?
        hms(s.duration_ms) : "");
      meta(dl, "terminal", s.term ? s.term + " " + s.cols + "x" + s.rows : "");
      meta(dl, "output", bytes(s.output_bytes));
      meta(dl, "stderr", s.stderr_bytes ? bytes(s.stderr_bytes) : "");
      meta(dl, "input", bytes(s.input_bytes));
      meta(dl, "exit", exitText(s));
      meta(dl, "events", s.events !== undefined ?
        s.events + " in " + s.chunks + " chunks" : "");
      meta(dl, "file", s.file);
      meta(dl, "file size", bytes(s.file_bytes));
      meta(dl, "file sha256", s.sha256);
      meta(dl, "search", s.lines_cut ? "covers the first " +
        s.lines.length + " lines of output (provost-replay grep covers all)" :
        "");
      renderCommands(s);
      renderFiles(s);
      var box = document.getElementById("pv-player");
      box.textContent = "";
      if (s.cast) {
        player = AsciinemaPlayer.create({ data: s.cast }, box, {
          preload: true,
          fit: "width",
          controls: true
        });
      } else {
        box.appendChild(el("p", "pv-bad", "Nothing to play: " +
          (s.error || "no output")));
      }
    }
    if (then !== undefined) {
      return seek(then);
    }
    return Promise.resolve();
  }

  function renderCommands(s) {
    var ol = document.getElementById("pv-commands");
    ol.textContent = "";
    (s.commands || []).forEach(function (c) {
      var li = el("li");
      var b = el("button", "pv-cmd");
      b.type = "button";
      b.dataset.t = String(c.t);
      b.appendChild(el("span", "pv-time", hms(c.t)));
      b.appendChild(el("span", "pv-kind", c.kind));
      b.appendChild(el("code", "pv-text", c.command));
      var x = exitText(c);
      if (x) {
        b.appendChild(el("span", "pv-exit", x));
      }
      b.addEventListener("click", function () {
        seek(c.t);
      });
      li.appendChild(b);
      ol.appendChild(li);
    });
    if (!s.commands || s.commands.length === 0) {
      ol.appendChild(el("li", "pv-none", "no commands"));
    }
  }

  function renderFiles(s) {
    var body = document.querySelector("#pv-files tbody");
    body.textContent = "";
    (s.files || []).forEach(function (f) {
      var tr = el("tr");
      var b = el("button", "pv-seek", hms(f.t));
      b.type = "button";
      b.addEventListener("click", function () {
        seek(f.t);
      });
      var td = el("td");
      td.appendChild(b);
      tr.appendChild(td);
      [f.op, f.direction, f.path + (f.path2 ? " \u2192 " + f.path2 : ""),
        bytes(f.bytes), f.sha256 || "-", f.result === 0 ? "ok" :
        "failed (" + f.result + ")"
      ].forEach(function (v) {
        tr.appendChild(el("td", "", v));
      });
      body.appendChild(tr);
    });
    document.getElementById("pv-files").hidden = !s.files ||
      s.files.length === 0;
  }

  /* A hit: the line with the match marked, built from text nodes. */
  function hitLine(text, q) {
    var code = el("code", "pv-text");
    var t = clean(text), i = t.toLowerCase().indexOf(q);
    if (i < 0) {
      code.textContent = t;
      return code;
    }
    code.appendChild(document.createTextNode(t.slice(0, i)));
    var m = document.createElement("mark");
    m.textContent = t.slice(i, i + q.length);
    code.appendChild(m);
    code.appendChild(document.createTextNode(t.slice(i + q.length)));
    return code;
  }

  /* When the matched text was recorded: a line may be shown over time. */
  function matchTime(l, at) {
    var t = l[0], sp = l[2] || [], k;
    for (k = 0; k + 1 < sp.length && at >= 0; k += 2) {
      if (sp[k] <= at) {
        t = sp[k + 1];
      }
    }
    return t;
  }

  function search(q) {
    var ol = document.getElementById("pv-hits");
    var count = document.getElementById("pv-search-count");
    ol.textContent = "";
    q = q.toLowerCase();
    if (q === "") {
      ol.hidden = true;
      count.textContent = "";
      return;
    }
    var n = 0;
    function add(i, t, kind, text) {
      n++;
      if (n > MAX_HITS) {
        return;
      }
      var li = el("li");
      var b = el("button", "pv-hit");
      b.type = "button";
      b.dataset.session = String(i);
      b.dataset.t = String(t);
      b.appendChild(el("span", "pv-who", (i + 1) + " " + who(sessions[i])));
      b.appendChild(el("span", "pv-time", hms(t)));
      b.appendChild(el("span", "pv-kind", kind));
      b.appendChild(hitLine(text, q));
      b.addEventListener("click", function () {
        openSession(i, t);
      });
      li.appendChild(b);
      ol.appendChild(li);
    }
    sessions.forEach(function (s, i) {
      (s.commands || []).forEach(function (c) {
        if (clean(c.command).toLowerCase().indexOf(q) >= 0) {
          add(i, c.t, c.kind, c.command);
        }
      });
      (s.lines || []).forEach(function (l) {
        var at = l[1].toLowerCase().indexOf(q);
        if (at >= 0 || clean(l[1]).toLowerCase().indexOf(q) >= 0) {
          add(i, matchTime(l, at), "output", l[1]);
        }
      });
    });
    count.textContent = n > MAX_HITS ? n + " hits, the first " + MAX_HITS +
      " shown" : n + (n === 1 ? " hit" : " hits");
    ol.hidden = false;
  }

  var timer = null;
  document.getElementById("pv-search").addEventListener("input", function (e) {
    var q = e.target.value;
    clearTimeout(timer);
    timer = setTimeout(function () {
      search(q);
    }, 150);
  });

  renderIndex();
  if (sessions.length > 0) {
    openSession(0);
  }
  /* For tests and the console: the player of the session shown. */
  window.pvReplay = {
    player: function () {
      return player;
    },
    current: function () {
      return current;
    },
    open: openSession
  };
}());
