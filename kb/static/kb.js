// Progressive enhancement only: every flow works without this file.
"use strict";

(function () {
  const DEBOUNCE_MS = 300;

  function liveSuggestions(form) {
    const input = form.querySelector("textarea[name=q]");
    const section = document.getElementById("suggestions");
    const list = document.getElementById("suggestion-list");
    const template = document.getElementById("suggestion-template");
    if (!input || !section || !list || !template) return;
    const minLength = Number(form.dataset.minLength || 3);
    const lang = form.dataset.lang;
    let timer = null;
    let controller = null;
    // The question the page was rendered with: its answers are already on the page.
    let lastQuery = input.defaultValue.trim();

    function render(results) {
      list.replaceChildren();
      for (const result of results) {
        const item = template.content.firstElementChild.cloneNode(true);
        item.querySelector("summary").textContent = result.title;
        item.querySelector("input[name=article]").value = result.lang + "/" + result.slug;
        item.querySelector(".suggestion-summary").textContent = result.summary || "";
        const details = item.querySelector("details");
        details.addEventListener("toggle", function () {
          if (details.open && !details.dataset.loaded) {
            details.dataset.loaded = "1";
            loadArticle(form.dataset.articleUrl.replace("SLUG", encodeURIComponent(result.slug)),
                        details.querySelector(".article-body"), result.url);
          }
        });
        list.appendChild(item);
      }
      section.hidden = results.length === 0;
    }

    function update() {
      const query = input.value.trim();
      if (query === lastQuery) return;
      lastQuery = query;
      if (controller) controller.abort();
      if (query.length < minLength) {
        render([]);
        return;
      }
      controller = new AbortController();
      const url = form.dataset.liveSuggestions + "?" + new URLSearchParams({
        q: query.slice(0, 256), lang: lang, limit: "5", context: "contact",
      });
      fetch(url, { signal: controller.signal, credentials: "same-origin",
                   headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) { render(data.results || []); })
        .catch(function (error) { if (error.name !== "AbortError") render([]); });
    }

    // "Yes, this solved my problem" sends the question as typed, so the flow records it.
    list.addEventListener("submit", function (event) {
      const field = event.target.querySelector("input[name=question]");
      if (field) field.value = input.value.trim();
    });

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(update, DEBOUNCE_MS);
    });
    // Typed before this script ran (a slow connection): answer it now.
    update();
  }

  function loadArticle(url, container, fallbackUrl) {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (article) {
        // article.html is sanitised on the server (nh3 allow-list) before it is sent.
        container.innerHTML = article.html;
      })
      .catch(function () {
        const link = document.createElement("a");
        link.href = fallbackUrl;
        link.textContent = fallbackUrl;
        container.replaceChildren(link);
      });
  }

  // Search as you type: the search box becomes an ARIA 1.2 combobox (input + listbox popup)
  // over /api/suggest. Focus never leaves the input; aria-activedescendant points at the
  // option the arrow keys reached. Without this script the box is a plain search form.
  const SUGGEST_DEBOUNCE_MS = 150;
  const SUGGEST_LIMIT = "4";

  function suggestBox(form) {
    const input = form.querySelector("input[name=q]");
    const listbox = form.querySelector("[role=listbox]");
    const status = form.querySelector("[role=status]");
    if (!input || !listbox || !status || !window.fetch) return;
    const minLength = Number(form.dataset.minLength || 2);
    const maxLength = Number(form.dataset.maxLength || 100);
    let counts = [];
    try { counts = JSON.parse(form.dataset.countMessages || "[]"); } catch (error) { counts = []; }
    let options = [];
    let active = -1;
    let timer = null;
    let controller = null;
    let lastQuery = typed();
    let announced = "";

    // What was typed, as sent: a trailing space stays (it says the last word is finished).
    function typed() { return input.value.replace(/^\s+/, "").replace(/\s+$/, " "); }

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listbox.id);

    function isOpen() { return !listbox.hidden; }

    // The page an article suggestion opens: the form's data-article-page (in the widget's
    // panel, the panel's article view) with the slug filled in, else the API's url.
    function articleUrl(item) {
      const template = form.dataset.articlePage;
      if (!template || !item.slug) return item.url;
      return template.replace("SLUG", encodeURIComponent(item.slug));
    }

    function open() {
      if (!options.length) return;
      listbox.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function close() {
      setActive(-1);
      listbox.hidden = true;
      input.setAttribute("aria-expanded", "false");
    }

    function setActive(index) {
      if (active >= 0 && options[active]) {
        options[active].element.setAttribute("aria-selected", "false");
      }
      active = index;
      if (index >= 0 && options[index]) {
        const element = options[index].element;
        element.setAttribute("aria-selected", "true");
        input.setAttribute("aria-activedescendant", element.id);
        element.scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function announce(count) {
      const message = counts[Math.min(count, counts.length - 1)] || String(count);
      if (message !== announced) {
        status.textContent = message;
        announced = message;
      }
    }

    function addGroup(label, items, kind) {
      if (!items.length) return;
      const group = document.createElement("div");
      const heading = document.createElement("div");
      const groupNumber = listbox.querySelectorAll("[role=group]").length;
      group.setAttribute("role", "group");
      heading.setAttribute("role", "presentation");
      heading.id = listbox.id + "-group-" + groupNumber;
      heading.className = "combobox-group-label";
      heading.textContent = label;
      group.setAttribute("aria-labelledby", heading.id);
      group.appendChild(heading);
      for (const item of items) {
        const element = document.createElement("div");
        const index = options.length;
        element.id = listbox.id + "-option-" + index;
        element.className = "combobox-option combobox-option-" + kind;
        element.setAttribute("role", "option");
        element.setAttribute("aria-selected", "false");
        element.dataset.index = String(index);
        element.textContent = kind === "article" ? item.title : item.text;
        group.appendChild(element);
        options.push({ element: element, kind: kind, text: item.text, url: articleUrl(item) });
      }
      listbox.appendChild(group);
    }

    function render(data) {
      setActive(-1);
      options = [];
      listbox.replaceChildren();
      const articles = data.articles || [];
      // A completion that is exactly an article's title would be the same line twice: the
      // article (which opens the answer) is the more useful of the two.
      const titles = new Set(articles.map(function (a) { return a.title.trim().toLowerCase(); }));
      const completions = (data.completions || []).filter(function (c) {
        return !titles.has(c.text.trim().toLowerCase());
      });
      addGroup(listbox.dataset.completionsLabel, completions, "completion");
      addGroup(listbox.dataset.articlesLabel, articles, "article");
      if (options.length && document.activeElement === input) {
        open();
        announce(options.length);
      } else {
        if (announced) announce(0);
        close();
      }
    }

    function choose(index) {
      const option = options[index];
      if (!option) return;
      close();
      if (option.kind === "article") {
        window.location.assign(option.url);
        return;
      }
      input.value = option.text;
      lastQuery = typed();
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
    }

    function update() {
      const query = typed();
      if (query === lastQuery) return;
      lastQuery = query;
      if (controller) controller.abort();
      controller = null;
      const length = query.trim().length;
      if (length < minLength || length > maxLength) {
        render({});
        return;
      }
      controller = new AbortController();
      const url = form.dataset.suggest + "?" + new URLSearchParams({
        q: query, lang: form.dataset.lang, limit: SUGGEST_LIMIT,
      });
      fetch(url, { signal: controller.signal, credentials: "same-origin",
                   headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : {}; })
        .then(function (data) { if (typed() === query) render(data); })
        .catch(function (error) { if (error.name !== "AbortError") render({}); });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(update, SUGGEST_DEBOUNCE_MS);
    });

    input.addEventListener("keydown", function (event) {
      if (event.isComposing) return;
      switch (event.key) {
        case "ArrowDown":
          if (!options.length) return;
          event.preventDefault();
          open();
          setActive(active + 1 < options.length ? active + 1 : 0);
          break;
        case "ArrowUp":
          if (!options.length) return;
          event.preventDefault();
          open();
          setActive(active > 0 ? active - 1 : options.length - 1);
          break;
        case "Enter":
          if (isOpen() && active >= 0) {
            event.preventDefault();
            choose(active);
          } else {
            close();
          }
          break;
        case "Escape":
          // Open: close the popup (and keep Chromium from clearing the search field).
          if (isOpen()) {
            event.preventDefault();
            close();
          }
          break;
        case "Tab":
          close();
          break;
      }
    });

    input.addEventListener("blur", close);
    input.addEventListener("focus", function () {
      if (options.length && typed() === lastQuery) open();
    });
    // Pressing an option must not take the focus from the input (that would close the popup).
    listbox.addEventListener("mousedown", function (event) { event.preventDefault(); });
    listbox.addEventListener("click", function (event) {
      const element = event.target.closest("[role=option]");
      if (element) choose(Number(element.dataset.index));
    });
    form.addEventListener("submit", close);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-live-suggestions]").forEach(liveSuggestions);
    document.querySelectorAll("form[data-suggest]").forEach(suggestBox);
  });
})();
