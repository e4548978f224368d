// The help widget's panel (kb pages inside an <iframe> that widget.js put on another site).
// It talks to widget.js only through postMessage, with the host page's origin that the server
// checked against KB_WIDGET_ORIGINS (data-host-origin) and nothing else.
"use strict";

(function () {
  const body = document.body;
  const hostOrigin = body.dataset.hostOrigin;
  const framed = window.parent !== window;
  const PANEL_PATH = /^\/[^/]+\/widget(\/|$)/;
  const SITE_ARTICLE = /^\/([^/]+)\/articles\/([^/]+)\/?$/;

  function tellHost(type) {
    if (framed && hostOrigin) window.parent.postMessage({ type: type }, hostOrigin);
  }

  // Opens and closes of the panel, for the dashboard (POST /api/widget/events).
  function record(event) {
    const token = document.querySelector("meta[name=csrf-token]");
    if (!window.fetch || !token || !body.dataset.eventsUrl) return;
    fetch(body.dataset.eventsUrl, {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,
      headers: { "Content-Type": "application/json", "X-CSRFToken": token.content },
      body: JSON.stringify({ event: event, lang: document.documentElement.lang }),
    }).catch(function () { /* a lost count is not worth bothering the customer */ });
  }

  // On open, focus goes to the first field (the search box, the question) or the page.
  function focusPanel() {
    const main = document.getElementById("main");
    const field = main && main.querySelector(
      "input:not([type=hidden]):not([tabindex='-1']), textarea, select");
    (field || main || body).focus();
  }

  window.addEventListener("message", function (event) {
    if (!framed || event.source !== window.parent || event.origin !== hostOrigin) return;
    const type = event.data && event.data.type;
    if (type === "kb:open") {
      focusPanel();
      record("open");
    } else if (type === "kb:close") {
      record("close");
    }
  });

  // Escape closes the panel, unless something inside used it (the suggestion list closes first).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented || event.isComposing) return;
    tellHost("kb:close");
  });

  // Links: articles open in the panel's own article view, the panel's pages stay in the panel,
  // anything else (a topic page, another site) opens in a new tab instead of inside the frame.
  document.addEventListener("click", function (event) {
    const link = event.target.closest && event.target.closest("a[href]");
    if (!link || event.defaultPrevented || !framed) return;
    const url = new URL(link.href, window.location.href);
    if (url.protocol !== "http:" && url.protocol !== "https:") return;
    if (url.origin === window.location.origin) {
      if (PANEL_PATH.test(url.pathname) || url.pathname.startsWith("/static/")) return;
      if (url.pathname === window.location.pathname && url.hash) return;
      const article = SITE_ARTICLE.exec(url.pathname);
      if (article) {
        link.href = "/" + article[1] + "/widget/articles/" + article[2] + url.hash;
        return;
      }
    }
    link.target = "_blank";
    link.rel = "noopener";
  });
})();
