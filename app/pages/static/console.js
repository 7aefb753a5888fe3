// The managers' console: a key kept in this tab only (sessionStorage), the facilities of
// its scope, edits with If-Match, the report queue and the dashboards. Everything goes
// through the public API with the key; what the key may not do, the API refuses.
"use strict";

(() => {
  const { t, el, replace, api, ApiError, problemText, number, dateTime } = RF;

  RF.addStrings({
    "console.title": ["人防工程管理", "Civil air defense registry: managers"],
    "console.sign_in": ["用 API 密钥登录", "Sign in with an API key"],
    "console.key_hint": ["密钥只保存在本标签页中，关闭即清除。", "The key is kept in this tab only and forgotten when it closes."],
    "console.key": ["API 密钥", "API key"],
    "console.sign_in_button": ["登录", "Sign in"],
    "console.sign_out": ["退出", "Sign out"],
    "console.scope": ["{name}（{role}）· 范围：{scope}", "{name} ({role}) · scope: {scope}"],
    "console.everywhere": ["全部", "everywhere"],
    "console.loading": ["正在载入…", "Loading…"],
    "tab.facilities": ["设施", "Facilities"],
    "tab.reports": ["问题报告", "Reports"],
    "tab.dashboards": ["统计", "Dashboards"],
    "filter.admin_code": ["行政区划代码", "Division code"],
    "filter.q": ["名称或地址", "Name or address"],
    "filter.status": ["状态", "Status"],
    "filter.function": ["战时功能", "Wartime function"],
    "filter.any": ["全部", "any"],
    "filter.incomplete": ["标识不全", "Signage incomplete"],
    "filter.overdue": ["维护逾期", "Maintenance overdue"],
    "filter.apply": ["查询", "Search"],
    "list.more": ["更多", "More"],
    "list.none": ["没有符合条件的设施", "No facility matches"],
    "col.code": ["编号", "Code"],
    "col.name": ["名称", "Name"],
    "col.division": ["区划", "Division"],
    "col.status": ["状态", "Status"],
    "col.function": ["战时功能", "Wartime function"],
    "col.detail": ["详情", "Detail"],
    "facility.back": ["返回列表", "Back to the list"],
    "facility.fields": ["基本信息", "Fields"],
    "facility.edit": ["修改", "Edit"],
    "facility.save": ["保存", "Save"],
    "facility.saved": ["已保存（版本 {version}）", "Saved (version {version})"],
    "facility.nothing": ["没有修改", "Nothing changed"],
    "facility.uses": ["平时用途", "Peacetime uses"],
    "facility.feed": ["实时数据：{age}", "live feed: {age}"],
    "facility.feed_none": ["无实时数据", "no live feed"],
    "facility.feed_stale": ["已过期（{age}前）", "stale ({age} old)"],
    "facility.signage": ["标识", "Signage"],
    "facility.complete": ["标识齐全", "signage complete"],
    "facility.incomplete": ["标识不全", "signage incomplete"],
    "facility.required": ["要求", "required"],
    "facility.installed_count": ["已安装", "installed"],
    "facility.add_sign": ["添加标识", "Add a sign"],
    "facility.maintenance": ["维护记录", "Maintenance"],
    "facility.findings": ["未关闭的问题", "Open findings"],
    "facility.history": ["修改记录", "History"],
    "facility.none": ["无", "none"],
    "facility.read_only": ["只读：此设施不在本密钥的管理范围内", "Read only: this work is outside the key's scope"],
    "facility.read_only_role": ["只读：本密钥的角色不能修改设施", "Read only: the key's role changes no work"],
    "facility.restricted": ["维护记录和修改记录仅对管理此设施的密钥可见", "Maintenance records and history are for keys that manage this work"],
    "sign.kind": ["类型", "Kind"],
    "sign.status": ["状态", "Status"],
    "sign.installed_on": ["安装日期", "Installed on"],
    "sign.inspected_on": ["检查日期", "Inspected on"],
    "sign.photos": ["照片", "Photos"],
    "sign.upload": ["上传照片", "Upload a photo"],
    "sign.save": ["保存", "Save"],
    "conflict.title": ["保存失败：此记录已被他人修改", "Not saved: someone changed this record"],
    "conflict.versions": ["你修改的是第 {read} 版，现在是第 {now} 版。", "You edited version {read}; it is now at version {now}."],
    "conflict.changes": ["{actor} 于 {at} 修改：", "{actor} changed it at {at}:"],
    "conflict.reload": ["重新载入最新版本", "Reload the latest version"],
    "reports.status": ["状态", "Status"],
    "reports.facility": ["设施", "Facility"],
    "reports.kind": ["问题", "Problem"],
    "reports.text": ["说明", "Details"],
    "reports.contact": ["联系方式", "Contact"],
    "reports.created": ["提交时间", "Sent"],
    "reports.actions": ["处理", "Actions"],
    "reports.acknowledge": ["受理", "Acknowledge"],
    "reports.resolve": ["解决", "Resolve"],
    "reports.note": ["处理说明", "Resolution note"],
    "reports.empty": ["队列为空", "The queue is empty"],
    "dash.scope": ["统计范围（区划代码）", "Division (code)"],
    "dash.signage.province": ["各市标识完成率（停车设施，按月）", "Signage completion per city (car parks, by month)"],
    "dash.signage.city": ["各区县标识完成率（停车设施，按月）", "Signage completion per district (car parks, by month)"],
    "dash.signage.district": ["本区县标识完成率（停车设施，按月）", "Signage completion in the district (car parks, by month)"],
    "dash.signage_now.province": ["各市标识完成情况", "Signage complete per city"],
    "dash.signage_now.city": ["各区县标识完成情况", "Signage complete per district"],
    "dash.signage_now.district": ["本区县标识不全的工程", "The district's works with incomplete signage"],
    "dash.overdue.province": ["各市维护逾期设施", "Facilities with overdue maintenance per city"],
    "dash.overdue.city": ["各区县维护逾期设施", "Facilities with overdue maintenance per district"],
    "dash.overdue.district": ["本区县维护逾期的工程", "The district's works with overdue maintenance"],
    "dash.complete_of": ["停车设施标识齐全 {complete}/{total}", "car parks with complete signage: {complete}/{total}"],
    "dash.missing": ["缺少", "missing"],
    "dash.damaged": ["损坏", "damaged"],
    "dash.items": ["逾期项目", "overdue items"],
    "dash.since": ["最早逾期", "overdue since"],
    "dash.parking": ["按竣工年份新增停车位", "Parking spaces by completion year"],
    "dash.coverage": ["掩蔽服务半径外的居民比例", "Residents outside a shelter's service radius"],
    "dash.csv": ["下载 CSV", "Download CSV"],
    "dash.no_layer": ["没有人口图层", "No population layer"],
    "status.planned": ["规划中", "planned"],
    "status.under_construction": ["在建", "under construction"],
    "status.in_service": ["使用中", "in service"],
    "status.suspended": ["停用", "suspended"],
    "status.decommissioned": ["已撤销", "decommissioned"],
    "status.open": ["待处理", "open"],
    "status.acknowledged": ["已受理", "acknowledged"],
    "status.resolved": ["已解决", "resolved"],
    "signstatus.missing": ["缺失", "missing"],
    "signstatus.planned": ["计划", "planned"],
    "signstatus.installed": ["已安装", "installed"],
    "signstatus.damaged": ["损坏", "damaged"],
    "signstatus.removed": ["已拆除", "removed"],
    "function.command_post": ["指挥工程", "command post"],
    "function.medical_aid": ["医疗救护工程", "medical aid"],
    "function.professional_team": ["防空专业队工程", "professional team"],
    "function.personnel_shelter": ["人员掩蔽工程", "personnel shelter"],
    "function.supporting": ["配套工程", "supporting works"],
  });
  RF.translate(document);
  document.title = t("console.title");

  const STATUSES = ["planned", "under_construction", "in_service", "suspended", "decommissioned"];
  const FUNCTIONS = ["command_post", "medical_aid", "professional_team", "personnel_shelter", "supporting"];
  const SIGN_KINDS = ["identification_plaque", "vehicle_entrance", "pedestrian_entrance", "direction", "peacetime_use",
    "conversion", "wartime_evacuation", "overview_board", "maintenance_board"];
  const SIGN_STATUSES = ["missing", "planned", "installed", "damaged", "removed"];
  const EDITABLE = [
    ["name", "text"], ["address", "text"], ["status", STATUSES], ["managing_authority", "text"],
    ["keyholder_name", "text"], ["keyholder_phone", "text"], ["peacetime_parking_spaces", "number"],
  ];

  const view = document.getElementById("view");
  let key = sessionStorage.getItem("rf.key");
  let me = null;

  const call = (path, options = {}) => api(path, { ...options, key });
  const today = () => new Date().toISOString().slice(0, 10);
  const options = (values, label, selected) => values.map((value) =>
    el("option", { value, selected: value === selected }, label ? label(value) : value));
  const table = (header, rows) => el("div", { class: "table-wrap" },
    el("table", {}, el("thead", {}, el("tr", {}, header.map((h) => el("th", {}, h)))), el("tbody", {}, rows)));
  const card = (title, ...children) => el("section", { class: "card" }, el("h2", {}, title), children);
  const failure = (error) => el("p", { class: "error", role: "alert" }, t("error.generic", { message: problemText(error) }));

  // Signing in ----------------------------------------------------------------------------

  document.getElementById("sign-in").addEventListener("submit", async (event) => {
    event.preventDefault();
    key = document.getElementById("key").value.trim();
    document.getElementById("key").value = "";
    await start();
  });
  document.getElementById("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem("rf.key");
    key = null;
    me = null;
    location.hash = "";
    showSignedOut();
  });

  function showSignedOut(message) {
    document.getElementById("sign-in").hidden = false;
    document.getElementById("sign-in-error").textContent = message || "";
    document.getElementById("tabs").hidden = true;
    document.getElementById("sign-out").hidden = true;
    document.getElementById("scope").textContent = "";
    replace(view);
  }

  async function start() {
    if (!key) return showSignedOut();
    try {
      ({ data: me } = await call("/v1/me"));
    } catch (error) {
      key = null;
      sessionStorage.removeItem("rf.key");
      return showSignedOut(problemText(error));
    }
    sessionStorage.setItem("rf.key", key);
    const scope = [...me.admin_codes, ...me.facility_ids.map((id) => `#${id}`)].join(", ");
    document.getElementById("scope").textContent = t("console.scope", {
      name: me.name, role: me.role, scope: scope || t("console.everywhere") });
    document.getElementById("sign-in").hidden = true;
    document.getElementById("tabs").hidden = false;
    // What the key may not do is not offered (the API would refuse it anyway).
    document.querySelector("#tabs [data-view=reports]").hidden = !writes();
    document.getElementById("sign-out").hidden = false;
    route();
  }

  // Views by the address's fragment: #facilities, #facility/12, #reports, #dashboards.
  for (const button of document.querySelectorAll("#tabs button")) {
    button.addEventListener("click", () => { location.hash = button.dataset.view; });
  }
  window.addEventListener("hashchange", () => me && route());

  function route() {
    const [name, id] = location.hash.replace(/^#/, "").split("/");
    for (const button of document.querySelectorAll("#tabs button")) {
      button.setAttribute("aria-selected", String(button.dataset.view === (name === "facility" ? "facilities" : name || "facilities")));
    }
    if (name === "facility" && /^\d+$/.test(id || "")) return facilityPage(id);
    if (name === "reports") return reportsPage();
    if (name === "dashboards") return dashboardsPage();
    return facilitiesPage();
  }

  const defaultCode = () => me.admin_codes[0] || "";
  const writes = () => me.role === "admin" || me.role === "manager";
  // Whether the key may change this work: the API's rule (a manager's scope is its
  // divisions and its listed works), so that no control is offered only to fail on submit.
  const covers = (facility) => me.facility_ids.includes(facility.id)
    || [facility.province_code, facility.city_code, facility.district_code].some((code) => code && me.admin_codes.includes(code));
  const mayChange = (facility) => me.role === "admin" || (me.role === "manager" && covers(facility));
  // Maintenance records and the history: every work for admin and gis, a manager's scope.
  const mayReadRestricted = (facility) => ["admin", "gis"].includes(me.role) || (me.role === "manager" && covers(facility));

  // Facilities ------------------------------------------------------------------------------

  function facilitiesPage() {
    const form = el("form", { class: "filters" },
      el("label", {}, el("span", {}, t("filter.admin_code")),
        el("input", { name: "admin_code", pattern: "[0-9]{6}", size: 7, value: defaultCode() })),
      el("label", {}, el("span", {}, t("filter.q")), el("input", { name: "q", maxlength: 100 })),
      el("label", {}, el("span", {}, t("filter.status")),
        el("select", { name: "status" }, el("option", { value: "" }, t("filter.any")), options(STATUSES, (s) => t(`status.${s}`)))),
      el("label", {}, el("span", {}, t("filter.function")),
        el("select", { name: "wartime_function" }, el("option", { value: "" }, t("filter.any")), options(FUNCTIONS, (f) => t(`function.${f}`)))),
      el("label", {}, el("input", { type: "checkbox", name: "incomplete" }), " ", t("filter.incomplete")),
      el("label", {}, el("input", { type: "checkbox", name: "overdue" }), " ", t("filter.overdue")),
      el("button", { type: "submit" }, t("filter.apply")));
    const results = el("div", { id: "facility-results" });
    replace(view, form, results);
    form.addEventListener("submit", (event) => { event.preventDefault(); listFacilities(form, results); });
    listFacilities(form, results);
  }

  // Signage incomplete and maintenance overdue are lists of their own in the API; the
  // other filters narrow the facility list.
  async function listFacilities(form, results) {
    const query = new URLSearchParams({ limit: "50" });
    if (form.admin_code.value) query.set("admin_code", form.admin_code.value);
    let path = "/v1/facilities";
    if (form.incomplete.checked) path = "/v1/signage/incomplete";
    else if (form.overdue.checked) path = "/v1/maintenance/overdue";
    else {
      for (const name of ["q", "status", "wartime_function"]) if (form[name].value) query.set(name, form[name].value);
    }
    if (path === "/v1/maintenance/overdue") query.set("limit", "500");
    replace(results, el("p", { class: "hint" }, t("console.loading")));
    const rows = el("tbody");
    const seen = new Set();
    const more = el("button", { type: "button", class: "secondary", hidden: true }, t("list.more"));
    replace(results, el("div", { class: "table-wrap" }, el("table", { id: "facility-table" },
      el("thead", {}, el("tr", {}, [t("col.code"), t("col.name"), t("col.division"), t("col.status"), t("col.function")].map((h) => el("th", {}, h)))),
      rows)), more);
    async function page(cursor) {
      if (cursor) query.set("cursor", cursor);
      try {
        const { data } = await call(`${path}?${query}`);
        for (const item of data.items) {
          const id = item.facility_id ?? item.id;
          if (seen.has(id)) continue;
          seen.add(id);
          rows.append(el("tr", { dataset: { facilityId: id } },
            el("td", {}, item.code),
            el("td", {}, el("a", { href: `#facility/${id}` }, item.name)),
            el("td", {}, item.admin_code || item.district_code || ""),
            el("td", {}, item.status ? t(`status.${item.status}`) : ""),
            el("td", {}, item.wartime_function ? t(`function.${item.wartime_function}`) : "")));
        }
        if (!rows.children.length) rows.append(el("tr", {}, el("td", { colspan: 5 }, t("list.none"))));
        more.hidden = !data.next_cursor;
        more.onclick = () => page(data.next_cursor);
      } catch (error) {
        results.append(failure(error));
      }
    }
    await page();
  }

  // One facility ------------------------------------------------------------------------------

  const historyOf = (id) => call(`/v1/facilities/${id}/history?limit=50`);

  async function facilityPage(id) {
    replace(view, el("p", { class: "hint" }, t("console.loading")));
    const readFacility = () => call(`/v1/facilities/${id}`);
    const readHistory = () => historyOf(id).catch((error) => error);
    let answer;
    let history = null;
    try {
      answer = await readFacility();
      // The history is read before the facility that is edited, so that its newest event
      // is at most as new as the version read: a 412 later lists the facility's events
      // after that one, no more than the versions written since (clocks cannot order
      // writes a second apart). The first read only tells whether the key may read it.
      if (mayReadRestricted(answer.data)) {
        history = await readHistory();
        answer = await readFacility();
      }
    } catch (error) {
      return replace(view, failure(error));
    }
    const facility = answer.data;
    const etag = answer.response.headers.get("ETag");
    const read = { version: facility.version, lastEvent: history?.data?.items[0]?.id ?? 0 };
    const editable = mayChange(facility);
    const sections = {
      uses: el("div"), signage: el("div"), maintenance: el("div"), history: el("div"),
    };
    const readOnly = editable ? null : el("p", { class: "hint read-only", id: "read-only" },
      t(writes() ? "facility.read_only" : "facility.read_only_role"));
    replace(view,
      el("p", {}, el("a", { href: "#facilities" }, t("facility.back"))),
      el("h2", { id: "facility-title" }, facility.name),
      el("p", { class: "hint" }, facility.code, " · ", facility.address || ""),
      readOnly,
      fieldsCard(facility),
      editable ? editCard(facility, etag, read, async () => historyCard(sections.history, await readHistory())) : null,
      sections.uses, sections.signage, sections.maintenance, sections.history);
    usesCard(id, sections.uses);
    signageCard(id, sections.signage, editable);
    if (history) {
      maintenanceCard(id, sections.maintenance);
      historyCard(sections.history, history);
    } else {
      replace(sections.maintenance, card(t("facility.maintenance"), el("p", { class: "hint" }, t("facility.restricted"))));
    }
  }

  function fieldsCard(facility) {
    const shown = Object.entries(facility).filter(([name, value]) =>
      !["location", "footprint", "entrances", "protection_units"].includes(name) && value !== null && typeof value !== "object");
    return card(t("facility.fields"), el("dl", { class: "fields" },
      shown.map(([name, value]) => [el("dt", {}, name), el("dd", { dataset: { field: name } }, value)]),
      el("dt", {}, "entrances"), el("dd", {}, (facility.entrances || []).length)));
  }

  function editCard(facility, etag, read, saved) {
    const form = el("form", { id: "edit-form" },
      EDITABLE.map(([name, kind]) => el("label", {}, el("span", {}, name),
        Array.isArray(kind)
          ? el("select", { name }, options(kind, (v) => t(`status.${v}`), facility[name]))
          : el("input", { name, type: kind, value: facility[name] ?? "" }))),
      el("button", { type: "submit" }, t("facility.save")),
      el("div", { id: "edit-result", role: "status" }));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const result = form.querySelector("#edit-result");
      const changes = {};
      for (const [name, kind] of EDITABLE) {
        const raw = form[name].value.trim();
        const value = raw === "" ? null : kind === "number" ? Number(raw) : raw;
        if (value !== (facility[name] ?? null)) changes[name] = value;
      }
      if (!Object.keys(changes).length) return replace(result, el("p", { class: "hint" }, t("facility.nothing")));
      try {
        const { data, response } = await call(`/v1/facilities/${facility.id}`, {
          method: "PATCH", json: changes, headers: { "If-Match": etag } });
        Object.assign(facility, data);
        etag = response.headers.get("ETag");
        read.version = data.version;
        replace(result, el("p", { class: "result" }, t("facility.saved", { version: data.version })));
        document.getElementById("facility-title").textContent = data.name;
        saved();
      } catch (error) {
        if (error instanceof ApiError && error.status === 412) return conflict(result, facility, read);
        replace(result, failure(error));
      }
    });
    return card(t("facility.edit"), form);
  }

  // Someone saved first: say who changed what since the version edited, and offer the
  // latest version instead of overwriting it. The changes are the facility's events after
  // the newest one read with that version, at most as many as the versions written since
  // (an event read before the facility may belong to the version read; an import writes a
  // version and no event of the facility). History first, again: a write between the two
  // reads then counts a version whose event is not listed, never the other way round.
  async function conflict(target, facility, read) {
    const box = el("div", { class: "card conflict", id: "conflict" }, el("h3", {}, t("conflict.title")));
    replace(target, box);
    try {
      const { data } = await historyOf(facility.id);
      const { data: latest } = await call(`/v1/facilities/${facility.id}`);
      box.append(el("p", { class: "hint" }, t("conflict.versions", { read: read.version, now: latest.version })));
      const newer = data.items.filter((e) => e.entity === "facility" && e.id > read.lastEvent)
        .slice(0, Math.max(0, latest.version - read.version));
      for (const event of newer) {
        box.append(el("p", {}, t("conflict.changes", { actor: event.actor || "–", at: dateTime(event.at) })),
          el("ul", {}, Object.entries(event.changes || {}).map(([field, change]) =>
            el("li", {}, `${field}: ${display(change.old)} → ${display(change.new)}`))));
      }
    } catch (error) {
      box.append(failure(error));
    }
    box.append(el("button", { type: "button", on: { click: () => facilityPage(facility.id) } }, t("conflict.reload")));
  }

  function display(value) {
    if (value === null || value === undefined) return "–";
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  function age(seconds) {
    if (seconds < 120) return `${Math.round(seconds)} s`;
    if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
    return `${Math.round(seconds / 3600)} h`;
  }

  async function usesCard(id, target) {
    try {
      const { data } = await call(`/v1/facilities/${id}/uses`);
      const rows = data.map((use) => {
        const a = use.availability;
        let feed = "";
        if (use.type === "parking") {
          feed = !a || a.age_seconds === null ? t("facility.feed_none")
            : a.stale ? t("facility.feed_stale", { age: age(a.age_seconds) }) : t("facility.feed", { age: age(a.age_seconds) });
        }
        return el("tr", {}, el("td", {}, use.type), el("td", {}, use.name || ""), el("td", {}, use.opening_hours || ""),
          el("td", {}, use.open_now ? "✓" : ""), el("td", { class: "feed" }, feed));
      });
      replace(target, card(t("facility.uses"), rows.length ? table(["type", "name", "opening_hours", "open_now", "feed"], rows) : t("facility.none")));
    } catch (error) {
      replace(target, card(t("facility.uses"), failure(error)));
    }
  }

  async function signageCard(id, target, editable) {
    let data;
    try {
      ({ data } = await call(`/v1/facilities/${id}/signage`));
    } catch (error) {
      return replace(target, card(t("facility.signage"), failure(error)));
    }
    const status = el("span", { id: "signage-status", class: `badge ${data.complete ? "good" : "bad"}` },
      t(data.complete ? "facility.complete" : "facility.incomplete"));
    const requirements = table([t("sign.kind"), t("facility.required"), t("facility.installed_count")],
      data.requirements.map((r) => el("tr", { class: r.satisfied ? "" : "error" },
        el("td", {}, r.kind), el("td", {}, r.min_count), el("td", {}, r.installed))));
    const signs = table([t("sign.kind"), t("sign.status"), t("sign.installed_on"), t("sign.inspected_on"), t("sign.photos"), ""],
      data.signs.map((sign) => signRow(id, sign, editable, () => signageCard(id, target, editable))));
    const kind = el("select", { name: "kind" }, options(SIGN_KINDS));
    const signStatus = el("select", { name: "status" }, options(SIGN_STATUSES, (s) => t(`signstatus.${s}`), "installed"));
    const add = el("form", { class: "row", id: "add-sign" }, kind, signStatus, el("button", { type: "submit" }, t("facility.add_sign")));
    const result = el("div", { role: "status" });
    add.addEventListener("submit", async (event) => {
      event.preventDefault();
      const sign = { kind: kind.value, status: signStatus.value };
      if (sign.status === "installed") sign.installed_on = today();
      try {
        await call(`/v1/facilities/${id}/signs`, { method: "POST", json: sign });
        signageCard(id, target, editable);
      } catch (error) {
        replace(result, failure(error));
      }
    });
    replace(target, card(t("facility.signage"), el("p", {}, status), requirements, signs, editable ? [add, result] : null));
  }

  function signRow(facilityId, sign, editable, refresh) {
    const status = el("select", { name: "status" }, options(SIGN_STATUSES, (s) => t(`signstatus.${s}`), sign.status));
    const photo = el("input", { type: "file", accept: "image/jpeg,image/png,image/webp", capture: "environment", "aria-label": t("sign.upload") });
    const result = el("span", { role: "status" });
    const save = el("button", { type: "button", class: "secondary", on: { click: async () => {
      const change = { status: status.value };
      if (status.value === "installed" && !sign.installed_on) change.installed_on = today();
      try {
        const [file] = photo.files;
        if (file) {
          const { data } = await call("/v1/media/photos", { method: "POST", body: file, headers: { "Content-Type": file.type } });
          change.photos = [...sign.photos, data.sha256];
        }
        await call(`/v1/facilities/${facilityId}/signs/${sign.id}`, {
          method: "PATCH", json: change, headers: { "If-Match": `"${sign.version}"` } });
        refresh();
      } catch (error) {
        replace(result, failure(error));
      }
    } } }, t("sign.save"));
    if (!editable) status.disabled = true;
    return el("tr", { dataset: { signId: sign.id, kind: sign.kind } },
      el("td", {}, sign.kind), el("td", {}, status), el("td", {}, sign.installed_on || ""), el("td", {}, sign.inspected_on || ""),
      el("td", { class: "photos" }, sign.photos.map((digest) =>
        el("img", { src: `/v1/media/photos/${encodeURIComponent(digest)}`, alt: "" })), editable ? photo : null),
      el("td", {}, editable ? [save, result] : null));
  }

  async function maintenanceCard(id, target) {
    try {
      const [{ data: records }, { data: findings }] = await Promise.all([
        call(`/v1/facilities/${id}/maintenance`), call(`/v1/facilities/${id}/findings?open=true`)]);
      replace(target, card(t("facility.maintenance"),
        records.length ? table(["performed_on", "kind", "performed_by", "checks", "note"], records.map((r) =>
          el("tr", {}, el("td", {}, r.performed_on), el("td", {}, r.kind), el("td", {}, r.performed_by || ""),
            el("td", {}, r.checks.length), el("td", {}, r.note || "")))) : el("p", {}, t("facility.none")),
        el("h3", {}, t("facility.findings")),
        findings.length ? el("ul", {}, findings.map((f) => el("li", {}, `${f.item_code ?? ""} · ${f.severity ?? ""} · ${f.finding ?? ""}`)))
          : el("p", {}, t("facility.none"))));
    } catch (error) {
      replace(target, card(t("facility.maintenance"), failure(error)));
    }
  }

  // `answer` is what the history's request gave: its answer, or the error it threw.
  function historyCard(target, answer) {
    if (answer instanceof Error) return replace(target, card(t("facility.history"), failure(answer)));
    const { data } = answer;
    replace(target, card(t("facility.history"), data.items.length ? table(["at", "actor", "action", "entity", "changes"],
      data.items.map((e) => el("tr", {}, el("td", {}, dateTime(e.at)), el("td", {}, e.actor || ""), el("td", {}, e.action),
        el("td", {}, `${e.entity} ${e.entity_id}`),
        el("td", {}, Object.entries(e.changes || {}).map(([f, c]) => `${f}: ${display(c.old)} → ${display(c.new)}`).join("; ")))))
      : el("p", {}, t("facility.none"))));
  }

  // Reports ------------------------------------------------------------------------------------

  function reportsPage() {
    const status = el("select", { name: "status" }, el("option", { value: "" }, t("filter.any")),
      options(["open", "acknowledged", "resolved"], (s) => t(`status.${s}`), "open"));
    const form = el("form", { class: "filters" }, el("label", {}, el("span", {}, t("reports.status")), status),
      el("button", { type: "submit" }, t("filter.apply")));
    const results = el("div", { id: "report-results" });
    replace(view, form, results);
    const load = async () => {
      const query = new URLSearchParams({ limit: "100" });
      if (status.value) query.set("status", status.value);
      try {
        const { data } = await call(`/v1/reports?${query}`);
        replace(results, data.items.length ? table(
          [t("reports.created"), t("reports.facility"), t("reports.kind"), t("reports.text"), t("reports.contact"), t("reports.status"), t("reports.actions")],
          data.items.map((report) => reportRow(report, load))) : el("p", {}, t("reports.empty")));
      } catch (error) {
        replace(results, failure(error));
      }
    };
    form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
    load();
  }

  function reportRow(report, reload) {
    const note = el("input", { name: "note", maxlength: 2000, placeholder: t("reports.note") });
    const result = el("span", { role: "status" });
    // The row shows the answer in place, so the manager sees what changed.
    const update = async (body) => {
      try {
        const { data } = await call(`/v1/reports/${report.id}`, {
          method: "PATCH", json: body, headers: { "If-Match": `"${report.version}"` } });
        row.replaceWith(reportRow(data, reload));
      } catch (error) {
        if (error instanceof ApiError && error.status === 412) return reload();
        replace(result, failure(error));
      }
    };
    const actions = report.status === "resolved" ? [report.resolution_note || ""] : [
      report.status === "open" ? el("button", { type: "button", class: "secondary", on: { click: () => update({ status: "acknowledged" }) } }, t("reports.acknowledge")) : null,
      note,
      el("button", { type: "button", on: { click: () => update({ status: "resolved", note: note.value }) } }, t("reports.resolve")),
      result,
    ];
    const row = el("tr", { dataset: { reportId: report.id } },
      el("td", {}, dateTime(report.created_at)),
      el("td", {}, el("a", { href: `#facility/${report.facility_id}` }, report.facility_id)),
      el("td", {}, report.kind), el("td", { class: "report-text" }, report.description || ""), el("td", {}, report.contact || ""),
      el("td", { class: "report-status" }, t(`status.${report.status}`)), el("td", {}, el("div", { class: "row" }, actions)));
    return row;
  }

  // Dashboards -------------------------------------------------------------------------------

  function dashboardsPage() {
    const code = el("input", { name: "admin_code", pattern: "[0-9]{6}", size: 7, value: defaultCode() || "340000" });
    const form = el("form", { class: "filters", id: "dashboard-form" }, el("label", {}, el("span", {}, t("dash.scope")), code),
      el("button", { type: "submit" }, t("filter.apply")));
    const charts = el("div", { class: "charts" });
    replace(view, form, charts);
    const draw = () => {
      const parts = [el("div"), el("div"), el("div"), el("div"), el("div")];
      replace(charts, parts);
      const level = levelOf(code.value);
      signageCharts(code.value, level, parts[0], parts[1]);
      overdueChart(code.value, level, parts[2]);
      parkingChart(code.value, parts[3]);
      coverageChart(code.value, parts[4]);
    };
    form.addEventListener("submit", (event) => { event.preventDefault(); draw(); });
    draw();
  }

  function chartCard(target, id, title, chart, csv) {
    replace(target, el("section", { class: "card", id }, el("h2", {}, title), chart,
      el("p", {}, Charts.csvLink(t("dash.csv"), `${id}.csv`, csv.header, csv.rows))));
  }

  // GB/T 2260 codes nest by digit pairs: XX0000 a province, XXYY00 a city. A province's
  // figures are given per city, a city's per district, and a district's per work.
  const levelOf = (code) => (code.endsWith("0000") ? "province" : code.endsWith("00") ? "city" : "district");

  const percent = (ratio) => (ratio === null || ratio === undefined ? "–" : `${(ratio * 100).toFixed(1)}%`);

  async function signageCharts(code, level, nowTarget, timeTarget) {
    try {
      const { data } = await call(`/v1/signage/progress?admin_code=${code}&parking_only=true`);
      if (level === "district") await incompleteWorks(code, data, nowTarget);
      else {
        chartCard(nowTarget, "signage-now", t(`dash.signage_now.${level}`),
          Charts.bars(data.groups.map((g) => ({ label: g.name || g.code, value: g.ratio || 0,
            text: `${number(g.complete)}/${number(g.total)} (${percent(g.ratio)})` }))),
          { header: ["code", "name", "complete", "total", "ratio"], rows: data.groups.map((g) => [g.code, g.name, g.complete, g.total, g.ratio]) });
      }
      // Each division's own timeline: its completed works by month over its total (a
      // district's groups are the district itself).
      const timelines = level === "district" ? data.groups.map((g) => [g, data]) : await Promise.all(data.groups.map((g) =>
        call(`/v1/signage/progress?admin_code=${g.code}&parking_only=true`).then(({ data: d }) => [g, d])));
      const months = [...new Set(timelines.flatMap(([, d]) => d.timeline.map((m) => m.month)))].sort();
      const series = timelines.map(([g, d]) => {
        const byMonth = new Map(d.timeline.map((m) => [m.month, m.cumulative_completed]));
        let last = 0;
        return { name: g.name || g.code, values: months.map((m) => { last = byMonth.get(m) ?? last; return d.total ? last / d.total : null; }) };
      });
      const rows = timelines.flatMap(([g, d]) => d.timeline.map((m) => [m.month, g.code, g.name, m.installs, m.completed, m.cumulative_completed, d.total]));
      chartCard(timeTarget, "signage-timeline", t(`dash.signage.${level}`),
        el("div", {}, Charts.lines(months, series, { max: 1 }),
          el("ul", { class: "row" }, series.map((s, n) => el("li", { class: "badge", dataset: { color: n } }, s.name)))),
        { header: ["month", "code", "name", "installs", "completed", "cumulative_completed", "total"], rows });
      colorLegend(timeTarget);
    } catch (error) {
      replace(nowTarget, failure(error));
    }
  }

  // A district's works that lack a sign its locality requires, or carry a damaged one.
  async function incompleteWorks(code, progress, target) {
    const { data } = await call(`/v1/signage/incomplete?admin_code=${code}&limit=1000`);
    const missing = (work) => work.missing.map((r) => `${r.kind} ×${r.min_count - r.installed}`).join(", ");
    chartCard(target, "signage-now", t("dash.signage_now.district"),
      el("div", {}, el("p", { class: "hint" }, t("dash.complete_of", { complete: number(progress.complete), total: number(progress.total) })),
        table([t("col.code"), t("col.name"), t("dash.missing"), t("dash.damaged")], data.items.map((work) =>
          el("tr", { dataset: { facilityId: work.facility_id } }, el("td", {}, work.code),
            el("td", {}, el("a", { href: `#facility/${work.facility_id}` }, work.name)), el("td", {}, missing(work)), el("td", {}, work.damaged))))),
      { header: ["code", "name", "missing", "damaged"], rows: data.items.map((work) => [work.code, work.name, missing(work), work.damaged]) });
  }

  function colorLegend(target) {
    for (const item of target.querySelectorAll("li[data-color]")) item.style.borderLeft = `10px solid ${Charts.color(Number(item.dataset.color))}`;
  }

  async function overdueChart(code, level, target) {
    try {
      if (level === "district") return await overdueWorks(code, target);
      const { data } = await call(`/v1/maintenance/overdue/summary?admin_code=${code}`);
      chartCard(target, "overdue", t(`dash.overdue.${level}`),
        Charts.bars(data.groups.map((g) => ({ label: g.name || g.code, value: g.facilities, text: `${number(g.facilities)} · ${number(g.items)}` }))),
        { header: ["code", "name", "facilities", "items", "on"], rows: data.groups.map((g) => [g.code, g.name, g.facilities, g.items, data.on]) });
    } catch (error) {
      replace(target, failure(error));
    }
  }

  // A district's works with overdue items: the count of items and the earliest day overdue.
  async function overdueWorks(code, target) {
    const { data } = await call(`/v1/maintenance/overdue?admin_code=${code}&limit=1000`);
    const works = new Map();
    for (const item of data.items) {
      const work = works.get(item.facility_id) || { ...item, items: 0 };
      work.items += 1;
      if (item.overdue_since < work.overdue_since) work.overdue_since = item.overdue_since;
      works.set(item.facility_id, work);
    }
    const rows = [...works.values()];
    chartCard(target, "overdue", t("dash.overdue.district"),
      table([t("col.code"), t("col.name"), t("dash.items"), t("dash.since")], rows.map((work) =>
        el("tr", { dataset: { facilityId: work.facility_id } }, el("td", {}, work.code),
          el("td", {}, el("a", { href: `#facility/${work.facility_id}` }, work.name)), el("td", {}, work.items), el("td", {}, work.overdue_since)))),
      { header: ["code", "name", "items", "overdue_since", "on"], rows: rows.map((w) => [w.code, w.name, w.items, w.overdue_since, data.on]) });
  }

  async function parkingChart(code, target) {
    try {
      const { data } = await call(`/v1/stats/parking-by-year?admin_code=${code}`);
      chartCard(target, "parking-by-year", t("dash.parking"),
        Charts.bars(data.map((y) => ({ label: String(y.year), value: y.new_spaces, text: number(y.new_spaces) }))),
        { header: ["year", "car_parks", "new_spaces", "cumulative_spaces"], rows: data.map((y) => [y.year, y.car_parks, y.new_spaces, y.cumulative_spaces]) });
    } catch (error) {
      replace(target, failure(error));
    }
  }

  async function coverageChart(code, target) {
    try {
      const { data: layers } = await call("/v1/planning/population-layers");
      if (!layers.length) return replace(target, card(t("dash.coverage"), el("p", {}, t("dash.no_layer"))));
      const by = code.endsWith("0000") ? "city" : "district";
      const { data } = await call(`/v1/planning/population-layers/${layers[0].id}/coverage?by=${by}&admin_code=${code}`);
      chartCard(target, "coverage", `${t("dash.coverage")} · ${layers[0].name}`,
        Charts.bars(data.areas.map((a) => ({ label: a.admin_name || a.admin_code, value: 1 - (a.covered_share ?? 1),
          text: `${percent(1 - (a.covered_share ?? 1))} · ${number(a.residents - a.covered_residents)}` }))),
        { header: ["code", "name", "residents", "covered_residents", "covered_share", "radius_m"],
          rows: data.areas.map((a) => [a.admin_code, a.admin_name, a.residents, a.covered_residents, a.covered_share, data.radius_m]) });
    } catch (error) {
      replace(target, failure(error));
    }
  }

  start();
})();
