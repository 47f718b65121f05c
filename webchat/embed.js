/* Adds the counsellor's side panel to a host page with one tag:
 *
 *   <script src="https://PANEL/embed.js" data-token="JWT" data-conversation="ID"></script>
 *
 * data-token, data-conversation  a token of role `user` for that conversation, minted by the
 *                                helpline's back end (RASA_JWT_SECRET, HS256)
 * data-token-url                 or: a URL on the host that answers a POST with
 *                                {"token": ..., "conversation_id": ...}; kept for the tab
 * data-target                    CSS selector of the element to fill; default: a fixed
 *                                column at the right edge of the window
 * data-name                      only where one page holds several panels (the floor
 *                                demo): a name per panel, so each keeps its own session
 * The token goes to the panel by postMessage, never in a URL. The host can hand over a
 * fresh token later with HelplinePanel.setSession(token, conversationId).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var source = new URL(script.src, window.location.href);
  var panelOrigin = source.origin;
  var d = script.dataset;
  var session = null;
  var pending = false; // a token is on its way from data-token-url
  var ready = false;

  var frame = document.createElement("iframe");
  frame.src = new URL("index.html", source).href;
  frame.title = d.title || "Helpline assistant";
  frame.className = "helpline-panel-frame";
  if (d.name) frame.name = d.name; // the panel keeps its session under its name
  frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-forms allow-popups allow-popups-to-escape-sandbox");
  frame.style.border = "0";
  var target = d.target ? document.querySelector(d.target) : null;
  if (target) {
    frame.style.width = "100%";
    frame.style.height = "100%";
    frame.style.display = "block";
  } else {
    frame.style.position = "fixed";
    frame.style.top = "0";
    frame.style.right = "0";
    frame.style.height = "100vh";
    frame.style.width = "min(400px, 100vw)";
    frame.style.borderLeft = "1px solid #c9ccd1";
    frame.style.background = "#fff";
    frame.style.zIndex = "2147483000";
  }

  function post() {
    if (!ready || !frame.contentWindow) return;
    frame.contentWindow.postMessage({
      type: "helpline-panel:config",
      pending: pending,
      token: session ? session.token : null,
      conversationId: session ? session.conversationId : null
    }, panelOrigin);
  }

  window.addEventListener("message", function (event) {
    if (event.source !== frame.contentWindow || event.origin !== panelOrigin) return;
    if (event.data && event.data.type === "helpline-panel:ready") { ready = true; post(); }
  });

  function setSession(token, conversationId) {
    pending = false;
    session = token && conversationId ? { token: String(token), conversationId: String(conversationId) } : null;
    post();
  }

  function fromTokenUrl(url) {
    var key = "helpline-panel-token:" + (d.name ? d.name + ":" : "") + url;
    try {
      var kept = JSON.parse(window.sessionStorage.getItem(key) || "null");
      if (kept && kept.token && kept.conversation_id) return Promise.resolve(kept);
    } catch (e) { /* storage off */ }
    return window.fetch(url, { method: "POST", credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error("token: HTTP " + r.status); return r.json(); })
      .then(function (t) {
        try { window.sessionStorage.setItem(key, JSON.stringify(t)); } catch (e) { /* storage off */ }
        return t;
      });
  }

  window.HelplinePanel = { frame: frame, setSession: setSession };

  if (d.token && d.conversation) {
    session = { token: d.token, conversationId: d.conversation };
  } else if (d.tokenUrl) {
    pending = true;
    fromTokenUrl(new URL(d.tokenUrl, window.location.href).href)
      .then(function (t) { setSession(t.token, t.conversation_id); })
      .catch(function () { setSession(null, null); });
  }

  function mount() { (target || document.body).appendChild(frame); }
  if (target || document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
