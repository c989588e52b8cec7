"""What the preview adds to the pages it serves: the reload script and the error overlay.

Only ``trainkit serve`` calls this; ``trainkit build`` output never contains it.
"""

from __future__ import annotations

import html

INTERNAL = "/__trainkit/"
"""URLs of the preview itself (reload script, events); never part of a built site."""

# Why a SharedWorker: browsers open at most ~6 HTTP/1.1 connections per host, so one
# EventSource per tab would leave twenty open tabs with no connection to load a page
# with (MkDocs' livereload hits exactly this). A SharedWorker is one per origin: it holds
# the only event stream and tells every tab the site's generation. Where there is no
# SharedWorker, tabs poll /__trainkit/status once a second instead: short requests that
# hold no connection. A tab reloads when the generation or the server instance differs
# from the one its page was served with (so it also catches up after a server restart);
# a tab in the background reloads when it is shown again.
LIVE_JS = r"""(function () {
  "use strict";
  var me = document.currentScript;
  var instance = me.dataset.instance, generation = me.dataset.generation, stale = false;
  function reload() {
    if (document.hidden) { stale = true; return; }
    location.reload();
  }
  document.addEventListener("visibilitychange", function () {
    if (stale && !document.hidden) location.reload();
  });
  function check(state) {
    if (state && (state.instance !== instance || String(state.generation) !== generation)) reload();
  }
  if (window.SharedWorker) {
    try {
      var worker = new SharedWorker("/__trainkit/worker.js", { name: "trainkit-live" });
      worker.port.onmessage = function (e) { check(e.data); };
      worker.port.start();
      window.addEventListener("pagehide", function () { worker.port.postMessage("bye"); });
      return;
    } catch (e) { /* fall through to polling */ }
  }
  (function poll() {
    fetch("/__trainkit/status", { cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(check, function () {})
      .then(function () { setTimeout(poll, 1000); });
  })();
})();
"""

WORKER_JS = r""""use strict";
var ports = [], last = null, source = null;
function connect() {
  source = new EventSource("/__trainkit/events");
  source.onmessage = function (e) {
    last = JSON.parse(e.data);
    ports.forEach(function (p) { p.postMessage(last); });
  };
  source.onerror = function () {
    last = null;  // the server is gone or restarting: wait for its new state
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 1000);
  };
}
onconnect = function (e) {
  var port = e.ports[0];
  ports.push(port);
  port.onmessage = function (m) {
    if (m.data === "bye") ports = ports.filter(function (p) { return p !== port; });
  };
  port.start();
  if (last) port.postMessage(last);
};
connect();
"""

_OVERLAY_STYLE = (
    "#trainkit-errors{position:fixed;left:0;right:0;bottom:0;z-index:2147483647;"
    "max-height:60vh;overflow:auto;margin:0;padding:.8rem 1rem;background:#3b0d0c;"
    "color:#fff;font:14px/1.45 ui-monospace,Menlo,Consolas,monospace;"
    "box-shadow:0 -4px 16px rgba(0,0,0,.35);border-top:4px solid #e5484d}"
    "#trainkit-errors summary{cursor:pointer;font-weight:700;font-family:system-ui,sans-serif}"
    "#trainkit-errors pre{white-space:pre-wrap;margin:.5rem 0 0;font:inherit}"
    "#trainkit-errors p{margin:.4rem 0 0;font-family:system-ui,sans-serif;opacity:.85}")


def overlay(errors: tuple[str, ...], has_page: bool) -> str:
    """The errors, one ``PATH:LINE: error: MESSAGE`` per line, over the bottom of the page."""
    count = len(errors)
    what = "the last good version is shown underneath" if has_page else "nothing to show yet"
    return (f"<style>{_OVERLAY_STYLE}</style>\n"
            f"<details id=\"trainkit-errors\" role=\"alert\" open><summary>trainkit: "
            f"{count} error{'' if count == 1 else 's'} in the content ({what})</summary>\n"
            f"<pre>{html.escape(chr(10).join(errors))}</pre>\n"
            "<p>Fix the file and save: this page reloads by itself.</p></details>\n")


_NOTICE_STYLE = (
    "#trainkit-warnings{margin:2rem 1rem 1rem;padding:.6rem .9rem;background:#fff8e6;"
    "color:#3d2c00;border-left:4px solid #d59b00;font:14px/1.45 system-ui,sans-serif}"
    "#trainkit-warnings summary{cursor:pointer;font-weight:600}"
    "#trainkit-warnings pre{white-space:pre-wrap;margin:.5rem 0 0;"
    "font:13px/1.45 ui-monospace,Menlo,Consolas,monospace}")


def notice(warnings: tuple[str, ...]) -> str:
    """The warnings about this page's files, folded at its foot (only in the preview)."""
    count = len(warnings)
    return (f"<style>{_NOTICE_STYLE}</style>\n"
            f"<details id=\"trainkit-warnings\"><summary>trainkit: {count} "
            f"warning{'' if count == 1 else 's'} about this page's files (only this "
            f"preview shows this)</summary>\n"
            f"<pre>{html.escape(chr(10).join(warnings))}</pre></details>\n")


def live_script(generation: int, instance: str) -> str:
    """The script tag, with the state the page was served in (to compare against)."""
    return (f"<script src=\"{INTERNAL}live.js\" data-instance=\"{instance}\" "
            f"data-generation=\"{generation}\"></script>\n")


def inject(page: bytes, snippet: str) -> bytes:
    """Put the preview's snippet just before ``</body>`` (or at the end)."""
    at = page.rfind(b"</body>")
    data = snippet.encode("utf-8")
    return page + data if at < 0 else page[:at] + data + page[at:]


def error_page(title: str) -> bytes:
    """What every URL shows while the site has never built: the overlay goes on top."""
    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>Errors · {html.escape(title)}</title></head>\n<body>"
            f"<main style=\"font-family:system-ui,sans-serif;padding:1rem\"><h1>The site has "
            f"errors</h1><p>trainkit could not build the site yet; the errors are listed "
            f"below.</p></main>\n</body></html>\n").encode("utf-8")
