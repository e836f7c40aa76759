// The next best action panel of the agent's queue: fetch the actions for the contact being
// handled and show them (a file, not inline: the dashboard's Content-Security-Policy allows
// no inline script).
(function () {
  "use strict";
  function load() {
    var panel = document.getElementById("nba");
    var body = document.getElementById("nba-body");
    if (!panel || !body) return;
    fetch("/app/queue/offers/" + encodeURIComponent(panel.dataset.contact),
          {credentials: "same-origin"})
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var actions = doc.getElementById("nba-actions");
        body.classList.remove("muted");
        body.replaceChildren(actions ? document.importNode(actions, true)
                                     : document.createTextNode("No action."));
      })
      .catch(function (e) { body.textContent = "Could not load the actions (" + e.message + ")."; });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", load);
  else load();
})();
