// The one way the pages reach the platform: the REST API under /api/v1, with the signed-in user's token.
const KEY = 'ggzy.session';

export function getSession() {
  try {
    return JSON.parse(localStorage.getItem(KEY) || 'null');
  } catch {
    return null;
  }
}

export function setSession(session) {
  localStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession() {
  localStorage.removeItem(KEY);
}

export function hasRole(session, ...roles) {
  return !!session && (session.roles || []).some((r) => roles.includes(r));
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `请求失败（HTTP ${status}）`);
    this.status = status;
    this.body = body || {};
    this.errors = Array.isArray(this.body.errors) ? this.body.errors : [];
  }
}

function authHeaders(extra = {}) {
  const session = getSession();
  return session && session.token ? { ...extra, Authorization: `Bearer ${session.token}` } : { ...extra };
}

async function parse(response) {
  if (response.status === 204) return null;
  const type = response.headers.get('Content-Type') || '';
  return type.includes('json') ? response.json() : response.text();
}

/** Call the API; JSON bodies by default, strings and Blobs as given; throws ApiError on a non-2xx answer. */
export async function api(path, { method = 'GET', body, headers = {}, auth = true } = {}) {
  const sent = auth ? authHeaders(headers) : { ...headers };
  let payload = body;
  if (body !== undefined && typeof body !== 'string' && !(body instanceof Blob) && !(body instanceof FormData)) {
    sent['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const response = await fetch(`/api/v1${path}`, { method, headers: sent, body: payload });
  const data = await parse(response);
  if (!response.ok) {
    if (response.status === 401 && auth && getSession()) clearSession();
    throw new ApiError(response.status, typeof data === 'object' && data ? data : { message: String(data || '') });
  }
  return data;
}

/** PUT a Blob with upload progress (fetch has none): resolves to the JSON answer, rejects with ApiError. */
export function uploadWithProgress(path, blob, { method = 'PUT', headers = {}, onProgress } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, `/api/v1${path}`);
    for (const [name, value] of Object.entries(authHeaders({ 'Content-Type': 'application/octet-stream', ...headers }))) {
      xhr.setRequestHeader(name, value);
    }
    xhr.upload.onprogress = (event) => {
      if (onProgress && event.lengthComputable) onProgress(event.loaded, event.total);
    };
    xhr.onload = () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText || 'null'); } catch { data = { message: xhr.responseText }; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, data));
    };
    xhr.onerror = () => reject(new ApiError(0, { message: '网络错误，上传未完成' }));
    xhr.send(blob);
  });
}

/** The signed-in session, or a redirect to the login page (which comes back here afterwards). */
export function requireLogin() {
  const session = getSession();
  if (!session || !session.token) {
    const next = encodeURIComponent(location.pathname + location.search);
    location.replace(`/login?next=${next}`);
    throw new Error('not signed in');
  }
  return session;
}
