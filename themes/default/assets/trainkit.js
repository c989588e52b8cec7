/* trainkit: small progressive enhancements. Everything works without this file. */
(function () {
  "use strict";

  // Opened straight from disk (file://), a link to a folder shows a listing, not the page.
  if (location.protocol === "file:") {
    document.querySelectorAll("a[href]").forEach(function (a) {
      var href = a.getAttribute("href");
      if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.charAt(0) === "#") return;
      var parts = href.split("#");
      if (parts[0] === "" || parts[0].slice(-1) === "/") {
        parts[0] = (parts[0] || "./") + "index.html";
        a.setAttribute("href", parts.join("#"));
      }
    });
  }

  // Library: turn the tag list into a filter.
  var filter = document.querySelector(".tag-filter");
  if (filter) {
    var groups = document.querySelectorAll(".tag-group");
    var buttons = filter.querySelectorAll("a[data-tag]");
    var show = function (id) {
      groups.forEach(function (g) { g.hidden = id !== null && g.id !== id; });
      buttons.forEach(function (b) { b.setAttribute("aria-pressed", String(b.dataset.tag === id)); });
    };
    buttons.forEach(function (b) {
      b.setAttribute("role", "button");
      b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", function (e) {
        e.preventDefault();
        show(b.getAttribute("aria-pressed") === "true" ? null : b.dataset.tag);
      });
    });
  }

  // Reader progress: ticks, completed lessons and routines, kept in this browser only.
  // One localStorage entry per site: "trainkit:" + the path of the site's root (where
  // this script's folder is; older versions under v/ load the root's), so a new site
  // title keeps everyone's progress. Sites built before kept it under the site's id (a
  // hash of the title): that entry is read until this one is first written. Items are
  // keyed by their stable ids, so a new version keeps the ticks of unchanged items.
  // state: t {itemId: 1|0} ticks; c {lesson: hash} completed, with the content hash then;
  // v {lesson: 1} visited; r {lesson: {p: period, t: ticks}} a routine's current period;
  // h {lesson: [period, ...]} a routine's completed periods; l {k: lesson, n: title} last.
  var site = document.documentElement.getAttribute("data-site");
  if (!site) return;
  var script = document.currentScript;
  var rootUrl = script ? new URL("../", script.src) : null;
  var root = rootUrl ? rootUrl.href : "";
  var OLD_KEY = "trainkit:" + site;
  var KEY = rootUrl ? "trainkit:" + rootUrl.pathname : OLD_KEY;
  var $ = function (sel, el) { return (el || document).querySelector(sel); };
  var $$ = function (sel, el) { return Array.from((el || document).querySelectorAll(sel)); };
  var isObj = function (o) { return !!o && typeof o === "object" && !Array.isArray(o); };
  var state = load();

  function clean(s) {
    var out = { t: {}, c: {}, v: {}, r: {}, h: {} };
    if (!isObj(s)) return null;
    var copy = function (from, to, ok) {
      if (isObj(from)) Object.keys(from).forEach(function (k) { if (ok(from[k])) to[k] = from[k]; });
    };
    var bit = function (x) { return x === 0 || x === 1; };
    var str = function (x) { return typeof x === "string"; };
    copy(s.t, out.t, bit);
    copy(s.c, out.c, str);
    copy(s.v, out.v, bit);
    copy(s.r, out.r, function (x) { return isObj(x) && str(x.p) && isObj(x.t); });
    Object.keys(out.r).forEach(function (k) { var t = {}; copy(out.r[k].t, t, bit); out.r[k] = { p: out.r[k].p, t: t }; });
    copy(s.h, out.h, function (x) { return Array.isArray(x) && x.every(str); });
    if (isObj(s.l) && str(s.l.k) && str(s.l.n)) out.l = { k: s.l.k, n: s.l.n };
    return out;
  }
  function load() {
    try {
      var saved = localStorage.getItem(KEY);
      if (saved === null) saved = localStorage.getItem(OLD_KEY);
      return clean(JSON.parse(saved)) || clean({});
    } catch (e) { return clean({}); }
  }
  function save() {
    try { localStorage.setItem(KEY, JSON.stringify(state)); } catch (e) { /* private mode: this visit only */ }
  }

  // Routines: a period is a local day (2026-11-23) or an ISO week (2026-W48).
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function periodKey(repeat, back) {
    var d = new Date(Date.now());
    d = new Date(d.getFullYear(), d.getMonth(), d.getDate() - (repeat === "daily" ? 1 : 7) * back);
    if (repeat === "daily") return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
    d.setDate(d.getDate() + 3 - (d.getDay() + 6) % 7); // the Thursday of its week
    var week = 1 + Math.floor(Math.round((d - new Date(d.getFullYear(), 0, 1)) / 864e5) / 7);
    return d.getFullYear() + "-W" + pad(week);
  }
  function ticks(key, repeat, write) {
    if (!repeat) return state.t;
    var p = periodKey(repeat, 0), r = state.r[key];
    if (!r || r.p !== p) {
      if (!write) return {};
      r = state.r[key] = { p: p, t: {} };
    }
    return r.t;
  }
  function periodDone(key, repeat, back) {
    return (state.h[key] || []).indexOf(periodKey(repeat, back)) >= 0;
  }
  function streak(key, repeat) {
    var back = periodDone(key, repeat, 0) ? 0 : 1, n = 0;
    while (periodDone(key, repeat, back + n)) n++;
    return n;
  }
  // Tasks as the page lists them: "id +id" ("+" when the source ticks it).
  function countTicked(key, repeat, tasks) {
    var map = ticks(key, repeat, false);
    return tasks.filter(function (t) {
      var id = t.replace("+", "");
      return id in map ? map[id] === 1 : t.charAt(0) === "+";
    }).length;
  }
  function lessonStatus(key, hash, tasks, repeat) {
    var done = key in state.c;
    return {
      done: done, started: !!state.v[key], updated: done && !!hash && state.c[key] !== hash,
      ticked: countTicked(key, repeat, tasks), total: tasks.length,
    };
  }
  function words(list) { return (list || "").split(" ").filter(Boolean); }
  function plural(n, one) { return n + " " + one + (n === 1 ? "" : "s"); }
  function pageHref(path) {
    return root + path + (location.protocol === "file:" && /\/$|^$/.test(path) ? "index.html" : "");
  }

  // A lesson page: live count, complete button, needs-review flag, routine streak.
  function lessonPage(article) {
    var key = article.dataset.lesson, hash = article.dataset.hash, repeat = article.dataset.repeat;
    var boxes = $$("input[data-task]", article);
    var panel = $(".lesson-progress", article), count = $(".progress-count", article);
    var button = $(".complete-button", article), flag = $(".review-flag", article);
    var routine = $(".routine", article);
    var all = function () { return boxes.every(function (b) { return b.checked; }); };
    var complete = function (on) {
      if (repeat) {
        var h = state.h[key] || [], p = periodKey(repeat, 0);
        h = h.filter(function (x) { return x !== p; });
        if (on) h.push(p);
        state.h[key] = h.sort().slice(-1000);
        if (on) state.c[key] = hash;
        else if (!h.length) delete state.c[key];
      } else if (on) state.c[key] = hash;
      else delete state.c[key];
    };
    var isComplete = function () { return repeat ? periodDone(key, repeat, 0) : key in state.c; };
    var title = $("h1", article);
    var last = { k: key, n: title && title.firstChild ? title.firstChild.textContent.trim() : key };
    // Mark the visit, but write only when that changes something: a page that opens
    // while another page's write is still on its way (a tick, then a click straight on)
    // must not put back the state it read before that write.
    if (!state.v[key] || !state.l || state.l.k !== last.k || state.l.n !== last.n) {
      state.v[key] = 1;
      state.l = last;
      save();
    }

    function render() {
      var map = ticks(key, repeat, false), n = 0;
      boxes.forEach(function (b) {
        var id = b.dataset.task;
        b.checked = id in map ? map[id] === 1 : b.defaultChecked;
        if (b.checked) n++;
      });
      var doneNow = isComplete();
      if (count) {
        count.textContent = n + " of " + boxes.length + " done" +
          (doneNow ? (repeat ? (repeat === "daily" ? " · done for today" : " · done this week") : " · lesson complete") : "");
        $(".bar > span", article).style.width = (boxes.length ? 100 * n / boxes.length : 0) + "%";
      }
      button.setAttribute("aria-pressed", String(doneNow));
      flag.hidden = !(key in state.c && state.c[key] !== hash);
      if (routine) renderRoutine();
      panel.hidden = false;
    }
    function renderRoutine() {
      var n = streak(key, repeat), daily = repeat === "daily";
      $(".streak", routine).textContent = "Current streak: " + plural(n, daily ? "day" : "week") +
        (n && !periodDone(key, repeat, 0) ? " (keep it going " + (daily ? "today" : "this week") + ")" : "");
      var list = $(".history", routine), lang = document.documentElement.lang || undefined;
      list.textContent = "";
      for (var back = daily ? 6 : 7; back >= 0; back--) {
        var p = periodKey(repeat, back), ok = periodDone(key, repeat, back);
        var d = new Date(Date.now());
        d.setDate(d.getDate() - (daily ? 1 : 7) * back);
        var name = daily ? d.toLocaleDateString(lang, { weekday: "short" }) : "W" + p.slice(-2);
        var li = document.createElement("li");
        li.className = ok ? "done" : "missed";
        li.title = p;
        li.innerHTML = '<span aria-hidden="true"></span>';
        li.appendChild(document.createTextNode(name));
        var sr = document.createElement("span");
        sr.className = "visually-hidden";
        sr.textContent = (back === 0 ? (daily ? " (today)" : " (this week)") : " " + p) + ": " + (ok ? "done" : "not done");
        li.appendChild(sr);
        list.appendChild(li);
      }
      routine.hidden = false;
    }
    boxes.forEach(function (b) {
      b.addEventListener("change", function () {
        var before = boxes.every(function (x) { return x === b ? !b.checked : x.checked; });
        var map = ticks(key, repeat, true);
        map[b.dataset.task] = b.checked ? 1 : 0;
        if (all()) complete(true);
        else if (before) complete(false);
        save();
        render();
      });
    });
    button.addEventListener("click", function () {
      complete(button.getAttribute("aria-pressed") !== "true");
      save();
      render();
    });
    $(".reviewed-button", article).addEventListener("click", function () {
      state.c[key] = hash;
      save();
      render();
    });
    render();
    return render;
  }

  // Lists of lessons (course, path, home): each lesson's state, each summary's count.
  function renderLists() {
    $$("li[data-lesson]").forEach(function (li) {
      var s = lessonStatus(li.dataset.lesson, li.dataset.hash, words(li.dataset.tasks), li.dataset.repeat);
      var badge = $(":scope > .state", li) || document.createElement("span");
      if (!badge.parentNode) li.insertBefore(badge, $(":scope > a, :scope > h2", li).nextSibling);
      var kind = s.done ? "done" : s.started ? "progress" : "new";
      badge.className = "state state-" + kind;
      badge.textContent = { done: "Done", progress: "In progress", new: "Not started" }[kind] +
        (kind === "progress" && s.total ? " · " + s.ticked + " of " + s.total : "") +
        (s.updated ? " · updated since you completed it" : "");
      li.classList.toggle("is-done", s.done);
    });
    $$(".progress-summary").forEach(function (p) {
      var keys = words(p.dataset.lessons), hashes = words(p.dataset.hashes);
      var done = keys.filter(function (k) { return k in state.c; });
      var updated = keys.filter(function (k, i) { return k in state.c && hashes[i] && state.c[k] !== hashes[i]; });
      p.textContent = done.length + " of " + plural(keys.length, "lesson") + " complete" +
        (updated.length ? " · " + updated.length + " updated since you completed " + (updated.length === 1 ? "it" : "them") : "");
      var bar = document.createElement("span");
      bar.className = "bar";
      bar.setAttribute("aria-hidden", "true");
      bar.innerHTML = "<span></span>";
      bar.firstChild.style.width = (keys.length ? 100 * done.length / keys.length : 0) + "%";
      p.appendChild(bar);
      p.hidden = false;
    });
  }

  // Home: continue where you left off; export, import and reset.
  function encode(obj) {
    var bin = "";
    new TextEncoder().encode(JSON.stringify(obj)).forEach(function (b) { bin += String.fromCharCode(b); });
    return "tk1." + btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function decode(code) {
    var m = /^tk1\.([A-Za-z0-9_-]+)$/.exec(code.replace(/\s+/g, ""));
    if (!m) return null;
    try {
      var bin = atob(m[1].replace(/-/g, "+").replace(/_/g, "/"));
      return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bin, function (c) { return c.charCodeAt(0); })));
    } catch (e) { return null; }
  }
  function importCode(code, say) {
    var data = decode(code), d = isObj(data) && data.v === 1 && clean(data.d);
    if (!d || typeof data.s !== "string") {
      say("That is not a progress code from this training site. Check that you copied all of it. Nothing was changed.");
    } else if (data.s !== site) {
      say("That code comes from a different training site" + (typeof data.n === "string" ? " (" + data.n + ")" : "") + ", so it was not imported. Nothing was changed.");
    } else if (confirm("Replace the progress in this browser with the progress from this code?")) {
      state = d;
      save();
      refresh();
      say("Progress imported.");
      return true;
    } else say("Import cancelled. Nothing was changed.");
    return false;
  }
  function homePage(box) {
    var say = function (text) { $(".progress-message", box).textContent = text; };
    var exported = $(".export-result", box), codeField = $("#export-code", box);
    $(".export-button", box).addEventListener("click", function () {
      var code = encode({ v: 1, s: site, n: $(".brand") ? $(".brand").textContent : "", d: state });
      codeField.value = code;
      $(".import-link", box).href = pageHref("") + "#import=" + code;
      exported.hidden = false;
      codeField.select();
    });
    $(".copy-button", box).addEventListener("click", function () {
      var done = function () { say("Code copied."); };
      if (navigator.clipboard) navigator.clipboard.writeText(codeField.value).then(done, function () { codeField.select(); });
      else codeField.select();
    });
    $(".import-button", box).addEventListener("click", function () {
      var field = $("#import-code", box);
      if (importCode(field.value, say)) field.value = "";
    });
    $(".reset-button", box).addEventListener("click", function () {
      if (!confirm("Reset all your progress on this site? Your ticks, completed lessons and streaks in this browser will be lost.")) return;
      state = clean({});
      save();  // (an empty entry, not none: the entry under the old key is not read again)
      refresh();
      say("Your progress was reset.");
    });
    box.hidden = false;
    var fromLink = function () {
      var m = /^#import=(.+)$/.exec(location.hash);
      if (!m) return;
      history.replaceState(null, "", location.pathname + location.search);
      box.scrollIntoView();
      importCode(decodeURIComponent(m[1]), say);
    };
    // Ask once the page has loaded and shows behind the question.
    window.addEventListener("load", function () { setTimeout(fromLink, 50); });
    window.addEventListener("hashchange", fromLink);
  }
  function renderHome(box) {
    var last = state.l, cont = $(".continue", box);
    var known = last && $$("[data-lessons]").some(function (el) { return words(el.dataset.lessons).indexOf(last.k) >= 0; });
    cont.hidden = !known;
    if (known) {
      var a = $("a", cont);
      a.href = pageHref("courses/" + last.k + "/");
      a.textContent = last.n;
    }
    var n = Object.keys(state.c).length;
    $(".progress-overall", box).textContent = n ? "You have completed " + plural(n, "lesson") + "." :
      "Tick the checklists in the lessons and your progress shows here. It stays in this browser.";
  }

  var article = $("article[data-lesson]"), home = $(".your-progress");
  var renderLesson = article ? lessonPage(article) : null;
  function refresh() {
    if (renderLesson) renderLesson();
    renderLists();
    if (home) renderHome(home);
  }
  if (home) homePage(home);
  refresh();
  window.addEventListener("storage", function (e) {
    if (e.key === KEY || e.key === null) { state = load(); refresh(); }
  });
})();

/* Version switcher (versions.py): each option's value is where that version has this page
   (or that version's home when it has not), computed at build time: no fetch, no 404.
   Without JavaScript the footer keeps its plain link to the versions page. */
(function () {
  "use strict";
  var boxes = document.querySelectorAll(".version-switcher");
  Array.prototype.forEach.call(boxes, function (box) {
    var choice = box.querySelector(".version-choice"), select = box.querySelector(".version-select");
    var link = box.querySelector(".version-link");
    if (!choice || !select) return;
    choice.hidden = false;
    if (link) link.hidden = true;
    select.addEventListener("change", function () {
      if (select.value) window.location.href = select.value;
    });
  });
})();
