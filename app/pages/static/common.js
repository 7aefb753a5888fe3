// What both pages share: the language, strings, building elements, calling the API.
// Text from the registry is only ever set as text (textContent, text nodes, attribute
// values), never parsed as markup: a facility named "<img src=x onerror=...>" is shown
// as those characters.
"use strict";

const RF = (() => {
  function pickLanguage(preferred) {
    for (const tag of preferred || []) {
      const lower = String(tag).toLowerCase();
      if (lower.startsWith("zh")) return "zh";
      if (lower.startsWith("en")) return "en";
    }
    return "zh";
  }
  const lang = pickLanguage(navigator.languages || [navigator.language]);
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";

  const strings = { zh: {}, en: {} };

  function addStrings(table) {
    for (const [key, [zh, en]] of Object.entries(table)) {
      strings.zh[key] = zh;
      strings.en[key] = en;
    }
  }

  function t(key, values) {
    let text = strings[lang][key] ?? strings.zh[key] ?? key;
    for (const [name, value] of Object.entries(values || {})) {
      text = text.replaceAll(`{${name}}`, String(value));
    }
    return text;
  }

  function translate(root) {
    for (const node of root.querySelectorAll("[data-i18n]")) {
      node.textContent = t(node.dataset.i18n);
    }
    for (const node of root.querySelectorAll("[data-i18n-placeholder]")) {
      node.placeholder = t(node.dataset.i18nPlaceholder);
    }
    for (const node of root.querySelectorAll("[data-i18n-label]")) {
      node.setAttribute("aria-label", t(node.dataset.i18nLabel));
    }
  }

  // el("a", {href: url, class: "x"}, "text", child): attributes as values, children as
  // text nodes or elements. `on` takes {event: handler}.
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "on") {
        for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
      } else if (name === "dataset") {
        Object.assign(node.dataset, value);
      } else {
        node.setAttribute(name, value === true ? "" : String(value));
      }
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function replace(node, ...children) {
    node.replaceChildren();
    return append(node, children);
  }

  // Links the registry gives (navigation apps) are followed only if they are web links.
  function safeUrl(url) {
    try {
      const parsed = new URL(url, location.origin);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch {
      return null;
    }
  }

  class ApiError extends Error {
    constructor(status, problem, response) {
      super(problem?.detail || problem?.title || `HTTP ${status}`);
      this.status = status;
      this.problem = problem || {};
      this.response = response;
    }
  }

  // One call to the API: JSON in and out, problem+json thrown as ApiError.
  async function api(path, { method = "GET", json, body, headers = {}, key } = {}) {
    const sent = { ...headers };
    if (key) sent.Authorization = `Bearer ${key}`;
    if (json !== undefined) {
      sent["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    }
    const response = await fetch(path, { method, headers: sent, body });
    const type = response.headers.get("content-type") || "";
    const data = type.includes("json") ? await response.json() : await response.text();
    if (!response.ok) throw new ApiError(response.status, typeof data === "object" ? data : null, response);
    return { data, response };
  }

  function problemText(error) {
    if (!(error instanceof ApiError)) return String(error.message || error);
    const fields = (error.problem.errors || []).map((e) => `${e.field}: ${e.message}`);
    return [error.message, ...fields].join("; ");
  }

  function number(value) {
    return value === null || value === undefined ? "–" : Number(value).toLocaleString(document.documentElement.lang);
  }

  function dateTime(value) {
    return value ? new Date(value).toLocaleString(document.documentElement.lang) : "–";
  }

  addStrings({
    "lang.switch": ["English", "中文"],
    "error.generic": ["出错了：{message}", "Something went wrong: {message}"],
  });

  return { lang, t, addStrings, translate, el, append, replace, safeUrl, api, ApiError, problemText, number, dateTime };
})();
