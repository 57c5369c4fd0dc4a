// The alert panel of the dashboard: the rules (created, edited and deleted here with an admin
// key), which of them fire (the newest stored or pushed event of each rule), the recent events,
// and each rule's threshold drawn on the chart it watches.

// The API keeps one unit per kind (AlertUnit: microseconds, fractions 0–1, seconds, rows); the
// page shows and takes the units people read charts in (ms, %), converting both ways.
const SHOWN = {
  LATENCY_P99: { unit: "ms", show: (v) => v / 1000, send: (v) => v * 1000 },
  SANDWICH_RATE: { unit: "%", show: (v) => v * 100, send: (v) => v / 100 },
  ATTACK_RATE: { unit: "%", show: (v) => v * 100, send: (v) => v / 100 },
  NO_TRADES: { unit: "s", show: (v) => v, send: (v) => v },
  QUEUE_DEPTH: { unit: "rows", show: (v) => v, send: (v) => v },
};
/** A rule's threshold as the page shows it, rounded so that conversions leave no 0.30000000000000004. */
const shownThreshold = (rule) => Number(SHOWN[rule.kind].show(rule.threshold).toPrecision(12));
const $ = (id) => document.getElementById(id);

/** options: { http, charts, isAdmin: () => boolean, showError: (error?) => void } */
export function createAlertsPanel({ http, charts, isAdmin, showError }) {
  const state = {
    rules: [],
    /** ruleId → its latest event. */
    latest: new Map(),
    events: [],
  };

  function show(data) {
    state.rules = data.alertRules;
    state.events = data.alertEvents;
    state.latest = new Map();
    // Newest first: the first event of a rule is its latest.
    for (const event of data.alertEvents) if (!state.latest.has(event.ruleId)) state.latest.set(event.ruleId, event);
    renderAlerts();
  }

  const isFiring = (ruleId) => state.latest.get(ruleId)?.state === "FIRING";

  function renderAlerts() {
    const admin = isAdmin();
    const body = $("rules").querySelector("tbody");
    body.replaceChildren(
      ...state.rules.map((rule) => {
        const tr = document.createElement("tr");
        tr.dataset.rule = rule.id;
        const cells = [
          rule.id,
          rule.kind,
          rule.stage ?? "",
          `${rule.windowSeconds} s`,
          `${shownThreshold(rule)} ${SHOWN[rule.kind].unit}`,
          String(rule.hysteresis),
        ];
        for (const text of cells) {
          const td = document.createElement("td");
          td.textContent = text;
          tr.append(td);
        }
        const stateCell = document.createElement("td");
        const firing = isFiring(rule.id);
        stateCell.textContent = firing ? "FIRING" : "ok";
        stateCell.className = `state-${firing ? "FIRING" : "ok"}`;
        tr.append(stateCell);
        const actions = document.createElement("td");
        if (admin) {
          const edit = document.createElement("button");
          edit.type = "button";
          edit.textContent = "Edit";
          edit.addEventListener("click", () => editRule(rule));
          const remove = document.createElement("button");
          remove.type = "button";
          remove.textContent = "Delete";
          remove.addEventListener("click", () => void deleteRule(rule.id));
          actions.append(edit, " ", remove);
        }
        tr.append(actions);
        return tr;
      }),
    );
    $("rule-form").hidden = !admin;
    $("rules-note").textContent = admin
      ? "Rules added here live in this API instance's memory until it restarts (ALERT_RULES for permanent ones)."
      : state.rules.length === 0
        ? "No alert rules. An admin key can add them here."
        : "An admin key can create, edit and delete rules here.";
    $("events").replaceChildren(
      ...state.events.slice(0, 50).map((e) => {
        const li = document.createElement("li");
        li.className = e.state;
        li.textContent = `${new Date(e.at).toLocaleString()} · ${e.ruleId} · ${e.message}`;
        return li;
      }),
    );
    const active = state.rules.filter((r) => isFiring(r.id));
    $("active-alerts").replaceChildren(
      ...active.map((rule) => {
        const div = document.createElement("div");
        div.className = "firing";
        div.dataset.rule = rule.id;
        div.textContent = `FIRING ${rule.id}: ${state.latest.get(rule.id).message}`;
        return div;
      }),
    );
    // Thresholds on the charts they watch (NO_TRADES has no chart of seconds: listed only).
    const lines = (kind, scale) =>
      state.rules
        .filter((r) => r.kind === kind)
        .map((r) => ({
          value: shownThreshold(r),
          scale,
          firing: isFiring(r.id),
          label: `${r.id}: ${kind}${r.stage ? ` ${r.stage}` : ""} > ${shownThreshold(r)} ${SHOWN[kind].unit}`,
        }));
    charts.latency.setThresholds(lines("LATENCY_P99", "ms"));
    charts.mev.setThresholds([...lines("SANDWICH_RATE", "pct"), ...lines("ATTACK_RATE", "pct")]);
    charts.ingest.setThresholds(lines("QUEUE_DEPTH", "rows"));
  }

  function editRule(rule) {
    const form = $("rule-form");
    form.elements.id.value = rule.id;
    form.elements.kind.value = rule.kind;
    form.elements.stage.value = rule.stage ?? "";
    form.elements.windowSeconds.value = rule.windowSeconds;
    form.elements.threshold.value = shownThreshold(rule);
    form.elements.hysteresis.value = rule.hysteresis;
    form.elements.threshold.focus();
  }

  const UPSERT = `mutation DashboardUpsertRule($input: AlertRuleInput!) {
    upsertAlertRule(input: $input) { id kind stage windowSeconds threshold hysteresis }
  }`;
  const DELETE = "mutation DashboardDeleteRule($id: String!) { deleteAlertRule(id: $id) }";

  async function submitRule(event) {
    event.preventDefault();
    const f = event.target.elements;
    const input = {
      kind: f.kind.value,
      threshold: SHOWN[f.kind.value].send(Number(f.threshold.value)),
      windowSeconds: Number(f.windowSeconds.value || 60),
      hysteresis: Number(f.hysteresis.value || 0.1),
      ...(f.id.value.trim() ? { id: f.id.value.trim() } : {}),
      ...(f.stage.value.trim() ? { stage: f.stage.value.trim() } : {}),
    };
    try {
      const { upsertAlertRule: rule } = await http.request(UPSERT, { input });
      // An edited rule keeps its place in the list.
      const known = state.rules.some((r) => r.id === rule.id);
      state.rules = known ? state.rules.map((r) => (r.id === rule.id ? rule : r)) : [...state.rules, rule];
      showError();
      renderAlerts();
      event.target.reset();
    } catch (error) {
      showError(error);
    }
  }

  async function deleteRule(id) {
    try {
      await http.request(DELETE, { id });
      state.rules = state.rules.filter((r) => r.id !== id);
      renderAlerts();
    } catch (error) {
      showError(error);
    }
  }

  function onEvent(event) {
    state.latest.set(event.ruleId, event);
    state.events = [event, ...state.events].slice(0, 200);
    renderAlerts();
  }

  $("rule-form").addEventListener("submit", submitRule);
  return { show, onEvent };
}
