/* ztc demo: the browser front end of the local sandbox.
 *
 * Every visible string comes from the boot data's strings (a JSON block the
 * server puts at the <!--ZTC-BOOT--> marker: the page's Content-Security-Policy
 * runs no inline script); elements carry data-i18n, data-i18n-placeholder and
 * data-i18n-title attributes that are filled at start.
 *
 * State arrives by long polling GET /api/state; actions are small JSON POSTs.
 */
(() => {
  "use strict";

  const BOOT = readBoot();
  const STRINGS = BOOT.strings || {};
  const TEXT_LIMIT = Number(BOOT.text_limit) || 4096;
  const SEEN_KEY = "ztc-demo-seen";
  const POLL_TIMEOUT_MS = 40000; // the server answers within 25 s
  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 15000;
  const STICK_PX = 48; // "at the bottom" tolerance of the message list

  // ---------------------------------------------------------------- helpers

  function readBoot() {
    const block = document.getElementById("ztc-boot");
    try { return block ? JSON.parse(block.textContent) : {}; } catch (e) { return {}; }
  }

  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  /** A translated string, with Python-style {name} placeholders filled. */
  function t(key, params) {
    const raw = Object.prototype.hasOwnProperty.call(STRINGS, key) ? String(STRINGS[key]) : key;
    if (!params) return raw;
    return raw.replace(/\{(\w+)\}/g, (whole, name) =>
      Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole);
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [name, value] of Object.entries(attrs)) {
        if (value === null || value === undefined || value === false) continue;
        if (name === "class") node.className = value;
        else if (name === "text") node.textContent = value;
        else if (name === "dataset") Object.assign(node.dataset, value);
        else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
        else node.setAttribute(name, value === true ? "" : value);
      }
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  function icon(name, cls = "ico") {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("class", cls);
    svg.setAttribute("aria-hidden", "true");
    const use = document.createElementNS(SVG_NS, "use");
    use.setAttribute("href", "#i-" + name);
    svg.append(use);
    return svg;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const codePoints = (s) => Array.from(s).length; // Python's len()

  function applyStrings(root = document) {
    for (const node of $$("[data-i18n]", root)) node.textContent = t(node.dataset.i18n);
    for (const node of $$("[data-i18n-placeholder]", root)) node.placeholder = t(node.dataset.i18nPlaceholder);
    for (const node of $$("[data-i18n-title]", root)) {
      node.title = t(node.dataset.i18nTitle);
      if (!node.hasAttribute("aria-label")) node.setAttribute("aria-label", node.title);
    }
  }

  // Calm avatar colours, picked by id.
  const AVATAR_COLOURS = ["#5b8def", "#3fa796", "#d9894a", "#8e6fd6", "#c96a83", "#4c9bc7", "#7a9a3c", "#b7794b"];
  function avatarColour(id) {
    const n = Math.abs(Number(id) || 0);
    return AVATAR_COLOURS[n % AVATAR_COLOURS.length];
  }
  function fillAvatar(node, person) {
    const name = (person && person.name) || "";
    node.textContent = Array.from(name)[0] || "";
    node.style.background = avatarColour(person && person.id);
  }

  // ---------------------------------------------------------------- state

  const state = {
    version: -1,
    clock: null,
    people: [],
    byId: new Map(),
    selected: null,      // person id (number) or null
    chat: null,          // last chat payload for the selected person
    peopleSig: "",       // structure signature of the rendered list
    busy: false,         // a send / upload is in flight
    kind: null,          // last chosen attachment kind ("photo" | "document")
    drafts: new Map(),   // person id -> unsent composer text
    newCount: 0,         // messages that arrived while scrolled up
    stick: true,         // the message list is scrolled to the bottom
    renderedChatId: null,
    revealSelected: true, // scroll the remembered person into view once
  };

  // ---------------------------------------------------------------- seen counts (localStorage)

  function loadSeen() {
    try {
      const value = JSON.parse(localStorage.getItem(SEEN_KEY) || "{}");
      return value && typeof value === "object" ? value : {};
    } catch (e) {
      return {};
    }
  }
  let seen = loadSeen();
  function saveSeen() {
    try { localStorage.setItem(SEEN_KEY, JSON.stringify(seen)); } catch (e) { /* private mode */ }
  }
  function unreadOf(person) {
    if (person.id === state.selected) return 0;
    const total = Number(person.bot_messages) || 0;
    const have = Number(seen[person.id]) || 0;
    return Math.max(0, total - have);
  }
  /** Reconcile the stored counts with the server's: the open chat is read,
   *  and a count above the server's (a fresh demo database) is lowered. */
  function reconcileSeen() {
    let changed = false;
    for (const person of state.people) {
      const total = Number(person.bot_messages) || 0;
      const have = seen[person.id];
      if (person.id === state.selected) {
        if (have !== total) { seen[person.id] = total; changed = true; }
      } else if (have !== undefined && have > total) {
        seen[person.id] = total;
        changed = true;
      }
    }
    if (changed) saveSeen();
  }

  // ---------------------------------------------------------------- toast & alert

  let toastTimer = 0;
  function toast(text, kind = "info") {
    const node = $("#toast");
    node.textContent = text;
    node.className = "toast toast-" + kind;
    node.hidden = false;
    // restart the entrance animation
    void node.offsetWidth;
    node.classList.add("show");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      node.classList.remove("show");
      toastTimer = setTimeout(() => { node.hidden = true; }, 250);
    }, kind === "error" ? 6000 : 3500);
  }
  function showError(err) {
    const message = err && err.message ? err.message : String(err);
    toast(t("error", { error: message }), "error");
  }

  let alertReturnFocus = null;
  function showAlert(text) {
    const modal = $("#alert");
    $("#alert-text").textContent = text;
    alertReturnFocus = document.activeElement;
    modal.hidden = false;
    $("#alert-ok").focus();
  }
  function closeAlert() {
    $("#alert").hidden = true;
    if (alertReturnFocus && alertReturnFocus.focus) alertReturnFocus.focus();
    alertReturnFocus = null;
  }

  // ---------------------------------------------------------------- API

  async function api(path, body) {
    const init = { method: "POST", cache: "no-store" };
    if (body instanceof FormData) {
      init.body = body;
    } else {
      init.headers = { "Content-Type": "application/json; charset=utf-8" };
      init.body = JSON.stringify(body || {});
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (e) {
      throw new Error(t("offline"));
    }
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!data || data.ok === false || !response.ok) {
      const message = (data && data.error) || `HTTP ${response.status} ${response.statusText || ""}`.trim();
      throw new Error(message);
    }
    return data;
  }

  // ---------------------------------------------------------------- long poll

  let pollGeneration = 0;
  let pollController = null;

  /** (Re)start the long poll; `fresh` asks for an immediate answer. */
  function restartPoll(fresh = true) {
    pollGeneration += 1;
    if (pollController) pollController.abort();
    if (fresh) state.version = -1;
    pollLoop(pollGeneration);
  }

  async function pollLoop(generation) {
    let delay = BACKOFF_MIN_MS;
    while (generation === pollGeneration) {
      const controller = new AbortController();
      pollController = controller;
      const timer = setTimeout(() => controller.abort(), POLL_TIMEOUT_MS);
      // Ask for a chat only once the server has listed the person (a stale
      // id from the hash of an earlier demo run is simply not asked for).
      const known = state.selected !== null && state.byId.has(state.selected);
      const chat = known ? String(state.selected) : "";
      const url = `/api/state?chat=${encodeURIComponent(chat)}&since=${encodeURIComponent(state.version)}`;
      try {
        const response = await fetch(url, { signal: controller.signal, cache: "no-store" });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const data = await response.json();
        if (generation !== pollGeneration) return;
        setOffline(false);
        delay = BACKOFF_MIN_MS;
        applyState(data, chat);
      } catch (e) {
        if (generation !== pollGeneration) return; // replaced by a newer poll
        setOffline(true);
        state.version = -1; // ask for everything once the server is back
        await sleep(delay);
        delay = Math.min(delay * 2, BACKOFF_MAX_MS);
      } finally {
        clearTimeout(timer);
      }
    }
  }

  function setOffline(offline) {
    $("#offline").hidden = !offline;
    document.body.classList.toggle("is-offline", offline);
  }

  function applyState(data, askedChat) {
    if (typeof data.version === "number") state.version = data.version;
    if (data.clock) renderClock(data.clock);
    if (Array.isArray(data.people)) {
      state.people = data.people;
      state.byId = new Map(data.people.map((p) => [p.id, p]));
    }
    const chatMatches = data.chat && askedChat !== "" && String(data.chat.id) === askedChat
      && data.chat.id === state.selected;
    if (chatMatches) state.chat = data.chat;
    else if (askedChat !== "" && String(state.selected) === askedChat && !data.chat) state.chat = null;
    // The person became known only with this answer: ask again, at once, with the chat.
    if (askedChat === "" && state.selected !== null && state.byId.has(state.selected)) state.version = -1;
    reconcileSeen();
    renderPeople();
    renderConversation();
  }

  // ---------------------------------------------------------------- clock

  function renderClock(clock) {
    state.clock = clock;
    $("#clock").textContent = clock.label || clock.iso || "";
    const badge = $("#daykind");
    badge.hidden = false;
    badge.textContent = clock.workday ? t("workday") : t("day_off");
    badge.classList.toggle("is-workday", !!clock.workday);
    badge.classList.toggle("is-dayoff", !clock.workday);
    const input = $("#jump-at");
    if (clock.iso && document.activeElement !== input && !input.dataset.touched) {
      input.value = String(clock.iso).slice(0, 16);
    }
  }

  function setClockBusy(busy) {
    for (const button of $$("[data-step], #jump-go")) button.disabled = busy;
    document.querySelector(".clockbox").classList.toggle("busy", busy);
  }

  async function moveClock(body) {
    setClockBusy(true);
    try {
      const data = await api("/api/clock", body);
      if (data.clock) {
        renderClock(data.clock);
        toast(t("jumped", { time: data.clock.label || data.clock.iso }), "ok");
      }
      const input = $("#jump-at");
      delete input.dataset.touched;
      if (data.clock && data.clock.iso) input.value = String(data.clock.iso).slice(0, 16);
    } catch (e) {
      showError(e);
    } finally {
      setClockBusy(false);
    }
  }

  function toggleJumpForm(open) {
    const form = $("#jump-form");
    const toggle = $("#jump-to");
    const show = open === undefined ? form.hidden : open;
    form.hidden = !show;
    toggle.setAttribute("aria-expanded", String(show));
    toggle.classList.toggle("active", show);
    if (show) $("#jump-at").focus();
  }

  // ---------------------------------------------------------------- people list

  function matchesSearch(person, query) {
    if (!query) return true;
    const hay = [person.name, person.role_label, person.detail, String(person.id)]
      .filter(Boolean).join("\n").toLowerCase();
    return query.split(/\s+/).every((word) => hay.includes(word));
  }

  function personEntry(person) {
    const node = el("button", {
      type: "button",
      class: "person",
      dataset: { person: String(person.id), role: person.role || "" },
    });
    node.append(el("span", { class: "avatar" }), el("span", { class: "person-body" },
      el("span", { class: "person-name" }),
      el("span", { class: "person-detail" })));
    return node;
  }

  function featuredCard(person) {
    const node = el("button", {
      type: "button",
      class: "card",
      dataset: { person: String(person.id), role: person.role || "" },
    });
    node.append(
      el("span", { class: "card-top" }, el("span", { class: "avatar" }),
        el("span", { class: "card-who" }, el("span", { class: "person-name" }), el("span", { class: "role-tag" }))),
      el("span", { class: "person-detail" }));
    return node;
  }

  function setBadge(node, count) {
    let badge = node.querySelector(".unread");
    if (count > 0) {
      if (!badge) {
        badge = el("span", { class: "unread" });
        node.append(badge);
      }
      badge.textContent = count > 99 ? "99+" : String(count);
    } else if (badge) {
      badge.remove();
    }
  }

  function fillEntry(node, person) {
    fillAvatar(node.querySelector(".avatar"), person);
    node.querySelector(".person-name").textContent = person.name || String(person.id);
    const role = node.querySelector(".role-tag");
    const detail = node.querySelector(".person-detail");
    if (role) {
      role.textContent = person.role_label || "";
      detail.textContent = person.detail || "";
    } else {
      detail.textContent = person.detail || "";
    }
    node.title = [person.name, person.role_label, person.detail].filter(Boolean).join(" · ");
    const selected = person.id === state.selected;
    node.classList.toggle("selected", selected);
    node.setAttribute("aria-current", selected ? "true" : "false");
    setBadge(node, unreadOf(person));
  }

  function renderPeople() {
    const people = state.people;
    const sig = people.map((p) => `${p.id}|${p.role_label}|${p.featured ? 1 : 0}`).join(";");
    const featuredBox = $("#featured");
    const allBox = $("#all");
    if (sig !== state.peopleSig) {
      state.peopleSig = sig;
      featuredBox.replaceChildren(...people.filter((p) => p.featured).map(featuredCard));
      const groups = new Map();
      for (const person of people) {
        const label = person.role_label || person.role || "";
        if (!groups.has(label)) groups.set(label, []);
        groups.get(label).push(person);
      }
      const sections = [];
      for (const [label, members] of groups) {
        sections.push(el("div", { class: "role-group", dataset: { role: members[0].role || "" } },
          el("h3", { class: "role-title" }, el("span", { text: label }), el("span", { class: "role-count", text: String(members.length) })),
          ...members.map(personEntry)));
      }
      allBox.replaceChildren(...sections);
    }
    for (const node of $$("[data-person]", $("#people"))) {
      const person = state.byId.get(Number(node.dataset.person));
      if (person) fillEntry(node, person);
    }
    applySearch();
    renderUnreadTotal();
    if (state.revealSelected && state.selected !== null) {
      // the featured card when there is one, else the entry in the full list
      const entry = $(`[data-person="${state.selected}"]`, $("#people"));
      if (entry) {
        state.revealSelected = false;
        entry.scrollIntoView({ block: "nearest" });
      }
    }
  }

  function applySearch() {
    const query = $("#search").value.trim().toLowerCase();
    $("#featured-group").hidden = !!query || !state.people.some((p) => p.featured);
    for (const group of $$(".role-group", $("#all"))) {
      let any = false;
      for (const node of $$(".person", group)) {
        const person = state.byId.get(Number(node.dataset.person));
        const show = !!person && matchesSearch(person, query);
        node.hidden = !show;
        any = any || show;
      }
      group.hidden = !any;
    }
  }

  function renderUnreadTotal() {
    const total = state.people.reduce((sum, p) => sum + unreadOf(p), 0);
    const node = $("#unread-total");
    node.hidden = total === 0;
    node.textContent = total > 99 ? "99+" : String(total);
    const current = state.selected !== null ? state.byId.get(state.selected) : null;
    $("#people-toggle-current").textContent = current ? current.name : "";
  }

  // ---------------------------------------------------------------- selection

  function idFromHash() {
    const raw = decodeURIComponent(location.hash.replace(/^#/, "")).trim();
    return /^-?\d+$/.test(raw) ? Number(raw) : null;
  }

  function select(id) {
    if (id === state.selected) return;
    // keep the draft of the chat we leave
    if (state.selected !== null) state.drafts.set(state.selected, $("#composer").value);
    state.selected = id;
    state.chat = null;
    state.renderedChatId = null;
    state.newCount = 0;
    $("#chat").replaceChildren();
    $("#composer").value = id !== null ? (state.drafts.get(id) || "") : "";
    autoGrow();
    closeAttachMenu();
    setSidebarOpen(id === null);
    reconcileSeen();
    renderPeople();
    renderConversation();
    restartPoll(true);
  }

  function choose(id) {
    if (String(id) === location.hash.replace(/^#/, "")) select(id);
    else location.hash = String(id); // hashchange does the rest
  }

  // ---------------------------------------------------------------- narrow screens: collapsible list

  function setSidebarOpen(open) {
    $("#sidebar").classList.toggle("open", open);
    $("#people-toggle").setAttribute("aria-expanded", String(open));
  }

  // ---------------------------------------------------------------- conversation

  function renderConversation() {
    const chosen = state.selected !== null;
    const person = chosen ? state.byId.get(state.selected) : null;
    // A remembered id that the server no longer knows: back to the empty state.
    const unknown = chosen && state.peopleSig !== "" && !person;
    $("#empty").hidden = chosen && !unknown;
    $("#conversation").hidden = !chosen || unknown;
    document.body.classList.toggle("has-chat", chosen && !unknown);
    if (!chosen || unknown) return;

    const who = person || { id: state.selected, name: "" }; // until the list arrives
    // a group (the demo's WeCom group) is not someone the visitor is: no "me" tag on it
    $("#conversation").classList.toggle("is-group", who.role === "group");
    fillAvatar($("#chat-avatar"), who);
    $("#chat-name").textContent = who.name;
    $("#chat-meta").replaceChildren(...[who.role_label, who.detail].filter(Boolean)
      .map((part, i) => el("span", { class: i === 0 ? "chat-role" : "chat-detail", text: part })));
    document.title = who.name ? `${who.name} · ${t("title")}` : t("title");

    const chat = state.chat;
    if (!chat) {
      $("#chat").setAttribute("aria-busy", "true");
      $("#chat-empty").hidden = true;
      $("#starter").hidden = true;
      $("#keyboard").hidden = true;
      $("#composer-form").hidden = true;
      return;
    }
    $("#chat").removeAttribute("aria-busy");
    renderBottom(chat); // first: the keyboard changes the height of the list
    renderMessages(chat);
  }

  function renderBottom(chat) {
    const started = !!chat.started;
    $("#starter").hidden = started;
    // a read-only chat (the demo's WeCom group) takes nothing from the visitor
    $("#composer-form").hidden = !started || !!chat.readonly;
    renderKeyboard(started ? chat.keyboard : null);
    $("#start").disabled = state.busy;
  }

  function renderKeyboard(rows) {
    const box = $("#keyboard");
    const sig = JSON.stringify(rows || null);
    if (box.dataset.sig === sig) return;
    box.dataset.sig = sig;
    if (!rows || !rows.length) {
      box.hidden = true;
      box.replaceChildren();
      return;
    }
    box.hidden = false;
    box.replaceChildren(...rows.map((row) => el("div", { class: "kb-row" },
      ...row.map((text) => el("button", {
        type: "button",
        class: "kb",
        dataset: { text: String(text) },
        text: String(text),
        disabled: state.busy,
      })))));
  }

  // --- messages

  function messageKey(message) {
    return `${message.from}:${message.id}`;
  }

  function buildMessage(message) {
    const from = message.from === "user" ? "user" : "bot";
    const node = el("div", { class: `msg ${from}`, dataset: { id: String(message.id) } });
    const bubble = el("div", { class: "bubble" });
    if (message.photo) {
      bubble.classList.add("has-photo");
      const img = el("img", { class: "photo", src: message.photo, alt: "", decoding: "async" });
      img.addEventListener("load", () => { if (state.stick) scrollToBottom(); });
      bubble.append(el("a", { class: "photo-link", href: message.photo, target: "_blank", rel: "noopener" }, img));
    }
    if (message.document) {
      const doc = message.document;
      bubble.append(el("a", {
        class: "doc",
        href: doc.url,
        download: doc.name || true,
        target: "_blank",
        rel: "noopener",
        title: doc.name || "",
      },
      el("span", { class: "doc-icon" }, icon("file")),
      el("span", { class: "doc-body" },
        el("span", { class: "doc-name", text: doc.name || "" }),
        el("span", { class: "doc-sub" },
          doc.size ? el("span", { class: "doc-size", text: doc.size }) : null,
          el("span", { class: "doc-download" }, icon("down"), el("span", { text: t("download") }))))));
    }
    const text = el("div", { class: "text" });
    text.innerHTML = message.html || "";
    for (const link of $$("a[href]", text)) {
      link.target = "_blank";
      link.rel = "noopener noreferrer";
    }
    for (const spoiler of $$("tg-spoiler, .tg-spoiler, span.spoiler", text)) {
      spoiler.setAttribute("tabindex", "0");
      spoiler.setAttribute("role", "button");
    }
    bubble.append(text);
    if (!message.html) bubble.classList.add("no-text");

    const meta = el("span", { class: "meta" });
    if (message.edited) {
      meta.append(el("span", { class: "edited", text: t("edited") }));
      bubble.classList.add("is-edited");
    }
    meta.append(el("span", { class: "time", text: message.time || "" }));
    if (from === "user") meta.append(icon("checks", "ico checks"));
    bubble.append(meta);
    node.append(bubble);

    if (Array.isArray(message.buttons) && message.buttons.length) {
      const grid = el("div", { class: "ikb-grid" });
      for (const row of message.buttons) {
        const line = el("div", { class: "ikb-row" });
        for (const button of row || []) {
          if (button.url) {
            line.append(el("button", {
              type: "button",
              class: "ikb ikb-url",
              dataset: { url: button.url },
              title: button.url,
            }, el("span", { text: button.text }), icon("link", "ico ikb-link")));
          } else {
            line.append(el("button", {
              type: "button",
              class: "ikb",
              dataset: { data: button.data === undefined || button.data === null ? "" : String(button.data) },
            }, el("span", { text: button.text })));
          }
        }
        grid.append(line);
      }
      node.append(grid);
    }
    return node;
  }

  const rendered = new Map(); // message key -> { node, sig }

  function renderMessages(chat) {
    const box = $("#chat");
    const firstPaint = state.renderedChatId !== chat.id;
    if (firstPaint) {
      rendered.clear();
      box.replaceChildren();
      state.newCount = 0;
    }
    const wasAtBottom = firstPaint || isAtBottom();
    const messages = Array.isArray(chat.messages) ? chat.messages : [];
    const keep = new Set();
    let added = 0;
    let addedByUser = false;
    let previousFrom = null;
    let cursor = box.firstChild;
    for (const message of messages) {
      const key = messageKey(message);
      const sig = JSON.stringify(message);
      keep.add(key);
      let entry = rendered.get(key);
      if (!entry || entry.sig !== sig) {
        const node = buildMessage(message);
        if (entry) {
          entry.node.replaceWith(node);
          if (cursor === entry.node) cursor = node;
        } else {
          added += 1;
          if (message.from === "user") addedByUser = true;
        }
        entry = { node, sig };
        rendered.set(key, entry);
      }
      const node = entry.node;
      node.classList.toggle("first", message.from !== previousFrom);
      previousFrom = message.from;
      if (node !== cursor) box.insertBefore(node, cursor);
      else cursor = cursor.nextSibling;
    }
    for (const [key, entry] of rendered) {
      if (!keep.has(key)) {
        entry.node.remove();
        rendered.delete(key);
      }
    }
    state.renderedChatId = chat.id;
    $("#chat-empty").hidden = messages.length > 0;
    syncBusyButtons();

    if (wasAtBottom || addedByUser) {
      scrollToBottom();
    } else if (added > 0) {
      state.newCount += added;
      renderNewPill();
    }
  }

  function isAtBottom() {
    const box = $("#chat");
    return box.scrollHeight - box.scrollTop - box.clientHeight <= STICK_PX;
  }

  let programmaticTop = -1;
  function scrollToBottom() {
    const box = $("#chat");
    box.scrollTop = box.scrollHeight;
    programmaticTop = box.scrollTop;
    state.stick = true;
    state.newCount = 0;
    renderNewPill();
  }

  function renderNewPill() {
    const pill = $("#new-pill");
    pill.hidden = state.newCount <= 0;
    pill.textContent = t("new_messages", { n: state.newCount });
  }

  // ---------------------------------------------------------------- actions

  function setBusy(busy) {
    state.busy = busy;
    syncBusyButtons();
  }
  function syncBusyButtons() {
    const busy = state.busy;
    $("#send").disabled = busy;
    $("#attach").disabled = busy;
    $("#start").disabled = busy;
    $("#attach-photo").disabled = busy;
    $("#attach-document").disabled = busy;
    for (const button of $$("#keyboard .kb")) button.disabled = busy;
    document.body.classList.toggle("is-busy", busy);
  }

  async function sendText(text, { fromComposer = false } = {}) {
    if (state.selected === null || state.busy) return false;
    if (!text.trim()) return false;
    if (codePoints(text) > TEXT_LIMIT) {
      toast(t("too_long", { limit: TEXT_LIMIT }), "error");
      return false;
    }
    const chat = state.selected;
    setBusy(true);
    try {
      await api("/api/send", { chat, text });
      if (fromComposer && state.selected === chat) {
        $("#composer").value = "";
        state.drafts.delete(chat);
        autoGrow();
      }
      state.stick = true;
      return true;
    } catch (e) {
      showError(e);
      return false;
    } finally {
      setBusy(false);
      if (fromComposer) $("#composer").focus();
    }
  }

  function submitComposer() {
    const text = $("#composer").value;
    if (!text.trim()) {
      $("#composer").focus();
      return;
    }
    sendText(text, { fromComposer: true });
  }

  async function press(button) {
    if (state.selected === null || button.disabled) return;
    const messageNode = button.closest(".msg");
    const chat = state.selected;
    const messageId = Number(messageNode && messageNode.dataset.id);
    button.disabled = true;
    button.classList.add("pending");
    try {
      const data = await api("/api/press", { chat, message_id: messageId, data: button.dataset.data });
      const answer = data.answer;
      if (answer && answer.text) {
        if (answer.alert) showAlert(answer.text);
        else toast(answer.text, "answer");
      }
    } catch (e) {
      showError(e);
    } finally {
      // the node may have been replaced by an edit meanwhile; that is fine
      button.disabled = false;
      button.classList.remove("pending");
    }
  }

  function openUrl(url) {
    const win = window.open(url, "_blank", "noopener");
    if (win) win.opener = null;
  }

  // --- attachments

  function openAttachMenu() {
    const menu = $("#attach-menu");
    menu.hidden = false;
    $("#attach").setAttribute("aria-expanded", "true");
  }
  function closeAttachMenu() {
    const menu = $("#attach-menu");
    if (menu.hidden) return;
    menu.hidden = true;
    $("#attach").setAttribute("aria-expanded", "false");
  }

  function pickFile(kind) {
    state.kind = kind;
    const input = $("#file");
    if (kind === "photo") input.setAttribute("accept", "image/*");
    else input.removeAttribute("accept");
    input.click();
  }

  function kindFor(file) {
    const isImage = /^image\//.test(file.type || "");
    if (state.kind === "document") return "document";
    if (state.kind === "photo" && isImage) return "photo";
    return isImage ? "photo" : "document";
  }

  async function upload(file, kind) {
    if (state.selected === null || !file || state.busy) return;
    const chat = state.selected;
    const form = new FormData();
    form.append("chat", String(chat));
    form.append("kind", kind);
    const caption = $("#caption").value;
    if (caption.trim()) {
      if (codePoints(caption) > 1024) {
        toast(t("too_long", { limit: 1024 }), "error");
        return;
      }
      form.append("caption", caption);
    }
    form.append("file", file, file.name || (kind === "photo" ? "photo.jpg" : "file"));
    setBusy(true);
    closeAttachMenu();
    try {
      await api("/api/upload", form);
      $("#caption").value = "";
      state.stick = true;
    } catch (e) {
      showError(e);
    } finally {
      setBusy(false);
    }
  }

  // --- composer

  function autoGrow() {
    const area = $("#composer");
    area.style.height = "auto";
    const max = Math.round(parseFloat(getComputedStyle(area).lineHeight || "22") * 8) || 180;
    area.style.height = Math.min(area.scrollHeight, max) + "px";
    area.style.overflowY = area.scrollHeight > max ? "auto" : "hidden";
    const over = codePoints(area.value) > TEXT_LIMIT;
    area.closest(".composer-field").classList.toggle("over", over);
    area.setAttribute("aria-invalid", over ? "true" : "false");
    $("#send").classList.toggle("ready", !!area.value.trim());
  }

  // ---------------------------------------------------------------- language

  function renderLanguages() {
    const select = $("#lang");
    const languages = Array.isArray(BOOT.languages) ? BOOT.languages : [];
    select.replaceChildren(...languages.map((lang) =>
      el("option", { value: lang.code, text: lang.name, selected: lang.code === BOOT.lang })));
    select.value = BOOT.lang || (languages[0] && languages[0].code) || "";
    select.closest(".langbox").hidden = languages.length < 2;
  }

  async function changeLanguage(code) {
    const select = $("#lang");
    select.disabled = true;
    try {
      await api("/api/lang", { lang: code });
      location.reload();
    } catch (e) {
      select.value = BOOT.lang || "";
      select.disabled = false;
      showError(e);
    }
  }

  // ---------------------------------------------------------------- wiring

  function wire() {
    // people
    $("#people").addEventListener("click", (event) => {
      const node = event.target.closest("[data-person]");
      if (node) choose(Number(node.dataset.person));
    });
    $("#search").addEventListener("input", applySearch);
    $("#search").addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.target.value = "";
        applySearch();
      } else if (event.key === "Enter") {
        const first = $$(".person", $("#all")).find((node) => !node.hidden && !node.closest("[hidden]"));
        if (first) choose(Number(first.dataset.person));
      }
    });
    $("#people-toggle").addEventListener("click", () => {
      setSidebarOpen(!$("#sidebar").classList.contains("open"));
    });
    window.addEventListener("hashchange", () => select(idFromHash()));

    // clock
    for (const button of $$("[data-step]")) {
      button.addEventListener("click", () => moveClock({ step: button.dataset.step }));
    }
    $("#jump-to").addEventListener("click", () => toggleJumpForm());
    $("#jump-at").addEventListener("input", (event) => { event.target.dataset.touched = "1"; });
    $("#jump-at").addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); $("#jump-go").click(); }
      if (event.key === "Escape") toggleJumpForm(false);
    });
    $("#jump-go").addEventListener("click", () => {
      const value = $("#jump-at").value;
      if (!value) { $("#jump-at").focus(); return; }
      moveClock({ to: value.slice(0, 16) });
    });

    // language
    $("#lang").addEventListener("change", (event) => changeLanguage(event.target.value));

    // messages: inline buttons, spoilers, the "new messages" pill
    $("#chat").addEventListener("click", (event) => {
      const button = event.target.closest("button.ikb");
      if (button) {
        if (button.dataset.url) openUrl(button.dataset.url);
        else press(button);
        return;
      }
      const spoiler = event.target.closest("tg-spoiler, .tg-spoiler, span.spoiler");
      if (spoiler) spoiler.classList.add("revealed");
    });
    $("#chat").addEventListener("keydown", (event) => {
      const spoiler = event.target.closest && event.target.closest("tg-spoiler, .tg-spoiler, span.spoiler");
      if (spoiler && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        spoiler.classList.add("revealed");
      }
    });
    $("#chat").addEventListener("scroll", () => {
      // Our own scrolling says nothing about the visitor's intent (and its
      // event may arrive after an image grew the list).
      if (Math.abs($("#chat").scrollTop - programmaticTop) < 2) return;
      programmaticTop = -1;
      state.stick = isAtBottom();
      if (state.stick && state.newCount) {
        state.newCount = 0;
        renderNewPill();
      }
    }, { passive: true });
    $("#new-pill").addEventListener("click", scrollToBottom);
    window.addEventListener("resize", () => { if (state.stick) scrollToBottom(); });
    if (window.ResizeObserver) {
      // the list shrinks when a reply keyboard or the attach menu appears
      new ResizeObserver(() => { if (state.stick && !$("#conversation").hidden) scrollToBottom(); })
        .observe($("#chat"));
    }

    // reply keyboard and start
    $("#keyboard").addEventListener("click", (event) => {
      const button = event.target.closest("button.kb");
      if (button && !button.disabled) sendText(button.dataset.text);
    });
    $("#start").addEventListener("click", () => sendText("/start"));

    // composer
    $("#composer-form").addEventListener("submit", (event) => {
      event.preventDefault();
      submitComposer();
    });
    $("#composer").addEventListener("input", () => {
      autoGrow();
      if (state.selected !== null) state.drafts.set(state.selected, $("#composer").value);
    });
    $("#composer").addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.shiftKey || event.altKey || event.ctrlKey || event.metaKey) return;
      if (event.isComposing || event.keyCode === 229) return; // an IME is choosing characters
      event.preventDefault();
      submitComposer();
    });

    // attachments
    $("#attach").addEventListener("click", (event) => {
      event.stopPropagation();
      if ($("#attach-menu").hidden) openAttachMenu();
      else closeAttachMenu();
    });
    $("#attach-photo").addEventListener("click", () => pickFile("photo"));
    $("#attach-document").addEventListener("click", () => pickFile("document"));
    $("#caption").addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); pickFile(state.kind || "photo"); }
      if (event.key === "Escape") closeAttachMenu();
    });
    $("#file").addEventListener("change", async (event) => {
      const input = event.target;
      const file = input.files && input.files[0];
      if (!file) return;
      await upload(file, kindFor(file));
      input.value = "";
    });
    document.addEventListener("click", (event) => {
      if (!event.target.closest(".attach-wrap")) closeAttachMenu();
    });

    // drag and drop a file onto the conversation
    const pane = $("#conversation");
    let dragDepth = 0;
    const hasFiles = (event) => Array.from((event.dataTransfer && event.dataTransfer.types) || []).includes("Files");
    pane.addEventListener("dragenter", (event) => {
      if (!hasFiles(event) || !state.chat || !state.chat.started) return;
      dragDepth += 1;
      $("#drop-hint").hidden = false;
    });
    pane.addEventListener("dragover", (event) => { if (hasFiles(event)) event.preventDefault(); });
    pane.addEventListener("dragleave", () => {
      dragDepth = Math.max(0, dragDepth - 1);
      if (!dragDepth) $("#drop-hint").hidden = true;
    });
    pane.addEventListener("drop", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      dragDepth = 0;
      $("#drop-hint").hidden = true;
      if (!state.chat || !state.chat.started) return;
      const file = event.dataTransfer.files[0];
      if (file) upload(file, /^image\//.test(file.type || "") ? "photo" : "document");
    });

    // alert dialog
    $("#alert-ok").addEventListener("click", closeAlert);
    $("#alert").addEventListener("click", (event) => { if (event.target.id === "alert") closeAlert(); });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        if (!$("#alert").hidden) closeAlert();
        closeAttachMenu();
      }
    });
  }

  function start() {
    document.documentElement.lang = String(BOOT.lang || "zh_CN").replace("_", "-");
    applyStrings();
    document.title = t("title");
    renderLanguages();
    renderNewPill();
    wire();
    autoGrow();
    const initial = idFromHash();
    state.selected = initial;
    setSidebarOpen(initial === null);
    renderConversation();
    restartPoll(true);
  }

  /** Chinese must not flash as empty boxes on a machine without a CJK font. Lay out a hidden
   *  line of Chinese in the page's font first: the browser starts loading the demo's small font
   *  (style.css, "ZTC CJK") only if no installed font before it has those characters. Then wait
   *  for that load, 3 s at most; the whole font ("ZTC CJK Full") is never waited for. */
  function fontsThenStart() {
    const probe = document.createElement("span");
    probe.className = "font-probe";
    probe.setAttribute("aria-hidden", "true");
    probe.textContent = "中文";
    document.body.appendChild(probe);
    void probe.offsetWidth; // layout now: that is when the browser picks (and fetches) the font
    const loading = document.fonts && document.fonts.ready
      ? document.fonts.ready.catch(() => null)
      : Promise.resolve();
    const limit = new Promise((resolve) => setTimeout(resolve, 3000));
    Promise.race([loading, limit]).then(() => {
      probe.remove();
      start();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fontsThenStart);
  else fontsThenStart();
})();
