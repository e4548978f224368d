// kb help widget. Embed on a site listed in KB_WIDGET_ORIGINS:
//   <script src="https://HELP-CENTER/widget.js" data-lang="ar" data-topic="payments" defer></script>
// Options: data-lang (the panel's language), data-topic (a topic slug or a few words whose
// answers the panel shows before the customer types; default: the page's <meta name=keywords>),
// data-position ("bottom-right" or "bottom-left"; default: the page's end corner, so
// bottom-left on a right-to-left page).
// It adds one element, <kb-help-widget>, whose shadow root holds the button and the panel:
// the page's CSS cannot reach inside and the widget's CSS cannot leak out. (An open root: a
// closed one isolates styles no better, and the page's own scripts run with full power anyway.)
// Its styles are a constructed stylesheet, which a strict style-src policy on the page allows.
// The panel is an <iframe> of kb's /<lang>/widget page, told the page's origin and path only
// (never its query string or fragment, which may hold personal data).
(function () {
  "use strict";

  var LABELS = {{ labels|tojson }};
  var DEFAULT_LANG = {{ default_lang|tojson }};
  var TAG = "kb-help-widget";
  var TOPIC_LIMIT = 100;

  var script = document.currentScript;
  if (!script || !script.src || !window.URL || !window.postMessage) return;
  var kbOrigin = new URL(script.src, document.baseURI).origin;
  var lang = Object.prototype.hasOwnProperty.call(LABELS, script.dataset.lang)
    ? script.dataset.lang : DEFAULT_LANG;
  var labels = LABELS[lang];

  var STYLES = [
    ":host { all: initial; }",
    ".launcher, .panel { position: fixed; z-index: 2147483000; box-sizing: border-box;",
    "  font: 600 16px/1.4 system-ui, -apple-system, 'Segoe UI', 'Noto Sans', 'Noto Sans Arabic', Tahoma, sans-serif; }",
    ".launcher { bottom: 20px; min-height: 48px; min-width: 48px; padding: 12px 20px; border: 2px solid #fff;",
    "  border-radius: 24px; background: #0b6b57; color: #fff; cursor: pointer;",
    "  box-shadow: 0 4px 16px rgba(28, 36, 48, 0.3); }",
    ".launcher:hover { background: #084f40; }",
    ".launcher:focus-visible, .close:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }",
    ".panel { bottom: 84px; width: 380px; max-width: calc(100vw - 32px); height: 640px;",
    "  max-height: calc(100vh - 104px); display: flex; flex-direction: column; overflow: hidden;",
    "  border: 1px solid #d5dbe1; border-radius: 12px; background: #fff; color: #1c2430;",
    "  box-shadow: 0 8px 32px rgba(28, 36, 48, 0.3); }",
    ".panel[hidden] { display: none; }",
    ".right .launcher, .right .panel { right: 16px; }",
    ".left .launcher, .left .panel { left: 16px; }",
    ".bar { display: flex; align-items: center; justify-content: space-between; gap: 8px;",
    "  padding: 4px 4px 4px 16px; background: #0b6b57; color: #fff; }",
    ".bar[dir=rtl] { padding: 4px 16px 4px 4px; }",
    ".close { min-width: 44px; min-height: 44px; border: 0; border-radius: 8px; background: transparent;",
    "  color: #fff; font: inherit; font-size: 24px; line-height: 1; cursor: pointer; }",
    ".close:hover { background: #084f40; }",
    ".frame { flex: 1; width: 100%; border: 0; background: #fff; }",
    // Phones: the panel takes the whole screen (and covers the button).
    "@media (max-width: 600px), (max-height: 480px) {",
    "  .panel { inset: 0; width: 100%; max-width: none; height: 100%; max-height: none;",
    "    border: 0; border-radius: 0; }",
    "  .open .launcher { display: none; }",
    "}",
  ].join("\n");

  function element(name, className) {
    var node = document.createElement(name);
    if (className) node.className = className;
    return node;
  }

  function applyStyles(root) {
    if ("adoptedStyleSheets" in root && window.CSSStyleSheet) {
      try {
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(STYLES);
        root.adoptedStyleSheets = [sheet];
        return;
      } catch (error) { /* older browsers: fall back to a <style> element */ }
    }
    var style = document.createElement("style");
    style.textContent = STYLES;
    root.appendChild(style);
  }

  function pageTopic() {
    if (script.dataset.topic) return script.dataset.topic;
    var keywords = document.querySelector("meta[name=keywords]");
    return keywords ? keywords.content : "";
  }

  function corner() {
    var position = script.dataset.position;
    if (position === "bottom-left") return "left";
    if (position === "bottom-right") return "right";
    var direction = window.getComputedStyle(document.documentElement).direction;
    return direction === "rtl" ? "left" : "right";
  }

  function start() {
    if (!document.body || document.querySelector(TAG)) return;  // included twice: one widget
    var host = document.createElement(TAG);
    var root = host.attachShadow({ mode: "open" });
    applyStyles(root);
    var wrapper = element("div", corner());

    var button = element("button", "launcher");
    button.type = "button";
    button.textContent = labels.open;
    button.lang = lang;
    button.dir = labels.dir;
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", "kb-help-panel");

    var panel = element("div", "panel");
    panel.id = "kb-help-panel";
    panel.hidden = true;
    panel.lang = lang;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", labels.title);
    var bar = element("div", "bar");
    bar.dir = labels.dir;
    var title = element("span", "title");
    title.textContent = labels.title;
    var close = element("button", "close");
    close.type = "button";
    close.textContent = "\u00d7";
    close.setAttribute("aria-label", labels.close);
    bar.appendChild(title);
    bar.appendChild(close);
    panel.appendChild(bar);

    wrapper.appendChild(panel);
    wrapper.appendChild(button);
    root.appendChild(wrapper);
    document.body.appendChild(host);

    var frame = null;
    var focusOnLoad = false;

    function tellPanel(type) {
      if (frame && frame.contentWindow) frame.contentWindow.postMessage({ type: type }, kbOrigin);
    }

    function focusPanel() {
      frame.focus();
      tellPanel("kb:open");
    }

    function open() {
      panel.hidden = false;
      wrapper.classList.add("open");
      button.setAttribute("aria-expanded", "true");
      if (frame) {
        focusPanel();
        return;
      }
      frame = element("iframe", "frame");
      frame.title = labels.title;
      frame.src = kbOrigin + "/" + lang + "/widget?" + new URLSearchParams({
        origin: window.location.origin,
        path: window.location.pathname,
        topic: pageTopic().slice(0, TOPIC_LIMIT),
      });
      focusOnLoad = true;
      frame.addEventListener("load", function () {
        // Only the first page: later loads are the customer moving around inside the panel.
        if (focusOnLoad && !panel.hidden) focusPanel();
        focusOnLoad = false;
      });
      panel.appendChild(frame);
    }

    function shut() {
      if (panel.hidden) return;
      panel.hidden = true;
      wrapper.classList.remove("open");
      button.setAttribute("aria-expanded", "false");
      tellPanel("kb:close");
      button.focus();
    }

    button.addEventListener("click", function () {
      if (panel.hidden) open(); else shut();
    });
    close.addEventListener("click", shut);
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") shut();
    });
    // Escape pressed inside the panel: the panel page asks to be closed.
    window.addEventListener("message", function (event) {
      if (!frame || event.source !== frame.contentWindow || event.origin !== kbOrigin) return;
      if (event.data && event.data.type === "kb:close") shut();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
