// goldenpath portal: the only script. It follows a running task's log live (Server-Sent Events) and reloads
// the page when the task ends, so the server renders the result. Without it, the page's Refresh link works.
(function () {
  "use strict";
  var log = document.getElementById("task-log");
  if (!log || log.dataset.running !== "true" || !window.EventSource) {
    return;
  }
  var live = document.getElementById("task-live");
  var source = new EventSource(log.dataset.stream + "?after=" + encodeURIComponent(log.dataset.last || "0"));

  function append(e) {
    var d = JSON.parse(e.data);
    var li = document.createElement("li");
    if (d.stepId) {
      var step = document.createElement("span");
      step.className = "step";
      step.textContent = d.stepId;
      li.appendChild(step);
      li.appendChild(document.createTextNode(" "));
    }
    li.appendChild(document.createTextNode(d.message || e.type));
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
    if (d.stepId && d.status) {
      var badge = document.querySelector("#step-" + CSS.escape(d.stepId) + " .badge");
      if (badge) {
        badge.textContent = d.status;
      }
    }
  }

  ["log", "recovered", "cancelled"].forEach(function (type) {
    source.addEventListener(type, append);
  });
  source.addEventListener("completion", function (e) {
    append(e);
    source.close();
    if (live) {
      live.textContent = "Finished. Loading the result…";
    }
    window.location.reload();
  });
  if (live) {
    live.textContent = "Running: the log below follows the task live.";
  }
})();
