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
    // the error summary links to the textarea, hidden behind the editor: take them to the area
    document.querySelectorAll('.form-errors a[href="#' + source.id + '"]').forEach(function (link) {
      link.addEventListener("click", function (event) { event.preventDefault(); area.focus(); });
    });
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
  var count = viewer.querySelector(".viewer-count");
  var prev = viewer.querySelector(".viewer-prev");
  var next = viewer.querySelector(".viewer-next");
  // made here rather than in the page: HTML has no <img> without a src
  var image = document.createElement("img");
  image.className = "viewer-image";
  image.alt = "";
  next.parentNode.insertBefore(image, next);
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
  // opened from script, so Bootstrap does not give the focus back: return it to the photo
  viewer.addEventListener("hidden.bs.modal", function () { links[current].focus(); });
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

// Staff document form: search developments, units and contracts while typing (a combobox).
// Without this script the server still takes an exact code typed in the box.
(function () {
  "use strict";
  document.querySelectorAll("[data-target-picker]").forEach(function (picker) {
    var input = picker.querySelector("input[name=target]");
    var hidden = picker.querySelector("[data-target-value]");
    var list = picker.querySelector("[role=listbox]");
    var items = [];
    var active = -1;
    var timer = null;
    var asked = 0;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var options = list.querySelectorAll("[role=option]");
      if (!options.length) return;
      active = (index + options.length) % options.length;
      options.forEach(function (option, i) { option.setAttribute("aria-selected", i === active ? "true" : "false"); });
      input.setAttribute("aria-activedescendant", options[active].id);
      options[active].scrollIntoView({ block: "nearest" });
    }

    function choose(item) {
      input.value = item.label;
      hidden.value = item.value;
      picker.querySelectorAll("input[type=radio][name=scope]").forEach(function (radio) { radio.checked = false; });
      close();
    }

    function render() {
      list.textContent = "";
      if (!items.length) {
        var empty = document.createElement("li");
        empty.className = "list-group-item text-muted small";
        empty.textContent = picker.dataset.empty;
        list.appendChild(empty);
      }
      items.forEach(function (item, i) {
        var option = document.createElement("li");
        option.id = "target-option-" + i;
        option.className = "list-group-item list-group-item-action";
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.textContent = item.label + " ";
        var kind = document.createElement("span");
        kind.className = "text-muted small";
        kind.textContent = "· " + item.kind;
        option.appendChild(kind);
        // mousedown, not click: it comes before the box loses focus and closes the list
        option.addEventListener("mousedown", function (event) { event.preventDefault(); choose(item); });
        list.appendChild(option);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      active = -1;
    }

    function ask() {
      var text = input.value.trim();
      if (!text) { close(); return; }
      var mine = ++asked;
      fetch(picker.dataset.url + "?q=" + encodeURIComponent(text),
            { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) {
          if (mine !== asked) return;  // an older answer arriving late
          items = data.results;
          render();
        })
        .catch(close);
    }

    input.addEventListener("input", function () {
      hidden.value = "";  // the text no longer names what was chosen
      clearTimeout(timer);
      timer = setTimeout(ask, 200);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (list.hidden) { ask(); return; }
        highlight(active + (event.key === "ArrowDown" ? 1 : -1));
        event.preventDefault();
      } else if (event.key === "Enter" && !list.hidden && active >= 0 && items[active]) {
        choose(items[active]);
        event.preventDefault();  // choosing is not sending the form
      } else if (event.key === "Escape" && !list.hidden) {
        close();
        event.preventDefault();
      }
    });
    input.addEventListener("blur", close);
  });
})();

// Bootstrap's offcanvas does not update its toggler's aria-expanded (collapse does):
// keep the menu button telling screen readers whether the menu is open.
(function () {
  "use strict";
  var menu = document.getElementById("portal-menu");
  if (!menu) return;
  var buttons = document.querySelectorAll('[data-bs-toggle="offcanvas"][data-bs-target="#portal-menu"]');
  function mark(open) {
    buttons.forEach(function (button) { button.setAttribute("aria-expanded", open ? "true" : "false"); });
  }
  menu.addEventListener("show.bs.offcanvas", function () { mark(true); });
  menu.addEventListener("hidden.bs.offcanvas", function () { mark(false); });
})();

// After a failed post, the form's error summary (role=alert) takes the focus, so that
// keyboard and screen-reader users start from the list of what to correct.
(function () {
  "use strict";
  var summary = document.querySelector(".form-errors");
  if (summary) summary.focus();
})();

// The home carousel turns by itself only when the visitor has not asked for reduced motion,
// and always has a pause/play button (WCAG 2.2.2); without this script it stays still.
(function () {
  "use strict";
  var carousel = document.querySelector("[data-rotate]");
  if (!carousel || !window.bootstrap) return;
  var slides = bootstrap.Carousel.getOrCreateInstance(carousel, { interval: 5000, ride: false, pause: false });
  var button = carousel.querySelector(".carousel-toggle");
  var playing = false;
  function play(on) {
    playing = on;
    if (on) slides.cycle(); else slides.pause();
    button.querySelector("i").className = "bi bi-" + (on ? "pause-fill" : "play-fill");
    button.querySelector("span").textContent = on ? button.dataset.pause : button.dataset.play;
  }
  button.hidden = false;
  button.addEventListener("click", function () { play(!playing); });
  play(!window.matchMedia("(prefers-reduced-motion: reduce)").matches);
})();

// Copy buttons ([data-copy]: a boleto's digitable line, a PIX code): one tap copies the value
// and the button and a status region say so. Without this script the buttons stay hidden
// and the text beside them is selected whole with one tap.
(function () {
  "use strict";
  function fallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject();
  }
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var field = button.closest(".copy-field");
    var status = field && field.querySelector("[data-copy-status]");
    var label = button.querySelector("[data-copy-label]");
    var original = label ? label.textContent : "";
    var timer = null;
    function say(text, done) {
      if (status) { status.textContent = ""; status.textContent = text; }
      if (label) label.textContent = done ? text : original;
      button.classList.toggle("copied", done);
      clearTimeout(timer);
      timer = setTimeout(function () {
        if (label) label.textContent = original;
        button.classList.remove("copied");
      }, 2500);
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = button.dataset.copy;
      var copy = navigator.clipboard && window.isSecureContext
        ? navigator.clipboard.writeText(text).catch(function () { return fallback(text); })
        : fallback(text);
      copy.then(function () { say(button.dataset.copied, true); }, function () {
        var value = field && field.querySelector(".copy-value");
        if (value) window.getSelection().selectAllChildren(value);
        say(button.dataset.copyFailed, false);
      });
    });
  });

  // What waits for the client after login (runtime/pending.py): fetched once, put in the
  // page and opened; Bootstrap keeps the focus inside, Escape and "Later" close it.
  document.querySelectorAll("[data-pending-url]").forEach(function (slot) {
    fetch(slot.dataset.pendingUrl, {credentials: "same-origin", headers: {Accept: "text/html"}})
      .then(function (response) { return response.status === 200 ? response.text() : ""; })
      .then(function (html) {
        if (!html) { slot.remove(); return; }  // gone: tests and scripts know it is settled
        slot.outerHTML = html;
        document.querySelectorAll(".modal[data-show-on-load]").forEach(function (modal) {
          modal.addEventListener("hidden.bs.modal", function () { modal.remove(); });
          bootstrap.Modal.getOrCreateInstance(modal).show();
        });
      })
      .catch(function () { slot.remove(); });
  });

  // Pop-ups whose content waits in a <template> (a notice's text and its videos): put in
  // when the pop-up opens, taken out when it has closed. No YouTube frame loads with the
  // page, and a closed pop-up's video stops playing.
  document.querySelectorAll("[data-modal-content]").forEach(function (body) {
    var modal = body.closest(".modal");
    var template = body.querySelector("template");
    if (!modal || !template) return;
    modal.addEventListener("show.bs.modal", function () {
      body.replaceChildren(template, template.content.cloneNode(true));
    });
    modal.addEventListener("hidden.bs.modal", function () { body.replaceChildren(template); });
  });
})();
