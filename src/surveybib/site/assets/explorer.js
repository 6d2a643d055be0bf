/* surveybib's paper explorer: search, facets, sorting and the URL hash.
 *
 * It runs under a Content-Security-Policy that allows this script alone. It never turns
 * a string into markup: it moves the page's own (server-escaped) paper elements into the
 * result list and sets textContent, so no title, name or note can become HTML here.
 * Without it the page is the full list, grouped by taxonomy.
 */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const source = $("survey-data");
  if (!source || typeof URLSearchParams !== "function") return;
  const data = JSON.parse(source.textContent);
  const papers = data.papers;
  const N = papers.length;
  const PAGE = 100;
  const TEXT = 1, TAXONOMY = 2, YEAR = 4, VENUE = 8, READER = 16, NOTES = 32, CODE = 64;

  const form = $("filters"), search = $("q"), sortSelect = $("sort");
  const fromSelect = $("year-from"), toSelect = $("year-to"), hasNotes = $("has-notes");
  const hasCode = $("has-code");
  const results = $("results"), status = $("status"), more = $("more");
  const empty = $("empty"), announce = $("announce"), allVenues = $("all-venues");
  const facetsBox = $("facets"), activeFilters = $("active-filters");
  // a template without the filters (or the result list) keeps the plain page
  if (![form, search, sortSelect, hasNotes, results, status, more, empty, announce,
    $("reset"), $("reset-empty"), $("explorer"), $("results-view"), $("catalogue")].every(Boolean)) {
    return;
  }

  // Each paper's <li>, in the order of the data (`order` is its place in survey.bib);
  // its text is read from there.
  const items = Array.from(document.querySelectorAll("li.paper"));
  if (items.length !== N) return;
  const itemIndex = new Map(items.map((item, i) => [item, i]));
  const notes = items.map((item) => item.querySelector("details.note"));
  const text = (item, selector) => {
    const node = item.querySelector(selector);
    return node ? node.textContent : "";
  };
  papers.forEach((p, i) => {
    p.id = items[i].id;
    p.title = text(items[i], "h3");
  });
  const categoryAnchors = new Map(Array.from(
    document.querySelectorAll("section.category"), (section) => [section.id, section.dataset.name]));

  // Search runs over folded text: lower case, accents dropped (so "muller" finds "Müller").
  const fold = (value) => value.normalize("NFD").replace(/\p{M}+/gu, "").toLowerCase();
  const haystacks = papers.map((p, i) => fold([
    p.title, text(items[i], ".authors"), p.venue >= 0 ? data.venues[p.venue] : "",
    text(items[i], ".note-body"),
  ].join("\n")));

  // ------------------------------------------------------------------ facets

  function facet(name, values) {
    const index = new Map(values.map((value, i) => [value, i]));
    const boxes = Array.from(form.querySelectorAll(`input[name="${name}"]`), (input) => ({
      input, at: index.has(input.value) ? index.get(input.value) : -1,
      count: input.parentElement.querySelector(".count"), item: input.closest("li"),
    }));
    return { name, values, index, boxes };
  }
  const facets = {
    taxonomy: facet("taxonomy", data.categories),
    venue: facet("venue", data.venues),
    reader: facet("reader", data.readers),
  };

  // ------------------------------------------------------------------ state

  const blank = () => ({
    q: "", taxonomy: new Set(), venue: new Set(), reader: new Set(),
    from: null, to: null, notes: false, code: false, sort: "order", open: new Set(),
  });
  let state = blank();
  let limit = PAGE;
  let lastHash = null;

  function toParams() {
    const params = new URLSearchParams();
    if (state.q) params.set("q", state.q);
    for (const name of ["taxonomy", "venue", "reader"]) {
      for (const at of state[name]) params.append(name, facets[name].values[at]);
    }
    if (state.from !== null) params.set("from", String(state.from));
    if (state.to !== null) params.set("to", String(state.to));
    if (state.notes) params.set("notes", "1");
    if (state.code) params.set("code", "1");
    if (state.sort !== "order") params.set("sort", state.sort);
    for (const id of state.open) params.append("open", id);
    return params;
  }

  function fromParams(params) {
    const next = blank();
    next.q = params.get("q") || "";
    for (const name of ["taxonomy", "venue", "reader"]) {
      for (const value of params.getAll(name)) {
        if (facets[name].index.has(value)) next[name].add(facets[name].index.get(value));
      }
    }
    next.from = yearParam(params.get("from"));
    next.to = yearParam(params.get("to"));
    next.notes = params.get("notes") === "1";
    next.code = params.get("code") === "1" && hasCode !== null;
    const sort = params.get("sort");
    if (sort && Array.from(sortSelect.options).some((o) => o.value === sort)) next.sort = sort;
    for (const id of params.getAll("open")) next.open.add(id);
    return next;
  }

  function yearParam(value) {
    const year = value === null ? NaN : Number(value);
    return Number.isInteger(year) ? year : null;
  }

  // Typing rewrites the hash once the typing pauses: browsers throttle history updates,
  // and each costs milliseconds a keystroke should not wait for.
  let pendingHash = null;
  function writeHashSoon() {
    clearTimeout(pendingHash);
    pendingHash = setTimeout(writeHash, 300);
  }

  function writeHash() {
    clearTimeout(pendingHash);
    const hash = toParams().toString();
    if (hash === lastHash) return;
    lastHash = hash;
    history.replaceState(null, "", hash ? `#${hash}` : location.pathname + location.search);
  }

  // A hash is either the state (`q=...&taxonomy=...`) or an anchor of the plain page
  // (`#paper-KEY`, `#category-NAME`), as links into the list without the script make:
  // a paper's shows it, a category's filters by it. Returns the paper to show, or
  // "keep" for any other anchor (a note's link to its own heading): the view stays.
  function readHash() {
    const raw = location.hash.slice(1);
    limit = PAGE;
    if (!raw || raw.includes("=")) {
      state = fromParams(new URLSearchParams(raw));
      lastHash = null;
      return null;
    }
    let id = raw;
    try { id = decodeURIComponent(raw); } catch (error) { /* not %-encoded: as written */ }
    const paper = papers.findIndex((p) => p.id === id);
    if (categoryAnchors.has(id)) {
      state = blank();
      state.taxonomy.add(facets.taxonomy.index.get(categoryAnchors.get(id)));
    } else if (paper >= 0) {
      state = blank();
    } else {
      return "keep";
    }
    lastHash = raw;
    return paper >= 0 ? paper : null;
  }

  function showControls() {
    search.value = state.q;
    sortSelect.value = state.sort;
    for (const f of Object.values(facets)) {
      for (const box of f.boxes) box.input.checked = state[f.name].has(box.at);
    }
    if (fromSelect) fromSelect.value = state.from === null ? "" : String(state.from);
    if (toSelect) toSelect.value = state.to === null ? "" : String(state.to);
    hasNotes.checked = state.notes;
    if (hasCode) hasCode.checked = state.code;
  }

  // ------------------------------------------------------------------ filtering

  // For each paper, the facets it fails (a bit each): it is shown when it fails none, and
  // counts for a facet's values when it fails no *other* facet.
  function failures() {
    const terms = fold(state.q).split(/\s+/).filter(Boolean);
    const { taxonomy, venue, reader, from, to, notes, code } = state;
    const fails = new Uint8Array(N);
    for (let i = 0; i < N; i++) {
      const p = papers[i];
      let f = 0;
      if (terms.length) {
        const haystack = haystacks[i];
        for (const term of terms) if (!haystack.includes(term)) { f |= TEXT; break; }
      }
      if (taxonomy.size && !p.categories.some((c) => taxonomy.has(c))) f |= TAXONOMY;
      if ((from !== null || to !== null) &&
          (p.year === null || (from !== null && p.year < from) || (to !== null && p.year > to))) {
        f |= YEAR;
      }
      if (venue.size && !venue.has(p.venue)) f |= VENUE;
      if (reader.size && !p.readers.some((r) => reader.has(r))) f |= READER;
      if (notes && !p.note) f |= NOTES;
      if (code && !p.code) f |= CODE;
      fails[i] = f;
    }
    return fails;
  }

  function counts(fails) {
    const c = {
      taxonomy: new Uint32Array(data.categories.length), venue: new Uint32Array(data.venues.length),
      reader: new Uint32Array(data.readers.length), year: new Map(), notes: 0, code: 0,
    };
    for (let i = 0; i < N; i++) {
      const f = fails[i], p = papers[i];
      if ((f & ~TAXONOMY) === 0) for (const at of p.categories) c.taxonomy[at]++;
      if ((f & ~VENUE) === 0 && p.venue >= 0) c.venue[p.venue]++;
      if ((f & ~READER) === 0) for (const at of p.readers) c.reader[at]++;
      if ((f & ~YEAR) === 0 && p.year !== null) c.year.set(p.year, (c.year.get(p.year) || 0) + 1);
      if ((f & ~NOTES) === 0 && p.note) c.notes++;
      if ((f & ~CODE) === 0 && p.code) c.code++;
    }
    return c;
  }

  const collator = new Intl.Collator("en", { sensitivity: "base" });
  const orders = {};
  function ordered(sort) {
    if (!orders[sort]) {
      const all = Array.from({ length: N }, (_, i) => i);
      const year = (i) => (papers[i].year === null ? -Infinity : papers[i].year);
      const cited = (i) => (papers[i].citations === null ? -1 : papers[i].citations);
      const first = (a, b) => papers[a].order - papers[b].order;  // ties: reading order
      const by = {
        year: (a, b) => (year(b) === year(a) ? first(a, b) : year(b) > year(a) ? 1 : -1),
        title: (a, b) => collator.compare(papers[a].title, papers[b].title) || first(a, b),
        citations: (a, b) => cited(b) - cited(a) || first(a, b),
      }[sort];
      orders[sort] = all.sort(by || ((a, b) => papers[a].order - papers[b].order));
    }
    return orders[sort];
  }

  // ------------------------------------------------------------------ showing

  const number = (n) => n.toLocaleString("en-US");
  const setText = (node, text) => { if (node && node.textContent !== text) node.textContent = text; };

  let lastListed = null;
  function update(target = null) {
    const fails = failures();
    const shown = ordered(state.sort).filter((i) => fails[i] === 0);
    if (target !== null && fails[target] === 0) {
      limit = Math.max(limit, Math.ceil((shown.indexOf(target) + 1) / PAGE) * PAGE);
    }
    const visible = shown.slice(0, limit);
    const listed = visible.join(",");
    if (listed !== lastListed) {  // a keystroke often leaves the first hundred as they were
      lastListed = listed;
      const list = document.createDocumentFragment();
      for (const i of visible) {
        if (!copyable[i]) addCopyButton(i);
        const note = notes[i];
        if (note && note.open !== state.open.has(papers[i].id)) note.open = !note.open;
        list.appendChild(items[i]);
      }
      results.replaceChildren(list);
    }
    const rest = shown.length - visible.length;
    more.hidden = rest === 0;
    setText(more, `Show ${number(Math.min(PAGE, rest))} more (${number(rest)} not shown)`);
    empty.hidden = shown.length > 0;
    setText(status, `${number(shown.length)} of ${number(N)} papers` +
      (rest ? `; showing the first ${number(visible.length)}` : ""));
    showCounts(counts(fails));
    showActive();
    return visible;
  }

  // Folded under "Filters" (a narrow screen), the facets say how many of them are in use.
  function showActive() {
    const n = state.taxonomy.size + state.venue.size + state.reader.size +
      (state.from !== null || state.to !== null ? 1 : 0) + (state.notes ? 1 : 0) +
      (state.code ? 1 : 0);
    setText(activeFilters, n ? `(${number(n)} in use)` : "");
  }

  function showCounts(c) {
    for (const f of Object.values(facets)) {
      const tally = c[f.name];
      for (const box of f.boxes) {
        const n = box.at >= 0 ? tally[box.at] : 0;
        setText(box.count, number(n));
        box.item.classList.toggle("none", n === 0);
      }
    }
    setText(hasNotes.parentElement.querySelector(".count"), number(c.notes));
    if (hasCode) setText(hasCode.parentElement.querySelector(".count"), number(c.code));
    for (const select of [fromSelect, toSelect]) {
      if (!select) continue;
      for (const option of select.options) {
        if (option.value) setText(option, `${option.value} (${number(c.year.get(Number(option.value)) || 0)})`);
      }
    }
    showVenues();
  }

  // Long venue lists show the ten most used, and any ticked one, until "Show all".
  function showVenues() {
    if (!allVenues) return;
    const all = allVenues.getAttribute("aria-expanded") === "true";
    facets.venue.boxes.forEach((box, k) => { box.item.hidden = !all && k >= 10 && !box.input.checked; });
    setText(allVenues, all ? "Show the ten most used venues" : `Show all ${number(data.venues.length)} venues`);
  }

  function refresh(soon = false) {
    limit = PAGE;
    update();
    if (soon) writeHashSoon(); else writeHash();
  }

  // ------------------------------------------------------------------ copying

  // "Copy BibTeX" needs the script, so the script adds it, to each paper it shows.
  const copyable = new Uint8Array(N);
  function addCopyButton(i) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = "Copy BibTeX";
    items[i].querySelector(".actions").appendChild(button);
    copyable[i] = 1;
  }

  async function copyBibtex(button) {
    const item = button.closest("li.paper");
    const text = item.querySelector("details.bib > pre").textContent;
    let copied = false;
    try {
      await navigator.clipboard.writeText(text);
      copied = true;
    } catch (error) {
      copied = copyThroughSelection(text, button);
    }
    const title = papers[itemIndex.get(item)].title;
    setText(announce, copied ? `BibTeX of “${title}” copied.` : "Copying failed: open BibTeX and copy it by hand.");
    button.textContent = copied ? "Copied" : "Copy failed";
    setTimeout(() => { button.textContent = "Copy BibTeX"; }, 2000);
  }

  function copyThroughSelection(text, button) {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    let copied = false;
    try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
    area.remove();
    button.focus();
    return copied;
  }

  // ------------------------------------------------------------------ events

  search.addEventListener("input", () => { state.q = search.value; refresh(true); });
  window.addEventListener("pagehide", () => { if (pendingHash !== null) writeHash(); });
  form.addEventListener("submit", (event) => event.preventDefault());
  form.addEventListener("change", (event) => {
    const input = event.target;
    const f = facets[input.name];
    if (f && input.type === "checkbox") {
      const at = f.index.get(input.value);
      if (input.checked) state[f.name].add(at); else state[f.name].delete(at);
    } else if (input === fromSelect || input === toSelect) {
      state.from = yearParam(fromSelect.value || null);
      state.to = yearParam(toSelect.value || null);
    } else if (input === hasNotes) {
      state.notes = hasNotes.checked;
    } else if (input === hasCode) {
      state.code = hasCode.checked;
    } else if (input === sortSelect) {
      state.sort = sortSelect.value;
    } else {
      return;
    }
    refresh();
  });

  function reset() {
    state = blank();
    lastListed = null;  // open notes close
    showControls();
    refresh();
    search.focus();
  }
  $("reset").addEventListener("click", reset);
  $("reset-empty").addEventListener("click", reset);

  if (allVenues) {
    allVenues.addEventListener("click", () => {
      const all = allVenues.getAttribute("aria-expanded") === "true";
      allVenues.setAttribute("aria-expanded", String(!all));
      showVenues();
    });
  }

  more.addEventListener("click", () => {
    const before = limit;
    limit += PAGE;
    const visible = update();
    const first = visible[before];
    if (first !== undefined) {  // the button may be gone: carry on from the first new paper
      items[first].tabIndex = -1;
      items[first].focus();
    }
  });

  results.addEventListener("click", (event) => {
    const button = event.target.closest("button.copy");
    if (button) copyBibtex(button);
  });

  // <details> toggles do not bubble: listen while capturing.
  results.addEventListener("toggle", (event) => {
    const details = event.target;
    if (!(details instanceof HTMLDetailsElement) || !details.classList.contains("note")) return;
    const id = details.closest("li.paper").id;
    if (details.open === state.open.has(id)) return;
    if (details.open) state.open.add(id); else state.open.delete(id);
    writeHash();
  }, true);

  window.addEventListener("hashchange", () => {
    if (location.hash.slice(1) === lastHash) return;
    start();
  });

  let started = false;
  function start() {
    let target = readHash();
    if (target === "keep") {
      lastHash = null;
      if (started) {
        writeHash();
        return;
      }
      state = blank();
      target = null;
    }
    started = true;
    lastListed = null;  // notes may open or close: lay the list out again
    showControls();
    update(target);
    if (target === null) {
      writeHash();
    } else if (document.readyState === "complete") {
      showPaper(target);
    } else {  // the browser's own jump to the fragment, at load, would undo ours
      window.addEventListener("load", () => showPaper(target), { once: true });
    }
  }

  function showPaper(i) {
    const title = items[i].querySelector("h3");
    title.tabIndex = -1;
    title.focus();
    items[i].scrollIntoView();
  }

  // A narrow screen shows the search and the papers first; the facets open on demand.
  const wide = window.matchMedia("(min-width: 60rem)");
  const fitFacets = () => { if (facetsBox) facetsBox.open = wide.matches; };
  wide.addEventListener("change", fitFacets);
  fitFacets();

  document.documentElement.classList.add("js");
  $("catalogue").remove();  // the plain list; its papers now live in `items`, shown in #results
  $("explorer").hidden = false;
  $("results-view").hidden = false;
  start();
})();
