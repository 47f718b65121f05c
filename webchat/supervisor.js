/* The supervisor's board: the helpline's open cases, the most urgent first, live.
 *
 * The rows come from the panel server (`GET /supervisor/stream`, Server-Sent Events read
 * with fetch, so the token travels in the Authorization header, never in a URL) and carry
 * no note text: flags, times, stage, counsellor. The token is taken once from the page's
 * fragment (`supervisor.html#token=...`, which is then removed from the address bar) or
 * typed into the form, and kept in this tab's sessionStorage only. Everything shown is put
 * into the page as text nodes. Keys: up and down move between cases, Enter opens the
 * handover (recorded in the audit log), A acknowledges the case's first red flag not yet
 * acknowledged.
 */
(function () {
  "use strict";

  var common = window.HelplineCommon; // common.js: shared with the counsellor's panel
  var el = common.el, setStatus = common.setStatus;

  var STORE_KEY = "helpline-board:v1";
  var LARGE_KEY = "helpline-board:large";
  var RETRY_MS = [1000, 2000, 5000, 10000];

  var config = { timezone: "UTC" };
  var token = null;
  var rows = [];
  var skew = 0; // the server's clock minus this computer's, in ms
  var stream = null; // the AbortController of the open stream
  var retries = 0;
  var retryTimer = null;
  var knownUrgent = null; // "case:code" of flags shown as urgent before the last update

  // ---- token ------------------------------------------------------------------------------
  function takeToken() {
    var hash = window.location.hash.replace(/^#/, "");
    var found = null;
    hash.split("&").forEach(function (part) {
      var kv = part.split("=");
      if (kv[0] === "token" && kv[1]) found = decodeURIComponent(kv[1]);
    });
    if (found) {
      // out of the address bar and the history at once
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
      saveToken(found);
      return found;
    }
    try { return window.sessionStorage.getItem(STORE_KEY); } catch (e) { return null; }
  }

  function saveToken(value) {
    try {
      if (value) window.sessionStorage.setItem(STORE_KEY, value);
      else window.sessionStorage.removeItem(STORE_KEY);
    } catch (e) { /* storage off: kept in memory only */ }
  }

  function askForToken(reason) {
    stopStream();
    token = null;
    saveToken(null);
    el("token-form").hidden = false;
    el("token-help").textContent = reason || "";
    el("token-input").value = "";
    el("token-input").focus();
  }

  // ---- time -------------------------------------------------------------------------------
  function clock(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) return "";
    return new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hour12: false,
      timeZone: common.timeZone(config.timezone) }).format(date);
  }

  function now() { return Date.now() + skew; }

  function minutes(ms) {
    var m = Math.floor(Math.abs(ms) / 60000);
    if (m < 60) return m + " min";
    return Math.floor(m / 60) + " h " + (m % 60 < 10 ? "0" : "") + (m % 60) + " min";
  }

  // ---- rendering --------------------------------------------------------------------------
  function text(tag, className, value) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    node.textContent = String(value === null || value === undefined ? "" : value);
    return node;
  }

  function firstUnacknowledged(row) {
    return (row.flags || []).filter(function (f) { return !(f.acknowledged || []).length; })[0] || null;
  }

  function render() {
    var active = document.activeElement;
    var focusCase = active && active.closest ? (active.closest("tr[data-case]") || {}).dataset : null;
    var focusWhat = active && active.dataset && active.dataset.ack ? "ack:" + active.dataset.ack : "row";
    var body = el("rows");
    body.textContent = "";
    rows.forEach(function (row) { body.appendChild(renderRow(row)); });
    el("empty").hidden = rows.length > 0;
    var urgent = rows.filter(function (r) { return r.urgent; }).length;
    el("summary").textContent = rows.length + " open case" + (rows.length === 1 ? "" : "s") +
      (urgent ? " · " + urgent + " with a red flag nobody has acted on" : "");
    if (focusCase && focusCase.case) {
      var tr = body.querySelector('tr[data-case="' + focusCase.case + '"]');
      var target = tr && focusWhat !== "row" ? tr.querySelector('[data-ack="' + focusWhat.slice(4) + '"]') : null;
      if (target || tr) (target || tr).focus();
    }
    tick();
  }

  function renderRow(row) {
    var tr = document.createElement("tr");
    tr.tabIndex = 0;
    tr.dataset.case = /^[0-9a-f]{32}$/.test(row.case_id) ? row.case_id : "";
    tr.dataset.urgent = row.urgent ? "yes" : "no";

    var caseCell = document.createElement("td");
    caseCell.appendChild(text("span", "ref", row.ref));
    caseCell.appendChild(text("span", "conv", row.conversation_id));
    tr.appendChild(caseCell);

    var flagCell = document.createElement("td");
    if (!(row.flags || []).length) {
      flagCell.appendChild(text("span", "none", "None"));
    } else {
      var list = document.createElement("ul");
      list.className = "flag-list";
      row.flags.forEach(function (f) { list.appendChild(renderFlag(row, f)); });
      flagCell.appendChild(list);
    }
    tr.appendChild(flagCell);

    var esc = document.createElement("td");
    var escalation = row.escalation || {};
    if (escalation.pending_since) {
      var pend = text("span", "escalation tick", "");
      pend.dataset.state = "pending";
      pend.dataset.since = escalation.pending_since;
      esc.appendChild(pend);
      if (escalation.started_at) esc.appendChild(text("span", "flag-meta", "(earlier flags: started " + clock(escalation.started_at) + ")"));
    } else if (escalation.started_at) {
      var started = text("span", "escalation", "Started " + clock(escalation.started_at));
      started.dataset.state = "started";
      esc.appendChild(started);
    } else {
      esc.appendChild(text("span", "none", "—"));
    }
    tr.appendChild(esc);

    var dl = document.createElement("td");
    var d = row.deadline || {};
    if (d.status === "set" && d.at) {
      var box = text("span", "deadline tick", "");
      box.dataset.deadline = d.at;
      dl.appendChild(box);
    } else if (d.status === "set" || d.status === "ambiguous") {
      var unclear = text("span", "deadline", "Time not confirmed");
      unclear.dataset.state = "unclear";
      dl.appendChild(unclear);
    } else if (d.status === "passed") {
      var passed = text("span", "deadline", "Passed" + (d.at ? " " + clock(d.at) : ""));
      passed.dataset.state = "passed";
      dl.appendChild(passed);
    } else {
      dl.appendChild(text("span", "none", d.status === "withdrawn" ? "Withdrawn" : "—"));
    }
    tr.appendChild(dl);

    tr.appendChild(text("td", row.counsellor ? "" : "none", row.counsellor || "not known"));

    var caller = document.createElement("td");
    caller.appendChild(text("span", "", common.roleName(row.caller_role)));
    caller.appendChild(text("span", "flag-meta", row.stage_title || (row.stage || "").replace(/_/g, " ")));
    tr.appendChild(caller);

    var last = text("td", "tick", "");
    last.dataset.ago = row.last_activity || "";
    tr.appendChild(last);

    tr.addEventListener("click", function (event) {
      if (event.target.closest("button")) return;
      openHandover(row);
    });
    tr.addEventListener("keydown", function (event) { onRowKey(event, row, tr); });
    return tr;
  }

  function renderFlag(row, f) {
    var li = document.createElement("li");
    li.className = "flag";
    li.dataset.code = String(f.code);
    li.appendChild(text("span", "flag-name", f.short || f.label));
    var meta = text("span", "flag-meta", "raised " + clock(f.raised_at));
    if (f.found_by) meta.appendChild(text("span", "flag-found", " by " + f.found_by));
    if (f.since && f.since !== f.raised_at) meta.appendChild(document.createTextNode(", restored " + clock(f.since)));
    li.appendChild(meta);
    var line = document.createElement("span");
    line.className = "flag-line";
    if (f.escalated_at) line.appendChild(text("span", "flag-escalated", "Escalated " + clock(f.escalated_at)));
    var acks = f.acknowledged || [];
    if (acks.length) {
      line.appendChild(text("span", "flag-ack", "Acknowledged " + clock(acks[0].at) +
        (acks[0].by ? " by " + acks[0].by : "")));
    } else {
      var button = text("button", "ack-button", "Acknowledge");
      button.type = "button";
      button.dataset.ack = String(f.code);
      button.setAttribute("aria-label", "Acknowledge " + (f.label || f.code) + " on case " + row.ref);
      button.addEventListener("click", function () { acknowledge(row, f.code, button); });
      line.appendChild(button);
    }
    li.appendChild(line);
    return li;
  }

  /** The countdowns, the minutes since a flag and the time since the last activity. */
  function tick() {
    var t = now();
    Array.prototype.forEach.call(document.querySelectorAll("[data-since]"), function (node) {
      node.textContent = "NOT started";
      node.appendChild(text("span", "escalation-for",
        "for " + minutes(t - new Date(node.dataset.since).getTime())));
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-deadline]"), function (node) {
      var at = new Date(node.dataset.deadline).getTime();
      var left = at - t;
      node.textContent = "";
      if (left > 0) {
        node.dataset.state = left <= 3600 * 1000 ? "urgent" : "running";
        node.appendChild(document.createTextNode((left <= 3600 * 1000 ? "URGENT: " : "") + minutes(left) + " left"));
      } else {
        node.dataset.state = "passed";
        node.appendChild(document.createTextNode("Passed " + minutes(left) + " ago"));
      }
      node.appendChild(text("span", "deadline-when", "at " + clock(node.dataset.deadline)));
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-ago]"), function (node) {
      if (!node.dataset.ago) { node.textContent = "—"; return; }
      node.textContent = clock(node.dataset.ago) + " (" + minutes(t - new Date(node.dataset.ago).getTime()) + " ago)";
    });
  }

  function announceNew() {
    var urgent = {};
    rows.forEach(function (row) {
      (row.flags || []).forEach(function (f) {
        if (!f.escalated_at && !(f.acknowledged || []).length) urgent[row.case_id + ":" + f.code] = row.ref + ": " + (f.label || f.code);
      });
    });
    if (knownUrgent) {
      var fresh = Object.keys(urgent).filter(function (k) { return !knownUrgent[k]; });
      if (fresh.length) el("announce").textContent = "New red flag: " + fresh.map(function (k) { return urgent[k]; }).join("; ") + ".";
    }
    knownUrgent = urgent;
  }

  function update(data) {
    if (!data || !Array.isArray(data.cases)) return;
    if (data.now) {
      var server = new Date(data.now).getTime();
      if (!isNaN(server)) skew = server - Date.now();
    }
    rows = data.cases.filter(function (r) { return r && typeof r === "object"; });
    announceNew();
    render();
  }

  // ---- keys -------------------------------------------------------------------------------
  function onRowKey(event, row, tr) {
    if (event.target !== tr || event.altKey || event.ctrlKey || event.metaKey) return;
    var next = null;
    if (event.key === "ArrowDown") next = tr.nextElementSibling;
    else if (event.key === "ArrowUp") next = tr.previousElementSibling;
    else if (event.key === "Home") next = tr.parentNode.firstElementChild;
    else if (event.key === "End") next = tr.parentNode.lastElementChild;
    if (next) { event.preventDefault(); next.focus(); return; }
    if (event.key === "Enter") { event.preventDefault(); openHandover(row); return; }
    if (event.key === "a" || event.key === "A") {
      event.preventDefault();
      var flag = firstUnacknowledged(row);
      if (flag) acknowledge(row, flag.code, null);
      else el("announce").textContent = "Case " + row.ref + ": every red flag is acknowledged already.";
    }
  }

  // ---- talking to the panel server ----------------------------------------------------------
  function refused(r) {
    if (r.status === 401) { askForToken("The token was refused (expired or not valid): paste a new one."); return true; }
    if (r.status === 403) { askForToken("This token may not open the supervisor's board."); return true; }
    return false;
  }

  function acknowledge(row, code, button) {
    if (button) button.disabled = true;
    window.fetch("supervisor/ack", {
      method: "POST", cache: "no-store",
      headers: common.authHeaders(token, { "Content-Type": "application/json" }),
      body: JSON.stringify({ case_id: row.case_id, code: code })
    }).then(function (r) {
      if (refused(r)) return null;
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(String((body && body.error) || ("HTTP " + r.status)));
        return body;
      });
    }).then(function (done) {
      if (!done) return;
      rows.forEach(function (each) {
        if (each.case_id !== done.case_id) return;
        (each.flags || []).forEach(function (f) {
          if (f.code === done.code && !(f.acknowledged || []).length) f.acknowledged = [{ by: done.by, at: done.at }];
        });
        each.urgent = (each.flags || []).some(function (f) { return !f.escalated_at && !(f.acknowledged || []).length; });
      });
      el("announce").textContent = "Acknowledged on case " + row.ref + ".";
      render();
    }).catch(function (err) {
      if (button) button.disabled = false;
      el("announce").textContent = "Not acknowledged: " + String(err && err.message || "no answer") + ".";
    });
  }

  function openHandover(row) {
    var dialog = el("handover");
    el("handover-title").textContent = "Handover — case " + row.ref;
    el("handover-text").textContent = "Loading …";
    if (!dialog.open) dialog.showModal();
    el("handover-close").focus();
    window.fetch("supervisor/case/" + encodeURIComponent(row.case_id), { headers: common.authHeaders(token), cache: "no-store" })
      .then(function (r) {
        if (refused(r)) { dialog.close(); return null; }
        return r.json().then(function (body) {
          if (!r.ok) throw new Error(String((body && body.error) || ("HTTP " + r.status)));
          return body;
        });
      })
      .then(function (body) { if (body) el("handover-text").textContent = String(body.text || ""); })
      .catch(function (err) { el("handover-text").textContent = "The handover could not be opened: " + String(err && err.message || "no answer") + "."; });
    dialog.dataset.case = row.case_id;
  }

  function stopStream() {
    if (stream) stream.abort();
    stream = null;
    if (retryTimer) window.clearTimeout(retryTimer);
    retryTimer = null;
  }

  function retryLater(why) {
    stream = null;
    if (!token) return;
    var wait = RETRY_MS[Math.min(retries, RETRY_MS.length - 1)];
    retries += 1;
    setStatus("offline", why + "; reconnecting in " + Math.round(wait / 1000) + " s. The times keep running.");
    retryTimer = window.setTimeout(connect, wait);
  }

  /** Server-Sent Events over fetch: "event: cases" / "data: {...}" blocks. */
  function connect() {
    stopStream();
    if (!token) return;
    setStatus("connecting", "Connecting");
    var controller = new AbortController();
    stream = controller;
    window.fetch("supervisor/stream", { headers: common.authHeaders(token), cache: "no-store", signal: controller.signal })
      .then(function (r) {
        if (refused(r)) return;
        if (!r.ok || !r.body) { retryLater(r.status === 503 ? "The board's server is busy" : "No live updates (HTTP " + r.status + ")"); return; }
        el("token-form").hidden = true;
        retries = 0;
        setStatus("live", "Live");
        var reader = r.body.getReader();
        var decoder = new TextDecoder();
        var buffer = "";
        var pump = function () {
          return reader.read().then(function (chunk) {
            if (chunk.done) { if (stream === controller) retryLater("The live connection ended"); return; }
            buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n/g, "\n");
            var at;
            while ((at = buffer.indexOf("\n\n")) >= 0) {
              dispatch(buffer.slice(0, at));
              buffer = buffer.slice(at + 2);
            }
            return pump();
          });
        };
        return pump();
      })
      .catch(function () { if (stream === controller) retryLater("The board's server is unreachable"); });
  }

  function dispatch(block) {
    var name = "message", data = [];
    block.split("\n").forEach(function (line) {
      if (line.indexOf("event:") === 0) name = line.slice(6).trim();
      else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
    });
    if (!data.length) return;
    var payload = null;
    try { payload = JSON.parse(data.join("\n")); } catch (e) { return; }
    if (name === "cases") { setStatus("live", "Live"); update(payload); }
    else if (name === "unavailable") setStatus("offline", "The case notes cannot be read right now; the board shows the last rows it had.");
  }

  // ---- start ------------------------------------------------------------------------------
  function setLarge(on) {
    document.documentElement.classList.toggle("large", on);
    el("large").setAttribute("aria-pressed", on ? "true" : "false");
    try { window.localStorage.setItem(LARGE_KEY, on ? "1" : "0"); } catch (e) { /* off */ }
  }

  function wireUp() {
    var large = false;
    try { large = window.localStorage.getItem(LARGE_KEY) === "1"; } catch (e) { large = false; }
    setLarge(large);
    el("large").addEventListener("click", function () {
      setLarge(el("large").getAttribute("aria-pressed") !== "true");
    });
    el("token-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var value = el("token-input").value.trim();
      el("token-input").value = "";
      if (!value) return;
      token = value;
      saveToken(value);
      el("token-help").textContent = "";
      connect();
    });
    el("handover").addEventListener("close", function () {
      var id = el("handover").dataset.case;
      var tr = id ? el("rows").querySelector('tr[data-case="' + id + '"]') : null;
      el("handover-text").textContent = "";
      if (tr) tr.focus();
    });
    window.setInterval(tick, 1000);
  }

  wireUp();
  token = takeToken(); // first: the fragment leaves the address bar at once
  Promise.all([
    common.fetchJSON("config.json").catch(function () { return {}; }),
    common.loadRoles().catch(function () { /* roleName falls back to the role's code */ })
  ]).then(function (answers) {
    config = answers[0] || config;
    if (config && config.board === false) {
      setStatus("refused", "The board is not on at this server.");
      return;
    }
    if (token) connect(); else askForToken("");
  });
})();
