/* /desk: a light agent desk on the agent API (/api/v1) and its event stream. */
"use strict";

(() => {
  const { el, clear, facts, ApiError } = window.Console;
  const $ = (id) => document.getElementById(id);
  const API = "/api/v1";
  const opened = Date.now() / 1000;
  const desk = { token: sessionStorage.getItem("desk-token"), me: null, open: null, lastEvent: 0, waiting: 0,
                 refreshTimer: null, refreshing: false, again: false, audio: null, stream: null,
                 agents: new Map(), mine: [], tickets: new Map(), unread: new Set(), drafts: new Map() };

  /* Agents read Korean: the API's codes and English messages are for developers. */
  const ERRORS = {
    not_waiting: "다른 상담원이 먼저 받은 상담이에요.",
    claim_first: "먼저 '이 상담 받기'로 상담을 받아 주세요.",
    not_assigned: "아직 아무도 받지 않은 상담이에요. 먼저 '이 상담 받기'로 받아 주세요.",
    no_capacity: "동시 상담 수가 가득 찼어요. 진행 중인 상담을 마치거나 동시 상담 수를 늘려 주세요.",
    offline: "오프라인인 상담원은 상담을 맡을 수 없어요. 상태를 '상담 가능'으로 바꾸거나 다른 상담원을 골라 주세요.",
    same_agent: "이미 그 상담원이 맡고 있는 상담이에요.",
    closed: "이미 종료된 상담이에요.",
    not_open: "이미 종료된 상담이에요.",
    session_gone: "고객이 상담톡을 떠나서 더 보낼 수 없어요.",
    not_yours: "다른 상담원이 맡은 상담이에요.",
    invalid: "보낼 수 없는 내용이에요. 길이와 형식을 확인해 주세요.",
    unknown_queue: "없는 대기열이에요. 목록을 다시 확인해 주세요.",
    unknown_node: "흐름에 없는 단계예요.",
    unknown_ticket: "찾을 수 없는 상담이에요.",
    unknown_agent: "없는 상담원이에요.",
    too_large: "사진은 5MB까지 보낼 수 있어요.",
    upload_failed: "카카오에서 사진을 받지 않았어요. 다른 사진으로 다시 시도해 주세요.",
  };
  const STATUSES = { waiting: "대기 중", assigned: "상담 중", closed: "종료됨" };
  const REASONS = { user_asked: "고객이 상담원을 요청했어요", misses: "봇이 여러 번 알아듣지 못했어요",
                    rule: "연결 규칙에 해당했어요", faq_not_found: "FAQ에서 답을 찾지 못했어요",
                    ask_failed: "필요한 정보를 받지 못했어요" };
  const PRESENCE = { online: "상담 가능", away: "자리 비움", offline: "오프라인" };
  const DECISIONS = { answer: "답변함", suggest: "후보 제시", not_found: "못 찾음" };
  const OUTCOMES = { bot: "봇이 해결", agent: "상담원 상담", abandoned: "고객이 중간에 떠남", open: "진행 중" };
  const korean = (table, value) => table[value] || value || "-";
  const agentName = (id) => (desk.agents.get(id) || {}).name || id;

  /* An unknown code (a newer server) still says something: the server's own message. */
  const describe = (error) => error instanceof ApiError
    ? ERRORS[error.code] || error.message
    : "서버에 연결하지 못했어요. 잠시 후 다시 시도해 주세요.";

  const auth = () => ({ Authorization: `Bearer ${desk.token}` });

  /* Like Console.call, but the error keeps the API's code: the agent is told in Korean by code. */
  async function api(method, path, body) {
    const init = { method, headers: Object.assign({ Accept: "application/json" }, auth()) };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(API + path, init);
    const data = await response.json().catch(() => ({}));
    if (response.ok) return data;
    const problem = data.error || {};
    const error = new ApiError(response.status, problem.message || `HTTP ${response.status}`);
    error.code = problem.code;
    throw error;
  }

  const showError = (message) => { $("desk-error").textContent = message || ""; };

  const clock = (iso) => new Date(iso).toLocaleString("ko-KR", { month: "numeric", day: "numeric",
                                                                   hour: "2-digit", minute: "2-digit" });

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
    if (desk.unread.has(id)) {
      button.classList.add("unread");
      button.append(el("span", "unread-mark", "새 메시지"));
    }
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

  /* Category, customer and summary never change for a ticket: fetched once per ticket. */
  async function ticketInfo(id) {
    if (!desk.tickets.has(id)) desk.tickets.set(id, (await api("GET", `/conversations/${encodeURIComponent(id)}`)).ticket);
    return desk.tickets.get(id);
  }

  async function refreshAgents() {
    const data = await api("GET", "/agents");
    desk.agents = new Map(data.agents.map((agent) => [agent.id, agent]));
    const mine = desk.agents.get(desk.me.id);
    desk.mine = mine ? mine.active : [];
    const list = $("mine");
    clear(list);
    const target = $("transfer-to");
    const chosen = target.value;
    clear(target);
    for (const agent of data.agents) {
      if (agent.id === desk.me.id) continue;
      const option = el("option", null, `상담원 ${agent.name || agent.id} (${korean(PRESENCE, agent.presence)})`);
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
    for (const id of mine.active) {
      const ticket = await ticketInfo(id);
      list.append(ticketButton(id, `${ticket.category || "분류 없음"} · 고객 ${ticket.user_key}`,
                               ticket.summary || "요약 없음", () => openTicket(id)));
    }
    if (!mine.active.length) list.append(el("li", "muted small", "맡은 상담이 없어요"));
  }

  function packetFacts(conversation) {
    const packet = conversation.packet || {};
    const ticket = conversation.ticket;
    return [
      ["대기열", ticket.queue], ["상태", korean(STATUSES, ticket.status)],
      ["상담원", ticket.agent_id ? agentName(ticket.agent_id) : "-"], ["카테고리", ticket.category || "-"],
      ["요약", ticket.summary || "-"], ["연결 이유", korean(REASONS, packet.reason)],
      ["extra", (packet.reference && packet.reference.extra) || "-"], ["params", packet.params || {}],
      ["vars", packet.vars || {}], ["지나온 노드", (packet.path || []).join(" → ") || "-"],
      ["FAQ 시도", (packet.faq_attempts || []).map((a) => `${a.query} (${korean(DECISIONS, a.decision)})`)
        .join(", ") || "-"],
    ];
  }

  /* Notes and past sessions fill short lists; each box shows only when it has something. */
  function notes(listId, items, render) {
    const list = $(listId);
    clear(list);
    for (const item of items) list.append(render(item));
    list.parentElement.hidden = !items.length;
  }

  const place = (agent, queue) => (agent ? `상담원 ${agentName(agent)}` : `대기열 ${queue}`);

  function transferNote(transfer) {
    const item = el("li");
    item.append(el("span", "when", clock(transfer.at)),
                el("span", "route", `${place(transfer.from_agent, transfer.from_queue)} → ${place(transfer.to_agent, transfer.to_queue)}`),
                el("p", "note", transfer.note || "메모 없음"));
    return item;
  }

  function pastSession(session) {
    const item = el("li");
    const who = session.agent_id ? ` · ${agentName(session.agent_id)}` : "";
    item.append(el("span", "when", clock(session.started_at)),
                el("span", "route", `${session.category || "분류 없음"} · ${korean(OUTCOMES, session.outcome)}${who}`));
    if (session.summary) item.append(el("p", "note", session.summary));
    return item;
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

  /* Each conversation keeps its own unsent reply, and an error belongs to the conversation it
     happened in: switching clears it, a refresh of the same one does not. */
  function switchTo(id) {
    if (desk.open === id) return;
    if (desk.open) desk.drafts.set(desk.open, $("reply").value);
    $("reply").value = desk.drafts.get(id) || "";
    desk.drafts.delete(id);
    desk.open = id;
    showError("");
  }

  function markRead(id) {
    desk.unread.delete(id);
    for (const button of document.querySelectorAll(`.tickets button.unread[data-ticket="${CSS.escape(id)}"]`)) {
      button.classList.remove("unread");
      button.querySelector(".unread-mark").remove();
    }
  }

  async function openTicket(id) {
    switchTo(id);
    markRead(id);
    try {
      const conversation = await api("GET", `/conversations/${encodeURIComponent(id)}`);
      if (desk.open !== id) return;
      const ticket = conversation.ticket;
      $("convo-title").textContent = `${ticket.category || "상담"} · ${ticket.id}`;
      $("packet").hidden = false;
      facts($("packet-facts"), packetFacts(conversation));
      notes("transfers", ticket.transfers || [], transferNote);
      notes("history", conversation.previous_sessions || [], pastSession);
      renderTranscript(conversation.transcript);
      const mine = ticket.status === "assigned" && (ticket.agent_id === desk.me.id || desk.me.supervisor);
      const draft = $("reply").value.trim() !== "";
      $("actions").hidden = ticket.status === "closed" && !draft;
      $("claim").hidden = ticket.status !== "waiting";
      $("reply-form").hidden = !mine && !draft;
      $("send").disabled = !mine;
      $("transfer-form").hidden = !mine;
      document.querySelector(".closers").hidden = !mine;
      document.querySelectorAll(".tickets button").forEach((b) => b.setAttribute("aria-current", String(b.dataset.ticket === id)));
    } catch (error) {
      showError(describe(error));
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
      if (error.status === 401) logout(); else showError(describe(error));
    } finally {
      desk.refreshing = false;
    }
  }

  /* A customer writing where the agent is not looking marks that ticket until it is opened. */
  function onEvent(event) {
    desk.lastEvent = event.id;
    const fresh = event.at >= opened;
    const ticket = (event.data || {}).ticket_id;
    if (fresh && event.kind === "handoff_created") beep();
    if (fresh && event.kind === "user_message" && ticket !== desk.open) {
      desk.unread.add(ticket);
      if (desk.mine.includes(ticket)) beep();
    }
    if (event.kind === "closed") desk.unread.delete(ticket);
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
      $("login-error").textContent = error.status === 401 ? "토큰이 맞지 않아요." : describe(error);
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

  /* True when the server took it; either way the desk refreshes to show where things stand. */
  async function act(path, body) {
    showError("");
    try {
      await api("POST", `/conversations/${encodeURIComponent(desk.open)}${path}`, body || {});
      return true;
    } catch (error) {
      showError(describe(error));
      return false;
    } finally {
      await refreshAll();
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
    if (!(await act("/messages", { text }))) return;
    $("reply").value = "";
    $("canned").value = "";
  });
  $("transfer-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const [kind, name] = $("transfer-to").value.split(/:(.*)/s);
    if (await act("/transfer", { [kind]: name, note: $("transfer-note").value })) $("transfer-note").value = "";
  });
  $("close").addEventListener("click", () => act("/close"));
  $("close-to-bot").addEventListener("click", () => act("/close-to-bot"));
  const presence = () => {
    const body = { presence: $("presence").value };
    const capacity = $("capacity").valueAsNumber;
    if (Number.isInteger(capacity) && capacity >= 1) body.max_concurrent = capacity;
    return api("PUT", `/agents/${encodeURIComponent(desk.me.id)}/presence`, body).then(refreshAll, (e) => showError(describe(e)));
  };
  $("presence").addEventListener("change", presence);
  $("capacity").addEventListener("change", presence);
  if (desk.token) login(desk.token);
})();
