// The console's page: plain JavaScript, no build step, nothing loaded from elsewhere.
// Every decision is the server's: this file uploads, shows and downloads. Text from files and
// from the server goes into the page as text (textContent), never as markup; the one exception is
// the progress chart, an SVG the server builds with every value escaped (clients/html.py).
"use strict";

const MAX_UPLOAD = 32 * 1024 * 1024;
const SUFFIXES = [".csv", ".tsv", ".txt", ".xlsx", ".json", ".jsonl"];
const OUTCOME_ZH = {
  PASS: "通过", PASS_WITH_WARNINGS: "通过（有提醒）", FAIL: "不通过", INCOMPLETE: "资料不全", BAD_ROW: "无法核验（坏行）",
  ELIGIBLE: "符合补贴条件", PARTIALLY_ELIGIBLE: "部分符合", INELIGIBLE: "不符合",
};
const SEVERITY_ZH = { SEVERITY_ERROR: "错误", SEVERITY_WARNING: "提醒", SEVERITY_INFO: "提示", ERROR: "错误", WARNING: "提醒", INFO: "提示" };

const state = { me: null, tab: null, loggedIn: false, pending: null };
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === "") continue;
    node.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
  }
  return node;
}
const bi = (zh, en) => el("span", {}, zh + " ", el("span", { class: "en" }, en));

function outcomeKey(outcome) {
  return String(outcome || "").replace(/^OUTCOME_/, "").replace(/^CLAIM_OUTCOME_/, "");
}
function badge(outcome) {
  const key = outcomeKey(outcome);
  return el("span", { class: `badge o-${key}`, "data-outcome": key }, `${OUTCOME_ZH[key] || key} `,
    el("span", { class: "en", text: key.replace(/_/g, " ") }));
}

// ---- codes in words: the server sends the words (/console/api/me `labels`, clients/labels.py)

let LABELS = { enum_words: {}, prefixes: [], subjects: {}, bases: {} };
const TOKEN = "[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*";
const PAREN = new RegExp(`[（(](${TOKEN}(?:\\s*[/、,]\\s*${TOKEN})*)[）)]`, "g");
const LIST = new RegExp(`\\b${TOKEN}(?:\\s*[,;]\\s*${TOKEN})*\\b`, "g");

function enumWord(token) {
  if (/_UNSPECIFIED$/.test(token)) return ["未填", 0];
  const prefix = LABELS.prefixes.find((p) => token.startsWith(p));
  return LABELS.enum_words[prefix ? token.slice(prefix.length) : token] || null;
}
function enumWords(tokens) {
  const found = tokens.trim().split(/\s*[,;/、]\s*/).map(enumWord);
  if (found.some((w) => !w)) return null;
  return found.sort((a, b) => a[1] - b[1]).map((w) => w[0]);
}
// A reason's value as an inspector reads it (the same as clients/labels.py `shown`):
// DELIVER,RECEIVE -> 收件、投递; 含寄件（SEND） -> 含寄件; >= 10 -> ≥ 10; true -> 是.
function shown(value) {
  let text = String(value === undefined || value === null ? "" : value);
  if (text === "true") return "是";
  if (text === "false") return "否";
  text = text.replace(PAREN, (match, inner, offset, whole) => {
    const words = enumWords(inner);
    if (!words) return match;
    const said = words.join("、");
    return whole.slice(0, offset).endsWith(said) ? "" : `（${said}）`;
  });
  text = text.replace(LIST, (match) => { const words = enumWords(match); return words ? words.join("、") : match; });
  return text.replace(/>= ?/g, "≥ ").replace(/<= ?/g, "≤ ").replace(/!= ?/g, "≠ ");
}
function yuan(fen) {
  const n = Number(fen || 0);
  return `¥${(n / 100).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

function showError(id, error) {
  const box = $(id);
  if (!error) { box.hidden = true; box.textContent = ""; return; }
  box.hidden = false;
  box.textContent = error.message || String(error);
  for (const v of error.violations || []) box.textContent += `\n· ${v.field}: ${v.description}`;
}

// ---- talking to the server

class ApiError extends Error {
  constructor(body, status) {
    const error = (body && body.error) || {};
    super(error.message || `服务返回 ${status} (the service answered ${status})`);
    this.code = error.code || String(status);
    this.session = error.session;
    this.violations = error.violations || [];
    this.status = status;
  }
}

function sessionLost(error) {
  if (error && error.status === 401 && state.loggedIn) {
    const expired = error.session === "expired";
    showLogin(expired ? "登录已过期，请重新登录；页面上的内容都还在。(The session has expired: log in again; nothing on the page is lost.)"
                      : "请重新登录；页面上的内容都还在。(Please log in again; nothing on the page is lost.)");
  }
}

async function api(path, options) {
  const init = Object.assign({ credentials: "same-origin", headers: {} }, options || {});
  if (init.method === "POST") init.headers["X-Ruralpost-Console"] = "1";
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError({ error: { message: "无法连接服务 (cannot reach the service)" } }, 0);
  }
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) {
    const error = new ApiError(body, response.status);
    sessionLost(error);
    throw error;
  }
  return body;
}

function postJson(path, data) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) });
}

// An upload whose progress shows (bytes sent, then the server's progress lines as they come).
function upload(path, file, onLine, onSent) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("X-Ruralpost-Console", "1");
    xhr.setRequestHeader("X-Filename", encodeURIComponent(file.name));
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    let seen = 0;
    const lines = () => {
      const text = xhr.responseText;
      let end;
      while ((end = text.indexOf("\n", seen)) >= 0) {
        const line = text.slice(seen, end);
        seen = end + 1;
        if (line.trim() && onLine) onLine(JSON.parse(line));
      }
    };
    xhr.upload.onprogress = (e) => { if (e.lengthComputable && onSent) onSent(e.loaded, e.total); };
    xhr.onprogress = () => { if (xhr.status === 200 && onLine) lines(); };
    xhr.onerror = () => reject(new ApiError({ error: { message: "上传中断，无法连接服务 (the upload broke off: cannot reach the service)" } }, 0));
    xhr.onload = () => {
      if (xhr.status !== 200) {
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        const error = new ApiError(body, xhr.status);
        sessionLost(error);
        reject(error);
        return;
      }
      if (onLine) { lines(); resolve(null); } else resolve(JSON.parse(xhr.responseText));
    };
    xhr.send(file);
  });
}

function checkFile(file, suffixes) {
  if (!file) return { message: "请选择文件 (choose a file)" };
  const name = file.name.toLowerCase();
  if (!suffixes.some((s) => name.endsWith(s))) {
    return { message: `不支持的文件类型：${file.name}。请上传 ${suffixes.join("、")} (unsupported file type; upload ${suffixes.join(", ")})` };
  }
  if (file.size > MAX_UPLOAD) {
    const mb = (file.size / 1048576).toFixed(1);
    return { message: `文件太大（${mb} MB），控制台一次最多接收 32 MB；请拆分文件，或用命令行 ruralpost check / claim (the file is too large: ${mb} MB; the console takes at most 32 MB)` };
  }
  if (file.size === 0) return { message: "文件是空的 (the file is empty)" };
  return null;
}

function busy(id, on, text, fraction) {
  const box = $(id);
  box.hidden = !on;
  if (!on) return;
  const bar = box.querySelector("progress");
  if (bar) {
    if (fraction === null || fraction === undefined) bar.removeAttribute("value");
    else bar.value = Math.max(0, Math.min(100, fraction * 100));
  }
  box.querySelector(".progress-text").textContent = text;
}

// ---- login and tabs

function showLogin(why) {
  $("login").hidden = false;
  $("login-why").textContent = why || "";
  $("token").focus();
}

async function start() {
  try {
    applyMe(await api("/console/api/me"));
  } catch (e) {
    if (e.status === 401) { showLogin(""); return; }
    showLogin(e.message);
  }
}

function applyMe(me) {
  state.me = me;
  if (me.labels) LABELS = me.labels;
  state.loggedIn = me.auth;
  $("login").hidden = true;
  $("login-error").hidden = true;
  $("who").hidden = false;
  $("who-name").textContent = me.auth
    ? `${me.name}（${me.role}${me.operator ? "，" + me.operator : ""}）`
    : "未启用认证（本机访问）no auth file: local access";
  $("logout").hidden = !me.auth;
  $("tabs").hidden = false;
  let first = null;
  for (const button of document.querySelectorAll(".tabs button")) {
    const allowed = !!me.may[button.dataset.tab];
    button.hidden = !allowed;
    if (allowed && !first) first = button.dataset.tab;
  }
  if (!state.tab || !me.may[state.tab]) selectTab(first);
}

function selectTab(tab) {
  state.tab = tab;
  for (const button of document.querySelectorAll(".tabs button")) {
    button.setAttribute("aria-selected", String(button.dataset.tab === tab));
  }
  for (const section of document.querySelectorAll(".tab")) section.hidden = section.id !== `tab-${tab}`;
  if (tab === "rules" && !$("rules-body").children.length) loadRules();
  if (tab === "data" && !ref.tables) loadData(0);
}

async function login(event) {
  event.preventDefault();
  $("login-error").hidden = true;
  try {
    applyMe(await postJson("/console/api/login", { token: $("token").value }));
    $("token").value = "";
  } catch (e) {
    showError("login-error", e);
  }
}

async function logout() {
  try { await api("/console/api/logout", { method: "POST" }); } catch (e) { /* the page forgets it anyway */ }
  state.loggedIn = false;
  location.reload();
}

// ---- reasons, as every tab shows them

function reasonBlock(r) {
  const severity = r.severity || "";
  const doc = r.document !== undefined ? r.document : (r.citation && r.citation.document) || "";
  const clause = r.clause !== undefined ? r.clause : (r.citation && r.citation.clause) || "";
  const ruleId = r.rule_id || r.ruleId || "";
  const messageEn = r.message_en || r.messageEn || "";
  const details = el("dl", {});
  const add = (zh, en, value) => { if (value) details.append(el("dt", {}, bi(zh, en)), el("dd", { text: value })); };
  add("条款", "clause", [doc, clause].filter(Boolean).join(" "));
  add("实际", "actual", shown(r.actual));
  add("要求", "expected", shown(r.expected));
  add("整改", "remedy", shown(r.remedy));
  return el("div", { class: "reason", "data-rule": ruleId },
    el("span", { class: "rule" }, ruleId), `（${SEVERITY_ZH[severity] || ""} ${String(severity).replace("SEVERITY_", "")}）`,
    shown(r.message), messageEn ? el("span", { class: "en" }, " " + messageEn) : null, details);
}
// A township's reasons folded under one line (进度 starts short; open what you need).
function folded(list) {
  if (!list || !list.length) return reasons(list);
  const errors = list.filter((r) => r.severity === "SEVERITY_ERROR").length;
  return el("details", { class: "fold" },
    el("summary", {}, `${list.length} 条原因 reasons${errors ? `（${errors} 条错误 errors）` : ""}`), reasons(list));
}
function reasons(list) {
  const box = el("div", {});
  if (!list || !list.length) box.append(el("span", { class: "small", text: "—" }));
  for (const r of list || []) box.append(reasonBlock(r));
  return box;
}

// ---- 站点核验

let checkItems = [];

async function runCheck(event) {
  event.preventDefault();
  showError("check-error", null);
  const file = $("check-file").files[0];
  const bad = checkFile(file, SUFFIXES);
  if (bad) { showError("check-error", bad); return; }
  // the last file's results go as soon as another is sent: nothing on the page under the wrong name
  $("check-result").hidden = true;
  $("check-summary").replaceChildren();
  checkItems = [];
  const params = new URLSearchParams();
  if ($("check-as-of").value) params.set("as_of", $("check-as-of").value);
  const register = $("check-register").checked;
  if (register) params.set("register", "1");
  const started = Date.now();
  const seconds = () => ((Date.now() - started) / 1000).toFixed(0);
  busy("check-progress", true, "上传中… (uploading)", 0);
  $("check-go").disabled = true;
  let done = null;
  let failed = null;
  try {
    await upload(`/console/api/check?${params}`, file, (line) => {
      if (line.type === "progress") {
        const total = line.total || 0;
        busy("check-progress", true,
          `已核验 ${line.done.toLocaleString()}${total ? " / 约 " + total.toLocaleString() : ""} 行，${seconds()} 秒 (rows checked)`,
          total ? line.done / total : null);
      } else if (line.type === "done") {
        done = line;
      } else if (line.type === "error") {
        failed = new ApiError(line, 0);
      }
    }, (sent, total) => busy("check-progress", true, `上传中 ${Math.round((100 * sent) / total)}% (uploading)`, sent / total));
  } catch (e) {
    failed = e;
  } finally {
    busy("check-progress", false);
    $("check-go").disabled = false;
  }
  if (failed) { showError("check-error", failed); return; }
  if (done) showCheck(done, file.name, register);
}

function showCheck(done, fileName, register) {
  const s = done.summary;
  checkItems = done.items;
  const summary = $("check-summary");
  summary.replaceChildren(
    el("span", { class: "figure", id: "check-file-name" }, bi("文件", "file"), " ", el("b", { text: fileName })),
    el("span", { class: "figure" }, bi("共", "rows"), el("b", { text: s.total.toLocaleString() })),
    el("span", { class: "figure" }, bi("通过", "passed"), el("b", { text: s.passed.toLocaleString() })),
    el("span", { class: "figure" }, bi("未通过", "not passing"), el("b", { text: (s.total - s.passed).toLocaleString() })),
  );
  for (const [key, n] of Object.entries(s.outcomes)) {
    summary.append(el("span", { class: "figure", "data-outcome-count": key }, badge(key), " ", el("b", { text: n.toLocaleString() })));
  }
  if (register) {
    // every row with a verdict is registered (a bad row has none)
    const registered = s.total - (s.outcomes.BAD_ROW || 0);
    summary.append(el("span", { class: "figure", id: "check-registered" },
      bi("已登记到站点名册", "registered"), " ", el("b", { text: registered.toLocaleString() }), " 个站点 stations"));
  }
  if (s.file_line) summary.append(el("span", { class: "small", text: s.file_line }));
  for (const problem of done.problems || []) summary.append(el("span", { class: "small", role: "alert", text: problem }));
  summary.append(el("span", { class: "small", text: `核验日期 as of ${s.as_of || "—"} · 规则集 ruleset ${s.ruleset_version || "—"}` }));
  $("ruleset").textContent = s.ruleset_version || "";
  const links = $("check-downloads");
  links.replaceChildren();
  const d = done.downloads;
  if (d.annotated) links.append(el("a", { href: d.annotated, download: "", id: "download-annotated" }, bi("下载我的表格（加结果列）", "my spreadsheet with verdicts")));
  links.append(el("a", { href: d.csv, download: "", id: "download-csv" }, bi("结果 CSV", "results CSV")));
  links.append(el("a", { href: d.json, download: "", id: "download-json" }, bi("结果 JSON", "results JSON")));
  links.append(el("a", { href: d.report, target: "_blank", rel: "noopener", id: "download-report" }, bi("可打印报告", "printable report")));
  renderItems();
  $("check-more").textContent = s.shown < s.total
    ? `页面显示前 ${s.shown.toLocaleString()} 行，全部 ${s.total.toLocaleString()} 行见下载的结果文件 (the first ${s.shown} rows are shown; the downloads have all)` : "";
  $("check-result").hidden = false;
}

function renderItems() {
  const failingOnly = $("check-failing").checked;
  const body = $("check-items");
  body.replaceChildren();
  for (const item of checkItems) {
    if (failingOnly && (item.outcome === "PASS" || item.outcome === "PASS_WITH_WARNINGS")) continue;
    const why = item.outcome === "BAD_ROW"
      ? el("div", { class: "reason" }, item.column ? `列 column “${item.column}”：` : "", item.problem)
      : reasons(item.reasons);
    body.append(el("tr", { "data-row": item.row, "data-outcome": item.outcome },
      el("td", { class: "n", text: item.row }), el("td", { text: item.station_id }),
      el("td", { text: item.township }), el("td", {}, badge(item.outcome)), el("td", {}, why)));
  }
}

// ---- 进度

// The hub form as CountyHub JSON, or null when nothing is filled in (the report then says HUB-MISSING).
// Brands split as the spreadsheets split lists; a yes/no left at 未填 is not sent (missing, not "no").
function hubEntered() {
  const hub = {};
  const name = $("hub-name").value.trim();
  if (name) hub.name = name;
  const brands = $("hub-brands").value.split(/[;；,，、\n]/).map((b) => b.trim()).filter(Boolean);
  if (brands.length) hub.brands = brands;
  for (const select of $("hub-form").querySelectorAll("select[data-field]")) {
    if (select.value) hub[select.dataset.field] = select.value === "true";
  }
  if ($("hub-established-on").value) hub.establishedOn = $("hub-established-on").value;
  return Object.keys(hub).length ? hub : null;
}

async function runProgress(event) {
  event.preventDefault();
  showError("progress-error", null);
  const asOf = $("progress-as-of").value;
  const hub = hubEntered();
  busy("progress-progress", true, "计算中… (computing)");
  try {
    showProgress(await postJson("/console/api/progress", hub ? { as_of: asOf, hub } : { as_of: asOf }), asOf, hub);
  } catch (e) {
    showError("progress-error", e);
  } finally {
    busy("progress-progress", false);
  }
}

function showProgress(data, asOf, hub) {
  const p = data.report;
  const verdict = p.verdict || {};
  $("progress-county").replaceChildren(
    el("span", { class: "figure" }, bi("全县", "county"), " ", badge(verdict.outcome)),
    el("span", { class: "figure" }, bi("乡镇站", "township stations"), el("b", { text: `${p.township_stations_done}/${p.township_stations_goal}` })),
    el("span", { class: "figure" }, bi("村级点备案", "village points filed"), el("b", { text: `${p.village_points_filed}/${p.village_points_goal}` })),
    el("span", { class: "figure" }, bi("要求比例", "required share"), el("b", { text: `${Math.round((p.required_fraction || 0) * 100)}%` })),
    el("span", { class: "figure", id: "progress-hub-outcome" }, bi("县级共配中心", "county hub"), " ", badge((p.hub || {}).outcome)),
    el("span", { class: "small", text: `截至 as of ${p.as_of}` }),
  );
  $("progress-behind").textContent = data.behind.length
    ? `未达标的乡镇 Townships behind（${data.behind.length}）：${data.behind.join("、")}` : "各乡镇均达标 every township on track";
  const printed = new URLSearchParams({ as_of: asOf });
  if (hub) printed.set("hub", JSON.stringify(hub)); // the printable report judges the same hub
  $("progress-print").href = `/console/api/progress/report?${printed}`;
  $("progress-chart").innerHTML = data.chart; // an SVG built and escaped by the server (clients/html.py)
  const body = $("progress-townships");
  body.replaceChildren();
  for (const t of p.townships) {
    body.append(el("tr", { "data-township": t.township, "data-outcome": outcomeKey(t.outcome) },
      el("td", { text: t.township }),
      el("td", { class: "n", text: `${t.township_stations_done}/${t.township_stations_target}` }),
      el("td", { class: "n", text: `${t.village_points_filed}/${t.village_points_target}` }),
      el("td", { class: "n", text: t.village_points_compliant }),
      el("td", {}, badge(t.outcome)), el("td", {}, folded(t.reasons))));
  }
  const county = verdict.reasons || [];
  $("progress-county-reasons").replaceChildren(reasons(county.filter((r) => r.severity !== "SEVERITY_INFO" && r.rule_id !== "QTA-EXCLUDED")));
  $("progress-excluded").replaceChildren(reasons(county.filter((r) => r.rule_id === "QTA-EXCLUDED")));
  $("progress-notes").replaceChildren(reasons(county.filter((r) => r.severity === "SEVERITY_INFO" && r.rule_id !== "QTA-EXCLUDED")));
  const entered = el("dl", { class: "entered" });
  for (const e of data.hub || []) entered.append(el("dt", {}, bi(e.zh, e.en)), el("dd", { text: e.value }));
  $("progress-hub").replaceChildren(data.hub && data.hub.length ? entered : el("p", { class: "small" },
    bi("未填写县级共配中心；可在上方表单中填写", "no hub entered: fill in the form above")),
    badge((p.hub || {}).outcome), reasons((p.hub || {}).reasons));
  $("ruleset").textContent = verdict.ruleset_version || "";
  $("progress-result").hidden = false;
}

// ---- 补贴

let claimJob = null;

async function runClaim(event) {
  event.preventDefault();
  showError("claim-error", null);
  const file = $("claim-file").files[0];
  const bad = checkFile(file, SUFFIXES);
  if (bad) { showError("claim-error", bad); return; }
  $("claim-result").hidden = true;
  $("claim-confirm").hidden = true;
  state.pending = null;
  claimJob = null;
  const params = new URLSearchParams();
  for (const input of $("claim-form").querySelectorAll("fieldset [name]")) {
    if (input.value.trim()) params.set(input.name, input.value.trim());
  }
  const started = Date.now();
  const timer = setInterval(() => busy("claim-progress", true, `读取与评估中… ${((Date.now() - started) / 1000).toFixed(0)} 秒 (reading and evaluating)`), 500);
  busy("claim-progress", true, "上传中… (uploading)", 0);
  try {
    const data = await upload(`/console/api/claim?${params}`, file, null, (sent, total) => {
      busy("claim-progress", true, sent < total ? `上传中 ${Math.round((100 * sent) / total)}% (uploading)` : "读取与评估中… (reading and evaluating)", sent < total ? sent / total : null);
    });
    claimJob = data.job;
    state.claimFile = file.name;
    showClaim(data, false);
  } catch (e) {
    showError("claim-error", e);
  } finally {
    clearInterval(timer);
    busy("claim-progress", false);
  }
}

function showClaim(data, afterCommit) {
  const r = data.result;
  const banner = $("claim-banner");
  banner.hidden = !afterCommit && data.how !== "stored";
  if (data.how === "commit") banner.textContent = "已入账：符合条件的运单已记为已付 (committed: the eligible waybills are recorded as paid)";
  else if (data.how === "stored") banner.textContent = "该申报此前已入账，以下是存档的结果，未重复入账 (committed before: this is the stored answer; nothing was paid twice)";
  else banner.textContent = "";
  $("claim-summary").replaceChildren(
    el("span", { class: "figure", id: "claim-file-name" }, bi("文件", "file"), " ", el("b", { text: state.claimFile || "" })),
    el("span", { class: "figure" }, bi("申报编号", "claim"), el("b", { text: r.claim_id })),
    el("span", { class: "figure", id: "claim-outcome" }, badge(r.outcome)),
    el("span", { class: "figure" }, bi("符合件数", "eligible"), el("b", { text: r.eligible_pieces })),
    el("span", { class: "figure" }, bi("剔除件数", "rejected"), el("b", { text: r.rejected_pieces })),
    el("span", { class: "figure" }, bi("核定金额", "approved"), el("b", { text: yuan(r.approved_amount_fen) })),
    el("span", { class: "figure" }, r.committed ? bi("已入账", "committed") : bi("试算（未入账）", "dry run, not committed")),
  );
  $("claim-reasons").replaceChildren(reasons(r.reasons));
  const tallies = el("ul", {});
  for (const t of r.tallies || []) tallies.append(el("li", { text: `${t.rule_id}：${t.count} 件 (parcels)` }));
  $("claim-tallies").replaceChildren(r.tallies && r.tallies.length ? tallies : el("span", { class: "small", text: "—" }));
  const rejections = el("ul", {});
  for (const j of (r.rejections || []).slice(0, 500)) {
    const why = (j.reasons || []).map((x) => `${shown(x.message)}（${x.rule_id}）`).join("；") || (j.rule_ids || []).join("、");
    rejections.append(el("li", { text: `${j.row ? "第" + j.row + "行 row " + j.row + " · " : ""}${j.waybill}：${why}` }));
  }
  if ((r.rejections || []).length > 500) rejections.append(el("li", { text: `…共 ${r.rejections.length} 件 (in all)` }));
  $("claim-rejections").replaceChildren(r.rejections && r.rejections.length ? rejections : el("span", { class: "small", text: "—" }));
  const badRows = el("ul", {});
  for (const b of data.bad_rows || []) badRows.append(el("li", { text: `第${b.row}行 row ${b.row}：${b.problem}` }));
  $("claim-bad-rows").replaceChildren(data.bad_rows && data.bad_rows.length ? badRows : el("span", { class: "small", text: "—" }));
  // no rate for its pieces (SUB-RATE-MISSING, among the reasons above): the server refuses the commit
  const unrated = (r.reasons || []).some((x) => x.rule_id === "SUB-RATE-MISSING");
  $("claim-commit-area").hidden = !(state.me && state.me.may.commit) || afterCommit || r.committed || unrated;
  $("claim-confirm").hidden = true;
  state.pending = r;
  $("claim-result").hidden = false;
}

// The amount rests on rates still marked provisional: committing says the approver accepts them.
function onProvisionalRates(r) {
  return (r.reasons || []).some((x) => x.rule_id === "SUB-RATES-PROVISIONAL");
}

function askCommit() {
  const r = state.pending;
  const provisional = onProvisionalRates(r)
    ? "核定金额依据暂定补贴标准，确认即表示接受暂定标准。(The amount rests on provisional rates: confirming accepts them.) "
    : "";
  $("claim-confirm-text").textContent =
    `确认将申报 ${r.claim_id} 入账？核定金额 ${yuan(r.approved_amount_fen)}，${r.eligible_pieces} 件运单将记为已付，不可撤销。` +
    provisional +
    `(Commit claim ${r.claim_id}? ${yuan(r.approved_amount_fen)} approved; ${r.eligible_pieces} waybills will be recorded as paid. This cannot be undone.)`;
  $("claim-confirm").hidden = false;
  $("claim-confirm-yes").focus();
}

async function commitClaim() {
  showError("claim-error", null);
  $("claim-confirm-yes").disabled = true;
  try {
    const body = { accept_provisional_rates: onProvisionalRates(state.pending) };
    showClaim(await postJson(`/console/api/claim/${encodeURIComponent(claimJob)}/commit`, body), true);
  } catch (e) {
    showError("claim-error", e);
  } finally {
    $("claim-confirm-yes").disabled = false;
  }
}

// ---- 规则

let rules = [];

async function loadRules() {
  showError("rules-error", null);
  try {
    const data = await api("/console/api/rules");
    rules = data.rules || [];
    $("ruleset").textContent = data.ruleset_version || "";
    if (rules.some((r) => "basis" in r)) {
      $("rules-head").append(el("th", {}, "依据类别", el("br"), el("span", { class: "en" }, "Basis")));
    }
    renderRules();
  } catch (e) {
    showError("rules-error", e);
  }
}

function renderRules() {
  const words = $("rules-search").value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const body = $("rules-body");
  body.replaceChildren();
  let count = 0;
  for (const r of rules) {
    const citation = r.citation || {};
    const subject = LABELS.subjects[r.subject] || r.subject;
    const effective = r.effective_from || r.effective_to ? `${r.effective_from || "…"} ~ ${r.effective_to || "…"}` : "—";
    const cells = [r.rule_id, subject, r.subject, r.severity, r.description, `${citation.document || ""} ${citation.clause || ""}`,
      effective];
    const text = cells.join(" ").toLowerCase();
    if (!words.every((w) => text.includes(w))) continue;
    count += 1;
    const row = el("tr", { "data-rule": r.rule_id },
      el("td", { class: "rule", text: r.rule_id }), el("td", { text: subject }),
      el("td", { text: `${SEVERITY_ZH[r.severity] || ""} ${String(r.severity).replace("SEVERITY_", "")}` }),
      el("td", { text: shown(r.description) }),
      el("td", {}, citation.document || "", el("br"), el("b", { text: citation.clause || "" })),
      el("td", { text: effective }));
    if ("basis" in r) row.append(el("td", { text: LABELS.bases[r.basis] || String(r.basis) }));
    body.append(row);
  }
  $("rules-count").textContent = `${count} / ${rules.length} 条规则 rules`;
}

// ---- 基础数据: the reference data. Every role reads; admins edit a table or upload a file. The
// server checks every change (schema, names, rates, golden cases) and keeps the old version when one
// fails; the page only shows what it says. Editing is offered to admins, and refused by the server
// (403) to anyone else.

const TABLE_ZH = { operators: "运营企业名单", products: "产品目录", platforms: "电商平台", brands: "快递品牌", rates: "补贴标准" };
const COLUMN_ZH = {
  name: "名称", aliases: "别名", kind: "补贴类别", decided_by: "审核单位", approved_from: "核定日期",
  suspended_from: "暂停日期", note: "备注", class: "类别", section: "门类", farm: "农副产品",
  e_commerce: "电商平台", tier: "分档", label: "名称", rate_fen: "标准（分/件）", status: "状态",
  source: "来源", document: "确定标准的文件", previous_year_fen: "上年标准（分/件）",
};
const CHOICE_ZH = { "": "—（上行不分档）", provisional: "暂定", confirmed: "已确认" };
const LIST_SPLIT = /[、,，;；\n]/;
const when = (t) => String(t || "").replace("T", " ").replace(/Z$/, "");  // RFC 3339 UTC, as people read it
const ref = { tables: null, columns: {}, info: null, table: "operators", viewing: 0, newest: 0, editing: null, history: [] };

function choiceWords(value) {
  const text = String(value === undefined || value === null ? "" : value);
  if (text in CHOICE_ZH) return `${CHOICE_ZH[text]}${text ? " " + text : ""}`;
  const word = shown(text);
  return word !== text ? `${word} ${text}` : text;
}

// A cell as the page shows it (read-only).
function cellText(column, value) {
  if (value === undefined || value === null) return "";
  if (column.kind === "list") return (value || []).join("、");
  if (column.kind === "bool") return value ? "是 yes" : "否 no";
  if (column.kind === "fen") return `${value}（${yuan(value)}）`;
  if (column.kind === "choice") return choiceWords(value);
  return String(value);
}

async function loadData(version) {
  showError("data-error", null);
  try {
    const [shown, history] = await Promise.all([
      api(`/console/api/data${version ? "?version=" + encodeURIComponent(version) : ""}`),
      api("/console/api/data/history"),
    ]);
    ref.tables = shown.tables;
    ref.columns = shown.columns;
    ref.info = shown.info;
    ref.history = history.versions || [];
    ref.newest = ref.history.length ? ref.history[0].version : shown.info.version;
    ref.viewing = version && version !== ref.newest ? version : 0;
    ref.editing = null;
    renderData();
  } catch (e) {
    showError("data-error", e);
  }
}

function renderData() {
  const info = ref.info;
  const mayEdit = !!(state.me && state.me.may.data_edit);
  $("data-version").replaceChildren(
    el("span", { class: "figure", id: "data-version-number" }, bi(ref.viewing ? "查看版本" : "当前版本", ref.viewing ? "viewing" : "current"),
      " ", el("b", { text: `第 ${info.version} 版` })),
    el("span", { class: "figure" }, bi("修改人", "by"), " ", el("b", { text: info.author })),
    el("span", { class: "figure" }, bi("时间（UTC）", "at, UTC"), " ", el("b", { text: when(info.created_at) })),
    el("span", { class: "figure", id: "data-version-reason" }, bi("原因", "why"), " ", el("span", { text: info.reason })),
    el("span", { class: "small", text: `内容哈希 content hash ${info.content_hash}` }),
  );
  $("data-viewing").hidden = !ref.viewing;
  $("data-viewing-text").textContent = ref.viewing
    ? `正在查看第 ${ref.viewing} 版（只读；当前为第 ${ref.newest} 版）。(Viewing version ${ref.viewing}, read-only; the current one is ${ref.newest}.) ` : "";
  $("data-edit-area").hidden = !mayEdit || !!ref.viewing;
  $("data-upload-area").hidden = !mayEdit || !!ref.viewing;
  const version = ref.viewing ? `&version=${ref.viewing}` : "";
  $("data-export-xlsx").href = `/console/api/data/export?format=xlsx${version}`;
  $("data-export-json").href = `/console/api/data/export?format=json${version}`;
  const nav = $("data-tables");
  nav.replaceChildren();
  for (const table of Object.keys(ref.columns)) {
    const button = el("button", { type: "button", "data-table": table, "aria-selected": String(table === ref.table) },
      `${TABLE_ZH[table] || table} `, el("span", { class: "en", text: `${table} (${(ref.tables[table] || []).length})` }));
    button.addEventListener("click", () => {
      if (ref.editing && !confirm("放弃未保存的修改？(Drop the unsaved changes?)")) return;
      ref.table = table;
      ref.editing = null;
      renderData();
    });
    nav.append(button);
  }
  renderHistory();
  renderTable();
}

function renderHistory() {
  const body = $("data-history");
  body.replaceChildren();
  for (const v of ref.history) {
    const current = v.version === ref.newest;
    const open = el("button", { type: "button", class: "link", "data-view": v.version },
      current ? bi("查看当前版本", "view current") : bi("查看", "view"));
    open.addEventListener("click", () => {
      if (ref.editing && !confirm("放弃未保存的修改？(Drop the unsaved changes?)")) return;
      loadData(current ? 0 : v.version);
    });
    const shownNow = v.version === (ref.viewing || ref.newest);
    body.append(el("tr", { "data-version": v.version, class: shownNow ? "shown" : "" },
      el("td", { class: "n" }, `第 ${v.version} 版`, current ? el("span", { class: "small", text: " 当前 current" }) : null),
      el("td", { text: when(v.created_at) }), el("td", { text: v.author }), el("td", { text: v.reason }),
      el("td", {}, el("code", { text: v.content_hash })), el("td", {}, shownNow ? el("span", { class: "small", text: "显示中 shown" }) : open)));
  }
}

// The rows that match every word of the search (names and aliases, and the other columns' text).
function matches(entry, columns, words) {
  if (!words.length) return true;
  const text = columns.map((c) => cellText(c, entry[c.key])).join(" ").toLowerCase() + " " +
    [entry.name, ...(entry.aliases || [])].join(" ").toLowerCase().replace(/\s+/g, "");
  return words.every((w) => text.includes(w));
}

function renderTable() {
  const table = ref.table;
  const columns = ref.columns[table] || [];
  const editing = ref.editing && ref.editing.table === table ? ref.editing : null;
  const head = $("data-head");
  head.replaceChildren();
  for (const c of columns) {
    head.append(el("th", { "data-key": c.key }, COLUMN_ZH[c.key] || c.key, c.required ? " *" : "", el("br"), el("span", { class: "en", text: c.key })));
  }
  if (editing) head.append(el("th", {}, ""));
  const words = $("data-search").value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const entries = editing ? editing.rows.map((r) => r.entry) : ref.tables[table] || [];
  const body = $("data-body");
  body.replaceChildren();
  let count = 0;
  entries.forEach((entry, index) => {
    if (!matches(entry, columns, words)) return;
    count += 1;
    const row = el("tr", { "data-name": String(entry.name !== undefined ? entry.name : entry.label || ""), "data-index": index });
    for (const c of columns) {
      row.append(editing ? el("td", {}, editor(editing, index, c)) : el("td", { "data-key": c.key, text: cellText(c, entry[c.key]) }));
    }
    if (editing) {
      const drop = el("button", { type: "button", class: "link", "data-drop": index }, bi("删除", "delete"));
      drop.addEventListener("click", () => { editing.rows.splice(index, 1); renderTable(); });
      row.append(el("td", {}, drop));
    }
    body.append(row);
  });
  $("data-count").textContent = `${count} / ${entries.length} 条 entries`;
  $("data-edit").hidden = !!editing;
  $("data-save-form").hidden = !editing;
  $("data-edit-help").hidden = !editing;
}

// One cell of the editor: an input of the column's kind; what is typed goes into the row's entry.
function editor(editing, index, column) {
  const entry = editing.rows[index].entry;
  const value = entry[column.key];
  const set = (v) => {
    if (v === undefined) delete entry[column.key];
    else entry[column.key] = v;
  };
  const name = `${column.key}-${index}`;
  let input;
  if (column.kind === "bool") {
    input = el("input", { type: "checkbox", name });
    input.checked = value === undefined ? column.default !== false : !!value;
    input.addEventListener("change", () => set(input.checked));
  } else if (column.kind === "choice") {
    input = el("select", { name });
    for (const choice of column.choices) input.append(el("option", { value: choice, text: choiceWords(choice) }));
    input.value = value === undefined || value === null ? column.choices[0] : String(value);
    if (value === undefined) set(input.value);
    input.addEventListener("change", () => set(input.value));
  } else {
    const text = column.kind === "list" ? (value || []).join("、") : value === undefined || value === null ? "" : String(value);
    input = el("input", { name, value: text, size: column.kind === "fen" ? 6 : column.kind === "date" ? 10 : column.kind === "list" ? 24 : 14 });
    if (column.kind === "fen") input.setAttribute("inputmode", "numeric");
    if (column.kind === "date") input.setAttribute("placeholder", "YYYY-MM-DD");
    input.addEventListener("input", () => {
      const raw = input.value.trim();
      if (column.kind === "list") set(raw.split(LIST_SPLIT).map((a) => a.trim()).filter(Boolean));
      else if (column.kind === "fen") set(raw === "" ? (column.nullable ? undefined : raw) : /^\d+$/.test(raw) ? Number(raw) : raw);
      else if (column.kind === "date") set(raw === "" ? undefined : raw);
      else set(raw);
    });
  }
  input.setAttribute("aria-label", `${COLUMN_ZH[column.key] || column.key} ${column.key}`);
  input.dataset.key = column.key;
  return input;
}

function startEdit() {
  showError("data-error", null);
  $("data-done").hidden = true;
  const table = ref.table;
  // a copy of each entry: keys the editor does not show stay as they are
  ref.editing = { table, rows: (ref.tables[table] || []).map((e) => ({ entry: JSON.parse(JSON.stringify(e)) })) };
  renderTable();
}

function addRow() {
  const entry = {};
  for (const c of ref.columns[ref.editing.table]) if (c.kind === "list") entry[c.key] = [];
  ref.editing.rows.push({ entry });
  $("data-search").value = "";
  renderTable();
  const inputs = $("data-body").querySelectorAll("tr:last-child input, tr:last-child select");
  if (inputs.length) inputs[0].focus();
}

async function saveTable(event) {
  event.preventDefault();
  showError("data-error", null);
  const reason = $("data-reason").value.trim();
  if (!reason) { showError("data-error", { message: "请说明修改原因 (say why the data changes)" }); return; }
  const editing = ref.editing;
  $("data-save").disabled = true;
  try {
    const answer = await postJson("/console/api/data/table",
      { table: editing.table, entries: editing.rows.map((r) => r.entry), reason });
    $("data-reason").value = "";
    await loadData(0);
    said(`已保存：${TABLE_ZH[editing.table]}（${editing.table}）第 ${answer.previous_version} 版 → 第 ${answer.info.version} 版，黄金用例通过 ${answer.cases_passed} 条。` +
      `(Saved: version ${answer.previous_version} -> ${answer.info.version}; ${answer.cases_passed} golden cases passed.)`);
  } catch (e) {
    showError("data-error", e); // the edits stay on the page to be put right; the old version stays in use
  } finally {
    $("data-save").disabled = false;
  }
}

function said(text) {
  $("data-done").hidden = false;
  $("data-done").textContent = text;
}

async function uploadData(event) {
  event.preventDefault();
  showError("data-error", null);
  $("data-done").hidden = true;
  const file = $("data-file").files[0];
  const bad = checkFile(file, [".xlsx", ".json"]);
  if (bad) { showError("data-error", bad); return; }
  const reason = $("data-upload-reason").value.trim();
  if (!reason) { showError("data-error", { message: "请说明修改原因 (say why the data changes)" }); return; }
  busy("data-upload-progress", true, "上传中… (uploading)", 0);
  $("data-upload-go").disabled = true;
  try {
    const answer = await upload(`/console/api/data/upload?${new URLSearchParams({ reason })}`, file, null,
      (sent, total) => busy("data-upload-progress", true, sent < total ? `上传中 ${Math.round((100 * sent) / total)}% (uploading)` : "检查中… (checking)", sent < total ? sent / total : null));
    $("data-upload-reason").value = "";
    $("data-file").value = "";
    await loadData(0);
    const tables = answer.tables.map((t) => `${TABLE_ZH[t] || t}（${t}）`).join("、");
    said(`已导入 ${file.name}：${tables}；第 ${answer.previous_version} 版 → 第 ${answer.info.version} 版，黄金用例通过 ${answer.cases_passed} 条。` +
      `(Imported: version ${answer.previous_version} -> ${answer.info.version}; ${answer.cases_passed} golden cases passed.)`);
  } catch (e) {
    showError("data-error", e);
  } finally {
    busy("data-upload-progress", false);
    $("data-upload-go").disabled = false;
  }
}

// ---- wiring

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  for (const button of document.querySelectorAll(".tabs button")) {
    button.addEventListener("click", () => selectTab(button.dataset.tab));
  }
  $("check-form").addEventListener("submit", runCheck);
  $("check-failing").addEventListener("change", renderItems);
  $("progress-form").addEventListener("submit", runProgress);
  $("progress-as-of").value = new Date().toISOString().slice(0, 10);
  $("claim-form").addEventListener("submit", runClaim);
  $("claim-commit").addEventListener("click", askCommit);
  $("claim-confirm-yes").addEventListener("click", commitClaim);
  $("claim-confirm-no").addEventListener("click", () => { $("claim-confirm").hidden = true; });
  $("rules-search").addEventListener("input", renderRules);
  $("data-search").addEventListener("input", renderTable);
  $("data-back").addEventListener("click", () => loadData(0));
  $("data-edit").addEventListener("click", startEdit);
  $("data-add-row").addEventListener("click", addRow);
  $("data-cancel").addEventListener("click", () => { ref.editing = null; showError("data-error", null); renderTable(); });
  $("data-save-form").addEventListener("submit", saveTable);
  $("data-upload-form").addEventListener("submit", uploadData);
  start();
});
