/* pagesindex pages: search filter, copy buttons, README of the newest release.
   Plain JavaScript, no library; the pages work without it. */
(function () {
  "use strict";

  function setupSearch() {
    var box = document.getElementById("search-box");
    var input = document.getElementById("search");
    var list = document.getElementById("cards");
    if (!box || !input || !list) { return; }
    var cards = list.querySelectorAll("li.card");
    var count = document.getElementById("count");
    var none = document.getElementById("no-match");
    box.hidden = false;
    function apply() {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      for (var i = 0; i < cards.length; i++) {
        var text = cards[i].getAttribute("data-search") || "";
        var ok = words.every(function (w) { return text.indexOf(w) !== -1; });
        cards[i].hidden = !ok;
        if (ok) { shown++; }
      }
      if (count) { count.textContent = words.length ? shown + " of " + cards.length : String(cards.length); }
      if (none) { none.hidden = shown !== 0; }
    }
    input.addEventListener("input", apply);
    if (input.value) { apply(); }
  }

  function copyText(text, button) {
    function done(ok) {
      var old = button.getAttribute("data-label") || button.textContent;
      button.setAttribute("data-label", old);
      button.textContent = ok ? "Copied" : "Select and copy";
      window.setTimeout(function () { button.textContent = old; }, 1500);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(fallback(text)); });
    } else {
      done(fallback(text));
    }
  }

  function fallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  function setupCopy() {
    var buttons = document.querySelectorAll("button.copy");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = false;
      buttons[i].addEventListener("click", function (event) {
        var button = event.currentTarget;
        var text = button.getAttribute("data-copy");
        if (text === null) {
          var source = document.getElementById(button.getAttribute("data-copy-from"));
          text = source ? source.textContent : "";
        }
        copyText(text, button);
      });
    }
  }

  /* On a served site, show the newest release's README in the project page itself. The README
     lives on the release's own page so that installers, which fetch the project page, never
     download it. Opened from disk (file:), the link stays. */
  function setupReadme() {
    var slot = document.getElementById("readme");
    if (!slot || !slot.hasAttribute("data-readme") || !/^https?:$/.test(location.protocol) || !window.fetch) { return; }
    var page = slot.getAttribute("data-readme");
    fetch(encodeURIComponent(page), { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.text();
    }).then(function (text) {
      var doc = new DOMParser().parseFromString(text, "text/html");
      var article = doc.querySelector("article.readme");
      if (!article) { return; }
      var scripts = article.querySelectorAll("script");
      for (var i = 0; i < scripts.length; i++) { scripts[i].remove(); }
      var node = document.importNode(article, true);
      node.id = "readme";
      var heading = node.querySelector("h2");
      if (heading) {
        heading.textContent = "README of " + page.replace(/\.html$/, "");
      }
      slot.replaceWith(node);
    }).catch(function () { /* keep the link */ });
  }

  function start() {
    setupSearch();
    setupCopy();
    setupReadme();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
