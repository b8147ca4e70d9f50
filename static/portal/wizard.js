// The request wizard: a resource picker over the target account's inventory and an action picker
// over the IAM action catalog. Progressive enhancement: the Resources and Actions textareas stay
// the source of truth (the form works without this file); picking writes into them and fires
// their input/change events, so portal.js's live preview updates as it does for typing.
(function () {
  "use strict";

  const form = document.getElementById("request-form");
  const resourcePicker = document.getElementById("resource-picker");
  const actionPicker = document.getElementById("action-picker");
  if (!form || !resourcePicker || !actionPicker) return;

  const target = form.querySelector("#id_target_account");
  const source = form.querySelector("#id_source_account");
  const resourcesArea = form.querySelector("#id_resources");
  const actionsArea = form.querySelector("#id_actions");
  const announcer = document.getElementById("wizard-announce");
  const stateLine = document.getElementById("inventory-state");
  const refreshButton = document.getElementById("inventory-refresh");
  const csrf = form.querySelector("[name=csrfmiddlewaretoken]");

  const lines = (area) => area.value.split(/[\s,]+/).filter(Boolean);

  // Grow a textarea with its lines (the rows attribute: no inline style under the CSP).
  function fit(area) {
    area.rows = Math.min(14, Math.max(3, area.value.split("\n").length + 1));
  }

  function setLines(area, values) {
    area.value = values.join("\n");
    fit(area);
    area.dispatchEvent(new Event("input", { bubbles: true }));
    area.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function addLines(area, values) {
    const have = lines(area);
    const added = values.filter((v, i) => !have.includes(v) && values.indexOf(v) === i);
    if (added.length) setLines(area, have.concat(added));
    return added;
  }

  function announce(text) {
    announcer.textContent = "";
    setTimeout(() => { announcer.textContent = text; }, 30);
  }

  function getJSON(url, params) {
    const query = new URLSearchParams(params).toString();
    return fetch(url + "?" + query, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(String(r.status)))));
  }

  const targetId = () => (target ? target.value : "");

  // With more accounts ticked ("Also in these accounts"), a picked ARN names ${Account} instead
  // of the target account's id, so the same line stands for each account's resource.
  function forEachAccount(arn) {
    const id = targetId();
    if (!id || !form.querySelector("input[name=more_target_accounts]:checked")) return arn;
    return arn.split(":" + id + ":").join(":${Account}:");
  }

  // A combobox with a (possibly grouped) listbox of suggestions: the WAI-ARIA combobox pattern
  // with aria-activedescendant, so focus stays in the text box while arrows move the choice.
  function combobox({ input, list, search, choose, keepOpen }) {
    let entries = [];
    let active = -1;
    let timer = null;
    let sequence = 0;

    function setActive(index) {
      active = index;
      entries.forEach((entry, i) => entry.el.classList.toggle("active", i === index));
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", entries[index].el.id);
        entries[index].el.scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function open(show) {
      list.hidden = !show;
      input.setAttribute("aria-expanded", show ? "true" : "false");
      if (!show) setActive(-1);
    }

    function option(item, n) {
      const li = document.createElement("li");
      li.id = list.id + "-" + n;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", item.selected ? "true" : "false");
      if (item.disabled) li.setAttribute("aria-disabled", "true");
      const main = document.createElement("span");
      main.className = "combo-main";
      main.textContent = item.label;
      li.append(main);
      if (item.detail) {
        const detail = document.createElement("span");
        detail.className = "combo-detail";
        detail.textContent = item.detail;
        li.append(detail);
      }
      return li;
    }

    // groups: [{label, items: [{label, detail, value, selected, disabled}]}]; label "" = ungrouped
    function render(groups, empty) {
      list.replaceChildren();
      entries = [];
      let n = 0;
      groups.forEach((group, g) => {
        let parent = list;
        if (group.label) {
          const box = document.createElement("li");
          box.setAttribute("role", "group");
          const head = document.createElement("span");
          head.className = "combo-group";
          head.id = list.id + "-group-" + g;
          head.textContent = group.label;
          box.setAttribute("aria-labelledby", head.id);
          const inner = document.createElement("ul");
          inner.setAttribute("role", "presentation");
          box.append(head, inner);
          list.append(box);
          parent = inner;
        }
        group.items.forEach((item) => {
          const li = option(item, n++);
          const entry = { el: li, item: item };
          li.addEventListener("mousedown", (event) => event.preventDefault());
          li.addEventListener("click", () => pick(entries.indexOf(entry)));
          parent.append(li);
          if (!item.disabled) entries.push(entry);
        });
      });
      if (!n) {
        const li = option({ label: empty, disabled: true }, n);
        li.classList.add("combo-empty");
        list.append(li);
      }
      setActive(-1);
      open(true);
    }

    function run() {
      const mine = ++sequence;
      search(input.value.trim()).then((result) => {
        if (mine !== sequence || document.activeElement !== input) return;
        render(result.groups, result.empty);
        announce(result.count ? result.count + " suggestions; use the arrow keys to choose." : result.empty);
      }).catch(() => {});
    }

    function pick(index) {
      if (index < 0 || index >= entries.length) return;
      const entry = entries[index];
      const selected = choose(entry.item);
      if (keepOpen) {
        entry.item.selected = selected;
        entry.el.setAttribute("aria-selected", selected ? "true" : "false");
        setActive(index);
      } else {
        input.value = "";
        open(false);
      }
    }

    // Typing here must not post the form's live preview: only the textareas change the request.
    ["input", "change"].forEach((type) => input.addEventListener(type, (event) => event.stopPropagation()));
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(run, 150); });
    input.addEventListener("focus", () => { if (input.value.trim()) run(); });
    input.addEventListener("blur", () => { setTimeout(() => open(false), 100); });
    input.addEventListener("keydown", (event) => {
      const count = entries.length;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (list.hidden) { run(); return; }
        if (!count) return;
        const step = event.key === "ArrowDown" ? 1 : -1;
        setActive(active < 0 ? (step > 0 ? 0 : count - 1) : (active + step + count) % count);
      } else if (event.key === "Enter") {
        event.preventDefault(); // never submit the request from a search box
        if (!list.hidden && active >= 0) pick(active);
      } else if (event.key === "Escape") {
        if (!list.hidden) { event.preventDefault(); open(false); } else { input.value = ""; }
      } else if (event.key === "Home" && !list.hidden && count) {
        event.preventDefault(); setActive(0);
      } else if (event.key === "End" && !list.hidden && count) {
        event.preventDefault(); setActive(count - 1);
      } else if (event.key === "Tab") {
        open(false);
      }
    });
    return { close: () => open(false), run: run };
  }

  // --- Resources -----------------------------------------------------------------------------
  const resourceInput = document.getElementById("resource-search");
  let inventory = null;

  function ago(iso) {
    const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (seconds < 60) return "just now";
    if (seconds < 3600) return Math.round(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.round(seconds / 3600) + " h ago";
    return new Date(iso).toLocaleString();
  }

  function showState(state, note) {
    inventory = state;
    if (!state) {
      stateLine.textContent = "Choose the target account to search its tables, buckets, queues, topics, keys and secrets.";
      refreshButton.disabled = true;
      resourceInput.disabled = true;
      return;
    }
    resourceInput.disabled = false;
    refreshButton.disabled = false;
    let text = state.synced_at
      ? "Inventory of " + state.name + " synced " + ago(state.synced_at) + "."
      : "The inventory of " + state.name + " has not been synced yet.";
    if (state.error) text += " Last sync failed: " + state.error;
    if (note) text += " " + note;
    stateLine.textContent = text;
    stateLine.dataset.syncedAt = state.synced_at || "";
    stateLine.classList.toggle("inventory-error", Boolean(state.error));
  }

  function loadState(note) {
    const account = targetId();
    if (!account) { showState(null); return Promise.resolve(null); }
    return getJSON(resourcePicker.dataset.searchUrl, { account: account, q: "" })
      .then((data) => { if (account === targetId()) showState(data.inventory, note); return data; })
      .catch(() => { stateLine.textContent = "The inventory could not be loaded."; });
  }

  const resources = combobox({
    input: resourceInput,
    list: document.getElementById("resource-options"),
    search: (q) => {
      if (!targetId()) return Promise.resolve({ groups: [], empty: "Choose the target account first.", count: 0 });
      return getJSON(resourcePicker.dataset.searchUrl, { account: targetId(), q: q }).then((data) => {
        showState(data.inventory);
        const chosen = lines(resourcesArea);
        const items = data.results.map((r) => ({
          label: r.name,
          detail: r.kind_label + " · " + r.arn,
          value: r.arn,
          name: r.name,
          selected: chosen.includes(r.arn),
        }));
        const empty = data.inventory.synced_at
          ? "Nothing in the inventory matches “" + q + "”. Type the ARN below, or refresh the inventory."
          : "The inventory is empty: refresh it, or type the ARN below.";
        return { groups: [{ label: "", items: items }], empty: empty, count: items.length };
      });
    },
    choose: (item) => {
      picked = item.name;
      addLines(resourcesArea, [forEachAccount(item.value)]);
      return true;
    },
  });

  // --- Common reads: least privilege by default ------------------------------------------------
  // Picking a resource adds no action. The common data-plane reads of the resources (GetItem,
  // Query and BatchGetItem of a table, ...) are one click away; anything more is chosen one by one.
  const commonBox = document.getElementById("common-reads");
  const commonButton = document.getElementById("common-reads-add");
  const commonNote = document.getElementById("common-reads-note");
  let common = [];
  let picked = "";
  let commonTimer = null;
  let commonSequence = 0;

  function missingCommon() {
    const have = lines(actionsArea);
    return common.filter((action) => !have.includes(action));
  }

  function renderCommon() {
    const missing = missingCommon();
    commonBox.hidden = common.length === 0;
    commonButton.disabled = missing.length === 0;
    commonButton.textContent = missing.length ? "Add the common reads: " + missing.join(", ") : "Common reads added";
  }

  function loadCommon() {
    const mine = ++commonSequence;
    const resources = resourcesArea.value.slice(0, 20000);
    const name = picked;
    picked = "";
    if (!resources.trim()) { common = []; commonNote.textContent = ""; renderCommon(); return; }
    const params = { resources: resources, source: source ? source.value : "", target: targetId() };
    getJSON(actionPicker.dataset.searchUrl, params).then((data) => {
      if (mine !== commonSequence) return;
      common = data.common_reads;
      const denied = Object.keys(data.denied || {}).filter((action) => !common.includes(action));
      commonNote.textContent = denied.length ? "Left out, denied by a service control policy: " + denied.join(", ") + "." : "";
      renderCommon();
      if (!name) return;
      let text = "Added " + name + " to Resources.";
      if (missingCommon().length) text += " Its common reads are one click away: " + missingCommon().join(", ") + ".";
      if (commonNote.textContent) text += " " + commonNote.textContent;
      announce(text);
    }).catch(() => { if (name) announce("Added " + name + " to Resources."); });
  }

  function loadCommonSoon() { clearTimeout(commonTimer); commonTimer = setTimeout(loadCommon, 150); }

  commonButton.addEventListener("click", () => {
    const added = addLines(actionsArea, missingCommon());
    renderCommon();
    announce(added.length ? "Added " + added.join(", ") + " to Actions." : "The common reads are already in Actions.");
  });
  resourcesArea.addEventListener("input", loadCommonSoon);
  actionsArea.addEventListener("input", renderCommon);
  [source, target].forEach((select) => { if (select) select.addEventListener("change", loadCommonSoon); });

  refreshButton.addEventListener("click", () => {
    const account = targetId();
    if (!account) return;
    const body = new FormData();
    body.append("account", account);
    const before = inventory ? inventory.synced_at : null;
    refreshButton.disabled = true;
    fetch(resourcePicker.dataset.refreshUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrf ? csrf.value : "" },
    }).then((r) => r.json()).then((data) => {
      showState(data.inventory, data.queued ? "Refreshing…" : "A refresh is already under way…");
      let tries = 0;
      const poll = () => getJSON(resourcePicker.dataset.searchUrl, { account: account, q: "" }).then((fresh) => {
        if (account !== targetId()) return;
        const state = fresh.inventory;
        if (state.synced_at !== before || (state.error && state.error !== (inventory && inventory.error))) {
          showState(state);
          refreshButton.disabled = false;
          announce(state.error ? "The inventory sync failed." : "The inventory is up to date.");
        } else if (++tries < 40) {
          setTimeout(poll, 1500);
        } else {
          showState(state, "Still refreshing: try again in a minute.");
          refreshButton.disabled = false;
        }
      });
      setTimeout(poll, 1000);
    }).catch(() => { refreshButton.disabled = false; stateLine.textContent = "The refresh could not be asked for."; });
  });

  if (target) {
    target.addEventListener("change", () => { resourceInput.value = ""; resources.close(); loadState(); });
  }

  // --- Actions -------------------------------------------------------------------------------
  combobox({
    input: document.getElementById("action-search"),
    list: document.getElementById("action-options"),
    keepOpen: true,
    search: (q) => {
      const params = { q: q, resources: resourcesArea.value.slice(0, 20000), source: source ? source.value : "", target: targetId() };
      return getJSON(actionPicker.dataset.searchUrl, params).then((data) => {
        const chosen = lines(actionsArea);
        let count = 0;
        const groups = data.groups.map((group) => ({
          label: group.level,
          items: group.actions.map((a) => {
            count += 1;
            let detail = a.resources.length ? "on " + a.resources.length + " of your resources" : "";
            if (a.common) detail = "common read · " + detail;
            if (a.denied_by) detail = "denied by the SCP " + a.denied_by;
            return { label: a.action, detail: detail, value: a.action, selected: chosen.includes(a.action) };
          }),
        }));
        const empty = data.hint || "No action matches “" + q + "”.";
        return { groups: groups, empty: empty, count: count };
      });
    },
    choose: (item) => {
      const have = lines(actionsArea);
      if (have.includes(item.value)) {
        setLines(actionsArea, have.filter((a) => a !== item.value));
        announce("Removed " + item.value + ".");
        return false;
      }
      addLines(actionsArea, [item.value]);
      announce("Added " + item.value + ".");
      return true;
    },
  });

  [resourcesArea, actionsArea].forEach((area) => { fit(area); area.addEventListener("input", () => fit(area)); });
  resourcePicker.hidden = false;
  actionPicker.hidden = false;
  loadState();
  loadCommon();
})();
