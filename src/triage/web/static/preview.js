/* /preview: act as a KakaoTalk user through the server's relay to the 상담톡 simulator. */
"use strict";

(() => {
  const { el, clear, call, safeUrl, facts } = window.Console;
  const $ = (id) => document.getElementById(id);
  const body = document.body;
  if (body.dataset.enabled !== "yes") return;

  const chat = { user: null, after: -1, generation: 0 };
  const loadedVersion = Number(body.dataset.version);

  function showError(message) { $("preview-error").textContent = message || ""; }

  function bubble(kind, who) {
    const item = el("li", `msg ${kind}`);
    if (who) item.append(el("span", "who", who));
    $("messages").append(item);
    return item;
  }

  function renderChips(labels) {
    const chips = $("chips");
    clear(chips);
    for (const label of labels) {
      const chip = el("button", null, label);
      chip.type = "button";
      chip.addEventListener("click", () => say(label));
      chips.append(chip);
    }
  }

  function renderMessage(entry) {
    const item = bubble("bot", body.querySelector(".room-title").textContent);
    if (entry.text) item.append(el("div", "bubble", entry.text));
    const image = safeUrl(entry.image_url);
    if (image) {
      const img = el("img");
      img.src = image;
      img.alt = "봇이 보낸 이미지";
      item.append(img);
    }
    if (entry.links && entry.links.length) {
      const links = el("div", "links");
      for (const link of entry.links) {
        const href = safeUrl(link.url);
        const a = el(href ? "a" : "span", null, link.name);
        if (href) { a.href = href; a.target = "_blank"; a.rel = "noopener noreferrer"; }
        links.append(a);
      }
      item.append(links);
    }
    renderChips(entry.quick_replies || []);
  }

  function render(entry) {
    if (entry.kind === "message") renderMessage(entry);
    else if (entry.kind === "user") bubble("user").append(el("div", "bubble", entry.text || "[사진]"));
    else if (entry.kind === "system") bubble("system").append(el("div", "bubble", entry.text || entry.reason || ""));
    const list = $("messages");
    list.scrollTop = list.scrollHeight;
  }

  async function poll(generation) {
    while (generation === chat.generation) {
      try {
        const data = await call("GET", `/preview/api/seen?user=${encodeURIComponent(chat.user)}&after=${chat.after}&wait=20`);
        if (generation !== chat.generation) return;
        data.seen.forEach(render);
        chat.after = data.last;
        if (data.seen.length) await refreshState();
      } catch (error) {
        showError(error.message);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  async function refreshState() {
    const state = await call("GET", `/preview/api/state?user=${encodeURIComponent(chat.user)}`);
    $("st-node").textContent = state.node || "-";
    $("st-owner").textContent = state.owner ? `${state.owner}${state.active ? "" : " (끝남)"}` : "-";
    $("st-category").textContent = state.category || "-";
    $("st-returning").textContent = state.returning ? "예" : "아니요";
    $("st-input").textContent = state.faq_query || state.last_input || "-";
    facts($("st-vars"), Object.entries(state.vars || {}));
    facts($("st-params"), Object.entries(state.params || {}));
    const path = $("st-path");
    clear(path);
    (state.path || []).forEach((node) => path.append(el("li", null, node)));
    const rows = $("candidates");
    clear(rows);
    for (const candidate of state.candidates || []) {
      const row = el("tr");
      row.append(el("td", null, candidate.question), el("td", "score", candidate.score.toFixed(1)));
      rows.append(row);
    }
    if (!rows.firstChild) {
      const row = el("tr");
      const cell = el("td", "muted", state.faq_query ? "후보가 없어요" : "입력한 말이 없어요");
      cell.colSpan = 2;
      row.append(cell);
      rows.append(row);
    }
    body.querySelectorAll(".diagram .node").forEach((node) => {
      node.classList.toggle("current", node.dataset.node === state.node);
    });
  }

  async function start() {
    showError("");
    const extra = $("extra").value;
    const returning = $("returning").checked;
    sessionStorage.setItem("pv-extra", extra);
    sessionStorage.setItem("pv-returning", returning ? "1" : "");
    const previous = sessionStorage.getItem("pv-user");
    if (previous) await call("POST", "/preview/api/leave", { user: previous }).catch(() => null);
    chat.generation += 1;
    clear($("messages"));
    renderChips([]);
    try {
      const started = await call("POST", "/preview/api/start", { extra, returning });
      chat.user = started.user;
      chat.after = started.after;
      sessionStorage.setItem("pv-user", chat.user);
      $("say").disabled = false;
      $("send").disabled = false;
      $("say").focus();
      poll(chat.generation);
    } catch (error) {
      showError(error.message);
    }
  }

  async function say(text) {
    if (!chat.user || !text.trim()) return;
    showError("");
    try {
      await call("POST", "/preview/api/say", { user: chat.user, text });
    } catch (error) {
      showError(error.message);
    }
  }

  async function jump(node) {
    if (!chat.user) { showError("먼저 대화를 시작해 주세요."); return; }
    showError("");
    try {
      await call("POST", "/preview/api/jump", { user: chat.user, node });
      await refreshState();
    } catch (error) {
      showError(error.message);
    }
  }

  function showRejected(problems) {
    const list = $("rejected-problems");
    clear(list);
    problems.forEach((problem) => list.append(el("li", null, problem)));
    $("rejected-banner").hidden = problems.length === 0;
  }

  async function watchVersion() {
    try {
      const health = await call("GET", "/healthz");
      $("reload-banner").hidden = health.content_version === loadedVersion;
      showRejected(health.content_rejected || []);
    } catch (_) { /* the server is restarting; try again on the next tick */ }
  }

  $("start-form").addEventListener("submit", (event) => { event.preventDefault(); start(); });
  $("say-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("say");
    say(input.value);
    input.value = "";
  });
  $("restart-new").addEventListener("click", () => {
    sessionStorage.setItem("pv-autostart", "1");
    window.location.reload();
  });
  body.querySelectorAll(".diagram .node").forEach((node) => {
    node.addEventListener("click", () => jump(node.dataset.node));
    node.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); jump(node.dataset.node); }
    });
  });
  $("extra").value = sessionStorage.getItem("pv-extra") || "";
  $("returning").checked = Boolean(sessionStorage.getItem("pv-returning"));
  setInterval(watchVersion, 1000);
  if (sessionStorage.getItem("pv-autostart")) {
    sessionStorage.removeItem("pv-autostart");
    start();
  }
})();
