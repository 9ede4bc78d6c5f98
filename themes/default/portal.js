// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Rich-text editor: a contenteditable area kept in sync with the form's textarea.
  // The server sanitises whatever arrives, so this only has to be convenient.
  function youtubeEmbed(url) {
    var m = /^https?:\/\/(?:www\.|m\.)?(?:youtube\.com\/(?:watch\?v=|shorts\/|embed\/)|youtu\.be\/)([A-Za-z0-9_-]{6,20})/.exec(url.trim());
    return m ? "https://www.youtube-nocookie.com/embed/" + m[1] : null;
  }

  function setupEditor(editor) {
    var source = document.getElementById(editor.dataset.richEditor);
    var area = editor.querySelector(".rich-area");
    if (!source || !area) return;
    area.innerHTML = source.value;
    editor.classList.add("ready");
    var sync = function () { source.value = area.innerHTML; };
    area.addEventListener("input", sync);
    editor.querySelectorAll("[data-cmd]").forEach(function (button) {
      button.addEventListener("click", function () {
        var cmd = button.dataset.cmd;
        area.focus();
        if (cmd === "link" || cmd === "image" || cmd === "youtube") {
          var url = window.prompt(button.dataset.prompt || "", "https://");
          if (!url || url === "https://") return;
          if (cmd === "link") document.execCommand("createLink", false, url);
          if (cmd === "image") document.execCommand("insertImage", false, url);
          if (cmd === "youtube") {
            var embed = youtubeEmbed(url);
            if (!embed) { window.alert(button.dataset.invalid); return; }
            document.execCommand("insertHTML", false,
              '<div class="ratio ratio-16x9"><iframe src="' + embed + '" title="YouTube" allowfullscreen></iframe></div><p></p>');
          }
        } else {
          document.execCommand(cmd, false, button.dataset.value || null);
        }
        sync();
      });
    });
    source.form && source.form.addEventListener("submit", sync);
  }

  document.querySelectorAll("[data-rich-editor]").forEach(setupEditor);
})();

// Tell about a file that is too large before it is sent (the server checks again).
(function () {
  "use strict";
  document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
    input.addEventListener("change", function () {
      var max = parseInt(input.dataset.maxBytes, 10);
      var tooBig = Array.prototype.some.call(input.files, function (f) { return f.size > max; });
      input.setCustomValidity(tooBig ? input.dataset.tooBig : "");
      input.classList.toggle("is-invalid", tooBig);
      if (tooBig) input.reportValidity();
    });
  });
})();

// A select that switches the page (the unit switcher) submits on change.
document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
  select.addEventListener("change", function () { select.form.submit(); });
});

// Construction photos open full size in a viewer (without JS the link opens the image), with
// previous/next buttons, the arrow keys and a swipe on touch screens.
(function () {
  "use strict";
  var viewer = document.getElementById("photo-viewer");
  if (!viewer || !window.bootstrap) return;
  var modal = new bootstrap.Modal(viewer);
  var image = viewer.querySelector(".viewer-image");
  var count = viewer.querySelector(".viewer-count");
  var prev = viewer.querySelector(".viewer-prev");
  var next = viewer.querySelector(".viewer-next");
  var links = Array.prototype.slice.call(document.querySelectorAll("a[data-viewer]"));
  var current = 0;

  function show(index) {
    if (index < 0 || index >= links.length) return;
    current = index;
    var link = links[index];
    image.src = link.href;
    image.alt = link.querySelector("img").alt;
    count.textContent = viewer.dataset.count.replace("{n}", index + 1).replace("{total}", links.length);
    prev.hidden = next.hidden = links.length < 2;
    prev.disabled = index === 0;
    next.disabled = index === links.length - 1;
  }

  links.forEach(function (link, index) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      show(index);
      modal.show();
    });
  });
  prev.addEventListener("click", function () { show(current - 1); });
  next.addEventListener("click", function () { show(current + 1); });
  viewer.addEventListener("keydown", function (event) {
    if (event.key === "ArrowLeft") { show(current - 1); event.preventDefault(); }
    if (event.key === "ArrowRight") { show(current + 1); event.preventDefault(); }
  });
  var startX = null;
  image.addEventListener("touchstart", function (event) { startX = event.touches[0].clientX; }, { passive: true });
  image.addEventListener("touchend", function (event) {
    if (startX === null) return;
    var dx = event.changedTouches[0].clientX - startX;
    startX = null;
    if (Math.abs(dx) > 50) show(current + (dx < 0 ? 1 : -1));
  });
})();
