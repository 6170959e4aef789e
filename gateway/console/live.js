// An order's live stream (GET /live/orders/{id}), read with fetch rather than EventSource so
// that the token goes in the Authorization header, not in the URL. On a broken connection it
// reconnects after the server's `retry` with `Last-Event-ID`, as EventSource would.

import { session } from "./api.js";

export function watchOrder(orderId, { storeId, onStatus, onEvent, onState, onEnd }) {
  let lastEventId = null;
  let retry = 1000;
  let stopped = false;
  let controller = null;

  async function connect() {
    while (!stopped) {
      controller = new AbortController();
      const headers = { accept: "text/event-stream", authorization: `Bearer ${session()?.token}` };
      if (lastEventId) headers["last-event-id"] = lastEventId;
      const query = storeId ? `?storeId=${encodeURIComponent(storeId)}` : "";
      try {
        const response = await fetch(`/live/orders/${orderId}${query}`, { headers, signal: controller.signal });
        if (!response.ok) {
          const problem = await response.json().catch(() => ({}));
          onState?.("refused", problem.detail || `HTTP ${response.status}`);
          if (response.status < 500) return;
        } else {
          onState?.("live");
          if (await read(response.body)) return;
        }
      } catch (e) {
        if (stopped) return;
      }
      onState?.("reconnecting");
      await new Promise((r) => setTimeout(r, retry));
    }
  }

  // Reads events until the stream breaks (false) or says it ended (true).
  async function read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false;
      buffer += value.replace(/\r\n?/g, "\n");
      let at;
      while ((at = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        if (dispatch(block)) {
          stopped = true;
          onEnd?.();
          return true;
        }
      }
    }
  }

  function dispatch(block) {
    let type = "message", data = [], id = null;
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const name = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (name === "event") type = value;
      else if (name === "data") data.push(value);
      else if (name === "id") id = value;
      else if (name === "retry" && /^\d+$/.test(value)) retry = Number(value);
    }
    if (id !== null) lastEventId = id;
    if (!data.length) return false;
    const text = data.join("\n");
    if (type === "end") return true;
    if (type === "status") onStatus?.(JSON.parse(text));
    else if (type === "event") onEvent?.(JSON.parse(text));
    return false;
  }

  connect();
  return {
    close() {
      stopped = true;
      controller?.abort();
    },
    // For tests and the curious: drop the connection as a network would; it resumes by itself.
    drop() {
      controller?.abort();
    },
  };
}
