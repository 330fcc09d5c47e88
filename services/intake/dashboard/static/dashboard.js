// Live statuses: an element with data-live-status="<invoice id>" is refreshed from the
// dashboard's /invoices/statuses until the invoice reaches a final status. On an invoice's
// own page a change reloads the page, so its timeline shows the new event.
"use strict";
(function () {
  const FINAL = new Set(["accepted", "rejected", "error"]);
  const onInvoicePage = /^\/dashboard\/invoices\/[^/]+$/.test(location.pathname);

  function moving() {
    return Array.from(document.querySelectorAll("[data-live-status]"));
  }

  async function refresh() {
    const badges = moving();
    if (badges.length === 0) return;
    const query = badges.map((b) => "id=" + encodeURIComponent(b.dataset.liveStatus)).join("&");
    let statuses = {};
    try {
      const answer = await fetch("/dashboard/invoices/statuses?" + query, { credentials: "same-origin" });
      if (!answer.ok) return schedule();
      statuses = await answer.json();
    } catch (e) {
      return schedule();
    }
    for (const badge of badges) {
      const status = statuses[badge.dataset.liveStatus];
      if (!status || status === badge.textContent) continue;
      if (onInvoicePage) { location.reload(); return; }
      badge.textContent = status;
      badge.className = "status s-" + status;
      if (FINAL.has(status)) badge.removeAttribute("data-live-status");
    }
    schedule();
  }

  function schedule() {
    if (moving().length > 0) setTimeout(refresh, 1000);
  }

  document.addEventListener("DOMContentLoaded", schedule);
})();
