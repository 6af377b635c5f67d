// Live view: refresh the snapshot image on a timer (each refresh is access-logged server-side).
(function () {
  "use strict";
  var img = document.getElementById("snapshot");
  var pause = document.getElementById("pause");
  if (!img) { return; }
  var every = parseInt(img.getAttribute("data-refresh-ms"), 10) || 3000;
  var running = true;
  function tick() {
    if (running && !document.hidden) { img.src = "/live/snapshot.jpg?t=" + Date.now(); }
  }
  var timer = setInterval(tick, every);
  if (pause) {
    pause.addEventListener("click", function () {
      running = !running;
      pause.textContent = running ? "Pause" : "Resume";
    });
  }
  window.addEventListener("pagehide", function () { clearInterval(timer); });
}());
