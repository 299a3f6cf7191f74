// Progressive enhancement of the Platforms page: live search and filters, in-place Refresh, a
// confirmation dialog for Remove, and dates in the viewer's time zone. Every action also works without it.
"use strict";

const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "Aug 25 2025, 09:16" in the viewer's zone, like the product page. */
function localDate(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return null;
  const pad = (n) => String(n).padStart(2, "0");
  return `${months[d.getMonth()]} ${pad(d.getDate())} ${d.getFullYear()}, ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function localiseDates(root) {
  for (const el of root.querySelectorAll("time[data-local]")) {
    const text = localDate(el.getAttribute("datetime"));
    if (text) el.textContent = text;
  }
}

function announce(message) {
  const live = document.getElementById("live");
  if (live) live.textContent = message;
}

const filters = document.getElementById("filters");
const rowsEl = document.getElementById("account-rows");
const pager = document.getElementById("pager");
const noResults = document.getElementById("no-results");

/** The list's query: the filter form's non-empty fields, plus an optional cursor. */
function listQuery(extra) {
  const params = new URLSearchParams();
  for (const [key, value] of new FormData(filters)) {
    if (String(value).trim() !== "") params.append(key, String(value));
  }
  for (const [key, value] of Object.entries(extra ?? {})) params.set(key, value);
  return params;
}

let inFlight = null;

async function loadRows({ append = false, cursor = null } = {}) {
  const params = listQuery(cursor ? { cursor } : {});
  const shown = new URLSearchParams(params);
  shown.delete("cursor");
  history.replaceState(null, "", shown.toString() ? `/?${shown}` : "/");
  params.set("tz", String(-new Date().getTimezoneOffset()));
  inFlight?.abort();
  const controller = new AbortController();
  inFlight = controller;
  rowsEl.setAttribute("aria-busy", "true");
  try {
    const response = await fetch(`/fragments/accounts?${params}`, { signal: controller.signal, headers: { Accept: "text/html" } });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      announce(problem.detail ?? "The list could not be loaded.");
      return;
    }
    const html = await response.text();
    if (append) rowsEl.insertAdjacentHTML("beforeend", html);
    else rowsEl.innerHTML = html;
    localiseDates(rowsEl);
    const next = response.headers.get("x-next-cursor");
    pager.innerHTML = "";
    if (next) {
      const more = document.createElement("a");
      more.id = "load-more";
      more.className = "button secondary";
      more.href = `/?${new URLSearchParams({ ...Object.fromEntries(shown), cursor: next })}`;
      more.dataset.cursor = next;
      more.textContent = "Load more";
      pager.append(more);
    }
    const count = rowsEl.querySelectorAll("tr").length;
    if (noResults) noResults.hidden = count > 0;
    announce(`${count} account${count === 1 ? "" : "s"} shown`);
  } catch (error) {
    if (error.name !== "AbortError") announce("The list could not be loaded.");
  } finally {
    if (inFlight === controller) rowsEl.removeAttribute("aria-busy");
  }
}

async function refreshSummary() {
  const response = await fetch("/api/v1/accounts/summary");
  if (!response.ok) return;
  const summary = await response.json();
  for (const key of ["total", "active", "inactive", "failed"]) {
    const el = document.querySelector(`[data-summary="${key}"]`);
    if (el) el.textContent = summary[key];
  }
}

if (filters && rowsEl) {
  let timer = null;
  const search = document.getElementById("q");
  // "input" as one types; "change" and "search" when the box is cleared or committed another way.
  for (const type of ["input", "change", "search"]) {
    search?.addEventListener(type, () => {
      clearTimeout(timer);
      timer = setTimeout(() => loadRows(), 250);
    });
  }
  // What was typed while the page was still loading, before these listeners were there, still counts.
  if (search && search.value !== search.defaultValue) loadRows();
  for (const el of filters.querySelectorAll("select, input:not([type=search])")) {
    el.addEventListener("change", () => loadRows());
  }
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    loadRows();
  });

  document.addEventListener("click", (event) => {
    const sort = event.target.closest("a.sort-link");
    if (sort) {
      event.preventDefault();
      const wanted = new URL(sort.href).searchParams.get("sort") ?? "";
      filters.querySelector('input[name="sort"]').value = wanted;
      for (const th of document.querySelectorAll("th[aria-sort]")) th.setAttribute("aria-sort", "none");
      const th = sort.closest("th");
      th.setAttribute("aria-sort", wanted.startsWith("-") ? "descending" : "ascending");
      const next = wanted.startsWith("-") ? wanted.slice(1) : `-${wanted}`;
      const url = new URL(sort.href);
      url.searchParams.set("sort", next);
      sort.href = url.pathname + url.search;
      loadRows();
      return;
    }
    const more = event.target.closest("#load-more");
    if (more) {
      event.preventDefault();
      loadRows({ append: true, cursor: more.dataset.cursor });
    }
  });
}

// Refresh (🔄): in place, with progress; when the platform needs the person again, off to consent.
document.addEventListener("submit", async (event) => {
  const form = event.target.closest("form.refresh-form");
  if (!form) return;
  event.preventDefault();
  const button = form.querySelector("button");
  const label = button.innerHTML;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.textContent = "…";
  announce("Refreshing…");
  try {
    const response = await fetch(`/api/v1/accounts/${form.dataset.id}/refresh`, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf },
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      announce(body.detail ?? "The refresh failed.");
      alertBox(body.detail ?? "The refresh failed.");
      return;
    }
    if (body.outcome === "needs_consent" && body.authorize_url) {
      // Say why before leaving for the platform: only the account's owner can grant access again.
      const account = body.account;
      const box = notice("notice", `${account.display_name} needs its owner to sign in again: ${account.status_message ?? "the platform no longer accepts this connection."} The account keeps its history, labels and scheduled posts. `);
      const go = document.createElement("a");
      go.className = "button";
      go.href = body.authorize_url;
      go.textContent = "Continue to the platform";
      box.append(go);
      go.focus();
      return;
    }
    const message = `${body.account.display_name} was refreshed: ${body.account.status === "active" ? "Active" : body.account.status}.`;
    announce(message);
    if (rowsEl) {
      await loadRows();
      await refreshSummary();
      notice("notice success", message);
      const row = document.getElementById(`account-${form.dataset.id}`);
      row?.classList.add("highlight");
      // Focus stays on the row the person acted on.
      row?.querySelector("form.refresh-form button")?.focus();
    } else {
      window.location.reload();
    }
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.innerHTML = label;
  }
});

/** A notice above the accounts list (replacing the previous one), for what an action did. */
function notice(className, message) {
  document.getElementById("action-notice")?.remove();
  const box = document.createElement("p");
  box.id = "action-notice";
  box.className = className;
  box.setAttribute("role", "status");
  box.textContent = message;
  const anchor = document.getElementById("filters") ?? document.querySelector("main h1");
  anchor.before(box);
  return box;
}

function alertBox(message) {
  const main = document.querySelector("main");
  const box = document.createElement("p");
  box.className = "notice error";
  box.setAttribute("role", "alert");
  box.textContent = message;
  main.prepend(box);
}

// Remove (✕): confirm in a dialog that says what removal means.
const dialog = document.getElementById("remove-dialog");
document.addEventListener("click", (event) => {
  const link = event.target.closest("a.remove-link");
  if (!link || !dialog) return;
  event.preventDefault();
  dialog.querySelector(".remove-name").textContent = link.dataset.name;
  dialog.querySelector("form").action = `/accounts/${link.dataset.id}/remove`;
  const impact = dialog.querySelector(".remove-impact");
  impact.textContent = "";
  fetch(`/api/v1/accounts/${link.dataset.id}/removal-impact`)
    .then((response) => (response.ok ? response.json() : null))
    .then((body) => {
      if (body && body.scheduled > 0) {
        impact.textContent = `${body.scheduled} scheduled post${body.scheduled === 1 ? "" : "s"} to this account will be cancelled.`;
      }
    })
    .catch(() => {});
  dialog.showModal();
  dialog.querySelector("button[data-close]").focus();
});
dialog?.querySelector("button[data-close]")?.addEventListener("click", () => dialog.close());

// How platforms count a post's characters, rule for rule as the server does (crates/platforms/src/
// text_count.rs; tests/text_counting.json holds both to the same numbers). Most count code points; X
// weighs them (twitter-text's configuration v3): weight 1 for U+0000–U+10FF, U+2000–U+200D, U+2010–U+201F
// and U+2032–U+2037, 2 for anything else, 23 for a URL (http:// or https:// at the start of a word, up to
// white space, without trailing punctuation) and 2 for an emoji with its joined marks, after NFC.
const X_URL_LENGTH = 23;
const URL_TRAILING = ".,!?;:)]}'\"";
const between = (c, low, high) => c >= low && c <= high;
const isPictographic = (c) =>
  between(c, 0x1f000, 0x1faff) || between(c, 0x2300, 0x23ff) || between(c, 0x2600, 0x27bf) || between(c, 0x2b00, 0x2bff);
const isEmojiWithSelector = (c) => [0xa9, 0xae, 0x203c, 0x2049, 0x2122, 0x2139, 0x3030, 0x303d, 0x3297, 0x3299].includes(c);
const isRegionalIndicator = (c) => between(c, 0x1f1e6, 0x1f1ff);
const isEmojiMark = (c) => c === 0xfe0f || c === 0x20e3 || between(c, 0x1f3fb, 0x1f3ff) || between(c, 0xe0020, 0xe007f);
// Unicode's White_Space, as Rust's char::is_whitespace (JavaScript's \s differs at U+0085 and U+FEFF).
const isSpace = (c) =>
  c !== undefined &&
  (between(c, 0x09, 0x0d) || c === 0x20 || c === 0x85 || c === 0xa0 || c === 0x1680 || between(c, 0x2000, 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000);

function urlAt(points, at) {
  const startsWord = at === 0 || isSpace(points[at - 1]) || "(<[\"'".includes(String.fromCodePoint(points[at - 1]));
  if (!startsWord) return 0;
  const rest = String.fromCodePoint(...points.slice(at, at + 8)).toLowerCase();
  const scheme = ["https://", "http://"].find((s) => rest.startsWith(s));
  if (!scheme) return 0;
  let end = at;
  while (end < points.length && !isSpace(points[end])) end += 1;
  while (end > at && URL_TRAILING.includes(String.fromCodePoint(points[end - 1]))) end -= 1;
  return end - at > scheme.length ? end - at : 0;
}

function emojiAt(points, at) {
  const c = points[at];
  const next = points[at + 1];
  if (isRegionalIndicator(c) && next !== undefined && isRegionalIndicator(next)) return 2;
  if (between(c, 0x30, 0x39) || c === 0x23 || c === 0x2a) {
    if (next === 0xfe0f && points[at + 2] === 0x20e3) return 3;
    return next === 0x20e3 ? 2 : 0;
  }
  if (!(isPictographic(c) || (isEmojiWithSelector(c) && next === 0xfe0f))) return 0;
  let end = at + 1;
  for (;;) {
    while (end < points.length && isEmojiMark(points[end])) end += 1;
    if (points[end] === 0x200d && points[end + 1] !== undefined && isPictographic(points[end + 1])) end += 2;
    else return end - at;
  }
}

function xWeightedLength(text) {
  const points = [...text.normalize("NFC")].map((c) => c.codePointAt(0));
  let length = 0;
  let at = 0;
  while (at < points.length) {
    const url = urlAt(points, at);
    const emoji = url ? 0 : emojiAt(points, at);
    if (url) {
      length += X_URL_LENGTH;
      at += url;
    } else if (emoji) {
      length += 2;
      at += emoji;
    } else {
      const c = points[at];
      length += between(c, 0, 0x10ff) || between(c, 0x2000, 0x200d) || between(c, 0x2010, 0x201f) || between(c, 0x2032, 0x2037) ? 1 : 2;
      at += 1;
    }
  }
  return length;
}

// Hashtags: "#" at the start of a word followed by a letter or digit (Rust's char::is_alphanumeric).
function hashtags(text) {
  const points = [...text].map((c) => c.codePointAt(0));
  let count = 0;
  for (let i = 0; i < points.length; i += 1) {
    const next = points[i + 1];
    if (points[i] === 0x23 && (i === 0 || isSpace(points[i - 1])) && next !== undefined && /[\p{Alphabetic}\p{N}]/u.test(String.fromCodePoint(next))) count += 1;
  }
  return count;
}

function countedLength(counting, text) {
  if (counting === "hashtags") return hashtags(text);
  return counting === "x_weighted" ? xWeightedLength(text) : [...text].length;
}

// Compose: each chosen account's version counted as its network counts it, a preview per network (or per
// account with its own version), and what a network will refuse said before the form is sent.
const compose = document.getElementById("compose");
if (compose) {
  const text = document.getElementById("text");
  const link = document.getElementById("link");
  const mediaUrl = document.getElementById("media_url");
  const counters = document.getElementById("counters");
  const previews = document.getElementById("previews");
  document.getElementById("tz").value = String(-new Date().getTimezoneOffset());
  // Sizes of files uploaded from this page, by the URL the upload answered with.
  const uploadedSizes = new Map();
  const field = (prefix, key) => compose.elements[`${prefix}${key}`];
  const written = (key) =>
    Boolean(field("variant_", key)?.value.trim() || field("variant_link_", key)?.value.trim() || field("variant_media_", key)?.value.trim() || field("variant_no_media_", key)?.checked);
  const mediaOf = (urls) =>
    urls
      .split("\n")
      .map((u) => u.trim())
      .filter(Boolean)
      .map((url) => ({ url, video: /\.(mp4|mov|webm)$/i.test(url) }));
  // An account's version: its own, else its network's, else the post's; each part falls back on its own,
  // as the server stores it (a version without a text takes the post's).
  const versionFor = (box) => {
    const key = [box.value, box.dataset.platform].find(written);
    const own = (prefix) => (key ? field(prefix, key)?.value.trim() : "");
    const media = key && field("variant_no_media_", key)?.checked ? [] : own("variant_media_") ? mediaOf(own("variant_media_")) : mediaOf(mediaUrl?.value ?? "");
    return { key: key ?? box.dataset.platform, text: own("variant_") || text.value.trim(), link: own("variant_link_") || link.value.trim(), media };
  };
  const update = () => {
    // Counted as the server counts: the text trimmed, one character per line break, the link after a space.
    // Keyed by version, so that several accounts of one network show one counter and one preview.
    const chosen = new Map();
    for (const box of compose.querySelectorAll("input[name=accounts]:checked")) {
      const version = versionFor(box);
      chosen.set(version.key, {
        ...version,
        platform: box.dataset.platform,
        account: version.key === box.value ? box.value : null,
        name: version.key === box.value ? `${box.dataset.platformName}: ${box.dataset.accountName}` : box.dataset.platformName,
        platformName: box.dataset.platformName,
        limit: box.dataset.limit ? Number(box.dataset.limit) : null,
        counting: box.dataset.counting,
        maxHashtags: box.dataset.maxHashtags ? Number(box.dataset.maxHashtags) : null,
        rule: box.dataset.media,
        needs: box.dataset.mediaNeeds,
        maxMedia: Number(box.dataset.maxMedia),
        maxVideos: Number(box.dataset.maxVideos),
        mixed: box.dataset.mixedMedia === "true",
        maxImageBytes: Number(box.dataset.maxImageBytes),
        maxVideoBytes: Number(box.dataset.maxVideoBytes),
        gifAlone: box.dataset.gifAlone === "true",
      });
    }
    const published = (v) => (v.link ? `${v.text} ${v.link}` : v.text);
    counters.textContent = [...chosen.values()]
      .filter((v) => v.limit)
      .map((v) => {
        const length = countedLength(v.counting, published(v));
        const tags = v.maxHashtags ? hashtags(published(v)) : 0;
        const tagged = v.maxHashtags ? `, ${tags}/${v.maxHashtags} hashtags${tags > v.maxHashtags ? " (too many)" : ""}` : "";
        return `${v.name}: ${length}/${v.limit}${length > v.limit ? " (too long)" : ""}${tagged}`;
      })
      .join(" · ");
    renderPreviews(chosen, published);
  };
  const megabytes = (bytes) => `${Math.round(bytes / (1024 * 1024))} MB`;
  // What the network will refuse in a version's media, in the server's words where the server checks it.
  const mediaRefusals = (v) => {
    const videos = v.media.filter((m) => m.video).length;
    const images = v.media.length - videos;
    const refusals = [];
    if (v.rule === "not_supported" && v.media.length > 0) refusals.push(`Media on ${v.platformName} posts is not supported yet: tick "No media for ${v.platformName}" in its version, or leave ${v.platformName} out.`);
    else if (v.rule === "required" && v.media.length === 0) refusals.push(`${v.platformName} needs ${v.needs}.`);
    else if (v.media.length > v.maxMedia) refusals.push(`${v.platformName} takes at most ${v.maxMedia} images or videos in one post (this post has ${v.media.length}).`);
    else if (videos > 0 && v.maxVideos === 0) refusals.push(`${v.platformName} takes images only for now (this post has ${videos} video${videos === 1 ? "" : "s"}).`);
    else if (videos > v.maxVideos) refusals.push(`${v.platformName} takes at most ${v.maxVideos} video in one post (this post has ${videos}).`);
    else if (v.gifAlone && v.media.length > 1 && v.media.some((m) => /\.gif$/i.test(m.url))) refusals.push(`${v.platformName} takes an animated GIF alone in a post (this post has ${v.media.length} media).`);
    else if (!v.mixed && videos > 0 && images > 0) refusals.push(`${v.platformName} takes either images or a video in one post, not both.`);
    for (const m of v.media) {
      const size = uploadedSizes.get(m.url);
      const max = m.video ? v.maxVideoBytes : v.maxImageBytes;
      if (size && max && size > max) refusals.push(`${v.platformName} takes ${m.video ? "videos" : "images"} up to ${megabytes(max)}; the uploaded file is ${megabytes(size)}.`);
    }
    return refusals;
  };
  // One card per version: its text as it will go out (cut where the network cuts it, the rest marked), a
  // placeholder for the link card, and the media attached with the network's limits.
  const renderPreviews = (chosen, published) => {
    if (!previews) return;
    const list = previews.querySelector(".preview-list");
    list.replaceChildren();
    for (const v of chosen.values()) {
      const card = document.createElement("article");
      card.className = "preview";
      card.dataset.platform = v.platform;
      if (v.account) card.dataset.account = v.account;
      const heading = document.createElement("h4");
      heading.textContent = v.name;
      const body = document.createElement("p");
      body.className = "preview-text";
      const out = published(v);
      const length = countedLength(v.counting, out);
      if (v.limit && length > v.limit && v.counting === "code_points") {
        const points = [...out];
        body.append(points.slice(0, v.limit).join(""));
        const cut = document.createElement("mark");
        cut.textContent = points.slice(v.limit).join("");
        body.append(cut);
      } else {
        body.textContent = out;
      }
      card.append(heading, body);
      const facts = [];
      if (v.limit) facts.push(`${length}/${v.limit} characters${length > v.limit ? `: ${v.platformName} will refuse it` : ""}`);
      if (v.link) {
        try {
          facts.push(`Link card: ${new URL(v.link).hostname}`);
        } catch {
          facts.push("Link card: the address is not complete yet");
        }
      }
      const count = v.media.length;
      facts.push(count === 0 ? "No media" : `${count} ${count === 1 ? "image or video" : "images or videos"}`);
      if (v.rule !== "not_supported") facts.push(`${v.platformName} takes up to ${v.maxMedia}, images up to ${megabytes(v.maxImageBytes)}, videos up to ${megabytes(v.maxVideoBytes)}`);
      const about = document.createElement("p");
      about.className = "preview-facts muted";
      about.textContent = facts.join(" · ");
      card.append(about);
      const refusals = mediaRefusals(v);
      if (v.limit && length > v.limit) refusals.unshift(`${v.platformName} allows ${v.limit} characters.`);
      if (refusals.length > 0) {
        const warning = document.createElement("p");
        warning.className = "preview-warning";
        warning.textContent = refusals.join(" ");
        card.append(warning);
      }
      list.append(card);
    }
    previews.hidden = chosen.size === 0;
  };
  for (const el of [text, link, mediaUrl]) el?.addEventListener("input", update);
  for (const el of compose.querySelectorAll(".variant textarea, .variant input")) el.addEventListener(el.type === "checkbox" ? "change" : "input", update);
  update();
  const file = document.getElementById("media_file");
  const status = document.getElementById("upload-status");
  file?.addEventListener("change", async () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    status.textContent = `Uploading ${chosen.name}…`;
    const response = await fetch("/api/v1/media", {
      method: "POST",
      headers: { "Content-Type": chosen.type, "X-CSRF-Token": csrf },
      body: chosen,
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      status.textContent = body.detail ?? "The upload failed.";
      return;
    }
    uploadedSizes.set(body.url, chosen.size);
    // Added on a line of its own, after what was already there.
    mediaUrl.value = mediaUrl.value.trim() ? `${mediaUrl.value.trim()}\n${body.url}` : body.url;
    status.textContent = `Uploaded: ${chosen.name}`;
    update();
  });
  for (const box of compose.querySelectorAll("input[name=accounts]")) box.addEventListener("change", update);
}

localiseDates(document);

// The bell's drawer: while it is open the page under it is inert (it covers part of it), Escape or a click
// outside closes it. Without script it is a plain <details>.
const bell = document.querySelector("details.bell");
if (bell) {
  const main = document.getElementById("main");
  bell.addEventListener("toggle", () => {
    if (main) main.inert = bell.open;
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && bell.open) {
      bell.open = false;
      bell.querySelector("summary").focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (bell.open && !bell.contains(event.target)) bell.open = false;
  });
}

// Bulk actions: tick rows (shift-click ticks a range), tick every row shown, or select every account the
// filter matches across pages; Remove is confirmed in a dialog that counts the scheduled posts it cancels.
const bulkForm = document.getElementById("bulk-form");
if (bulkForm && rowsEl) {
  const count = document.getElementById("bulk-count");
  const scope = document.getElementById("bulk-scope");
  const selectPage = document.getElementById("select-page");
  const selectMatching = document.getElementById("select-matching");
  const action = document.getElementById("bulk-action");
  const boxes = () => [...rowsEl.querySelectorAll('input[name="ids"]')];
  let lastTicked = null;

  const describe = () => {
    if (scope.value === "filter") return;
    const ticked = boxes().filter((b) => b.checked).length;
    count.textContent = ticked === 0 ? "Tick accounts to act on several at once." : `${ticked} selected`;
    selectMatching.hidden = !(ticked > 0 && ticked === boxes().length && document.getElementById("load-more"));
  };
  const backToIds = () => {
    scope.value = "ids";
    describe();
  };
  const showFields = () => {
    bulkForm.querySelector(".bulk-label")?.toggleAttribute("hidden", !["add_label", "remove_label"].includes(action.value));
    bulkForm.querySelector(".bulk-client")?.toggleAttribute("hidden", action.value !== "assign_client");
  };
  action.addEventListener("change", showFields);
  showFields();

  selectPage.hidden = false;
  selectPage.addEventListener("change", () => {
    for (const box of boxes()) box.checked = selectPage.checked;
    backToIds();
  });
  rowsEl.addEventListener("click", (event) => {
    const box = event.target.closest('input[name="ids"]');
    if (!box) return;
    if (event.shiftKey && lastTicked && lastTicked !== box) {
      const all = boxes();
      const [from, to] = [all.indexOf(lastTicked), all.indexOf(box)].sort((a, b) => a - b);
      for (const other of all.slice(from, to + 1)) other.checked = box.checked;
    }
    lastTicked = box;
    backToIds();
  });

  /** What the form acts on, as the API takes it. */
  const selection = () =>
    scope.value === "filter"
      ? { filter: bulkForm.elements.filter.value }
      : { ids: boxes().filter((b) => b.checked).map((b) => b.value) };
  const preview = async (name) => {
    const response = await fetch("/api/v1/accounts/bulk", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ action: name, preview: true, ...selection() }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.detail ?? "The selection could not be read.");
    return body.results;
  };

  selectMatching.addEventListener("click", async () => {
    scope.value = "filter";
    try {
      const results = await preview("refresh");
      count.textContent = `All ${results.length} accounts matching this filter are selected`;
      selectMatching.hidden = true;
    } catch (error) {
      backToIds();
      announce(error.message);
    }
  });

  const removeDialog = document.getElementById("bulk-remove-dialog");
  bulkForm.addEventListener("submit", async (event) => {
    if (action.value !== "remove" || bulkForm.elements.confirmed || !removeDialog) return;
    event.preventDefault();
    try {
      const results = (await preview("remove")).filter((r) => r.outcome === "would_remove");
      const scheduled = results.reduce((sum, r) => sum + (r.scheduled_posts ?? 0), 0);
      removeDialog.querySelector(".bulk-remove-count").textContent = String(results.length);
      removeDialog.querySelector(".bulk-remove-impact").textContent =
        scheduled > 0 ? `${scheduled} scheduled post${scheduled === 1 ? "" : "s"} to these accounts will be cancelled.` : "No scheduled posts will be cancelled.";
      removeDialog.showModal();
      removeDialog.querySelector("button[data-close]").focus();
    } catch (error) {
      alertBox(error.message);
    }
  });
  removeDialog?.querySelector("button.danger")?.addEventListener("click", () => {
    const confirmed = document.createElement("input");
    confirmed.type = "hidden";
    confirmed.name = "confirmed";
    confirmed.value = "yes";
    bulkForm.append(confirmed);
    removeDialog.close();
    bulkForm.submit();
  });
  removeDialog?.querySelector("button[data-close]")?.addEventListener("click", () => removeDialog.close());

  // The list reloads in place as filters change: the bulk form follows the filter, and the ticks go.
  new MutationObserver(() => {
    const shown = new URLSearchParams(window.location.search);
    shown.delete("cursor");
    bulkForm.elements.filter.value = shown.toString();
    selectPage.checked = false;
    backToIds();
  }).observe(rowsEl, { childList: true });
}

// Edit in place: the row's name and labels, saved through the API; mistakes are said next to the field
// and what was typed stays. Without script the pencil opens the details page's form.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a.edit-link");
  if (!link || !rowsEl) return;
  event.preventDefault();
  const row = document.getElementById(`account-${link.dataset.id}`);
  if (!row || row.querySelector("form.inline-edit")) return;
  const cell = row.querySelector(".name-cell > div");
  const form = document.createElement("form");
  form.className = "inline-edit";
  const field = (name, label, value, hint) => {
    const wrap = document.createElement("div");
    const id = `${name}-${link.dataset.id}`;
    wrap.innerHTML = `<label for="${id}"></label><input id="${id}" name="${name}" type="text" autocomplete="off"><p class="hint"></p><p class="field-error" hidden></p>`;
    wrap.querySelector("label").textContent = label;
    wrap.querySelector("input").value = value;
    wrap.querySelector(".hint").textContent = hint;
    return wrap;
  };
  form.append(
    field("display_name", "Name shown in iQuivity", link.dataset.override ?? "", `Empty: the platform's name, ${link.dataset.platformName}.`),
    field("labels", "Labels", link.dataset.labels ?? "", "Separate labels with commas."),
  );
  const actions = document.createElement("div");
  actions.className = "dialog-actions";
  actions.innerHTML = '<button type="submit">Save</button><button type="button" class="secondary">Cancel</button>';
  form.append(actions);
  cell.append(form);
  form.querySelector("input").focus();
  actions.querySelector("button.secondary").addEventListener("click", () => {
    form.remove();
    link.focus();
  });
  form.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    for (const error of form.querySelectorAll(".field-error")) error.hidden = true;
    const name = form.elements.display_name.value.trim();
    const labels = form.elements.labels.value.split(",").map((l) => l.trim()).filter((l) => l !== "");
    const response = await fetch(`/api/v1/accounts/${link.dataset.id}`, {
      method: "PATCH",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ display_name: name === "" ? null : name, labels }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      for (const error of body.errors ?? [{ field: "display_name", message: body.detail ?? "Not saved." }]) {
        const key = String(error.field).replace(/\[.*$/, "");
        const slot = form.elements[key]?.parentElement.querySelector(".field-error") ?? form.querySelector(".field-error");
        slot.textContent = error.message;
        slot.hidden = false;
        form.elements[key]?.setAttribute("aria-invalid", "true");
      }
      return;
    }
    announce(`${body.display_name} saved.`);
    await loadRows();
    const saved = document.getElementById(`account-${link.dataset.id}`);
    saved?.classList.add("highlight");
    saved?.querySelector("a.edit-link")?.focus();
  });
});

// Copy buttons (shown only with script): copy the text of the element they name.
for (const button of document.querySelectorAll("button.copy[data-copy]")) {
  button.hidden = false;
  button.addEventListener("click", async () => {
    const text = document.getElementById(button.dataset.copy)?.textContent ?? "";
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      announce("Select the link and copy it: the browser did not allow copying.");
    }
  });
}

// The calendar: shown in the viewer's time zone (the page is asked for again with the browser's offset),
// and a scheduled post is moved by dragging it to another day, keeping its time of day, through the API.
const calendarTz = document.getElementById("calendar-tz");
if (calendarTz) {
  const offset = String(-new Date().getTimezoneOffset());
  const here = new URL(window.location.href);
  if (here.searchParams.get("tz") !== offset) {
    here.searchParams.set("tz", offset);
    window.location.replace(here.toString());
  }
  let dragged = null;
  for (const item of document.querySelectorAll(".cal-item[draggable=true]")) {
    item.addEventListener("dragstart", (event) => {
      dragged = item;
      event.dataTransfer?.setData("text/plain", item.dataset.post);
      if (event.dataTransfer) event.dataTransfer.effectAllowed = "move";
    });
    item.addEventListener("dragend", () => {
      dragged = null;
    });
  }
  for (const cell of document.querySelectorAll(".calendar td[data-date]")) {
    cell.addEventListener("dragover", (event) => {
      if (!dragged) return;
      event.preventDefault();
      cell.classList.add("drop-target");
    });
    cell.addEventListener("dragleave", () => cell.classList.remove("drop-target"));
    cell.addEventListener("drop", async (event) => {
      event.preventDefault();
      cell.classList.remove("drop-target");
      const moving = dragged;
      dragged = null;
      if (!moving) return;
      const [year, month, day] = cell.dataset.date.split("-").map(Number);
      const [hours, minutes] = moving.dataset.time.split(":").map(Number);
      const at = new Date(year, month - 1, day, hours, minutes);
      const response = await fetch(`/api/v1/posts/${moving.dataset.post}`, {
        method: "PATCH",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ publish_at: at.toISOString() }),
      });
      if (response.ok) {
        window.location.reload();
        return;
      }
      const problem = await response.json().catch(() => ({}));
      alertBox(problem.detail ?? "The post could not be moved.");
    });
  }
}

// A draft's page: the time typed is in the viewer's zone.
const scheduleDraft = document.getElementById("schedule-draft");
if (scheduleDraft) scheduleDraft.elements.tz.value = String(-new Date().getTimezoneOffset());

// The post's page: its time is typed in the viewer's zone.
const reschedule = document.getElementById("reschedule");
if (reschedule) {
  if (!reschedule.elements.publish_at.dataset.typed) reschedule.elements.tz.value = String(-new Date().getTimezoneOffset());
  const shown = reschedule.elements.publish_at;
  const utc = new Date(`${shown.value}:00Z`);
  if (!shown.dataset.typed && !Number.isNaN(utc.getTime())) {
    const p = (n) => String(n).padStart(2, "0");
    shown.value = `${utc.getFullYear()}-${p(utc.getMonth() + 1)}-${p(utc.getDate())}T${p(utc.getHours())}:${p(utc.getMinutes())}`;
  }
}

// Posting times: the browser's own time zone, where none is set yet.
const queueZone = document.getElementById("time_zone");
if (queueZone && !queueZone.value) queueZone.value = Intl.DateTimeFormat().resolvedOptions().timeZone;
