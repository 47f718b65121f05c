/* The counsellor's side panel: a Socket.IO chat with Rasa, and a banner driven by the
 * bot's `case_state` message (red flags, deadline countdown, escalation, checklist).
 *
 * Text from the counsellor or the bot is only ever put into the page as text nodes;
 * links are made only for http(s) URLs. The conversation id, the token, the last messages
 * and the last case_state live in sessionStorage, so a reload restores the panel; the
 * countdown runs here from `deadline_at`, so it goes on when the Rasa server is away.
 * With the supervisor's board on (`board` in /config.json), the panel asks its own server
 * every few seconds, with its token, which of its case's flags a supervisor has
 * acknowledged (`GET /panel/acks`: its own conversation only) and says so on the flag.
 */
(function () {
  "use strict";

  var common = window.HelplineCommon; // common.js: shared with the supervisor's board
  var el = common.el, setStatus = common.setStatus, fetchJSON = common.fetchJSON;

  // a panel framed under a name (several panels on one page: embed.js data-name) keeps
  // its own session
  var STORE_KEY = "helpline-panel:v1" +
    (window.parent !== window && window.name ? ":" + window.name : "");
  var MAX_MESSAGES = 100;
  var DEADLINE_ALERTS = [60, 30, 15, 5, 0]; // minutes left at which a screen reader is told
  var ACK_POLL_MS = 3000; // how often the panel asks which flags a supervisor has seen

  var config = { rasa_url: null, timezone: "UTC", demo_tokens: false, host_origins: [] };
  var flagInfo = {};
  var store = loadStore();
  var socket = null;
  var confirmed = false;
  var refusal = null; // why the server turned this connection away
  var outbox = [];
  var tick = null;
  var lastAlert = null;
  var ackTimer = null;

  // ---- storage -------------------------------------------------------------------------
  function loadStore() {
    try {
      var saved = JSON.parse(window.sessionStorage.getItem(STORE_KEY) || "null");
      if (saved && typeof saved === "object") return saved;
    } catch (e) { /* storage off or corrupt: start afresh */ }
    return { conversationId: null, token: null, messages: [], caseState: null, replies: [], acks: {} };
  }

  function saveStore() {
    store.messages = store.messages.slice(-MAX_MESSAGES);
    try { window.sessionStorage.setItem(STORE_KEY, JSON.stringify(store)); } catch (e) { /* full or off */ }
  }

  // ---- safe text -------------------------------------------------------------------------
  var URL_PATTERN = /https?:\/\/[^\s<>"'`]+/g;

  /** Append `text` to `node` as text nodes, with http(s) URLs as links; never as HTML. */
  function appendText(node, text) {
    var last = 0;
    String(text).replace(URL_PATTERN, function (match, offset) {
      var url = match.replace(/[.,;:!?)\]]+$/, "");
      node.appendChild(document.createTextNode(text.slice(last, offset)));
      node.appendChild(safeLink(url));
      last = offset + url.length;
      return match;
    });
    node.appendChild(document.createTextNode(String(text).slice(last)));
  }

  function safeLink(raw) {
    var parsed = null;
    try { parsed = new URL(raw); } catch (e) { parsed = null; }
    if (!parsed || (parsed.protocol !== "https:" && parsed.protocol !== "http:")) {
      return document.createTextNode(raw);
    }
    var a = document.createElement("a");
    a.href = parsed.href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.textContent = raw;
    return a;
  }

  // ---- time ------------------------------------------------------------------------------
  function clock(date, withDay) {
    var opts = { hour: "2-digit", minute: "2-digit", hour12: false,
      timeZone: common.timeZone(config.timezone) };
    if (withDay) { opts.weekday = "short"; opts.day = "numeric"; opts.month = "short"; }
    return new Intl.DateTimeFormat("en-GB", opts).format(date);
  }

  function sameDay(a, b) {
    var f = new Intl.DateTimeFormat("en-GB", { year: "numeric", month: "2-digit", day: "2-digit",
      timeZone: common.timeZone(config.timezone) });
    return f.format(a) === f.format(b);
  }

  function duration(ms) {
    var s = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    var sec = s % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    if (d > 0) return d + " d " + h + " h " + pad(m) + " min";
    if (h > 0) return h + " h " + pad(m) + " min";
    if (m >= 10) return m + " min";
    return m + " min " + pad(sec) + " s";
  }

  // ---- messages --------------------------------------------------------------------------
  /** The conversation stays at its newest message while the counsellor has not scrolled
   * up, also when the banner or the suggested replies change size. */
  var atBottom = true;

  function scrollToNewest() {
    var main = el("messages").parentNode;
    main.scrollTop = main.scrollHeight;
  }

  function renderMessage(message) {
    var li = document.createElement("li");
    li.className = "message from-" + (message.from === "me" ? "me" : "bot") +
      (message.timeline || /^(Case closed\. .*\n)?Handover —/.test(String(message.text || "")) ? " handover" : "");
    var who = document.createElement("span");
    who.className = "visually-hidden";
    who.textContent = message.from === "me" ? "You: " : "Assistant: ";
    li.appendChild(who);
    if (message.timeline) {
      li.appendChild(renderTimeline(message.timeline));
    } else {
      var body = document.createElement("p");
      body.className = "message-text";
      appendText(body, message.text);
      li.appendChild(body);
    }
    if (message.at) {
      var time = document.createElement("time");
      time.className = "message-time";
      time.dateTime = new Date(message.at).toISOString();
      time.textContent = clock(new Date(message.at), false);
      li.appendChild(time);
    }
    el("messages").appendChild(li);
    var main = el("messages").parentNode;
    if (message.from !== "me" && li.offsetHeight > main.clientHeight) {
      // taller than the view: show its beginning, the counsellor scrolls on to read it
      main.scrollTop = li.offsetTop - 4;
      atBottom = false;
    } else {
      scrollToNewest();
      atBottom = true;
    }
  }

  /** The handover's full timeline, folded: "Full timeline (N entries)". */
  function renderTimeline(entries) {
    var details = document.createElement("details");
    details.className = "timeline";
    var summary = document.createElement("summary");
    summary.textContent = "Full timeline (" + entries.length + " entr" + (entries.length === 1 ? "y" : "ies") + ")";
    details.appendChild(summary);
    var ol = document.createElement("ol");
    entries.forEach(function (entry) {
      var li = document.createElement("li");
      if (entry.time) {
        var t = document.createElement("time");
        t.textContent = String(entry.time);
        li.appendChild(t);
      }
      appendText(li, String(entry.text || ""));
      ol.appendChild(li);
    });
    details.appendChild(ol);
    return details;
  }

  function addTimeline(custom) {
    var entries = (Array.isArray(custom.entries) ? custom.entries : []).filter(function (e) {
      return e && typeof e === "object";
    }).slice(-300).map(function (e) {
      return { time: typeof e.time === "string" ? e.time : "", text: String(e.text || "") };
    });
    var message = { from: "bot", text: "Full timeline", timeline: entries, at: Date.now() };
    store.messages.push(message);
    saveStore();
    renderMessage(message);
  }

  function addMessage(from, text) {
    var message = { from: from, text: String(text), at: Date.now() };
    store.messages.push(message);
    saveStore();
    renderMessage(message);
  }

  function renderReplies() {
    var box = el("quick-replies");
    box.textContent = "";
    var replies = store.replies && store.replies.length ? store.replies
      : (!store.messages.length && !store.caseState ? common.roleButtons() : []); // opening
    replies.forEach(function (reply) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "quick-reply";
      button.textContent = reply.title;
      button.addEventListener("click", function () {
        send(reply.payload, reply.title);
        el("input").focus(); // the buttons go; the next note goes into the input
      });
      box.appendChild(button);
    });
    box.hidden = replies.length === 0;
    if (atBottom) scrollToNewest();
  }

  // ---- case state ------------------------------------------------------------------------
  function applyCaseState(cs) {
    store.caseState = cs;
    saveStore();
    renderCase();
  }

  function flagText(code, cs) {
    var info = flagInfo[code] || {};
    var sent = (cs.flags || []).filter(function (f) { return f && f.code === code; })[0] || {};
    var label = info.label || sent.label || code.replace(/_/g, " ");
    return { label: label, short: info.short || label, meaning: info.meaning || sent.meaning || "" };
  }

  function renderCase() {
    var cs = store.caseState;
    el("case").hidden = !cs;
    if (!cs) { stopCountdown(); return; }
    var closed = cs.stage === "closed";
    el("case").dataset.closed = closed ? "yes" : "no";
    el("case-role").textContent = (closed ? "Case closed: " : "") +
      (cs.caller_role ? common.roleName(cs.caller_role) : "Caller not known yet");
    el("case-stage").textContent = cs.stage && cs.stage !== "closed" ? "Stage: " + String(cs.stage).replace(/_/g, " ") : "";

    // A closed case shows no live risk state: no countdown, no flags to escalate.
    var codes = closed ? [] : Array.isArray(cs.red_flags) ? cs.red_flags.map(String) : [];
    var escalatedFlags = Array.isArray(cs.escalated_flags) ? cs.escalated_flags.map(String)
      : (cs.flags || []).filter(function (f) { return f && f.escalated; }).map(function (f) { return String(f.code); });
    renderFlags(cs, codes, escalatedFlags);
    el("no-flags").hidden = codes.length > 0;
    el("no-flags").textContent = closed
      ? "This case is closed; its red flags and deadline are in the handover. Press New call for the next caller."
      : "No red flags raised.";

    var escalation = el("escalation");
    escalation.hidden = closed || (codes.length === 0 && !cs.escalated);
    escalation.dataset.state = cs.escalated ? "started" : "pending";
    if (cs.escalated) {
      var at = cs.escalated_at ? " at " + clock(new Date(cs.escalated_at), false) : "";
      el("escalation-text").textContent = "✓ Escalation started" + at + ".";
    } else {
      var pending = codes.filter(function (c) { return escalatedFlags.indexOf(c) < 0; }).length;
      el("escalation-text").textContent = pending && pending < codes.length
        ? pending + " red flag" + (pending > 1 ? "s" : "") + " NOT escalated yet."
        : "Escalation not confirmed yet.";
    }
    el("escalation-confirm").hidden = !!cs.escalated || codes.length === 0;

    var items = Array.isArray(cs.checklist) ? cs.checklist : [];
    var box = el("checklist-box");
    box.hidden = items.length === 0 || closed;
    var ol = el("checklist");
    ol.textContent = "";
    var done = 0, skipped = 0, next = null;
    items.forEach(function (item) {
      // a skipped item ("what next?" moved on from it) is not done: never ticked
      var skip = !item.done && !!item.skipped;
      var li = document.createElement("li");
      li.className = item.done ? "done" : (skip ? "skipped" : "todo");
      var mark = document.createElement("span");
      mark.className = "mark";
      mark.setAttribute("aria-hidden", "true");
      mark.textContent = item.done ? "✓" : (skip ? "–" : "○");
      var state = document.createElement("span");
      state.className = "visually-hidden";
      state.textContent = item.done ? "Done: " : (skip ? "Skipped, not asked: " : "To do: ");
      li.appendChild(mark);
      li.appendChild(state);
      li.appendChild(document.createTextNode(String(item.label || item.id || "")));
      if (skip) {
        var tag = document.createElement("span");
        tag.className = "skipped-tag";
        tag.textContent = "skipped";
        li.appendChild(tag);
      }
      ol.appendChild(li);
      if (item.done) done += 1; else if (skip) skipped += 1; else if (!next) next = item;
    });
    el("checklist-summary").textContent = "Checklist: " + done + " of " + items.length + " done" +
      (skipped ? ", " + skipped + " skipped" : "") +
      (next ? ". Next: " + String(next.label || next.id) : "");

    if (closed) { stopCountdown(); el("deadline").hidden = true; } else startCountdown();
  }

  function severity(code) {
    var n = parseInt((flagInfo[code] || {}).severity, 10);
    return isNaN(n) ? 99 : n;
  }

  var seenFlags = null; // codes shown before this render: a new one is outlined once

  /** One line per red flag, most severe first; its meaning, the words that raised it and
   * "Raised in error" open on demand. Rebuilt from the case state each time; a flag the
   * counsellor opened stays open. */
  function renderFlags(cs, codes, escalatedFlags) {
    var list = el("flags");
    var open = {};
    Array.prototype.forEach.call(list.querySelectorAll("li"), function (li) {
      var d = li.querySelector("details");
      if (d && d.open) open[li.dataset.code] = true;
    });
    var sent = {};
    (cs.flags || []).forEach(function (f) { if (f && f.code) sent[String(f.code)] = f; });
    var ordered = codes.slice().sort(function (a, b) {
      return severity(a) - severity(b) || codes.indexOf(a) - codes.indexOf(b);
    });
    list.textContent = "";
    ordered.forEach(function (code) {
      var t = flagText(code, cs);
      var escalated = escalatedFlags.indexOf(code) >= 0;
      var li = document.createElement("li");
      li.className = "flag";
      li.dataset.code = code;
      li.dataset.escalated = escalated ? "yes" : "no";
      li.dataset.new = seenFlags && seenFlags.indexOf(code) < 0 ? "yes" : "no";
      var details = document.createElement("details");
      details.open = !!open[code];
      var summary = document.createElement("summary");
      var icon = document.createElement("span");
      icon.className = "icon icon-alert";
      icon.setAttribute("aria-hidden", "true");
      // the short name on the line (it must fit 320 px), the full one for screen readers
      var label = document.createElement("span");
      label.className = "flag-label";
      label.textContent = t.short;
      label.title = t.label;
      label.setAttribute("aria-hidden", "true");
      var hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = "Red flag: " + t.label + ". ";
      var state = document.createElement("span");
      state.className = "flag-state";
      state.textContent = escalated ? "Escalated" : "NOT escalated";
      summary.appendChild(icon);
      summary.appendChild(hidden);
      summary.appendChild(label);
      summary.appendChild(state);
      details.appendChild(summary);

      var body = document.createElement("div");
      body.className = "flag-body";
      var meaning = document.createElement("p");
      meaning.className = "flag-meaning";
      meaning.textContent = t.meaning;
      body.appendChild(meaning);
      var words = sent[code] && sent[code].words;
      if (words) {
        var said = document.createElement("p");
        said.className = "flag-words";
        said.textContent = "Raised by: “" + String(words) + "”";
        body.appendChild(said);
      }
      // which check found it: the rules, the intent classifier, meaning (with its score)
      var by = sent[code] && sent[code].found_by;
      if (by) {
        var found = document.createElement("p");
        found.className = "flag-found-by";
        found.textContent = "Found by: " + String(by).slice(0, 160);
        body.appendChild(found);
      }
      var actions = document.createElement("div");
      actions.className = "flag-actions";
      var wrong = document.createElement("button");
      wrong.type = "button";
      wrong.className = "flag-dismiss";
      wrong.textContent = "Raised in error…";
      wrong.setAttribute("aria-label", "Raised in error: " + t.label);
      wrong.hidden = !/^[a-z_]{1,40}$/.test(code);
      wrong.addEventListener("click", function () {
        send('/dismiss_flag{"flag":"' + code + '"}', "Raised in error: " + t.label);
        el("input").focus();
      });
      actions.appendChild(wrong);
      body.appendChild(actions);
      details.appendChild(body);
      li.appendChild(details);
      var acked = ackOf(cs.case_id, code);
      if (acked) {
        var ack = document.createElement("p");
        ack.className = "flag-ack";
        ack.textContent = "Supervisor acknowledged at " + clock(acked, false);
        li.appendChild(ack);
      }
      list.appendChild(li);
    });
    seenFlags = codes.slice();
  }

  // ---- the supervisor's acknowledgements ------------------------------------------------
  function ackOf(caseId, code) {
    var at = store.acks && store.acks[caseId] && store.acks[caseId][code];
    var date = at ? new Date(at) : null;
    return date && !isNaN(date.getTime()) ? date : null;
  }

  /** Ask the panel's server which flags of this conversation's open case a supervisor has
   * acknowledged; only while a case with red flags is open. */
  function pollAcks() {
    var cs = store.caseState;
    if (!config.board || !store.token || !cs || cs.stage === "closed" ||
        !Array.isArray(cs.red_flags) || !cs.red_flags.length) return;
    window.fetch("panel/acks", { headers: common.authHeaders(store.token), cache: "no-store" })
      .then(function (r) {
        if (r.status === 401 || r.status === 403 || r.status === 404) stopAcks();
        if (!r.ok) throw new Error("acks: HTTP " + r.status);
        return r.json();
      })
      .then(function (data) {
        var fresh = {};
        var added = [];
        (Array.isArray(data && data.acks) ? data.acks : []).forEach(function (a) {
          if (!a || typeof a.case_id !== "string" || typeof a.code !== "string" || typeof a.at !== "string") return;
          fresh[a.case_id] = fresh[a.case_id] || {};
          fresh[a.case_id][a.code] = a.at;
          if (!ackOf(a.case_id, a.code) && store.caseState && a.case_id === store.caseState.case_id) added.push(a.code);
        });
        var before = JSON.stringify(store.acks || {});
        var kept = {};
        if (store.caseState && fresh[store.caseState.case_id]) kept[store.caseState.case_id] = fresh[store.caseState.case_id];
        if (JSON.stringify(kept) === before) return;
        store.acks = kept;
        saveStore();
        renderCase();
        if (added.length) {
          el("ack-alert").textContent = "Supervisor acknowledged: " +
            added.map(function (c) { return flagText(c, store.caseState).label; }).join(", ") + ".";
        }
      })
      .catch(function () { /* asked again at the next turn of the timer */ });
  }

  function startAcks() {
    if (ackTimer || !config.board) return;
    ackTimer = window.setInterval(pollAcks, ACK_POLL_MS);
    pollAcks();
  }

  function stopAcks() {
    if (ackTimer) window.clearInterval(ackTimer);
    ackTimer = null;
  }

  function deadlineOf(cs) {
    if (!cs) return null;
    var at = cs.deadline_at ? new Date(cs.deadline_at) : null;
    return at && !isNaN(at.getTime()) ? at : null;
  }

  function renderDeadline() {
    var cs = store.caseState;
    var box = el("deadline");
    var at = deadlineOf(cs);
    var active = cs && Array.isArray(cs.red_flags) && cs.red_flags.indexOf("active_deadline") >= 0;
    if (!at && !active) { box.hidden = true; return false; }
    box.hidden = false;
    if (!at || cs.deadline_status === "ambiguous") {
      // A vague deadline keeps the offender's words ("by friday"): the day is not lost.
      box.dataset.state = "unclear";
      var words = typeof cs.deadline_words === "string" && cs.deadline_words
        ? "“" + cs.deadline_words.slice(0, 80) + "”" : "";
      el("deadline-left").textContent = "Deadline " + (words || "set") + ": time not confirmed.";
      el("deadline-when").textContent = (at ? "Around " + clock(at, true) + "; ask" : "Ask") +
        " the caller for the exact time.";
      return !!at;
    }
    var left = at.getTime() - Date.now();
    var tz = common.timeZone(config.timezone) || "local time";
    var when = sameDay(at, new Date()) ? clock(at, false) + " today" : clock(at, true);
    if (left > 0) {
      box.dataset.state = left <= 3600 * 1000 ? "urgent" : "running";
      el("deadline-left").textContent = (left <= 3600 * 1000 ? "URGENT: " : "") + duration(left) + " left";
      setWhen("Deadline " + when, tz);
    } else {
      box.dataset.state = "passed";
      el("deadline-left").textContent = "Deadline passed " + duration(left) + " ago";
      setWhen("It was " + when, tz);
    }
    announceDeadline(left);
    return true;
  }

  /** "Deadline 21:00 today", then the time zone (folded away where space is short). */
  function setWhen(text, tz) {
    var node = el("deadline-when");
    node.textContent = text;
    var zone = document.createElement("span");
    zone.className = "deadline-zone";
    zone.textContent = " (" + tz + ")";
    node.appendChild(zone);
  }

  function announceDeadline(left) {
    var minutes = Math.floor(left / 60000);
    var step = null;
    DEADLINE_ALERTS.forEach(function (m) { if (minutes < m && (step === null || m < step)) step = m; });
    if (step === null || step === lastAlert) return;
    if (lastAlert === null) { lastAlert = step; return; } // not on page load
    lastAlert = step;
    el("deadline-alert").textContent = step === 0 ? "The deadline has passed."
      : "Deadline: less than " + step + " minutes left.";
  }

  function startCountdown() {
    stopCountdown();
    if (renderDeadline()) tick = window.setInterval(renderDeadline, 1000);
  }

  function stopCountdown() {
    if (tick) window.clearInterval(tick);
    tick = null;
  }

  // ---- talking to Rasa -------------------------------------------------------------------
  function caseStateOf(data) {
    return customOf(data, "case_state");
  }

  function customOf(data, type) {
    var candidates = [data && data.custom, data, data && data.data, data && data.custom && data.custom.data];
    for (var i = 0; i < candidates.length; i++) {
      var c = candidates[i];
      if (c && typeof c === "object" && c.type === type) return c;
    }
    return null;
  }

  function onBotMessage(data) {
    if (!data || typeof data !== "object") return;
    var cs = caseStateOf(data);
    if (cs) { applyCaseState(cs); return; }
    var timeline = customOf(data, "handover_timeline");
    if (timeline) { addTimeline(timeline); return; }
    if (typeof data.text === "string" && data.text) addMessage("bot", data.text);
    var buttons = data.quick_replies || data.buttons || [];
    if (Array.isArray(buttons) && buttons.length) {
      buttons.forEach(function (b) {
        if (!b || typeof b.payload !== "string") return;
        var title = typeof b.title === "string" ? b.title : b.payload;
        if (!store.replies.some(function (r) { return r.payload === b.payload; })) {
          store.replies.push({ title: title, payload: b.payload });
        }
      });
      saveStore();
      renderReplies();
    }
  }

  function send(message, shown) {
    message = String(message || "").trim();
    if (!message || !store.conversationId) return;
    addMessage("me", shown || message);
    store.replies = [];
    saveStore();
    renderReplies();
    outbox.push(message);
    flush();
  }

  function flush() {
    if (!socket || !socket.connected || !confirmed) {
      if (outbox.length) setStatus("connecting", "Not connected: your message will be sent on reconnection");
      return;
    }
    while (outbox.length) {
      socket.emit("user_uttered", { message: outbox.shift(), session_id: store.conversationId });
    }
  }

  function connect() {
    if (socket) { socket.removeAllListeners(); socket.disconnect(); }
    confirmed = false;
    refusal = null;
    if (!window.io) { setStatus("refused", "Chat library missing"); return; }
    setStatus("connecting", "Connecting");
    socket = window.io(config.rasa_url, {
      path: "/socket.io",
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      auth: { token: store.token || "" },
      reconnectionDelayMax: 5000
    });
    socket.on("connect", function () {
      socket.emit("session_request", { session_id: store.conversationId });
    });
    socket.on("session_confirm", function (id) {
      if (id !== store.conversationId) return;
      confirmed = true;
      setStatus("connected", "Connected");
      flush();
      if (!store.caseState) recoverFromRasa();
    });
    socket.on("bot_uttered", onBotMessage);
    socket.on("auth_error", function (data) {
      refusal = "Refused: " + String((data && data.reason) || "not allowed");
      setStatus("refused", refusal);
    });
    socket.on("connect_error", function (err) {
      confirmed = false;
      if (socket.active) {
        setStatus("offline", "Assistant unreachable; retrying. The countdown keeps running.");
      } else {
        setStatus("refused", "Refused: " + String((err && err.message) || "not allowed") +
          ". Reopen the panel from your helpline software.");
      }
    });
    socket.on("disconnect", function (reason) {
      confirmed = false;
      if (socket.active) setStatus("offline", "Disconnected; reconnecting. The countdown keeps running.");
      else setStatus("refused", refusal || "Disconnected: " + String(reason));
    });
  }

  /** A panel opened afresh on a conversation with a case (a new tab, another computer):
   * the banner from the conversation's slots, through Rasa's HTTP API with the same token.
   * The checklist follows with the next case_state message. */
  function recoverFromRasa() {
    var id = store.conversationId;
    var url = String(config.rasa_url).replace(/\/+$/, "") + "/conversations/" +
      encodeURIComponent(id) + "/tracker?include_events=NONE";
    fetchJSON(url, { headers: common.authHeaders(store.token), cache: "no-store" })
      .then(function (tracker) {
        var slots = (tracker && tracker.slots) || {};
        if (store.caseState || store.conversationId !== id || !slots.case_id) return;
        applyCaseState({
          type: "case_state", case_id: slots.case_id, caller_role: slots.caller_role,
          stage: slots.stage, red_flags: slots.red_flags || [], deadline_at: slots.deadline_at,
          escalated: !!slots.escalated, escalated_at: slots.escalated_at,
          escalated_flags: slots.escalated_flags || [], deadline_status: slots.deadline_status,
          deadline_words: slots.deadline_words, checklist: []
        });
      })
      .catch(function () { /* the next case_state message will fill the banner */ });
  }

  /** Use this conversation and token; a different conversation starts a fresh panel. */
  function useSession(conversationId, token) {
    if (!conversationId || !token) return false;
    if (store.conversationId && store.conversationId !== conversationId) {
      store = { conversationId: null, token: null, messages: [], caseState: null, replies: [], acks: {} };
      el("messages").textContent = "";
      el("flags").textContent = "";
    }
    var changed = store.conversationId !== conversationId || store.token !== token;
    store.conversationId = conversationId;
    store.token = token;
    saveStore();
    if (changed || !socket) connect();
    startAcks();
    return true;
  }

  // ---- start -----------------------------------------------------------------------------
  function standaloneSession() {
    if (store.conversationId && store.token) return useSession(store.conversationId, store.token);
    if (!config.demo_tokens) {
      setStatus("refused", "No token: open the panel from your helpline software.");
      return false;
    }
    return fetchJSON("demo/token", { method: "POST", cache: "no-store" }).then(function (t) {
      useSession(t.conversation_id, t.token);
    }).catch(function () { setStatus("refused", "Could not get a development token."); });
  }

  /** Origins of the pages that may host the panel and hand it a token; the panel server
   * sends the same list as the CSP's frame-ancestors. */
  function hostOrigins() {
    return Array.isArray(config.host_origins) ? config.host_origins : [];
  }

  function listenToHost() {
    var started = false;
    var foreignHost = false;
    window.addEventListener("message", function (event) {
      if (event.source !== window.parent || !event.data || event.data.type !== "helpline-panel:config") return;
      if (hostOrigins().indexOf(event.origin) < 0) {
        // A page that is not the helpline's framed the panel: its token would put what the
        // counsellor types into a conversation that page can read. Nothing of it is used,
        // and the panel does not go on alone either.
        foreignHost = true;
        if (!socket) setStatus("refused", "No token: this page may not host the panel.");
        return;
      }
      started = true;
      var d = event.data;
      if (d.pending) {
        setStatus("connecting", "Waiting for a token from the helpline software");
      } else if (typeof d.conversationId === "string" && typeof d.token === "string" && d.token) {
        useSession(d.conversationId, d.token);
      } else if (!socket) {
        standaloneSession();
      }
    });
    hostOrigins().forEach(function (origin) { // delivered only if the host has this origin
      window.parent.postMessage({ type: "helpline-panel:ready" }, origin);
    });
    // A plain <iframe> whose host says nothing: go on alone after a moment.
    window.setTimeout(function () { if (!started && !foreignHost && !socket) standaloneSession(); }, 1500);
  }

  function wireUp() {
    var input = el("input");
    el("composer").addEventListener("submit", function (event) {
      event.preventDefault();
      send(input.value);
      input.value = "";
      input.focus();
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        el("composer").requestSubmit();
      }
    });
    el("escalation-confirm").addEventListener("click", function () {
      send("/confirm_escalation", "Escalation started");
      input.focus();
    });
    // The newest message stays in sight when the banner or the suggested replies grow.
    var conversation = el("messages").parentNode;
    // Only the counsellor scrolling up stops the following; the panel's own scrolling and
    // a box that shrinks never do.
    var lastTop = 0;
    conversation.addEventListener("scroll", function () {
      var top = conversation.scrollTop;
      if (top < lastTop - 2) atBottom = false;
      if (conversation.scrollHeight - top - conversation.clientHeight < 24) atBottom = true;
      lastTop = top;
    });
    if (window.ResizeObserver) {
      new window.ResizeObserver(function () { if (atBottom) scrollToNewest(); }).observe(conversation);
    }
  }

  function restore() {
    store.messages.forEach(renderMessage);
    if (!Array.isArray(store.replies)) store.replies = [];
    renderReplies();
    renderCase();
  }

  wireUp();
  restore();
  Promise.all([
    fetchJSON("config.json").then(function (c) {
      config = c;
      // the channels' own limit: the box never cuts a pasted message shorter than that
      if (config.max_message_chars) el("input").maxLength = config.max_message_chars;
    }),
    fetchJSON("flags.json").then(function (f) { flagInfo = f || {}; }).catch(function () { flagInfo = {}; }),
    // without the names, the opening has no buttons: the assistant asks who is on the line
    common.loadRoles().catch(function () { /* roleName falls back to the role's code */ })
  ]).then(function () {
    renderReplies();
    renderCase();
    if (window.parent !== window) listenToHost(); else standaloneSession();
  }).catch(function () {
    setStatus("refused", "The panel's server is unreachable.");
  });
})();
