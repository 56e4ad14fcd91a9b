// bestiary studio: plain JS, no build step. All state lives here; the server is stateless apart from
// the favourites folder. W vectors travel as base64 little-endian f32 strings.
'use strict';

const $ = (id) => document.getElementById(id);
const S = {
  info: null,
  tab: Math.random().toString(36).slice(2, 12),
  gen: 0,          // grid generation: bumped when psi/noise change, so stale tiles are dropped server-side
  focusGen: 0,     // focus renders: each new one supersedes the previous
  nextSeed: 0,
  focus: null,     // { base: w, label, kind: 'seed'|'w', seed }
  effective: null, // base moved by the direction sliders
  lineage: [],     // [{ w, label, url }]
  favorites: [],   // names
  selected: [],    // selected favourite names, in click order
  amounts: [],
  mask: null,
  busy: 0,
};

function status(msg) { $('status').textContent = msg; }
function psi() { return parseFloat($('psi').value); }
function noise() { return $('noise').value; }

async function api(path, body) {
  S.busy++;
  try {
    const opts = body === undefined ? {} : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
    const r = await fetch(path, opts);
    if (!r.ok) {
      let msg = r.statusText;
      try { msg = (await r.json()).error || msg; } catch (_) { /* not JSON */ }
      const e = new Error(msg); e.status = r.status; throw e;
    }
    const type = r.headers.get('Content-Type') || '';
    return type.startsWith('application/json') ? r.json() : r.blob();
  } finally {
    S.busy--;
  }
}

function report(e) {
  if (e.status === 409) return; // superseded by a newer request: expected while sliding
  status('error: ' + e.message);
}

// ------------------------------------------------------------------------------------------- grid

function tileSrc(seed) {
  const q = new URLSearchParams({ seed, psi: psi().toFixed(2), noise: noise(), tab: S.tab, gen: S.gen });
  return '/api/seed.png?' + q;
}

function addTiles(n) {
  const grid = $('grid');
  for (let i = 0; i < n; i++) {
    const seed = S.nextSeed++;
    const b = document.createElement('button');
    b.className = 'tile';
    b.dataset.seed = seed;
    b.title = 'seed ' + seed;
    const img = document.createElement('img');
    img.alt = 'seed ' + seed;
    img.loading = 'lazy';
    img.src = tileSrc(seed);
    img.addEventListener('error', () => retryTile(img, seed));
    const label = document.createElement('span');
    label.textContent = seed;
    b.append(img, label);
    b.addEventListener('click', () => focusSeed(seed));
    grid.append(b);
  }
}

// A tile refused for a full queue (503) is retried a little later, unless it was superseded meanwhile.
function retryTile(img, seed) {
  const gen = S.gen;
  setTimeout(() => { if (gen === S.gen && img.isConnected) img.src = tileSrc(seed) + '&retry=' + Date.now(); }, 800 + Math.random() * 800);
}

function refreshGrid() {
  S.gen++;
  for (const t of document.querySelectorAll('#grid .tile')) t.querySelector('img').src = tileSrc(+t.dataset.seed);
}

// Endless scrolling: while the sentinel below the grid is near the viewport, add tiles. Observing it
// afresh after each batch makes the observer report again even if it is still in view.
const MAX_TILES = 5000;
const scrollObserver = new IntersectionObserver((entries, obs) => {
  if (!entries.some((e) => e.isIntersecting)) return;
  if (S.nextSeed >= MAX_TILES) { $('sentinel').textContent = 'that is enough seeds for one page'; return; }
  addTiles(24);
  obs.unobserve($('sentinel'));
  requestAnimationFrame(() => obs.observe($('sentinel')));
}, { rootMargin: '600px' });
scrollObserver.observe($('sentinel'));

// ------------------------------------------------------------------------------------------ focus

async function focusSeed(seed) {
  for (const t of document.querySelectorAll('.tile.focused')) t.classList.remove('focused');
  const tile = document.querySelector(`.tile[data-seed="${seed}"]`);
  if (tile) tile.classList.add('focused');
  try {
    const r = await api(`/api/seed.w?seed=${seed}&psi=${psi().toFixed(2)}`);
    setFocus({ base: r.w, label: `seed ${seed} ψ ${psi().toFixed(2)}`, kind: 'seed', seed }, true);
  } catch (e) { report(e); }
}

// Makes `f` the focus; `fresh` starts a new lineage, otherwise the step is appended.
function setFocus(f, fresh) {
  S.focus = f;
  S.effective = f.base;
  resetSliders();
  if (fresh) S.lineage = [];
  const step = { w: f.base, label: f.label, url: null };
  S.lineage.push(step);
  $('focusLabel').textContent = '— ' + f.label;
  for (const id of ['saveBtn', 'breedBtn', 'rerollBtn', 'pushBtn', 'memBtn']) $(id).disabled = false;
  $('memScore').textContent = '';
  $('children').replaceChildren();
  renderFocus().then((url) => { step.url = url; drawLineage(); });
  drawLineage();
}

async function renderW(w, withTicket) {
  const body = { w, noise: noise() };
  if (withTicket) { body.tab = S.tab + '-focus'; body.gen = ++S.focusGen; }
  return URL.createObjectURL(await api('/api/render', body));
}

async function renderFocus() {
  try {
    const url = await renderW(S.effective, true);
    $('focusImg').src = url;
    status('');
    return url;
  } catch (e) { report(e); return null; }
}

function drawLineage() {
  const strip = $('lineage');
  strip.replaceChildren();
  S.lineage.forEach((step, i) => {
    const b = document.createElement('button');
    b.className = 'step';
    b.title = step.label;
    if (step.url) { const img = document.createElement('img'); img.src = step.url; img.alt = step.label; b.append(img); }
    b.addEventListener('click', () => {
      S.lineage = S.lineage.slice(0, i);
      setFocus({ base: step.w, label: step.label, kind: 'w' }, false);
    });
    strip.append(b);
  });
}

// ------------------------------------------------------------------------------------------ breed

async function breed() {
  if (!S.focus) return;
  const strength = parseFloat($('strength').value);
  const seed = Math.floor(Math.random() * 4294967295);
  try {
    const r = await api('/api/breed', { w: S.effective, count: 6, strength, seed });
    const strip = $('children');
    strip.replaceChildren();
    r.children.forEach((w, i) => {
      const b = document.createElement('button');
      b.className = 'child';
      b.title = 'child ' + (i + 1);
      strip.append(b);
      renderW(w, false).then((url) => {
        const img = document.createElement('img'); img.src = url; img.alt = b.title; b.append(img);
      }).catch(report);
      b.addEventListener('click', () => setFocus({ base: w, label: `child ${i + 1} (strength ${strength})`, kind: 'w' }, false));
    });
  } catch (e) { report(e); }
}

// ---------------------------------------------------------------------------------- memorability

// Climbs ResMem's score from the focused W (server-side, a few seconds to minutes on CPU); the result
// becomes the focus, with the scores before and after beside the button.
async function moreMemorable() {
  if (!S.focus) return;
  $('memBtn').disabled = true;
  $('memScore').textContent = 'climbing…';
  try {
    const r = await api('/api/memorable', { w: S.effective, tab: S.tab + '-memorable', gen: Date.now() });
    const scores = `${r.score_before.toFixed(3)} → ${r.score_after.toFixed(3)}`;
    setFocus({ base: r.w, label: `more memorable ${scores}`, kind: 'w' }, false);
    $('memScore').textContent = `memorability ${scores} · LPIPS ${r.lpips.toFixed(3)}`;
  } catch (e) {
    $('memScore').textContent = '';
    report(e);
  } finally {
    $('memBtn').disabled = !S.focus;
  }
}

// ------------------------------------------------------------------------------------- directions

function buildSliders() {
  const method = $('dirMethod').value;
  const set = S.info.directions.find((d) => d.method === method);
  const box = $('sliders');
  box.replaceChildren();
  S.amounts = new Array(set.count).fill(0);
  for (let i = 0; i < set.count; i++) {
    const label = document.createElement('label');
    const name = document.createElement('span'); name.textContent = '#' + i;
    const input = document.createElement('input');
    Object.assign(input, { type: 'range', min: -5, max: 5, step: 0.1, value: 0 });
    input.className = 'dir';
    input.dataset.index = i;
    const out = document.createElement('output'); out.textContent = '0';
    input.addEventListener('input', () => { S.amounts[i] = parseFloat(input.value); out.textContent = input.value; applyDirections(); });
    label.append(name, input, out);
    box.append(label);
  }
}

function resetSliders() {
  for (const s of document.querySelectorAll('#sliders input')) { s.value = 0; s.nextSibling.textContent = '0'; }
  S.amounts = S.amounts.map(() => 0);
}

let dirTicket = 0;
async function applyDirections() {
  if (!S.focus) return;
  const mine = ++dirTicket;
  let w = S.focus.base;
  try {
    for (let i = 0; i < S.amounts.length; i++) {
      if (S.amounts[i] === 0) continue;
      w = (await api('/api/direction', { w, method: $('dirMethod').value, index: i, amount: S.amounts[i], layers: $('dirLayers').value })).w;
    }
    if (mine !== dirTicket) return;
    S.effective = w;
    renderFocus();
  } catch (e) { report(e); }
}

// ------------------------------------------------------------------------------------- local edit

function setupMask() {
  const n = S.info.resolution;
  const c = $('maskCanvas');
  c.width = n; c.height = n;
  S.mask = new Uint8Array(n * n);
  const ctx = c.getContext('2d');
  let down = false;
  const paint = (ev) => {
    const r = c.getBoundingClientRect();
    const x = (ev.clientX - r.left) / r.width * n, y = (ev.clientY - r.top) / r.height * n;
    const rad = parseFloat($('brush').value) * n / 64;
    for (let py = Math.max(0, Math.floor(y - rad)); py < Math.min(n, Math.ceil(y + rad)); py++) {
      for (let px = Math.max(0, Math.floor(x - rad)); px < Math.min(n, Math.ceil(x + rad)); px++) {
        if ((px + 0.5 - x) ** 2 + (py + 0.5 - y) ** 2 <= rad * rad + 0.5) S.mask[py * n + px] = 255;
      }
    }
    drawMask(ctx, n);
  };
  c.addEventListener('pointerdown', (e) => { down = true; c.setPointerCapture(e.pointerId); paint(e); });
  c.addEventListener('pointermove', (e) => { if (down) paint(e); });
  c.addEventListener('pointerup', () => { down = false; });
  $('clearMask').addEventListener('click', () => { S.mask.fill(0); drawMask(ctx, n); });
}

function drawMask(ctx, n) {
  const img = ctx.createImageData(n, n);
  for (let i = 0; i < n * n; i++) if (S.mask[i]) { img.data[i * 4] = 255; img.data[i * 4 + 1] = 60; img.data[i * 4 + 2] = 90; img.data[i * 4 + 3] = 255; }
  ctx.putImageData(img, 0, 0);
}

function b64bytes(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return btoa(s);
}

async function localEdit(mode) {
  if (!S.focus) return;
  if (!S.mask.some((v) => v)) { status('paint a mask on the image first'); return; }
  const body = { w: S.effective, mask: b64bytes(S.mask), mode, noise: noise(), tab: S.tab + '-edit', gen: Date.now() };
  if (mode === 'reroll') { body.seed = Math.floor(Math.random() * 4294967295); body.psi = psi(); }
  else { body.method = $('dirMethod').value; body.index = 0; body.amount = S.amounts[0] || 3; body.layers = $('dirLayers').value; }
  try {
    const img = $('editImg');
    img.src = URL.createObjectURL(await api('/api/edit', body));
    img.hidden = false;
  } catch (e) { report(e); }
}

// ------------------------------------------------------------------------------------- favourites

async function save() {
  if (!S.focus) return;
  try {
    const lineage = S.lineage.map((s) => s.label);
    const r = await api('/api/favorites', { w: S.effective, lineage, label: S.focus.label });
    status('saved ' + r.name);
    await loadFavorites();
  } catch (e) { report(e); }
}

async function loadFavorites() {
  const r = await api('/api/favorites');
  S.favorites = r.favorites;
  S.selected = S.selected.filter((n) => S.favorites.includes(n));
  const strip = $('favorites');
  strip.replaceChildren();
  for (const name of S.favorites) {
    const b = document.createElement('label');
    b.className = 'fav';
    b.dataset.name = name;
    b.title = name + ' (tick to mix or walk; double-click to focus)';
    const img = document.createElement('img'); img.src = `/api/favorites/${name}.png`; img.alt = name;
    const cb = document.createElement('input'); cb.type = 'checkbox'; cb.checked = S.selected.includes(name);
    cb.addEventListener('change', () => {
      S.selected = cb.checked ? [...S.selected, name] : S.selected.filter((n) => n !== name);
      updateSelection();
    });
    b.addEventListener('dblclick', async () => {
      const f = await api(`/api/favorites/${name}.w`);
      setFocus({ base: f.w, label: name, kind: 'w' }, true);
    });
    b.append(img, cb);
    strip.append(b);
  }
  updateSelection();
}

function updateSelection() {
  for (const f of document.querySelectorAll('.fav')) f.classList.toggle('selected', S.selected.includes(f.dataset.name));
  const sel = S.selected;
  ['mixCoarse', 'mixMiddle', 'mixFine'].forEach((id, k) => {
    const s = $(id);
    const keep = s.value;
    s.replaceChildren(...sel.map((n) => new Option(n, n)));
    s.value = sel.includes(keep) ? keep : (sel[Math.min(k, sel.length - 1)] || '');
  });
  $('mixBtn').disabled = sel.length < 2 || sel.length > 3;
  $('walkBtn').disabled = sel.length < 2 || sel.length > 8;
}

async function favW(name) { return (await api(`/api/favorites/${name}.w`)).w; }

async function mix() {
  try {
    const [c, m, f] = [$('mixCoarse').value, $('mixMiddle').value, $('mixFine').value];
    const r = await api('/api/mix', { coarse: await favW(c), middle: await favW(m), fine: await favW(f) });
    setFocus({ base: r.w, label: `mix ${c}/${m}/${f}`, kind: 'w' }, true);
  } catch (e) { report(e); }
}

async function walk() {
  try {
    const ws = [];
    for (const n of S.selected) ws.push(await favW(n));
    const frames = Math.max(2, Math.min(120, parseInt($('walkFrames').value, 10) || 24));
    const fps = Math.max(1, Math.min(50, parseInt($('walkFps').value, 10) || 12));
    const format = $('walkFormat').value;
    status('rendering walk…');
    const url = URL.createObjectURL(await api('/api/walk', { ws, frames, fps, format, noise: noise() }));
    const video = format === 'mp4';
    $('walkImg').hidden = video; $('walkVideo').hidden = !video;
    if (video) $('walkVideo').src = url; else $('walkImg').src = url;
    $('walkDownload').href = url; $('walkDownload').download = 'walk.' + format; $('walkDownload').hidden = false;
    $('walkDownload').textContent = 'download ' + format.toUpperCase();
    status('');
  } catch (e) { report(e); }
}

// ------------------------------------------------------------------------------------------- init

async function init() {
  S.info = await api('/api/info');
  const cls = S.info.class ? ` · class ${S.info.class.name ?? S.info.class.index}` : '';
  $('network').textContent = `${S.info.network} · ${S.info.resolution}px${cls}`;
  const [lo, hi] = S.info.limits.psi;
  $('psi').min = Math.max(lo, -2); $('psi').max = Math.min(hi, 3);
  let psiTimer = 0;
  $('psi').addEventListener('input', () => {
    $('psiValue').textContent = psi().toFixed(2);
    clearTimeout(psiTimer);
    psiTimer = setTimeout(() => {
      refreshGrid();
      if (S.focus && S.focus.kind === 'seed' && S.lineage.length === 1) focusSeed(S.focus.seed);
    }, 120);
  });
  $('noise').addEventListener('change', () => { refreshGrid(); if (S.focus) renderFocus(); });
  $('strength').addEventListener('input', () => { $('strengthValue').textContent = parseFloat($('strength').value).toFixed(2); });
  $('breedBtn').addEventListener('click', breed);
  $('saveBtn').addEventListener('click', save);
  $('memBtn').addEventListener('click', moreMemorable);
  $('dirMethod').addEventListener('change', () => { buildSliders(); applyDirections(); });
  $('dirLayers').addEventListener('change', applyDirections);
  $('dirReset').addEventListener('click', () => { resetSliders(); applyDirections(); });
  $('rerollBtn').addEventListener('click', () => localEdit('reroll'));
  $('pushBtn').addEventListener('click', () => localEdit('direction'));
  $('mixBtn').addEventListener('click', mix);
  $('walkBtn').addEventListener('click', walk);
  buildSliders();
  setupMask();
  await loadFavorites();
  document.body.dataset.ready = '1';
}

init().catch(report);
