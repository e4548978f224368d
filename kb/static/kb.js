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
    let lastQuery = input.value.trim();

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

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-live-suggestions]").forEach(liveSuggestions);
  });
})();
