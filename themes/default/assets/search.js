/* trainkit search: the header's box and the search page, over the Pagefind index in
   ../pagefind/ (relative to this file, so it works from any sub-path). Pagefind itself
   (~40 KB with its WebAssembly) loads only when a reader focuses a search box. */
const root = new URL("../", import.meta.url);
let engine = null;

function pagefind() {
  if (!engine) {
    engine = import(new URL("pagefind/pagefind.js", root).href).then(async (pf) => {
      await pf.options({ baseUrl: root.pathname, excerptLength: 24 });
      await pf.init();
      // A large site's index comes in parts (trainkit-parts.json): search them as one.
      // They load side by side: one after another, each part's round trips would add up
      // (seconds on a phone for a site of thousands of lessons).
      const listed = await fetch(new URL("pagefind/trainkit-parts.json", root))
        .then((r) => (r.ok ? r.json() : { parts: [] })).catch(() => ({ parts: [] }));
      await Promise.all((listed.parts || []).map((part) =>
        pf.mergeIndex(new URL("pagefind/" + part, root).pathname,
                      { baseUrl: root.pathname, excerptLength: 24 })));
      return pf;
    });
    engine.catch(() => { engine = null; });
  }
  return engine;
}

async function find(query, limit, filters = {}) {
  const pf = await pagefind();
  const search = await pf.debouncedSearch(query, { filters }, 150);
  if (search === null) return null; // a newer query replaced this one
  const shown = await Promise.all(search.results.slice(0, limit).map((r) => r.data()));
  return { total: search.results.length, shown };
}

function resultItem(data) {
  const li = document.createElement("li");
  li.className = "search-result";
  const a = document.createElement("a");
  a.href = data.url;
  a.textContent = data.meta.title || data.url;
  const where = document.createElement("span");
  where.className = "result-where";
  const kind = data.meta.kind || "Page";
  where.textContent = data.meta.course && kind === "Lesson" ? data.meta.course : kind;
  const excerpt = document.createElement("p");
  excerpt.className = "result-excerpt";
  excerpt.innerHTML = data.excerpt; // Pagefind's excerpt: escaped text with <mark>
  li.append(a, " ", where, excerpt);
  return li;
}

function unavailable(status) {
  status.textContent = location.protocol === "file:"
    ? "Search needs the site opened from a web address, not from a file."
    : "The search index could not be loaded. Try again when you are back online.";
}

/* The search page: ?q= from the header's form, then results as the reader types. */
function searchPage(form) {
  const input = form.querySelector("input[name=q]");
  const status = document.querySelector(".search-status");
  const list = document.querySelector(".search-results");
  const selects = [...form.querySelectorAll(".search-filters select")];
  const chosen = () => Object.fromEntries(selects.filter((s) => s.value).map((s) => [s.name, s.value]));
  const run = async () => {
    const query = input.value.trim();
    const filters = chosen();
    history.replaceState(null, "", query ? "?q=" + encodeURIComponent(query) : location.pathname);
    if (!query && !Object.keys(filters).length) {
      list.replaceChildren(); status.textContent = "Type a word or two."; return;
    }
    let found;
    try { found = await find(query || null, 50, filters); } catch (e) { unavailable(status); return; }
    if (found === null) return;
    list.replaceChildren(...found.shown.map(resultItem));
    const what = query ? `for “${query}”` : "in this selection";
    status.textContent = found.total === 0 ? `Nothing found ${what}.`
      : `${found.total} result${found.total === 1 ? "" : "s"} ${what}.`;
  };
  /* Course and tag filters, offered once the index says which exist. */
  pagefind().then(async (pf) => {
    const available = await pf.filters();
    for (const select of selects) {
      const values = Object.entries(available[select.name] || {}).sort(([a], [b]) => a.localeCompare(b));
      values.forEach(([value, count]) => select.add(new Option(`${value} (${count})`, value)));
      select.addEventListener("change", run);
    }
    if (selects.some((s) => s.options.length > 1)) form.querySelector(".search-filters").hidden = false;
  }).catch(() => {});
  input.value = new URLSearchParams(location.search).get("q") || "";
  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
  input.addEventListener("input", run);
  status.textContent = "Type a word or two.";
  if (input.value) run();
}

/* Any other page: results under the header's box; Enter goes to the search page. */
function headerBox(form) {
  const input = form.querySelector("input[name=q]");
  const panel = document.createElement("div");
  panel.className = "search-panel";
  panel.hidden = true;
  panel.setAttribute("aria-live", "polite");
  form.after(panel);
  input.addEventListener("focus", () => { pagefind().catch(() => {}); }, { once: true });
  input.addEventListener("input", async () => {
    const query = input.value.trim();
    if (!query) { panel.hidden = true; return; }
    let found;
    try { found = await find(query, 5); } catch (e) { return; } // the form still works
    if (found === null) return;
    const list = document.createElement("ol");
    list.className = "search-results";
    list.append(...found.shown.map(resultItem));
    const more = document.createElement("a");
    more.className = "search-more";
    more.href = form.action + "?q=" + encodeURIComponent(query);
    more.textContent = found.total ? `All ${found.total} results` : `Nothing found for “${query}”`;
    panel.replaceChildren(list, more);
    panel.hidden = false;
  });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") panel.hidden = true; });
}

const page = document.querySelector("form.search-form");
if (page) searchPage(page);
const header = document.querySelector("form.site-search");
if (header && !page) headerBox(header);
