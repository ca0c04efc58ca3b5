/* /desk: a light agent desk on the agent API (/api/v1) and its event stream. */
"use strict";

(() => {
  const { el, clear, call, facts } = window.Console;
  const $ = (id) => document.getElementById(id);
  const API = "/api/v1";
  const opened = Date.now() / 1000;
  const desk = { token: sessionStorage.getItem("desk-token"), me: null, open: null, lastEvent: 0, waiting: 0,
                 refreshTimer: null, refreshing: false, again: false, audio: null, stream: null };

  const auth = () => ({ Authorization: `Bearer ${desk.token}` });
  const api = (method, path, body) => call(method, API + path, body, auth());
  const showError = (message) => { $("desk-error").textContent = message || ""; };

  function minutes(seconds) {
    const whole = Math.floor(seconds / 60);
    return whole < 1 ? "1분 미만" : `${whole}분`;
  }

  /* A short WebAudio beep: no sound file to download, and allowed once the agent has clicked. */
  function beep() {
    if (!desk.audio) return;
    const tone = desk.audio.createOscillator();
    const gain = desk.audio.createGain();
    tone.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, desk.audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, desk.audio.currentTime + 0.25);
    tone.connect(gain).connect(desk.audio.destination);
    tone.start();
    tone.stop(desk.audio.currentTime + 0.25);
  }

  function ticketButton(id, line1, line2, onClick) {
    const item = el("li");
    const button = el("button");
    button.type = "button";
    button.dataset.ticket = id;
    button.setAttribute("aria-current", String(desk.open === id));
    button.append(el("span", "line1", line1), el("span", "line2", line2));
    button.addEventListener("click", onClick);
    item.append(button);
    return item;
  }

  async function refreshQueues() {
    const data = await api("GET", "/queues");
    const box = $("queues");
    clear(box);
    let waiting = 0;
    for (const queue of data.queues) {
      box.append(el("h3", null, `${queue.name} ${queue.open ? "" : "(영업시간 외)"}`));
      const list = el("ul", "tickets");
      list.dataset.queue = queue.name;
      for (const t of queue.waiting) {
        waiting += 1;
        const head = `${t.position ? `${t.position}번째` : "오프라인"} · ${t.category || "분류 없음"} · 대기 ${minutes(t.waited_seconds)}`;
        list.append(ticketButton(t.id, head, t.summary || "", () => openTicket(t.id)));
      }
      if (!queue.waiting.length) list.append(el("li", "muted small", "대기 중인 상담이 없어요"));
      box.append(list);
    }
    desk.waiting = waiting;
    $("waiting-count").textContent = String(waiting);
    document.title = `${waiting ? `(${waiting}) ` : ""}상담 데스크`;
  }

  async function refreshAgents() {
    const data = await api("GET", "/agents");
    const mine = data.agents.find((agent) => agent.id === desk.me.id);
    const list = $("mine");
    clear(list);
    const target = $("transfer-to");
    const chosen = target.value;
    clear(target);
    for (const agent of data.agents) {
      if (agent.id === desk.me.id) continue;
      const option = el("option", null, `상담원 ${agent.id} (${agent.presence})`);
      option.value = `agent:${agent.id}`;
      target.append(option);
    }
    const queues = await api("GET", "/queues");
    for (const queue of queues.queues) {
      const option = el("option", null, `대기열 ${queue.name}`);
      option.value = `queue:${queue.name}`;
      target.append(option);
    }
    if (chosen) target.value = chosen;
    if (!mine) return;
    $("presence").value = mine.presence;
    if (document.activeElement !== $("capacity")) $("capacity").value = mine.max_concurrent;
    $("load").textContent = `${mine.active.length}/${mine.max_concurrent} 상담 중`;
    for (const id of mine.active) list.append(ticketButton(id, id, "내가 맡은 상담", () => openTicket(id)));
    if (!mine.active.length) list.append(el("li", "muted small", "맡은 상담이 없어요"));
  }

  function packetFacts(conversation) {
    const packet = conversation.packet || {};
    const ticket = conversation.ticket;
    return [
      ["대기열", ticket.queue], ["상태", ticket.status], ["카테고리", ticket.category || "-"],
      ["요약", ticket.summary || "-"], ["연결 이유", packet.reason || "-"],
      ["extra", (packet.reference && packet.reference.extra) || "-"], ["params", packet.params || {}],
      ["vars", packet.vars || {}], ["지나온 노드", (packet.path || []).join(" → ") || "-"],
      ["FAQ 시도", (packet.faq_attempts || []).map((a) => `${a.query} (${a.decision})`).join(", ") || "-"],
      ["이전 상담", `${(conversation.previous_sessions || []).length}회`],
    ];
  }

  function renderTranscript(entries) {
    const list = $("transcript");
    clear(list);
    let phase = null;
    for (const entry of entries) {
      if (entry.phase !== phase) {
        phase = entry.phase;
        list.append(el("li", "divider", { bot: "— 봇 상담 —", queue: "— 대기 중 —", agent: "— 상담원 상담 —" }[phase] || phase));
      }
      const item = el("li", `${entry.direction === "in" ? "in" : "out"} phase-${entry.phase}`);
      const who = entry.direction === "in" ? "고객" : ({ agent: "상담원", bot: "봇" }[entry.sender] || "안내");
      item.append(el("span", "tag", who), document.createTextNode(entry.text || `[${entry.kind}]`));
      list.append(item);
    }
    list.scrollTop = list.scrollHeight;
  }

  async function openTicket(id) {
    desk.open = id;
    showError("");
    try {
      const conversation = await api("GET", `/conversations/${encodeURIComponent(id)}`);
      if (desk.open !== id) return;
      const ticket = conversation.ticket;
      $("convo-title").textContent = `${ticket.category || "상담"} · ${ticket.id}`;
      $("packet").hidden = false;
      facts($("packet-facts"), packetFacts(conversation));
      renderTranscript(conversation.transcript);
      const mine = ticket.status === "assigned" && (ticket.agent_id === desk.me.id || desk.me.supervisor);
      $("actions").hidden = ticket.status === "closed";
      $("claim").hidden = ticket.status !== "waiting";
      for (const id2 of ["reply-form", "transfer-form"]) $(id2).hidden = !mine;
      document.querySelector(".closers").hidden = !mine;
      document.querySelectorAll(".tickets button").forEach((b) => b.setAttribute("aria-current", String(b.dataset.ticket === id)));
    } catch (error) {
      showError(error.message);
    }
  }

  function refreshSoon() {
    clearTimeout(desk.refreshTimer);
    desk.refreshTimer = setTimeout(refreshAll, 120);
  }

  /* One refresh at a time: an older one finishing last would paint a stale queue. */
  async function refreshAll() {
    if (desk.refreshing) { desk.again = true; return; }
    desk.refreshing = true;
    try {
      do {
        desk.again = false;
        await refreshQueues();
        await refreshAgents();
        if (desk.open) await openTicket(desk.open);
      } while (desk.again);
    } catch (error) {
      if (error.status === 401) logout(); else showError(error.message);
    } finally {
      desk.refreshing = false;
    }
  }

  function onEvent(event) {
    desk.lastEvent = event.id;
    if (event.kind === "handoff_created" && event.at >= opened) beep();
    refreshSoon();
  }

  /* EventSource cannot send a bearer header, so the stream is read with fetch; one per browser. */
  async function listen() {
    const controller = new AbortController();
    desk.stream = controller;
    while (desk.stream === controller) {
      try {
        const headers = Object.assign({ Accept: "text/event-stream", "Last-Event-ID": String(desk.lastEvent) }, auth());
        const response = await fetch(`${API}/events`, { headers, signal: controller.signal });
        if (response.status === 401) { logout(); return; }
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = frame.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
            if (data) onEvent(JSON.parse(data));
          }
        }
      } catch (_) {
        if (controller.signal.aborted) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  async function login(token) {
    desk.token = token;
    try {
      desk.me = await api("GET", "/me");
    } catch (error) {
      $("login-error").textContent = error.status === 401 ? "토큰이 맞지 않아요." : error.message;
      desk.token = null;
      sessionStorage.removeItem("desk-token");
      return;
    }
    sessionStorage.setItem("desk-token", token);
    $("login").hidden = true;
    $("desk").hidden = false;
    const canned = await api("GET", "/canned");
    for (const answer of canned.answers) {
      const option = el("option", null, `[${answer.category}] ${answer.question}`);
      option.value = answer.answer;
      $("canned").append(option);
    }
    await refreshAll();
    /* Shown only now: presence and capacity are filled in, so a quick change cannot send a blank capacity. */
    $("me").hidden = false;
    $("me-name").textContent = `${desk.me.name} (${desk.me.id})`;
    listen();
  }

  function logout() {
    if (desk.stream) desk.stream.abort();
    desk.stream = null;
    sessionStorage.removeItem("desk-token");
    window.location.reload();
  }

  async function act(path, body) {
    showError("");
    try {
      await api("POST", `/conversations/${encodeURIComponent(desk.open)}${path}`, body || {});
      await refreshAll();
    } catch (error) {
      showError(error.message);
    }
  }

  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    const Audio = window.AudioContext || window.webkitAudioContext;
    if (Audio && !desk.audio) desk.audio = new Audio();
    login($("token").value.trim());
  });
  $("logout").addEventListener("click", logout);
  $("claim").addEventListener("click", () => act("/claim"));
  $("canned").addEventListener("change", () => { if ($("canned").value) $("reply").value = $("canned").value; });
  $("reply-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("reply").value;
    if (!text.trim()) return;
    await act("/messages", { text });
    $("reply").value = "";
    $("canned").value = "";
  });
  $("transfer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const [kind, name] = $("transfer-to").value.split(/:(.*)/s);
    act("/transfer", { [kind]: name, note: $("transfer-note").value });
  });
  $("close").addEventListener("click", () => act("/close"));
  $("close-to-bot").addEventListener("click", () => act("/close-to-bot"));
  const presence = () => {
    const body = { presence: $("presence").value };
    const capacity = $("capacity").valueAsNumber;
    if (Number.isInteger(capacity) && capacity >= 1) body.max_concurrent = capacity;
    return api("PUT", `/agents/${encodeURIComponent(desk.me.id)}/presence`, body).then(refreshAll, (e) => showError(e.message));
  };
  $("presence").addEventListener("change", presence);
  $("capacity").addEventListener("change", presence);
  if (desk.token) login(desk.token);
})();
