// The public map: the API's vector tiles (divisions as the base, car parks, shelters),
// the nearest car parks and shelters around a point, and a problem-report form.
"use strict";

(() => {
  const { t, el, replace, api, safeUrl, problemText, number, dateTime } = RF;
  const config = document.body.dataset;
  const coordsys = config.coordsys || "wgs84";

  RF.addStrings({
    "map.title": ["人防工程地图", "Civil air defense map"],
    "map.near_me": ["附近的车库和掩蔽所", "Car parks and shelters near me"],
    "map.click_hint": ["或点击地图上的一点", "or click a point on the map"],
    "map.open_now": ["正在营业", "open now"],
    "map.with_free": ["有空车位", "with free spaces"],
    "map.shelters": ["附近的掩蔽所", "Shelters nearby"],
    "map.parking": ["附近的人防车库", "Car parks nearby"],
    "map.searching": ["正在查找…", "Searching…"],
    "map.none": ["附近没有找到", "Nothing found nearby"],
    "map.drill": ["【演练】", "[Drill]"],
    "map.found": ["找到 {count} 个", "{count} found"],
    "map.no_location": ["无法获取位置：{message}", "Your position is not available: {message}"],
    "map.distance": ["{metres} 米", "{metres} m"],
    "map.free": ["空位 {free}/{total}", "{free}/{total} free"],
    "map.free_unknown": ["共 {total} 个车位，暂无实时数据", "{total} spaces, no live figure"],
    "map.open": ["营业中", "open"],
    "map.closed": ["未营业", "closed"],
    "map.capacity": ["可掩蔽 {persons} 人", "shelters {persons} people"],
    "map.here": ["此处", "here"],
    "map.report_here": ["报告问题", "Report a problem"],
    "nav.amap": ["高德导航", "Amap"],
    "nav.baidu": ["百度导航", "Baidu Maps"],
    "nav.tencent": ["腾讯导航", "Tencent Maps"],
    "report.title": ["报告问题", "Report a problem"],
    "report.kind": ["问题", "Problem"],
    "report.description": ["说明", "Details"],
    "report.contact": ["联系方式（可选，仅管理人员可见）", "Contact (optional, seen only by managers)"],
    "report.photo": ["照片（可选）", "Photo (optional)"],
    "report.submit": ["提交", "Send"],
    "report.sending": ["正在提交…", "Sending…"],
    "report.sent": ["已提交，编号 {id}，状态：{status}", "Sent: report {id}, status {status}"],
    "report.follow": ["查看进度", "Follow its status"],
    "progress.title": ["问题报告 {id}", "Report {id}"],
    "progress.step": ["进度", "Step"],
    "progress.at": ["时间", "When"],
    "progress.created": ["已提交", "sent"],
    "progress.acknowledged": ["已受理", "acknowledged"],
    "progress.resolved": ["已解决", "resolved"],
    "progress.pending": ["尚未", "not yet"],
    "progress.now": ["当前状态：{status}", "Now: {status}"],
    "progress.note": ["处理说明：{note}", "Resolution: {note}"],
    "progress.refresh": ["刷新", "Refresh"],
    "progress.unknown": ["没有这个问题报告", "No such report"],
    "kind.locked": ["上锁无法进入", "Locked"],
    "kind.closed": ["关闭", "Closed"],
    "kind.missing_sign": ["缺少标识", "Sign missing"],
    "kind.damaged_sign": ["标识损坏", "Sign damaged"],
    "kind.wrong_location": ["位置有误", "Wrong location"],
    "kind.bad_condition": ["设施状况差", "Bad condition"],
    "kind.other": ["其他", "Other"],
    "status.open": ["待处理", "open"],
    "status.acknowledged": ["已受理", "acknowledged"],
    "status.resolved": ["已解决", "resolved"],
  });
  RF.translate(document);
  document.title = t("map.title");

  const KINDS = ["locked", "closed", "missing_sign", "damaged_sign", "wrong_location", "bad_condition", "other"];
  replace(document.getElementById("report-kind"), KINDS.map((kind) => el("option", { value: kind }, t(`kind.${kind}`))));

  maplibregl.setWorkerUrl(config.worker);
  const tilejson = (id) => `${location.origin}/ogc/collections/${id}/tiles/WebMercatorQuad/tilejson.json`;
  const offline = {
    version: 8,
    sources: {},
    layers: [{ id: "background", type: "background", paint: { "background-color": "#f3f1ec" } }],
  };
  const map = new maplibregl.Map({
    container: "map",
    style: config.basemap || offline,
    center: [117.25, 31.85],
    zoom: 7,
    hash: true,
    attributionControl: { compact: true },
  });
  // The browser tests read the map's rendered features through this handle.
  window.rfMap = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));

  const PARKING = "#1f5fbf";
  const SHELTER = "#2e7d4f";
  const clusterRadius = ["interpolate", ["linear"], ["get", "count"], 1, 4, 50, 10, 1000, 22];

  map.on("load", () => {
    map.addSource("divisions", { type: "vector", url: tilejson("divisions") });
    map.addSource("parking", { type: "vector", url: tilejson("parking") });
    map.addSource("shelters", { type: "vector", url: tilejson("shelters") });
    const divisions = { source: "divisions", "source-layer": "divisions", type: "line" };
    map.addLayer({ ...divisions, id: "district-lines", minzoom: 8, filter: ["==", ["get", "level"], "district"],
      paint: { "line-color": "#b9b1a2", "line-width": 0.7 } });
    map.addLayer({ ...divisions, id: "city-lines", filter: ["==", ["get", "level"], "city"],
      paint: { "line-color": "#8c8272", "line-width": 1.3 } });
    map.addLayer({ ...divisions, id: "province-lines", filter: ["==", ["get", "level"], "province"],
      paint: { "line-color": "#6b6152", "line-width": 2.2 } });
    for (const [id, color] of [["shelters", SHELTER], ["parking", PARKING]]) {
      map.addLayer({ id: `${id}-clusters`, type: "circle", source: id, "source-layer": `${id}_clusters`,
        paint: { "circle-color": color, "circle-opacity": 0.55, "circle-radius": clusterRadius,
                 "circle-stroke-color": "#fff", "circle-stroke-width": 1 } });
      map.addLayer({ id, type: "circle", source: id, "source-layer": id,
        paint: { "circle-color": color, "circle-radius": 6, "circle-stroke-color": "#fff", "circle-stroke-width": 2 } });
    }
  });

  const clickable = ["parking", "shelters", "parking-clusters", "shelters-clusters"];
  map.on("click", (event) => {
    const [hit] = map.queryRenderedFeatures(event.point, { layers: clickable.filter((id) => map.getLayer(id)) });
    if (!hit) return nearby(event.lngLat.lng, event.lngLat.lat, coordsys);
    if (hit.layer.id.endsWith("-clusters")) {
      return map.easeTo({ center: event.lngLat, zoom: Math.min(map.getZoom() + 2, 15) });
    }
    showFacility(hit.layer.id === "parking" ? hit.properties.facility_id : hit.properties.id);
  });
  for (const id of clickable) {
    map.on("mouseenter", id, () => { map.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", id, () => { map.getCanvas().style.cursor = ""; });
  }

  // Near me ---------------------------------------------------------------------------

  let here = null;
  let lastPoint = null;

  document.getElementById("near-me").addEventListener("click", () => {
    const status = document.getElementById("parking-status");
    document.getElementById("parking-panel").hidden = false;
    status.textContent = t("map.searching");
    navigator.geolocation.getCurrentPosition(
      (position) => nearby(position.coords.longitude, position.coords.latitude, "wgs84"),
      (error) => { status.textContent = t("map.no_location", { message: error.message }); },
      { enableHighAccuracy: true, timeout: 15000 },
    );
  });
  for (const id of ["open-now", "with-free"]) {
    document.getElementById(id).addEventListener("change", () => lastPoint && nearby(...lastPoint));
  }

  function metres(value) {
    return t("map.distance", { metres: number(Math.round(value)) });
  }

  function navigation(links) {
    return el("span", { class: "nav" },
      ["amap", "baidu", "tencent"].filter((app) => links && safeUrl(links[app])).map((app) =>
        el("a", { href: safeUrl(links[app]), target: "_blank", rel: "noopener noreferrer" }, t(`nav.${app}`))));
  }

  async function nearby(lon, lat, system) {
    lastPoint = [lon, lat, system];
    if (!here) here = new maplibregl.Marker({ color: "#c0392b" });
    here.setLngLat([lon, lat]).addTo(map);
    const parkingList = document.getElementById("parking");
    const status = document.getElementById("parking-status");
    document.getElementById("parking-panel").hidden = false;
    status.textContent = t("map.searching");
    const query = new URLSearchParams({ lon: lon.toFixed(7), lat: lat.toFixed(7), limit: "10", radius: "5000", coordsys: system });
    if (document.getElementById("open-now").checked) query.set("open_now", "true");
    if (document.getElementById("with-free").checked) query.set("min_free", "1");
    shelters(lon, lat, system);
    try {
      const { data } = await api(`/v1/parking/nearby?${query}`);
      status.textContent = data.items.length ? t("map.found", { count: data.items.length }) : t("map.none");
      replace(parkingList, data.items.map(parkingItem));
    } catch (error) {
      status.textContent = t("error.generic", { message: problemText(error) });
      replace(parkingList);
    }
  }

  function parkingItem(item) {
    const free = item.availability?.realtime_free_capacity;
    const total = item.parking?.total_spaces;
    const spaces = free === null || free === undefined
      ? t("map.free_unknown", { total: number(total) })
      : t("map.free", { free: number(free), total: number(total) });
    return el("li", { class: "item", dataset: { facilityId: item.facility_id } },
      el("button", { type: "button", class: "link", on: { click: () => {
        map.flyTo({ center: [item.location.lon, item.location.lat], zoom: 16 });
        showFacility(item.facility_id);
      } } }, item.name),
      el("span", { class: "meta" }, metres(item.distance_m), " · ", spaces, " · ",
        el("span", { class: item.open_now ? "open" : "closed" }, t(item.open_now ? "map.open" : "map.closed"))),
      navigation(item.navigation));
  }

  async function shelters(lon, lat, system) {
    const panel = document.getElementById("shelters-panel");
    const list = document.getElementById("shelters");
    try {
      const query = new URLSearchParams({ lon: lon.toFixed(7), lat: lat.toFixed(7), limit: "5", coordsys: system });
      const { items } = (await api(`/v1/shelters/nearby?${query}`)).data;
      panel.hidden = false;
      replace(list, items.length ? items.map(shelterItem) : el("li", {}, t("map.none")));
    } catch (error) {
      panel.hidden = false;
      replace(list, el("li", {}, t("error.generic", { message: problemText(error) })));
    }
  }

  function shelterItem(item) {
    const id = item.facility_id;
    return el("li", { class: "item", dataset: { facilityId: id } },
      el("button", { type: "button", class: "link", on: { click: () => showFacility(id) } }, item.name),
      el("span", { class: "meta" }, metres(item.distance_m),
        item.capacity_persons ? ` · ${t("map.capacity", { persons: number(item.capacity_persons) })}` : ""),
      navigation(item.navigation));
  }

  // Alerts ------------------------------------------------------------------------------

  async function alerts() {
    const { items } = (await api("/v1/alerts/active")).data;
    const banner = document.getElementById("alert");
    banner.hidden = items.length === 0;
    document.body.classList.toggle("alert-active", items.length > 0);
    replace(banner, items.map((alert) => {
      const info = alert.infos[0] || {};
      return el("p", {}, alert.drill ? `${t("map.drill")} ` : "", info.headline || info.event || "");
    }));
  }
  const showAlerts = () => alerts().catch((error) => console.warn("alerts:", problemText(error)));
  showAlerts();
  // An alert issued, updated, ended or expiring while the page is open shows at once. Each
  // (re)connection reads the alerts in force, as changes made while it was away are not
  // replayed; a refused stream (503 when a worker holds all it may, 429) is closed by the
  // browser for good, so the page asks again later, waiting longer each time.
  function follow(wait) {
    const stream = new EventSource("/v1/alerts/stream");
    stream.addEventListener("open", () => { wait = 2000; showAlerts(); });
    stream.addEventListener("alert", showAlerts);
    stream.addEventListener("error", () => {
      if (stream.readyState !== EventSource.CLOSED) return; // the browser retries by itself
      showAlerts();
      setTimeout(() => follow(Math.min(wait * 2, 120000)), wait);
    });
  }
  follow(2000);

  // A facility and the report form ---------------------------------------------------------

  let facilityId = null;

  async function showFacility(id) {
    const panel = document.getElementById("facility-panel");
    try {
      const { data } = await api(`/v1/facilities/${encodeURIComponent(id)}`);
      facilityId = data.id;
      document.getElementById("facility-name").textContent = data.name;
      document.getElementById("facility-address").textContent = data.address || "";
      document.getElementById("report-result").textContent = "";
      panel.hidden = false;
      panel.scrollIntoView({ block: "nearest" });
    } catch (error) {
      panel.hidden = true;
    }
  }

  document.getElementById("report-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const result = document.getElementById("report-result");
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    result.textContent = t("report.sending");
    try {
      const report = { kind: form.kind.value };
      if (form.description.value.trim()) report.description = form.description.value.trim();
      if (form.contact.value.trim()) report.contact = form.contact.value.trim();
      const [photo] = form.photo.files;
      if (photo) {
        const { data } = await api("/v1/media/photos", { method: "POST", body: photo, headers: { "Content-Type": photo.type } });
        report.photo = data.sha256;
      }
      const { data } = await api(`/v1/facilities/${facilityId}/reports`, { method: "POST", json: report });
      replace(result,
        el("span", { class: "report-id", dataset: { reportId: data.id } }, t("report.sent", { id: data.id, status: t(`status.${data.status}`) })), " ",
        progressLink(data.id));
      form.reset();
    } catch (error) {
      result.textContent = t("error.generic", { message: problemText(error) });
    } finally {
      button.disabled = false;
    }
  });

  // A report's progress -----------------------------------------------------------------

  // The link is this page with ?report=<id>, so it can be kept and opened again later; a
  // click shows the progress here without leaving the map.
  function progressLink(id) {
    const href = `${location.pathname}?report=${encodeURIComponent(id)}${location.hash}`;
    return el("a", { href, class: "follow", on: { click: (event) => {
      event.preventDefault();
      history.pushState(null, "", href);
      showProgress(id);
    } } }, t("report.follow"));
  }

  const STEPS = ["created", "acknowledged", "resolved"];
  // Report ids are UUIDs: a link mistyped or made up is no report, not a request the API
  // refuses with a validation problem.
  const REPORT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

  async function showProgress(id) {
    const panel = document.getElementById("progress-panel");
    const body = document.getElementById("progress");
    panel.hidden = false;
    document.getElementById("progress-title").textContent = t("progress.title", { id });
    if (!REPORT_ID.test(id)) {
      replace(body, el("p", { class: "error" }, t("progress.unknown")));
      panel.scrollIntoView({ block: "nearest" });
      return;
    }
    replace(body, el("p", { class: "hint" }, t("map.searching")));
    try {
      const { data } = await api(`/v1/reports/${encodeURIComponent(id)}`);
      replace(body,
        el("p", { class: "progress-status" }, t("progress.now", { status: t(`status.${data.status}`) })),
        el("table", { class: "steps" }, el("tbody", {}, STEPS.map((step) => {
          const at = data[`${step}_at`];
          return el("tr", { class: at ? "done" : "pending", dataset: { step } },
            el("th", {}, t(`progress.${step}`)), el("td", {}, at ? dateTime(at) : t("progress.pending")));
        }))),
        data.resolution_note ? el("p", { class: "progress-note" }, t("progress.note", { note: data.resolution_note })) : null,
        el("button", { type: "button", class: "secondary", on: { click: () => showProgress(id) } }, t("progress.refresh")));
    } catch (error) {
      replace(body, el("p", { class: "error" }, error.status === 404 ? t("progress.unknown") : t("error.generic", { message: problemText(error) })));
    }
    panel.scrollIntoView({ block: "nearest" });
  }

  const followed = new URLSearchParams(location.search).get("report");
  if (followed) showProgress(followed);
})();
