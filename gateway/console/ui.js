// Small DOM helpers: elements from data (text is always text, never HTML), messages, formats.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function mount(...children) {
  const page = document.getElementById("page");
  page.replaceChildren(...children);
  return page;
}

let flashTimer;
export function flash(message, kind = "info") {
  const el = document.getElementById("flash");
  el.className = kind;
  el.textContent = message;
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => { el.textContent = ""; el.className = ""; }, 6000);
}

/// Runs `action`, showing its error as a message; returns its result or undefined.
export async function attempt(action) {
  try {
    return await action();
  } catch (e) {
    flash(e.code ? `${e.message} (${e.code})` : e.message, "error");
    return undefined;
  }
}

export const won = (n) => `₩${Number(n).toLocaleString("en-US")}`;
export const time = (t) => (t ? new Date(t).toLocaleTimeString("en-GB", { hour12: false }) : "");
// The ids are UUIDv7, whose first digits are a time: the last ones tell orders apart.
export const short = (id) => `…${String(id).slice(-8)}`;

export function field(label, input) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), input);
}

export function section(title, ...children) {
  const id = `s-${title.toLowerCase().replace(/[^a-z]+/g, "-")}`;
  return h("section", { "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

export function badge(label, value) {
  return h("span", { class: `badge ${value ? String(value).toLowerCase() : "none"}`, "data-badge": label },
    h("span", { class: "label" }, `${label}: `), value || "—");
}

export function table(headers, rows, caption) {
  return h("table", {},
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows));
}
