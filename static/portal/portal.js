// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // One polite live region for the whole page: screen readers hear "Copied" without the focus
  // moving off the button.
  let announcer = null;
  function announce(message) {
    if (!announcer) {
      announcer = document.createElement("div");
      announcer.className = "sr-only";
      announcer.setAttribute("aria-live", "polite");
      announcer.setAttribute("role", "status");
      document.body.appendChild(announcer);
    }
    announcer.textContent = "";
    setTimeout(() => { announcer.textContent = message; }, 50);
  }

  function copyText(text, button) {
    const done = () => {
      if (!button.dataset.label) button.dataset.label = button.textContent;
      button.textContent = "Copied";
      button.classList.add("copied");
      announce("Copied to the clipboard");
      clearTimeout(button.copyTimer);
      button.copyTimer = setTimeout(() => {
        button.textContent = button.dataset.label;
        button.classList.remove("copied");
      }, 2000);
    };
    const failed = () => announce("Could not copy: select the text and copy it by hand");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => (fallbackCopy(text) ? done() : failed()));
    } else if (fallbackCopy(text)) {
      done();
    } else {
      failed();
    }
  }

  function fallbackCopy(text) {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    area.remove();
    return ok;
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-copy-target], [data-copy-text]");
    if (!button) return;
    const target = button.dataset.copyTarget && document.getElementById(button.dataset.copyTarget);
    copyText(target ? target.textContent : button.dataset.copyText, button);
  });

  document.addEventListener("submit", (event) => {
    const message = event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // Countdowns to an ISO time; at zero they say so (the server then moves the grant on).
  function tick() {
    document.querySelectorAll(".countdown[data-expires]").forEach((el) => {
      let left = Math.max(0, Math.floor((Date.parse(el.dataset.expires) - Date.now()) / 1000));
      if (left === 0) {
        el.textContent = el.dataset.ended || "00:00:00";
        el.classList.add("ended");
        return;
      }
      const d = Math.floor(left / 86400); left %= 86400;
      const h = Math.floor(left / 3600); left %= 3600;
      const m = Math.floor(left / 60); const s = left % 60;
      const pad = (n) => String(n).padStart(2, "0");
      el.textContent = (d ? d + "d " : "") + pad(h) + ":" + pad(m) + ":" + pad(s);
    });
  }
  tick();
  setInterval(tick, 1000);

  // Tabs (WAI-ARIA pattern: arrows, Home and End move between tabs).
  document.querySelectorAll("[data-tabs]").forEach((box) => {
    const tabs = Array.from(box.querySelectorAll("[role=tab]"));
    const select = (tab) => {
      tabs.forEach((t) => {
        const on = t === tab;
        t.setAttribute("aria-selected", on ? "true" : "false");
        t.tabIndex = on ? 0 : -1;
        document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
      });
      tab.focus();
    };
    tabs.forEach((tab, i) => {
      tab.addEventListener("click", () => select(tab));
      tab.addEventListener("keydown", (e) => {
        const next = { ArrowRight: (i + 1) % tabs.length, ArrowLeft: (i - 1 + tabs.length) % tabs.length, Home: 0, End: tabs.length - 1 }[e.key];
        if (next !== undefined) { e.preventDefault(); select(tabs[next]); }
      });
    });
  });

  // Live status: poll while the request can still move, reload when its status or its timeline
  // changed. A pending request waits for people and an active grant for its expiry (poll
  // slowly); the worker moves the others within seconds (poll often).
  const live = document.getElementById("live-status");
  const every = { pending: 4000, approved: 1500, provisioning: 1500, revoking: 1500, active: 10000, failed: 10000 };
  if (live && every[live.dataset.status]) {
    const wait = every[live.dataset.status];
    // Never throw away a comment or reason someone is typing: say the request changed instead.
    const typing = () => Array.from(document.querySelectorAll("textarea, input[name=comment]")).some((t) => t.value.trim());
    const changed = () => {
      const note = document.createElement("p");
      note.className = "msg msg-info";
      note.setAttribute("role", "status");
      note.append("This request has changed. ");
      const link = document.createElement("a");
      link.href = "";
      link.textContent = "Reload the page";
      note.append(link, " to see it.");
      live.after(note);
    };
    const poll = () => fetch(live.dataset.statusUrl, { headers: { Accept: "application/json" } })
      .then((r) => r.json())
      .then((data) => {
        const same = data.status === live.dataset.status && String(data.version) === live.dataset.version;
        if (same) setTimeout(poll, wait);
        else if (!typing()) window.location.reload();
        else changed();
      })
      .catch(() => setTimeout(poll, 5000));
    setTimeout(poll, Math.min(wait, 1000));
  }

  // The ExternalId fields matter only for a third-party source: shown when the box is ticked or the
  // chosen source account is a third party.
  const thirdParty = document.getElementById("third-party-fields");
  if (thirdParty) {
    const box = document.getElementById("id_third_party");
    const source = document.getElementById("id_source_account");
    const accounts = (thirdParty.dataset.thirdPartyAccounts || "").split(" ");
    const show = () => {
      const third = (box && box.checked) || (source && accounts.includes(source.value));
      thirdParty.hidden = !third && !thirdParty.querySelector(".has-error");
    };
    [box, source].forEach((el) => el && el.addEventListener("change", show));
    show();
  }

  // Live preview of the documents as the request form is filled in.
  const form = document.getElementById("request-form");
  const preview = document.getElementById("preview");
  if (form && preview) {
    let timer = null;
    const refresh = () => {
      const data = new FormData(form);
      fetch(form.dataset.previewUrl, { method: "POST", body: data, headers: { "X-CSRFToken": data.get("csrfmiddlewaretoken") } })
        .then((r) => (r.ok ? r.text() : null))
        .then((html) => { if (html !== null) preview.innerHTML = html; })
        .catch(() => {});
    };
    form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(refresh, 400); });
    form.addEventListener("change", () => { clearTimeout(timer); timer = setTimeout(refresh, 100); });
  }
})();
