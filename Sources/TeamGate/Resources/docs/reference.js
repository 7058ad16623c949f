// TeamGate's API reference: renders /openapi.json and sends live requests to this same server.
// Nothing here leaves the page's origin; credentials and recent requests stay in this browser's localStorage.
"use strict";

const METHODS = ["get", "post", "put", "patch", "delete"];
const LANGUAGES = [["curl", "cURL"], ["python", "Python"], ["javascript", "JavaScript"], ["swift", "Swift"]];
const HISTORY_KEY = "teamgate.history";
const state = { spec: null, operations: [], current: null, answered: 0, language: localStorage.getItem("teamgate.language") || "curl" };
const $ = (id) => document.getElementById(id);

function escapeHTML(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// Enough Markdown for the descriptions: paragraphs and `code`.
function prose(text) {
  return (text || "").split(/\n\n+/).map((p) => `<p>${escapeHTML(p).replace(/`([^`]+)`/g, "<code>$1</code>")}</p>`).join("");
}

function resolve(node) {
  let seen = 0;
  while (node && node.$ref && seen++ < 20) {
    const merged = node.$ref.replace(/^#\//, "").split("/").reduce((n, key) => n[key], state.spec);
    const { $ref, ...rest } = node;
    node = { ...merged, ...rest };
  }
  return node;
}

function collectOperations(spec) {
  const operations = [];
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      operations.push({ ...op, id: op.operationId, method, path, tag: (op.tags || ["Other"])[0] });
    }
  }
  return operations;
}

// --- Navigation -----------------------------------------------------------------------------

function renderNav() {
  const query = $("search").value.trim().toLowerCase();
  const groups = new Map();
  for (const op of state.operations) {
    const text = `${op.summary} ${op.path} ${op.method} ${op.tag}`.toLowerCase();
    if (query && !text.includes(query)) continue;
    if (!groups.has(op.tag)) groups.set(op.tag, []);
    groups.get(op.tag).push(op);
  }
  const html = [...groups].map(([tag, ops]) => `
    <h3>${escapeHTML(tag)}</h3>
    <ul>${ops.map((op) => `
      <li><a href="/docs/reference/${encodeURIComponent(op.id)}" data-operation="${escapeHTML(op.id)}"
             ${state.current && state.current.id === op.id ? 'aria-current="page"' : ""}>
        <span class="badge ${op.method}">${op.method.toUpperCase()}</span>${escapeHTML(op.summary)}</a></li>`).join("")}
    </ul>`).join("");
  $("operation-list").innerHTML = html || '<p class="muted">No operation matches.</p>';
}

function select(id, push) {
  const op = state.operations.find((o) => o.id === id) || state.operations[0];
  if (!op) return;
  state.current = op;
  const url = `/docs/reference/${encodeURIComponent(op.id)}`;
  if (push) history.pushState({ id: op.id }, "", url); else history.replaceState({ id: op.id }, "", url);
  document.title = `${op.summary} — TeamGate API Reference`;
  renderNav();
  renderOperation(op);
  renderCredentials(op);
  resetBody(op);
  renderSnippet();
  $("response").innerHTML = '<p class="muted">Click <strong>Try It</strong> to send the request and see the live response here.</p>';
}

// --- The operation's documentation -------------------------------------------------------------

function constraints(schema) {
  const parts = [];
  if (schema.minLength !== undefined) parts.push(`min length ${schema.minLength}`);
  if (schema.maxLength !== undefined) parts.push(`max length ${schema.maxLength}`);
  if (schema.minimum !== undefined) parts.push(`≥ ${schema.minimum}`);
  if (schema.maximum !== undefined) parts.push(`≤ ${schema.maximum}`);
  // A rule written for people (x-rule) reads better than the regular expression that checks it.
  if (schema["x-rule"]) return escapeHTML(schema["x-rule"]);
  if (schema.pattern) parts.push(`pattern <code>${escapeHTML(schema.pattern)}</code>`);
  if (schema.enum) parts.push(`one of ${schema.enum.map((v) => `<code>${escapeHTML(v)}</code>`).join(", ")}`);
  return parts.join("; ") || "—";
}

function bodyContent(op) {
  const body = op.requestBody && resolve(op.requestBody);
  return body && body.content && body.content["application/json"];
}

function renderOperation(op) {
  const content = bodyContent(op);
  let params = "";
  if (content) {
    const schema = resolve(content.schema);
    const example = content.example || {};
    const rows = Object.entries(schema.properties || {}).map(([name, raw]) => {
      const prop = resolve(raw);
      const required = (schema.required || []).includes(name);
      const sample = example[name] !== undefined ? example[name] : (prop.examples || [])[0];
      // Each parameter is two rows: what it is, then its description across the whole width, so the words are
      // never squeezed into a fifth of the column (or cut off beside the Try It panel).
      return `<tr class="param"><td><code>${escapeHTML(name)}</code>${required ? ' <span class="required">required</span>' : ""}
        <div class="type">${escapeHTML([].concat(prop.type || "object").join(" | "))}</div></td>
        <td>${constraints(prop)}</td>
        <td>${sample !== undefined ? `<code>${escapeHTML(JSON.stringify(sample))}</code>` : "—"}</td></tr>
        <tr class="param-description"><td colspan="3">${escapeHTML(raw.description || prop.description || "")}</td></tr>`;
    }).join("");
    params = `<h2>Body parameters</h2>
      <div class="table-scroll"><table class="params"><thead><tr><th scope="col">Name and type</th><th scope="col">Constraints</th><th scope="col">Example</th></tr></thead>
      <tbody>${rows}</tbody></table></div>`;
  }
  const responses = Object.entries(op.responses || {}).map(([status, raw]) => {
    const response = resolve(raw);
    const media = response.content && response.content["application/json"];
    const example = media && media.example !== undefined ? JSON.stringify(media.example, null, 2) : "";
    return `<details class="response-doc" data-status="${escapeHTML(status)}">
      <summary><span class="status s${status[0]}">${escapeHTML(status)}</span><span>${escapeHTML(response.description)}</span></summary>
      ${example ? `<pre class="code">${escapeHTML(example)}</pre>` : ""}</details>`;
  }).join("");
  const auth = credentialScheme(op);
  $("operation").innerHTML = `
    <h1>${escapeHTML(op.summary)}</h1>
    <div class="endpoint"><span class="badge ${op.method}">${op.method.toUpperCase()}</span><span>${escapeHTML(op.path)}</span></div>
    ${prose(op.description)}
    <h2>Authentication</h2>
    <p>${auth ? `Header <code>${escapeHTML(auth.label)}</code>: ${escapeHTML(auth.scheme.description || "")}` : "None: this operation is public."}</p>
    ${params}
    <h2>Responses</h2>
    ${responses}`;
}

// --- Credentials -------------------------------------------------------------------------------

function credentialScheme(op) {
  const requirements = op.security !== undefined ? op.security : state.spec.security || [];
  for (const requirement of requirements) {
    for (const name of Object.keys(requirement)) {
      const scheme = resolve(state.spec.components.securitySchemes[name]);
      if (scheme.type === "apiKey" && scheme.in === "header") {
        return { name, scheme, header: scheme.name, label: scheme.name, prefix: "" };
      }
      if (scheme.type === "http" && scheme.scheme === "bearer") {
        return { name, scheme, header: "Authorization", label: "Authorization: Bearer", prefix: "Bearer " };
      }
    }
  }
  return null;
}

const storedCredential = (name) => localStorage.getItem(`teamgate.credential.${name}`) || "";

function renderCredentials(op) {
  const auth = credentialScheme(op);
  if (!auth) {
    $("credentials").innerHTML = '<p class="muted">This operation needs no credentials.</p>';
    return;
  }
  const what = auth.name === "memberSession" ? "A member's session token from sign-in." :
    "Your API key from Settings → Developer Documentation. Do not share it publicly.";
  $("credentials").innerHTML = `
    <div class="field">
      <label for="credential">${escapeHTML(auth.label)}</label>
      <div class="field-row">
        <input id="credential" type="password" autocomplete="off" spellcheck="false" placeholder="${auth.prefix ? "token" : "your_api_key_here"}"
               value="${escapeHTML(storedCredential(auth.name))}" aria-describedby="credential-hint">
        <button id="show-credential" class="ghost" type="button" aria-pressed="false">Show</button>
        <button id="forget-credential" class="ghost" type="button">Forget</button>
      </div>
      <p id="credential-hint" class="hint">${escapeHTML(what)} Kept in this browser only.</p>
    </div>`;
  $("credential").addEventListener("input", (event) => {
    localStorage.setItem(`teamgate.credential.${auth.name}`, event.target.value.trim());
    renderSnippet();
  });
  $("show-credential").addEventListener("click", (event) => {
    const input = $("credential");
    const showing = input.type === "text";
    input.type = showing ? "password" : "text";
    event.target.textContent = showing ? "Show" : "Hide";
    event.target.setAttribute("aria-pressed", String(!showing));
  });
  $("forget-credential").addEventListener("click", () => {
    localStorage.removeItem(`teamgate.credential.${auth.name}`);
    $("credential").value = "";
    renderSnippet();
    $("credential").focus();
  });
}

function currentCredential() {
  const auth = credentialScheme(state.current);
  if (!auth) return null;
  const input = $("credential");
  return { auth, value: input ? input.value.trim() : "" };
}

// --- Body editor ------------------------------------------------------------------------------

function resetBody(op) {
  const content = bodyContent(op);
  $("body-panel").hidden = !content;
  $("body-editor").value = content ? JSON.stringify(content.example || {}, null, 2) : "";
  checkBody();
}

// Returns the parsed body, or undefined after showing why it is not JSON.
function checkBody() {
  const editor = $("body-editor");
  if ($("body-panel").hidden) return null;
  try {
    const parsed = JSON.parse(editor.value);
    editor.removeAttribute("aria-invalid");
    $("body-error").textContent = "";
    return parsed;
  } catch (error) {
    editor.setAttribute("aria-invalid", "true");
    $("body-error").textContent = `Not valid JSON: ${error.message}`;
    return undefined;
  }
}

// --- Snippets ---------------------------------------------------------------------------------

function requestParts() {
  const op = state.current;
  const headers = {};
  const credential = currentCredential();
  if (credential) headers[credential.auth.header] = credential.auth.prefix + (credential.value || (credential.auth.prefix ? "<token>" : "<your API key>"));
  const hasBody = !$("body-panel").hidden;
  if (hasBody) headers["content-type"] = "application/json";
  return { method: op.method.toUpperCase(), url: location.origin + op.path, headers, body: hasBody ? $("body-editor").value.trim() : null };
}

const shellQuote = (text) => `'${text.replace(/'/g, `'\\''`)}'`;
const swiftString = (text) => JSON.stringify(text);

function snippet(language, r) {
  const entries = Object.entries(r.headers);
  switch (language) {
    case "curl":
      return [`curl --request ${r.method}`, `--url ${shellQuote(r.url)}`]
        .concat(entries.map(([k, v]) => `--header ${shellQuote(`${k}: ${v}`)}`))
        .concat(r.body !== null ? [`--data ${shellQuote(r.body)}`] : [])
        .join(" \\\n     ");
    case "python":
      return ["import requests", "", `response = requests.request(`, `    ${JSON.stringify(r.method)},`, `    ${JSON.stringify(r.url)},`,
        `    headers={${entries.map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(", ")}},`]
        .concat(r.body !== null ? [`    data=${JSON.stringify(r.body)},`] : [])
        .concat([")", "print(response.status_code, response.text)"]).join("\n");
    case "javascript":
      return [`const response = await fetch(${JSON.stringify(r.url)}, {`, `  method: ${JSON.stringify(r.method)},`,
        `  headers: ${JSON.stringify(r.headers, null, 2).replace(/\n/g, "\n  ")},`]
        .concat(r.body !== null ? [`  body: ${JSON.stringify(r.body)},`] : [])
        .concat(["});", "console.log(response.status, await response.text());"]).join("\n");
    case "swift":
      return ["import Foundation", "", `var request = URLRequest(url: URL(string: ${swiftString(r.url)})!)`, `request.httpMethod = ${swiftString(r.method)}`]
        .concat(entries.map(([k, v]) => `request.setValue(${swiftString(v)}, forHTTPHeaderField: ${swiftString(k)})`))
        .concat(r.body !== null ? [`request.httpBody = Data(${swiftString(r.body)}.utf8)`] : [])
        .concat(["let (data, response) = try await URLSession.shared.data(for: request)",
          "print((response as! HTTPURLResponse).statusCode, String(decoding: data, as: UTF8.self))"]).join("\n");
  }
  return "";
}

function renderTabs() {
  $("snippet-tabs").innerHTML = LANGUAGES.map(([id, name]) =>
    `<button type="button" role="tab" id="tab-${id}" data-language="${id}" aria-selected="${id === state.language}"
             tabindex="${id === state.language ? 0 : -1}">${name}</button>`).join("");
}

function renderSnippet() {
  if (!state.current) return;
  $("snippet").textContent = snippet(state.language, requestParts());
  $("snippet").setAttribute("aria-labelledby", `tab-${state.language}`);
}

// --- Try It -----------------------------------------------------------------------------------

function meaningOf(status) {
  const documented = state.current.responses && state.current.responses[String(status)];
  if (documented) return resolve(documented).description;
  return status >= 500 ? "Server error — not documented for this operation" : "Not documented for this operation";
}

async function tryIt() {
  const body = checkBody();
  if (body === undefined) {
    $("body-editor").focus();
    return;
  }
  const r = requestParts();
  const button = $("try-it");
  button.disabled = true;
  button.textContent = "Sending…";
  const started = performance.now();
  try {
    const response = await fetch(r.url, { method: r.method, headers: r.headers, body: r.body === null ? undefined : r.body });
    const text = await response.text();
    const duration = Math.round(performance.now() - started);
    let pretty = text;
    try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { /* not JSON: shown as it came */ }
    const headers = [...response.headers].map(([k, v]) => `${k}: ${v}`).join("\n");
    const meaning = meaningOf(response.status);
    $("response").innerHTML = `
      <div class="response-line">
        <span id="response-status" class="status s${String(response.status)[0]}">${response.status} ${escapeHTML(response.statusText)}</span>
        <span id="response-meaning" class="meaning">${escapeHTML(meaning)}</span>
      </div>
      <p class="muted">Answered in <span id="response-duration">${duration} ms</span></p>
      <details><summary>Headers</summary><pre class="code">${escapeHTML(headers)}</pre></details>
      <pre id="response-body" class="code" tabindex="0">${escapeHTML(pretty)}</pre>`;
    remember({ at: new Date().toISOString(), status: response.status, operation: state.current.summary, id: state.current.id });
  } catch (error) {
    $("response").innerHTML = `<p id="response-status" class="field-error">The request could not be sent: ${escapeHTML(error.message)}</p>`;
  } finally {
    button.disabled = false;
    button.textContent = "Try It";
    // Counts answered requests, so a reader (or a test) can tell a new response from the previous one.
    $("response").dataset.sequence = String(++state.answered);
  }
}

function remember(entry) {
  const entries = [entry].concat(JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]")).slice(0, 20);
  localStorage.setItem(HISTORY_KEY, JSON.stringify(entries));
  renderHistory();
}

function renderHistory() {
  const entries = JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]");
  $("history").innerHTML = entries.length ? entries.map((e) => `
    <li><time datetime="${escapeHTML(e.at)}">${escapeHTML(new Date(e.at).toLocaleTimeString())}</time>
        <span class="status s${String(e.status)[0]}">${escapeHTML(e.status)}</span>
        <a href="/docs/reference/${encodeURIComponent(e.id)}" data-operation="${escapeHTML(e.id)}">${escapeHTML(e.operation)}</a></li>`).join("")
    : '<li class="muted">No request yet.</li>';
}

// --- Wiring -----------------------------------------------------------------------------------

function wire() {
  $("search").addEventListener("input", renderNav);
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-operation]");
    if (!link || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    select(link.dataset.operation, true);
    $("sidebar").classList.remove("open");
    $("operation").focus();
  });
  window.addEventListener("popstate", () => select(decodeURIComponent(location.pathname.split("/").pop()), false));
  $("nav-toggle").addEventListener("click", () => {
    const open = $("sidebar").classList.toggle("open");
    $("nav-toggle").setAttribute("aria-expanded", String(open));
  });
  $("body-editor").addEventListener("input", () => { checkBody(); renderSnippet(); });
  $("snippet-tabs").addEventListener("click", (event) => {
    const tab = event.target.closest("button[data-language]");
    if (!tab) return;
    chooseLanguage(tab.dataset.language);
  });
  $("snippet-tabs").addEventListener("keydown", (event) => {
    if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
    const ids = LANGUAGES.map(([id]) => id);
    const next = ids[(ids.indexOf(state.language) + (event.key === "ArrowRight" ? 1 : ids.length - 1)) % ids.length];
    chooseLanguage(next);
    $(`tab-${next}`).focus();
  });
  $("copy-snippet").addEventListener("click", async () => {
    const text = $("snippet").textContent;
    try { await navigator.clipboard.writeText(text); } catch (_) {
      const range = document.createRange(); range.selectNodeContents($("snippet"));
      getSelection().removeAllRanges(); getSelection().addRange(range); document.execCommand("copy");
    }
    $("copy-snippet").textContent = "Copied";
    setTimeout(() => { $("copy-snippet").textContent = "Copy"; }, 1500);
  });
  $("try-it").addEventListener("click", tryIt);
  $("clear-history").addEventListener("click", () => { localStorage.removeItem(HISTORY_KEY); renderHistory(); });
}

function chooseLanguage(language) {
  state.language = language;
  localStorage.setItem("teamgate.language", language);
  renderTabs();
  renderSnippet();
}

async function start() {
  wire();
  renderTabs();
  renderHistory();
  try {
    const response = await fetch("/openapi.json");
    state.spec = await response.json();
  } catch (error) {
    $("operation").innerHTML = `<p class="field-error">The API description could not be loaded: ${escapeHTML(error.message)}</p>`;
    return;
  }
  state.operations = collectOperations(state.spec);
  const match = location.pathname.match(/^\/docs\/reference\/([^/]+)/);
  select(match ? decodeURIComponent(match[1]) : null, false);
}

start();
