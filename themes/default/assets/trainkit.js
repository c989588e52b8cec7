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
})();
