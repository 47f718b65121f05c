/* What the counsellor's side panel (panel.js) and the supervisor's board (supervisor.js)
 * share: loaded by both pages before their own script, it adds one object to the page,
 * window.HelplineCommon, and nothing else. Plain browser JS, no build step.
 *
 * Tokens travel in the Authorization header only (authHeaders), never in a URL; nothing
 * here puts text into the page other than as text.
 */
(function () {
  "use strict";

  /** Who is on the line, in the words of data/messages.yml, from the server's /roles.json
   * (loadRoles): each role's name (`labels`), the name when no role is known (`unknown`), and
   * the buttons that say who is on the line (`buttons`: {title, payload}). Empty until then. */
  var roles = { labels: {}, unknown: "", buttons: [] };

  /** The status line's icon for each state (the panel's `connected`, the board's `live`). */
  var STATUS_ICONS = { connected: "●", live: "●", connecting: "…", offline: "○", refused: "×", starting: "…" };

  function el(id) { return document.getElementById(id); }

  // ---- talking to the server ---------------------------------------------------------------
  /** Request headers with `token` as the bearer token, and any `extra` ones. */
  function authHeaders(token, extra) {
    var headers = { Authorization: "Bearer " + token };
    Object.keys(extra || {}).forEach(function (k) { headers[k] = extra[k]; });
    return headers;
  }

  /** The JSON body of `url` (by default a GET, not cached); rejected unless 2xx. */
  function fetchJSON(url, options) {
    return window.fetch(url, options || { cache: "no-store" }).then(function (r) {
      if (!r.ok) throw new Error(url + ": HTTP " + r.status);
      return r.json();
    });
  }

  // ---- who is on the line -----------------------------------------------------------------
  /** Fetch /roles.json into `roles`; the promise is rejected when the server does not answer
   * (the names stay empty: roleName falls back to the role's code). */
  function loadRoles() {
    return fetchJSON("roles.json").then(function (r) {
      r = r && typeof r === "object" ? r : {};
      roles.labels = r.labels && typeof r.labels === "object" ? r.labels : {};
      roles.unknown = typeof r.unknown === "string" ? r.unknown : "";
      roles.buttons = Array.isArray(r.buttons) ? r.buttons.filter(function (b) {
        return b && typeof b.title === "string" && typeof b.payload === "string";
      }) : [];
    });
  }

  /** The name of caller role `code` (a `labels` one); the server's name for no role when
   * there is none, and the code in words for one it did not name. */
  function roleName(code) {
    if (!code) return roles.unknown;
    var name = roles.labels[code];
    return typeof name === "string" && name ? name : String(code).replace(/_/g, " ");
  }

  /** The buttons that say who is on the line (a copy): the panel's opening buttons. */
  function roleButtons() {
    return roles.buttons.map(function (b) { return { title: b.title, payload: b.payload }; });
  }

  // ---- time --------------------------------------------------------------------------------
  /** `name` if this browser knows that time zone (the helpline's, from /config.json); else
   * undefined, which formats in the computer's own. */
  function timeZone(name) {
    try {
      new Intl.DateTimeFormat("en-GB", { timeZone: name });
      return name;
    } catch (e) { return undefined; }
  }

  // ---- status ------------------------------------------------------------------------------
  /** The header's status line (#status, #status-text): its state, icon and words. */
  function setStatus(state, text) {
    var node = el("status");
    node.dataset.state = state;
    node.querySelector(".status-icon").textContent = STATUS_ICONS[state] || "•";
    el("status-text").textContent = text;
  }

  window.HelplineCommon = Object.freeze({
    loadRoles: loadRoles,
    roleName: roleName,
    roleButtons: roleButtons,
    el: el,
    authHeaders: authHeaders,
    fetchJSON: fetchJSON,
    timeZone: timeZone,
    setStatus: setStatus
  });
})();
