/* Helpers both console pages share. Data is only ever placed with textContent, never as HTML. */
"use strict";

window.Console = (() => {
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  /* JSON in, JSON out; the server's {"error": ...} (string or {message}) becomes an ApiError. */
  async function call(method, url, body, headers) {
    const init = { method, headers: Object.assign({ Accept: "application/json" }, headers || {}) };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(url, init);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = data.error;
      const message = typeof error === "string" ? error : (error && error.message) || `HTTP ${response.status}`;
      throw new ApiError(response.status, message);
    }
    return data;
  }

  /* Only web links become clickable: a javascript: or data: URL from a flow or an agent stays text. */
  function safeUrl(url) {
    if (!url) return null;
    try {
      const parsed = new URL(String(url), window.location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (_) {
      return null;
    }
  }

  function facts(dl, entries) {
    clear(dl);
    for (const [key, value] of entries) {
      dl.append(el("dt", null, key));
      dl.append(el("dd", null, typeof value === "string" ? value : JSON.stringify(value)));
    }
  }

  return { el, clear, call, safeUrl, facts, ApiError };
})();
