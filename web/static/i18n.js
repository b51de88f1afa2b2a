// Every string the map page shows, in Chinese and English: one dictionary, one lookup.
// The words follow the project's domain glossary (警务区 beat, 出入口 entrance, 物业管理 property
// management, 门禁 access control, 特种行业 special trade, 危险物品 hazardous material).
window.beatbookI18n = (function () {
  const STRINGS = {
    "app.title": { en: "Beatbook", zh: "Beatbook 社区警务地图" },
    "login.user": { en: "User", zh: "用户名" },
    "login.password": { en: "Password", zh: "密码" },
    "login.submit": { en: "Log in", zh: "登录" },
    "login.failed": { en: "wrong username or password", zh: "用户名或密码错误" },
    "logout": { en: "Log out", zh: "退出" },
    "language": { en: "Language", zh: "语言" },

    "role.officer": { en: "officer", zh: "社区民警" },
    "role.supervisor": { en: "supervisor", zh: "主管" },
    "role.planner": { en: "planner", zh: "规划人员" },
    "role.admin": { en: "admin", zh: "管理员" },

    "view": { en: "View", zh: "视图" },
    "view.officer": { en: "Tonight's patrol", zh: "今晚巡逻" },
    "view.supervisor": { en: "Beats and workload", zh: "警务区与工作量" },
    "view.planner": { en: "Camera and access-control siting", zh: "监控与门禁选址" },
    "beat": { en: "Beat", zh: "警务区" },

    "period": { en: "Period", zh: "时段" },
    "period.start": { en: "From", zh: "开始日期" },
    "period.end": { en: "To", zh: "结束日期" },
    "period.hours": { en: "Hours", zh: "时间窗" },
    "period.hoursHint": { en: "HH:MM-HH:MM, may cross midnight", zh: "HH:MM-HH:MM，可跨午夜" },
    "period.latest": { en: "latest", zh: "最新" },
    "period.apply": { en: "Apply", zh: "应用" },
    "error.hours": { en: "Hours must be HH:MM-HH:MM with hours 00-23, e.g. 22:00-06:00",
                     zh: "时间窗须为 HH:MM-HH:MM（小时 00-23），例如 22:00-06:00" },
    "error.bothDates": { en: "Give both dates, or neither for the latest data",
                         zh: "请同时填写两个日期，或都留空以使用最新数据" },
    "error.dateOrder": { en: "The end date is before the start date", zh: "结束日期早于开始日期" },
    "error.span": { en: "Ask for at most {days} days at a time", zh: "一次最多查询 {days} 天" },

    "reason": { en: "Entrances", zh: "出入口" },
    "reason.any": { en: "No access control or no camera", zh: "无门禁或无监控覆盖" },
    "reason.unmanaged": { en: "Unmanaged building", zh: "无物业管理" },
    "reason.no_access_control": { en: "No access control", zh: "无门禁" },
    "reason.no_camera": { en: "No camera cover", zh: "无监控覆盖" },

    "layers": { en: "Layers", zh: "图层" },
    "basemap": { en: "Background", zh: "底图" },
    "basemap.plain": { en: "Plain (offline)", zh: "空白底图（离线）" },
    "basemap.osm": { en: "OpenStreetMap", zh: "OpenStreetMap 开放街图" },
    "basemap.amap": { en: "AMap (Gaode, GCJ-02)", zh: "高德地图（GCJ-02）" },
    "basemap.tianditu": { en: "Tianditu", zh: "天地图" },
    "layer.beats": { en: "Beats", zh: "警务区" },
    "layer.choropleth": { en: "Workload per beat", zh: "各警务区工作量" },
    "layer.buildings": { en: "Buildings", zh: "楼栋" },
    "layer.entrances": { en: "Entrances", zh: "出入口" },
    "layer.cameras": { en: "Cameras and fields of view", zh: "监控摄像头及视域" },
    "layer.premises": { en: "Special-trade premises", zh: "特种行业场所" },
    "layer.hazardous": { en: "Hazardous-material sites", zh: "危险物品场所" },
    "layer.incidents": { en: "Incidents", zh: "警情" },
    "layer.streets": { en: "Streets", zh: "街道" },
    "layer.tracks": { en: "Patrol tracks (the period)", zh: "巡逻轨迹（所选时段）" },
    "layer.gaps": { en: "Patrol gaps", zh: "巡逻盲区" },
    "layer.auditOfficer": { en: "Unmanaged entrances at risk", zh: "无物业楼栋高风险出入口" },
    "layer.auditPlanner": { en: "Entrances without cover", zh: "无门禁或监控的出入口" },
    "layer.hotspots": { en: "Hot spots (90 days)", zh: "热点（90 天）" },
    "layer.density": { en: "Incident density (90 days)", zh: "警情密度（90 天）" },
    "layer.visitsDue": { en: "Home visits due", zh: "待走访住户" },
    "layer.registrationsExpiring": { en: "Temporary residence expiring (30 days)", zh: "30 天内到期的暂住登记" },
    "layer.inspectionsDue": { en: "Inspections due", zh: "待检查场所" },
    "layer.facilityIssues": { en: "Facility issues", zh: "设施报修" },
    "layer.proposal": { en: "Beats balanced anew (proposal)", zh: "重新均衡划分的警务区（建议）" },
    "layer.route": { en: "Route for tonight ({minutes} min on foot)", zh: "今晚巡逻路线（步行 {minutes} 分钟）" },
    "layer.siting": { en: "{k} new cameras: best sites", zh: "新增 {k} 个摄像头的最佳点位" },
    "layer.gates": { en: "{k} new access gates: best buildings", zh: "新增 {k} 处门禁的最佳楼栋" },

    "legend": { en: "Legend", zh: "图例" },
    "legend.beat": { en: "Beat boundary", zh: "警务区边界" },
    "legend.managed": { en: "Building with property management", zh: "有物业管理的楼栋" },
    "legend.unmanaged": { en: "Building without (unmanaged)", zh: "无物业管理的楼栋" },
    "legend.entranceManaged": { en: "Entrance of a managed building", zh: "有物业楼栋的出入口" },
    "legend.entranceUnmanaged": { en: "Entrance of an unmanaged building", zh: "无物业楼栋的出入口" },
    "legend.entranceGated": { en: "filled: with access control", zh: "实心：有门禁" },
    "legend.entranceOpen": { en: "hollow: no access control", zh: "空心：无门禁" },
    "legend.camera": { en: "Camera", zh: "摄像头" },
    "legend.cameraOff": { en: "Camera not working", zh: "摄像头故障" },
    "legend.sector": { en: "Field of view (zoomed in)", zh: "视域范围（放大后显示）" },
    "legend.premises": { en: "Premises (hotel, scrap buyer, locksmith)", zh: "特种行业场所（旅馆、废旧收购、开锁）" },
    "legend.hazard": { en: "Hazardous-material site", zh: "危险物品场所" },
    "legend.hazardRadius": { en: "Risk radius", zh: "风险半径" },
    "legend.incident": { en: "Other incident", zh: "其他警情" },
    "legend.burglary": { en: "Burglary", zh: "入室盗窃" },
    "legend.street": { en: "Street segment", zh: "街段" },
    "legend.gapStreet": { en: "Street not passed", zh: "未巡到的街道" },
    "legend.gapFocus": { en: "Focus area not passed", zh: "未巡到的重点区域" },
    "legend.gapEntrance": { en: "Entrance not passed", zh: "未巡到的出入口" },
    "legend.audit": { en: "Entrance at risk (larger: higher risk)", zh: "高风险出入口（越大风险越高）" },
    "legend.hot": { en: "Hot spot", zh: "热点" },
    "legend.cold": { en: "Cold spot", zh: "冷点" },
    "legend.density": { en: "Density (darker: more incidents)", zh: "密度（越深警情越多）" },
    "legend.contour": { en: "Contours holding 50/75/90% of incidents", zh: "包含 50/75/90% 警情的等值线" },
    "legend.classes": { en: "{from}–{to} % of the average beat", zh: "平均工作量的 {from}–{to}%" },
    "legend.proposal": { en: "Proposed beat (its workload against the mean)", zh: "建议警务区（工作量与平均之比）" },
    "legend.visitsDue": { en: "Household due a visit", zh: "待走访住户" },
    "legend.registrationsExpiring": { en: "Registration expiring or lapsed", zh: "即将到期或已过期的登记" },
    "legend.inspectionsDue": { en: "Premises or site due for inspection", zh: "待检查的场所" },
    "legend.facilityIssues": { en: "Facility issue", zh: "设施问题" },
    "legend.track": { en: "Patrol track", zh: "巡逻轨迹" },
    "legend.route": { en: "Planned route", zh: "规划路线" },
    "legend.routeStop": { en: "Stop (number: order of visit)", zh: "停留点（数字：到达顺序）" },
    "legend.site": { en: "Proposed camera (C1 adds the most; ring: its range)", zh: "建议摄像头（C1 增益最大；圆圈：视距）" },
    "legend.gate": { en: "Building proposed for an access gate", zh: "建议安装门禁的楼栋" },
    "legend.zoomIn": { en: "(zoom in to see)", zh: "（放大后显示）" },

    "print": { en: "Print briefing", zh: "打印巡逻简报" },
    "briefing.title": { en: "Night briefing, beat {beat}", zh: "夜间巡逻简报：警务区 {beat}" },
    "briefing.period": { en: "Nights {start} to {end}, {hours}", zh: "{start} 至 {end} 各夜，{hours}" },
    "briefing.summary": { en: "Streets covered: {share}. Entrances not passed: {doors}.",
                          zh: "街道覆盖率：{share}。未巡到的出入口：{doors} 个。" },
    "briefing.gaps": { en: "Longest streets not passed", zh: "未巡到的最长街段" },
    "briefing.entrances": { en: "Unmanaged entrances at greatest risk", zh: "风险最高的无物业出入口" },
    "briefing.route": { en: "Route: {minutes} min, {share} of what the gaps are worth", zh: "路线：{minutes} 分钟，覆盖盲区价值的 {share}" },
    "briefing.none": { en: "none", zh: "无" },

    "status.loading": { en: "Loading…", zh: "加载中…" },
    "status.officer": { en: "{beat}: {gaps} street gaps ({km} km), {doors} entrances not passed, {hot} hot spots",
                        zh: "{beat}：{gaps} 处街道盲区（{km} 公里），{doors} 个出入口未巡到，{hot} 个热点" },
    "status.supervisor": { en: "{beats} beats, {incidents} incidents, {start} to {end}",
                           zh: "{beats} 个警务区，{start} 至 {end} 共 {incidents} 起警情" },
    "status.planner": { en: "{beat}: {entrances} entrances without cover, {cameras} working cameras in view",
                        zh: "{beat}：{entrances} 个出入口无覆盖，视野内 {cameras} 个正常摄像头" },
    "status.proposal": { en: "Proposal: heaviest/lightest {before} → {after}.", zh: "建议：最重/最轻 {before} → {after}。" },
    "status.failed": { en: "Could not load: {message}", zh: "加载失败：{message}" },

    "field.address": { en: "Address", zh: "标准地址" },
    "field.name": { en: "Name", zh: "名称" },
    "field.use": { en: "Use", zh: "用途" },
    "field.floors": { en: "Floors", zh: "层数" },
    "field.managed": { en: "Property management", zh: "物业管理" },
    "field.property_company": { en: "Property company", zh: "物业公司" },
    "field.kind": { en: "Kind", zh: "类型" },
    "field.access_control": { en: "Access control", zh: "门禁" },
    "field.lit": { en: "Lit", zh: "照明" },
    "field.building_managed": { en: "Building managed", zh: "楼栋有物业" },
    "field.direction_deg": { en: "Direction (°)", zh: "朝向（°）" },
    "field.fov_deg": { en: "Field of view (°)", zh: "视角（°）" },
    "field.range_m": { en: "Range (m)", zh: "范围（米）" },
    "field.working": { en: "Working", zh: "正常工作" },
    "field.owner": { en: "Owner", zh: "所有者" },
    "field.trade": { en: "Trade", zh: "行业" },
    "field.licence_no": { en: "Licence", zh: "许可证号" },
    "field.category": { en: "Category", zh: "类别" },
    "field.quantity": { en: "Quantity", zh: "数量" },
    "field.storage_ok": { en: "Storage up to standard", zh: "储存合规" },
    "field.risk_radius_m": { en: "Risk radius (m)", zh: "风险半径（米）" },
    "field.type": { en: "Type", zh: "类型" },
    "field.occurred_at": { en: "When", zh: "发生时间" },
    "field.highway": { en: "Class", zh: "等级" },
    "field.length_m": { en: "Length (m)", zh: "长度（米）" },
    "field.street_id": { en: "Street segment", zh: "街段编号" },
    "field.id": { en: "Entrance", zh: "出入口编号" },
    "field.passes": { en: "Passes", zh: "经过次数" },
    "field.last_pass": { en: "Last pass", zh: "最近经过" },
    "field.priority": { en: "Priority", zh: "优先级" },
    "field.covered_m": { en: "Covered (m)", zh: "已覆盖（米）" },
    "field.rank": { en: "No.", zh: "序号" },
    "field.reasons": { en: "Why", zh: "原因" },
    "field.households": { en: "Households", zh: "户数" },
    "field.living_alone": { en: "Living alone", zh: "独居人数" },
    "field.burglaries_near": { en: "Burglaries near", zh: "附近入室盗窃" },
    "field.risk": { en: "Risk", zh: "风险值" },
    "field.passed": { en: "Passed by patrol", zh: "已巡到" },
    "field.label": { en: "Finding", zh: "结论" },
    "field.count": { en: "Incidents", zh: "警情数" },
    "field.workload": { en: "Workload (average beat = 100 %)", zh: "工作量（平均 = 100%）" },
    "field.residents_to_visit": { en: "Residents to visit", zh: "需走访人员" },
    "field.premises_due": { en: "Premises due for inspection", zh: "待检查特种行业场所" },
    "field.sites_due": { en: "Hazardous sites due", zh: "待检查危险物品场所" },
    "field.open_disputes": { en: "Open disputes", zh: "未结矛盾纠纷" },
    "field.street_km": { en: "Streets (km)", zh: "街道长度（公里）" },
    "field.rate": { en: "Per km²", zh: "每平方公里" },
    "field.z": { en: "Gi* z", zh: "Gi* z 值" },
    "field.p_adjusted": { en: "p (adjusted)", zh: "p（校正后）" },
    "field.code": { en: "Beat", zh: "警务区" },
    "field.incidents": { en: "Incidents", zh: "警情数" },
    "field.beat": { en: "Beat", zh: "警务区" },
    "field.share_of_mean": { en: "Workload against the mean", zh: "工作量与平均之比" },
    "field.units": { en: "Blocks", zh: "街区数" },
    "field.area_km2": { en: "Area (km²)", zh: "面积（平方公里）" },
    "field.polsby_popper": { en: "Compactness (Polsby-Popper)", zh: "紧凑度（Polsby-Popper）" },
    "field.last_visited": { en: "Last visit", zh: "上次走访" },
    "field.next_due": { en: "Next due", zh: "下次应到" },
    "field.days_overdue": { en: "Days overdue", zh: "逾期天数" },
    "field.valid_to": { en: "Valid to", zh: "有效期至" },
    "field.days_left": { en: "Days left", zh: "剩余天数" },
    "field.what": { en: "What", zh: "类别" },
    "field.last_inspected": { en: "Last inspected", zh: "上次检查" },
    "field.status": { en: "Status", zh: "状态" },
    "field.reported_on": { en: "Reported", zh: "报告日期" },
    "field.residents": { en: "Residents", zh: "人数" },
    "field.cycle_days": { en: "Visit every (days)", zh: "走访周期（天）" },
    "field.started_at": { en: "Started", zh: "开始" },
    "field.ended_at": { en: "Ended", zh: "结束" },
    "field.n_fixes": { en: "GPS fixes", zh: "定位点数" },
    "field.order": { en: "Order", zh: "顺序" },
    "field.arrival": { en: "Arrive", zh: "到达" },
    "field.stay_min": { en: "Stay (min)", zh: "停留（分钟）" },
    "field.value": { en: "Value", zh: "价值" },
    "field.gain": { en: "Weight it adds", zh: "新增覆盖权重" },
    "field.gain_share": { en: "Share of all it adds", zh: "新增覆盖占比" },
    "field.entrances": { en: "Entrances newly covered", zh: "新覆盖出入口" },
    "field.share": { en: "Share of incidents", zh: "警情占比" },

    "value.yes": { en: "yes", zh: "是" },
    "value.no": { en: "no", zh: "否" },
    "value.passed": { en: "passed", zh: "已巡到" },
    "value.notPassed": { en: "not passed", zh: "未巡到" },
    "value.residential": { en: "residential", zh: "住宅" },
    "value.commercial": { en: "commercial", zh: "商业" },
    "value.public": { en: "public", zh: "公共" },
    "value.industrial": { en: "industrial", zh: "工业" },
    "value.other": { en: "other", zh: "其他" },
    "value.street": { en: "street", zh: "街道" },
    "value.entrance": { en: "entrance", zh: "出入口" },
    "value.hotspot": { en: "hot spot", zh: "热点" },
    "value.main": { en: "main", zh: "主出入口" },
    "value.service": { en: "service", zh: "侧门/后门" },
    "value.garage": { en: "garage", zh: "车库" },
    "value.emergency": { en: "emergency", zh: "应急出口" },
    "value.hotel": { en: "hotel", zh: "旅馆" },
    "value.scrap_buyer": { en: "scrap buyer", zh: "废旧物品收购" },
    "value.locksmith": { en: "locksmith", zh: "开锁" },
    "value.firearms": { en: "firearms and ammunition", zh: "枪支弹药" },
    "value.explosives": { en: "explosives", zh: "爆炸物品" },
    "value.toxic_chemicals": { en: "highly toxic chemicals", zh: "剧毒化学品" },
    "value.radioactive": { en: "radioactive source", zh: "放射源" },
    "value.burglary": { en: "burglary", zh: "入室盗窃" },
    "value.theft": { en: "theft", zh: "盗窃" },
    "value.fraud": { en: "fraud", zh: "诈骗" },
    "value.vandalism": { en: "vandalism", zh: "故意毁坏财物" },
    "value.robbery": { en: "robbery", zh: "抢劫" },
    "value.commercial_street": { en: "commercial street", zh: "商业街" },
    "value.footpath": { en: "footpath", zh: "步道" },
    "value.car_park": { en: "car park", zh: "停车场" },
    "value.hot": { en: "hot spot", zh: "热点" },
    "value.cold": { en: "cold spot", zh: "冷点" },
    "value.unmanaged": { en: "unmanaged", zh: "无物业管理" },
    "value.no_access_control": { en: "no access control", zh: "无门禁" },
    "value.no_camera": { en: "no camera cover", zh: "无监控覆盖" },
  };

  const LANGUAGES = ["zh", "en"];
  const NAMES = { zh: "中文", en: "English" };
  const STORE = "beatbook-lang";
  let current = "en";

  // Chinese when the browser's preferred languages put a Chinese one before English.
  function preferred() {
    const stored = localStorage.getItem(STORE);
    if (LANGUAGES.includes(stored)) return stored;
    for (const tag of navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"]) {
      const lower = String(tag).toLowerCase();
      if (lower === "zh" || lower.startsWith("zh-")) return "zh";
      if (lower === "en" || lower.startsWith("en-")) return "en";
    }
    return "en";
  }

  function set(lang, remember) {
    current = LANGUAGES.includes(lang) ? lang : "en";
    if (remember) localStorage.setItem(STORE, current);
    document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
    return current;
  }

  // t("status.officer", {beat: "HKI-01"}): the string in the current language, {names} filled in.
  function t(key, values) {
    const entry = STRINGS[key];
    const text = entry ? entry[current] ?? entry.en : key;
    if (!values) return text;
    return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
  }

  // A vocabulary value (use=residential, trade=hotel) in the current language, else as stored.
  function value(raw) {
    if (raw === true) return t("value.yes");
    if (raw === false) return t("value.no");
    return STRINGS["value." + raw] ? t("value." + raw) : String(raw);
  }

  // number(0.97, 1) is "1"; number(0.97, 1, true) is "1.0".
  function number(n, digits, fixed) {
    return Number(n).toLocaleString(current === "zh" ? "zh-CN" : "en",
      { maximumFractionDigits: digits ?? 0, minimumFractionDigits: fixed ? digits ?? 0 : 0 });
  }

  return { STRINGS, LANGUAGES, NAMES, preferred, set, t, value, number, get lang() { return current; } };
})();
