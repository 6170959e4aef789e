// The public API through the gateway, with the signed-in user's token. Problems (RFC 9457)
// become thrown errors carrying their status and code.

const SESSION = "fooddelivery.session";

export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION));
  } catch {
    return null;
  }
}

export function setSession(value) {
  if (value) sessionStorage.setItem(SESSION, JSON.stringify(value));
  else sessionStorage.removeItem(SESSION);
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem?.code;
  }
}

export async function api(method, path, body, headers = {}) {
  const s = session();
  const init = { method, headers: { accept: "application/json", ...headers } };
  if (s?.token) init.headers.authorization = `Bearer ${s.token}`;
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/// A development token for `userId` in `role` (404 where development tokens are off).
export async function devToken(userId, role) {
  const token = await api("POST", "/auth/dev-token", { userId, role });
  return token.accessToken;
}

/// The claims of a JWT, unverified: only to show who is signed in.
export function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part));
  } catch {
    return null;
  }
}
