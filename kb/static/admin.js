// Back-office enhancements; every page works without this file.
"use strict";

// Live preview in the article editor: the body is sent (debounced) to the preview endpoint,
// which renders it with the site's own Markdown + sanitiser pipeline and answers JSON.
(function () {
  const DELAY_MS = 400;

  function livePreview(form) {
    const body = form.querySelector("textarea[name=body]");
    const token = form.querySelector("input[name=csrf_token]");
    const target = document.getElementById(form.dataset.previewTarget);
    const status = document.getElementById("preview-status");
    if (!body || !token || !target) return;
    let timer = null;
    let controller = null;
    let shown = body.value;

    function update() {
      const text = body.value;
      if (text === shown) return;
      if (controller) controller.abort();
      controller = new AbortController();
      fetch(form.dataset.previewUrl, {
        method: "POST",
        body: new URLSearchParams({ body: text }),
        credentials: "same-origin",
        signal: controller.signal,
        headers: { "X-CSRFToken": token.value, Accept: "application/json" },
      })
        .then(function (response) {
          if (!response.ok) throw new Error("preview failed: " + response.status);
          return response.json();
        })
        .then(function (data) {
          // The server's HTML went through the sanitiser's allow-list.
          target.innerHTML = data.html;
          shown = text;
          if (status) status.textContent = "";
        })
        .catch(function (error) {
          if (error.name !== "AbortError" && status) {
            status.textContent = form.dataset.previewFailed || "";
          }
        });
    }

    body.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(update, DELAY_MS);
    });
  }

  document.querySelectorAll("form[data-preview-url]").forEach(livePreview);
})();
