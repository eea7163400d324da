// cckpi live board: polls the worker's own API (no build step, no other host).
// Every label value is set with textContent, never as markup.
'use strict';

(function () {
  const params = new URLSearchParams(window.location.search);
  const token = params.get('token');
  const wall = params.has('wall') && params.get('wall') !== '0';
  const state = {
    period: ['hour', 'day', 'week', 'month'].includes(params.get('period'))
      ? params.get('period') : 'day',
    meta: null, kpis: [], targets: [], certs: null,
    agentTeam: null, agent: null, lastOk: 0, todayAt: 0, trendsAt: 0, agentTrendKey: null,
  };

  const TILE_KPIS = [
    ['service_level_ratio'], ['abandon_ratio'], ['average_speed_of_answer_seconds'],
    ['contacts_offered'], ['contacts_answered'], ['max_queue_wait_seconds'],
    ['average_handle_time_seconds'], ['first_contact_resolution_ratio'], ['tickets_solved'],
    ['first_reply_seconds', 'business'], ['csat_ratio'], ['nps_score'],
  ];
  const WALL_TILES = ['service_level_ratio', 'abandon_ratio', 'average_speed_of_answer_seconds',
    'contacts_offered', 'max_queue_wait_seconds', 'first_reply_seconds', 'csat_ratio', 'nps_score'];
  const TEAM_KPIS = [
    ['contacts_offered'], ['service_level_ratio'], ['abandon_ratio'],
    ['average_speed_of_answer_seconds'], ['average_handle_time_seconds'],
    ['first_contact_resolution_ratio'], ['tickets_solved'], ['first_reply_seconds', 'business'],
    ['csat_ratio'], ['nps_score'], ['quality_score'],
  ];
  const QUEUE_KPIS = [
    ['contacts_offered'], ['contacts_answered'], ['contacts_abandoned'], ['short_abandons'],
    ['contacts_exited'], ['service_level_ratio'], ['abandon_ratio'],
    ['average_speed_of_answer_seconds'], ['max_queue_wait_seconds'],
    ['average_handle_time_seconds'], ['first_contact_resolution_ratio'],
  ];
  const AGENT_KPIS = [
    ['contacts_answered'], ['average_handle_time_seconds'], ['first_contact_resolution_ratio'],
    ['tickets_solved'], ['first_reply_seconds', 'business'], ['csat_ratio'], ['nps_score'],
    ['quality_score'],
  ];
  const SHORT = {
    contacts_offered: 'Offered', contacts_answered: 'Answered', contacts_abandoned: 'Abandoned',
    short_abandons: 'Short abandons', contacts_exited: 'Exited',
    service_level_ratio: 'Service level', abandon_ratio: 'Abandon rate',
    average_speed_of_answer_seconds: 'Avg speed of answer', max_queue_wait_seconds: 'Longest wait',
    average_handle_time_seconds: 'Avg handle time', first_contact_resolution_ratio: 'First-contact res.',
    tickets_solved: 'Tickets solved', first_reply_seconds: 'First reply',
    next_reply_seconds: 'Next reply', resolution_seconds: 'Resolution time',
    reopen_ratio: 'Reopen rate', nps_score: 'NPS', csat_ratio: 'CSAT', quality_score: 'Quality',
  };
  const GOOD = new Set(['met', 'on_pace']);
  const BAD = new Set(['breached', 'missed', 'behind_pace']);

  // ---------- helpers ----------
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    if (attrs) for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, v);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function api(path, query) {
    const q = new URLSearchParams(query || {});
    if (token) q.set('token', token);
    const url = path + (q.toString() ? '?' + q.toString() : '');
    return fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' }).then((r) => {
      if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
      return r.json();
    });
  }
  function unitOf(kpi) {
    const base = kpi.replace(/_team_agent_average$/, '');
    const found = state.meta && state.meta.kpis.find((k) => k.name === base);
    return found ? found.unit : 'none';
  }
  function higherIsBetter(kpi) {
    const found = state.meta && state.meta.kpis.find((k) => k.name === kpi);
    return found ? found.higher_is_better : true;
  }
  function fmtSeconds(v) {
    const s = Math.round(v);
    if (Math.abs(v) < 60) return (Math.round(v * 10) / 10) + ' s';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + String(s % 60).padStart(2, '0') + 's';
    if (s < 86400) return Math.floor(s / 3600) + 'h ' + String(Math.floor((s % 3600) / 60)).padStart(2, '0') + 'm';
    return (Math.round((s / 86400) * 10) / 10) + ' d';
  }
  function fmt(kpi, v) {
    if (v === null || v === undefined || Number.isNaN(v)) return '–';
    const unit = unitOf(kpi);
    if (unit === 'percentunit') return (v * 100).toFixed(1) + '%';
    if (unit === 's') return fmtSeconds(v);
    if (unit === 'short') return Math.round(v).toLocaleString('en');
    if (kpi.startsWith('nps')) return v.toFixed(0);
    return (Math.round(v * 10) / 10).toString();
  }
  function label(kpi, clock) {
    return (SHORT[kpi] || kpi) + (clock === 'business' ? ' (business)' : '');
  }
  function scopeName(scope) {
    const parts = [];
    for (const name of ['team', 'channel', 'queue', 'agent']) if (scope[name] !== undefined) parts.push(scope[name]);
    return parts.length ? parts.join(' · ') : 'whole centre';
  }
  function index(records) {
    const out = new Map();
    for (const r of records) out.set([r.kpi, r.window, r.scope_key, r.clock || ''].join('\u0000'), r);
    return out;
  }
  function pick(map, kpi, win, scopeKey, clock) {
    return map.get([kpi, win, scopeKey, clock || ''].join('\u0000'));
  }
  // A KPI value element: the board's contract (data-kpi ... data-value, unrounded).
  function valueEl(tag, kpi, win, scopeKey, clock, record, cls) {
    const node = el(tag, {
      class: cls || 'v', 'data-kpi': kpi, 'data-period': state.period, 'data-window': win,
      'data-scope': scopeKey, 'data-clock': clock || null,
      'data-value': record ? String(record.value) : '',
    }, fmt(kpi, record ? record.value : null));
    if (record && record.denominator !== null && record.denominator !== undefined) {
      node.title = record.numerator + ' / ' + record.denominator;
    }
    return node;
  }
  function targetsFor(kpi, scopeKey, clock) {
    return state.targets.filter((t) => t.kpi === kpi && t.scope_key === scopeKey
      && t.period === state.period && (t.clock || '') === (clock || ''));
  }
  function stateClass(t) {
    if (GOOD.has(t.state)) return 'st-good';
    if (BAD.has(t.state)) return 'st-bad sev-' + t.severity;
    return 'st-other';
  }
  function targetEl(t, compact) {
    const node = el('span', {
      class: 'target ' + stateClass(t), 'data-target': t.target, 'data-scope': t.scope_key,
      'data-state': t.state,
    });
    node.appendChild(el('span', { class: 'op' }, t.op + ' ' + fmt(t.kpi, t.target_value)));
    if (!compact) node.appendChild(el('span', { class: 'state' }, t.state.replace(/_/g, ' ')));
    node.title = t.target + ': ' + t.state + ' (' + t.severity + ')';
    return node;
  }
  function cellClass(kpi, scopeKey, clock) {
    const ts = targetsFor(kpi, scopeKey, clock);
    if (!ts.length) return '';
    if (ts.some((t) => BAD.has(t.state))) {
      const sev = ts.filter((t) => BAD.has(t.state)).map((t) => t.severity);
      return ' st-bad sev-' + (sev.includes('critical') ? 'critical' : sev.includes('warning') ? 'warning' : 'info');
    }
    if (ts.every((t) => GOOD.has(t.state))) return ' st-good';
    return ' st-other';
  }

  // ---------- sections ----------
  function renderPeriods() {
    const nav = document.getElementById('periods');
    clear(nav);
    for (const p of ['hour', 'day', 'week', 'month']) {
      const b = el('button', { type: 'button', class: p === state.period ? 'on' : '', 'data-period-tab': p }, p);
      b.addEventListener('click', () => {
        state.period = p;
        state.trendsAt = 0;
        const q = new URLSearchParams(window.location.search);
        q.set('period', p);
        window.history.replaceState(null, '', '?' + q.toString());
        renderPeriods();
        refresh();
      });
      nav.appendChild(b);
    }
  }

  function renderTiles(map) {
    const box = document.getElementById('tiles');
    clear(box);
    const list = wall ? TILE_KPIS.filter(([k]) => WALL_TILES.includes(k)) : TILE_KPIS;
    for (const [kpi, clock] of list) {
      const cur = pick(map, kpi, 'current', '', clock);
      const prev = pick(map, kpi, 'previous', '', clock);
      const tile = el('div', { class: 'tile' + cellClass(kpi, '', clock) });
      tile.appendChild(el('div', { class: 'name' }, label(kpi, clock)));
      tile.appendChild(valueEl('div', kpi, 'current', '', clock, cur, 'big'));
      const foot = el('div', { class: 'foot' });
      foot.appendChild(el('span', { class: 'prevlabel' }, 'previous '));
      foot.appendChild(valueEl('span', kpi, 'previous', '', clock, prev, 'prev'));
      for (const t of targetsFor(kpi, '', clock)) foot.appendChild(targetEl(t, true));
      tile.appendChild(foot);
      box.appendChild(tile);
    }
  }

  function renderTargets() {
    const box = document.getElementById('targets');
    clear(box);
    const shown = wall ? state.targets.filter((t) => !GOOD.has(t.state)) : state.targets;
    const bad = state.targets.filter((t) => BAD.has(t.state)).length;
    document.getElementById('targets-summary').textContent =
      state.targets.length ? bad + ' of ' + state.targets.length + ' not met' : '';
    if (!shown.length) {
      const configured = state.meta ? state.meta.targets_configured : 0;
      let text = 'no targets in the config';
      if (state.targets.length) text = 'every target met';
      else if (configured) text = configured + ' targets configured; no value to judge yet (the worker may be catching up)';
      box.appendChild(el('p', { class: 'empty' }, text));
      return;
    }
    const table = el('table', { class: 'grid targets' });
    const head = el('tr');
    for (const h of ['target and scope', 'KPI, period', 'value', 'goal and state']) head.appendChild(el('th', { class: h === 'value' ? 'num' : '' }, h));
    table.appendChild(el('thead')).appendChild(head);
    const body = el('tbody');
    const rank = { critical: 0, warning: 1, info: 2 };
    const order = (t) => (BAD.has(t.state) ? 0 : GOOD.has(t.state) ? 6 : 3) + (rank[t.severity] ?? 2);
    for (const t of shown.slice().sort((a, b) => order(a) - order(b))) {
      const row = el('tr', { class: stateClass(t) });
      const who = el('td', { class: 'id' });
      who.appendChild(el('div', { class: 'tid' }, t.target));
      who.appendChild(el('div', { class: 'scope' }, scopeName(t.scope)));
      row.appendChild(who);
      row.appendChild(el('td', { class: 'kpi' }, label(t.kpi.replace(/_team_agent_average$/, ''), t.clock)
        + (t.kpi.endsWith('_team_agent_average') ? ' (agent avg)' : '') + ' · ' + t.period));
      row.appendChild(el('td', { class: 'num' }, fmt(t.kpi, t.value)));
      const cell = el('td');
      cell.appendChild(targetEl(t, false));
      row.appendChild(cell);
      body.appendChild(row);
    }
    table.appendChild(body);
    box.appendChild(table);
  }

  function scopeTable(boxId, map, rows, kpis, first) {
    const box = document.getElementById(boxId);
    clear(box);
    if (!rows.length) { box.appendChild(el('p', { class: 'empty' }, 'no data in this window yet')); return; }
    const table = el('table', { class: 'grid' });
    const head = el('tr');
    for (const h of first) head.appendChild(el('th', null, h));
    for (const [kpi, clock] of kpis) head.appendChild(el('th', { class: 'num' }, label(kpi, clock)));
    table.appendChild(el('thead')).appendChild(head);
    const body = el('tbody');
    for (const row of rows) {
      const tr = el('tr');
      for (const text of row.names) tr.appendChild(el('th', { scope: 'row' }, text));
      for (const [kpi, clock] of kpis) {
        const td = el('td', { class: 'num' + cellClass(kpi, row.key, clock) });
        td.appendChild(valueEl('span', kpi, 'current', row.key, clock, pick(map, kpi, 'current', row.key, clock)));
        for (const t of targetsFor(kpi, row.key, clock)) td.appendChild(targetEl(t, true));
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    table.appendChild(body);
    box.appendChild(table);
  }

  function scopesOf(kind) {
    const seen = new Map();
    for (const r of state.kpis) {
      const names = Object.keys(r.scope).sort().join(',');
      if (names === kind && !seen.has(r.scope_key)) seen.set(r.scope_key, r.scope);
    }
    return [...seen.entries()].sort((a, b) => a[0].localeCompare(b[0]));
  }

  function renderTeams(map) {
    const rows = scopesOf('team').map(([key, scope]) => ({ key, names: [scope.team] }));
    const kpis = wall ? TEAM_KPIS.filter(([k]) => WALL_TILES.includes(k)) : TEAM_KPIS;
    scopeTable('teams', map, rows, kpis, ['team']);
  }
  function renderQueues(map) {
    const rows = scopesOf('queue,team').map(([key, scope]) => ({ key, names: [scope.team, scope.queue] }));
    scopeTable('queues', map, rows, QUEUE_KPIS, ['team', 'queue']);
  }

  function renderAgents(map) {
    const select = document.getElementById('agent-team');
    const teams = scopesOf('team').map(([, s]) => s.team);
    const staffed = new Set(scopesOf('agent,team').map(([, s]) => s.team));
    if (!teams.includes(state.agentTeam)) state.agentTeam = teams.find((t) => staffed.has(t)) || teams[0] || null;
    if ([...select.options].map((o) => o.value).join('\u0000') !== teams.join('\u0000')) {
      clear(select);
      for (const t of teams) select.appendChild(el('option', { value: t }, t));
    }
    if (state.agentTeam !== null) select.value = state.agentTeam;
    const box = document.getElementById('agents');
    clear(box);
    const agents = scopesOf('agent,team').filter(([, s]) => s.team === state.agentTeam);
    if (!agents.length) { box.appendChild(el('p', { class: 'empty' }, 'no agent data in this window yet')); return; }
    const teamKey = scopesOf('team').find(([, s]) => s.team === state.agentTeam)[0];
    const table = el('table', { class: 'grid agents' });
    const head = el('tr');
    head.appendChild(el('th', null, 'agent'));
    for (const [kpi, clock] of AGENT_KPIS) head.appendChild(el('th', { class: 'num' }, label(kpi, clock)));
    table.appendChild(el('thead')).appendChild(head);
    const body = el('tbody');
    const avgRow = el('tr', { class: 'average' });
    avgRow.appendChild(el('th', { scope: 'row' }, 'team agent average'));
    for (const [kpi, clock] of AGENT_KPIS) {
      const avgKpi = kpi + '_team_agent_average';
      const td = el('td', { class: 'num' + cellClass(avgKpi, teamKey, clock) });
      td.appendChild(valueEl('span', avgKpi, 'current', teamKey, clock, pick(map, avgKpi, 'current', teamKey, clock)));
      avgRow.appendChild(td);
    }
    body.appendChild(avgRow);
    for (const [key, scope] of agents) {
      const tr = el('tr', { class: state.agent === key ? 'chosen' : '' });
      const name = el('th', { scope: 'row' });
      const button = el('button', { type: 'button', class: 'link' }, scope.agent);
      button.addEventListener('click', () => { state.agent = key; state.agentTrendKey = null; refresh(); });
      name.appendChild(button);
      tr.appendChild(name);
      for (const [kpi, clock] of AGENT_KPIS) {
        const rec = pick(map, kpi, 'current', key, clock);
        const avg = pick(map, kpi + '_team_agent_average', 'current', teamKey, clock);
        const td = el('td', { class: 'num' });
        td.appendChild(valueEl('span', kpi, 'current', key, clock, rec));
        if (rec && avg && avg.value !== rec.value) {
          const better = (rec.value > avg.value) === higherIsBetter(kpi);
          td.appendChild(el('span', { class: better ? 'cmp better' : 'cmp worse' }, better ? ' ▲' : ' ▼'));
        }
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    table.appendChild(body);
    box.appendChild(table);
    if (!state.agent || !agents.some(([k]) => k === state.agent)) {
      // The agent with the most values in this window: a trend worth showing first.
      const count = (key) => state.kpis.filter((r) => r.scope_key === key).length;
      state.agent = agents.map(([k]) => k).sort((a, b) => count(b) - count(a))[0];
    }
    renderAgentTrend(teamKey);
  }

  const chart = window.cckpiChart;

  function localLabel(iso, period) {
    // The window's own local time as published (offset included): no browser time zone.
    if (period === 'hour') return iso.slice(11, 13) + 'h';
    if (period === 'month') return iso.slice(0, 7);
    return iso.slice(5, 10);
  }

  function seriesFrom(records, starts, name, open) {
    const at = new Map(records.map((r) => [r.window_start, r]));
    return {
      name,
      points: starts.map((s, i) => ({ i, y: at.has(s) ? at.get(s).value : null, open: open && at.get(s) && !at.get(s).final })),
    };
  }

  async function renderToday() {
    let dayRec = state.kpis.find((r) => r.period === 'day' && r.window === 'current');
    if (!dayRec) {
      const day = await api('/api/v1/kpis', { period: 'day', window: 'current', scope: '', kpi: 'contacts_offered' });
      dayRec = day.records[0];
    }
    const boxSl = document.getElementById('chart-sl');
    const boxOff = document.getElementById('chart-offered');
    if (!dayRec) { chart(boxSl, 'Service level', [], { categories: [], format: String }); chart(boxOff, 'Offered', [], { categories: [], format: String }); return; }
    const [hist, live] = await Promise.all([
      api('/api/v1/history', { period: 'hour', scope: '', from: dayRec.window_start, to: dayRec.window_end }),
      api('/api/v1/kpis', { period: 'hour', scope: '' }),
    ]);
    const byKpi = (kpi) => {
      const finals = hist.records.filter((r) => r.kpi === kpi && r.clock === null);
      const seen = new Set(finals.map((r) => r.window_start));
      const open = live.records.filter((r) => r.kpi === kpi && !seen.has(r.window_start)
        && r.window_start >= dayRec.window_start && r.window_start < dayRec.window_end);
      return finals.concat(open);
    };
    const sl = byKpi('service_level_ratio');
    const offered = byKpi('contacts_offered');
    const starts = [...new Set(sl.concat(offered).map((r) => r.window_start))].sort();
    const cats = starts.map((s) => localLabel(s, 'hour'));
    const slTarget = state.targets.find((t) => t.kpi === 'service_level_ratio' && t.scope_key === '');
    chart(boxSl, 'Service level, centre (dashed: target)', [seriesFrom(sl, starts, 'service level', true)],
      { categories: cats, min: 0, max: 1, format: (v) => Math.round(v * 100) + '%', target: slTarget ? slTarget.target_value : null, width: 420, height: 150 });
    chart(boxOff, 'Contacts offered, centre', [seriesFrom(offered, starts, 'offered', true)],
      { categories: cats, bars: true, format: (v) => Math.round(v).toLocaleString('en'), width: 420, height: 150 });
  }

  async function renderTrends() {
    const box = document.getElementById('trends');
    const wm = state.meta && state.meta.watermark;
    if (!wm) return;
    const from = new Date((wm - 400 * 86400) * 1000).toISOString();
    const kpis = wall ? [['service_level_ratio', null]] : [['service_level_ratio', null], ['abandon_ratio', null],
      ['contacts_offered', null], ['csat_ratio', null], ['first_reply_seconds', 'business'], ['average_handle_time_seconds', null]];
    const results = await Promise.all(kpis.map(([kpi, clock]) => Promise.all([
      api('/api/v1/history', Object.assign({ period: 'month', kpi, from }, clock ? { clock } : {})),
      api('/api/v1/kpis', Object.assign({ period: 'month', kpi, window: 'current' }, clock ? { clock } : {})),
    ])));
    clear(box);
    results.forEach(([hist, live], n) => {
      const [kpi, clock] = kpis[n];
      const records = hist.records.concat(live.records.filter((r) => !hist.records.some((h) => h.window_start === r.window_start && h.scope_key === r.scope_key)));
      const keep = records.filter((r) => r.scope_key === '' || Object.keys(r.scope).join() === 'team');
      const starts = [...new Set(keep.map((r) => r.window_start))].sort();
      const scopes = [...new Set(keep.map((r) => r.scope_key))].sort();
      const series = scopes.map((key) => seriesFrom(keep.filter((r) => r.scope_key === key), starts,
        key === '' ? 'centre' : keep.find((r) => r.scope_key === key).scope.team, true));
      const unit = unitOf(kpi);
      const holder = el('div', { class: 'chart small' });
      box.appendChild(holder);
      chart(holder, label(kpi, clock) + ' by month', series, {
        categories: starts.map((s) => localLabel(s, 'month')), legend: true,
        min: unit === 'percentunit' ? 0 : undefined, max: unit === 'percentunit' ? 1 : undefined,
        format: (v) => fmt(kpi, v), height: 160, width: 420,
      });
    });
  }

  async function renderAgentTrend(teamKey) {
    const box = document.getElementById('agent-trend');
    const wm = state.meta && state.meta.watermark;
    const agentRec = state.kpis.find((r) => r.scope_key === state.agent);
    if (!wm || !agentRec) { clear(box); return; }
    const trendKey = state.agent + '|' + Math.floor(Date.now() / 15000);
    if (state.agentTrendKey === trendKey) return;
    state.agentTrendKey = trendKey;
    const from = new Date((wm - 92 * 86400) * 1000).toISOString();
    const kpis = [['average_handle_time_seconds', null], ['first_contact_resolution_ratio', null],
      ['csat_ratio', null], ['first_reply_seconds', 'business']];
    const data = await Promise.all(kpis.map(([kpi, clock]) => Promise.all([
      api('/api/v1/history', Object.assign({ period: 'week', kpi, scope: state.agent, from }, clock ? { clock } : {})),
      api('/api/v1/history', Object.assign({ period: 'week', kpi: kpi + '_team_agent_average', scope: teamKey, from }, clock ? { clock } : {})),
      api('/api/v1/kpis', Object.assign({ period: 'week', window: 'current', kpi, scope: state.agent }, clock ? { clock } : {})),
      api('/api/v1/kpis', Object.assign({ period: 'week', window: 'current', kpi: kpi + '_team_agent_average', scope: teamKey }, clock ? { clock } : {})),
    ])));
    clear(box);
    box.appendChild(el('h3', null, 'Weekly trend, last quarter: ' + agentRec.scope.agent + ' beside the ' + agentRec.scope.team + ' agent average'));
    const grid = el('div', { class: 'trends' });
    box.appendChild(grid);
    data.forEach(([mine, team, mineNow, teamNow], n) => {
      const [kpi, clock] = kpis[n];
      const a = mine.records.concat(mineNow.records);
      const b = team.records.concat(teamNow.records);
      const starts = [...new Set(a.concat(b).map((r) => r.window_start))].sort();
      const holder = el('div', { class: 'chart small' });
      grid.appendChild(holder);
      const unit = unitOf(kpi);
      chart(holder, label(kpi, clock), [seriesFrom(a, starts, agentRec.scope.agent, true), seriesFrom(b, starts, 'team average', true)], {
        categories: starts.map((s) => localLabel(s, 'week')), legend: true, height: 150,
        min: unit === 'percentunit' ? 0 : undefined, max: unit === 'percentunit' ? 1 : undefined,
        format: (v) => fmt(kpi, v),
      });
    });
  }

  function renderCerts() {
    const box = document.getElementById('certs');
    clear(box);
    const c = state.certs;
    if (!c || !c.teams.length) { box.appendChild(el('p', { class: 'empty' }, 'no certifications reported')); return; }
    const table = el('table', { class: 'grid' });
    const head = el('tr');
    for (const h of ['team', 'expired', 'expiring in 30 days', 'agents']) head.appendChild(el('th', { class: h === 'team' ? '' : 'num' }, h));
    table.appendChild(el('thead')).appendChild(head);
    const body = el('tbody');
    for (const t of c.teams) {
      const tr = el('tr');
      tr.appendChild(el('th', { scope: 'row' }, t.team));
      tr.appendChild(el('td', { class: 'num' + (t.certifications_expired ? ' st-bad sev-warning' : ' st-good'), 'data-cert': 'expired', 'data-team': t.team }, t.certifications_expired));
      tr.appendChild(el('td', { class: 'num' + (t.certifications_expiring_30d ? ' st-other' : ''), 'data-cert': 'expiring_30d', 'data-team': t.team }, t.certifications_expiring_30d));
      tr.appendChild(el('td', { class: 'num' }, new Set(c.agents.filter((a) => a.team === t.team).map((a) => a.agent)).size));
      body.appendChild(tr);
    }
    table.appendChild(body);
    box.appendChild(table);
  }

  // ---------- loop ----------
  let busy = false;
  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      // Every scope's current window, and the previous window for the centre's tiles only.
      const [meta, kpis, previous, targets] = await Promise.all([
        api('/api/v1/meta'), api('/api/v1/kpis', { period: state.period, window: 'current' }),
        api('/api/v1/kpis', { period: state.period, window: 'previous', scope: '' }),
        api('/api/v1/targets'),
      ]);
      state.meta = meta;
      state.kpis = kpis.records.concat(previous.records);
      state.targets = targets.targets;
      const map = index(state.kpis);
      document.getElementById('asof').textContent = meta.watermark_iso ? meta.watermark_iso.replace('T', ' ') : 'waiting for events';
      renderTiles(map);
      renderTargets();
      renderTeams(map);
      if (!wall) { renderQueues(map); renderAgents(map); }
      const now = Date.now();
      if (now - state.todayAt > 5000) { state.todayAt = now; await renderToday(); }
      if (now - state.trendsAt > 30000) {
        state.trendsAt = now;
        state.certs = await api('/api/v1/certifications');
        if (!wall) {
          renderCerts();
          await renderTrends();
        }
      }
      state.lastOk = now;
      document.getElementById('status').textContent = '';
      document.body.classList.remove('stale');
      document.body.setAttribute('data-updated', String(now));
    } catch (err) {
      document.getElementById('status').textContent = 'connection lost, retrying (' + err.message + ')';
      document.body.classList.add('stale');
    } finally {
      busy = false;
    }
  }

  function start() {
    if (wall) document.body.classList.add('wall');
    const link = document.getElementById('wall-link');
    const q = new URLSearchParams(window.location.search);
    if (wall) { q.delete('wall'); link.textContent = 'full board'; } else q.set('wall', '1');
    link.setAttribute('href', '?' + q.toString());
    if (token) {
      document.getElementById('api-link').setAttribute('href', '/api/v1/openapi.json?token=' + encodeURIComponent(token));
    }
    document.getElementById('agent-team').addEventListener('change', (e) => {
      state.agentTeam = e.target.value; state.agent = null; state.agentTrendKey = null; refresh();
    });
    renderPeriods();
    refresh();
    window.setInterval(refresh, 1000);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}());
