/* The floor demo's board: the development supervisor token `make run` prints in the floor's
 * link (demo-floor.html#token=...). A fragment never reaches a server; the page takes it,
 * removes it from the address bar and history at once, and hands it to supervisor.html in
 * the board frame's own fragment, which the board takes and removes in turn. Without one the
 * board asks for a token itself.
 */
(function () {
  "use strict";

  var match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash || "");
  var token = match ? decodeURIComponent(match[1]) : null;
  if (match && window.history && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  var frame = document.createElement("iframe");
  frame.src = "supervisor.html" + (token ? "#token=" + encodeURIComponent(token) : "");
  frame.title = "Supervisor's board";
  frame.name = "board";
  frame.className = "helpline-board-frame"; // this server's own page: no sandbox needed
  document.getElementById("board").appendChild(frame);
  if (!token) {
    document.getElementById("board-note").textContent =
      "no token: open this page from the Demo floor link that make run prints";
  }
})();
