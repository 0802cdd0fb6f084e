// Draws Peerfold's app and tray icons and writes them to assets/: PNG (with a tiny encoder on
// node:zlib), ICO (BMP and PNG images) and ICNS (a container of PNGs), so building needs no image tools and
// no downloads. Shapes are signed-distance functions, which give exact anti-aliasing at every size.
//
//   node scripts/make-icons.mjs            writes assets/
//   node scripts/make-icons.mjs --out DIR  writes elsewhere (the tests compare it with assets/)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

// --- PNG, ICO, ICNS --------------------------------------------------------------------------

const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** rgba: Uint8Array of width*height*4, straight (not premultiplied) alpha. */
export function encodePng(width, height, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc(height * (width * 4 + 1));
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0; // filter: none
    Buffer.from(rgba.buffer, rgba.byteOffset + y * width * 4, width * 4).copy(raw, y * (width * 4 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * A 32-bit BMP image as stored inside an ICO: a BITMAPINFOHEADER with doubled height, BGRA rows
 * bottom-up, then the 1-bit AND mask (unused with alpha, but required).
 */
export function encodeIcoBitmap(size, rgba) {
  const header = Buffer.alloc(40);
  header.writeUInt32LE(40, 0);
  header.writeInt32LE(size, 4);
  header.writeInt32LE(size * 2, 8);
  header.writeUInt16LE(1, 12); // planes
  header.writeUInt16LE(32, 14); // bits per pixel
  const pixels = Buffer.alloc(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const src = (y * size + x) * 4,
        dst = ((size - 1 - y) * size + x) * 4;
      pixels[dst] = rgba[src + 2];
      pixels[dst + 1] = rgba[src + 1];
      pixels[dst + 2] = rgba[src];
      pixels[dst + 3] = rgba[src + 3];
    }
  }
  const maskRow = Math.ceil(size / 32) * 4;
  return Buffer.concat([header, pixels, Buffer.alloc(maskRow * size)]);
}

/**
 * An ICO: BMP images below 256 px (which every Windows tool reads, NSIS included) and PNG at
 * 256 px (the form Windows expects at that size).
 */
export function encodeIco(images) {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // icon
  header.writeUInt16LE(images.length, 4);
  const entries = [];
  const datas = images.map(({ size, rgba, png }) => (size >= 256 ? png : encodeIcoBitmap(size, rgba)));
  let offset = 6 + 16 * images.length;
  images.forEach(({ size }, i) => {
    const e = Buffer.alloc(16);
    e[0] = size >= 256 ? 0 : size;
    e[1] = size >= 256 ? 0 : size;
    e.writeUInt16LE(1, 4); // planes
    e.writeUInt16LE(32, 6); // bits per pixel
    e.writeUInt32LE(datas[i].length, 8);
    e.writeUInt32LE(offset, 12);
    offset += datas[i].length;
    entries.push(e);
  });
  return Buffer.concat([header, ...entries, ...datas]);
}

/** An ICNS of PNG images; types by pixel size (the @2x types carry the doubled size). */
export function encodeIcns(entries) {
  const parts = entries.map(({ type, png }) => {
    const h = Buffer.alloc(8);
    h.write(type, 0, 'ascii');
    h.writeUInt32BE(png.length + 8, 4);
    return Buffer.concat([h, png]);
  });
  const body = Buffer.concat(parts);
  const h = Buffer.alloc(8);
  h.write('icns', 0, 'ascii');
  h.writeUInt32BE(body.length + 8, 4);
  return Buffer.concat([h, body]);
}

// --- drawing ---------------------------------------------------------------------------------
// Coordinates are in units of the icon's size (0..1, y down); distances likewise.

const clamp = (x, a, b) => Math.min(b, Math.max(a, x));

function sdRoundRect(px, py, cx, cy, hw, hh, r) {
  const qx = Math.abs(px - cx) - hw + r;
  const qy = Math.abs(py - cy) - hh + r;
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r;
}

function sdPolygon(px, py, v) {
  let d = (px - v[0][0]) ** 2 + (py - v[0][1]) ** 2;
  let s = 1;
  for (let i = 0, j = v.length - 1; i < v.length; j = i, i++) {
    const ex = v[j][0] - v[i][0],
      ey = v[j][1] - v[i][1];
    const wx = px - v[i][0],
      wy = py - v[i][1];
    const t = clamp((wx * ex + wy * ey) / (ex * ex + ey * ey), 0, 1);
    const bx = wx - ex * t,
      by = wy - ey * t;
    d = Math.min(d, bx * bx + by * by);
    const c1 = py >= v[i][1],
      c2 = py < v[j][1],
      c3 = ex * wy > ey * wx;
    if ((c1 && c2 && c3) || (!c1 && !c2 && !c3)) s = -s;
  }
  return s * Math.sqrt(d);
}

function sdSegment(px, py, ax, ay, bx, by, halfWidth) {
  const pax = px - ax,
    pay = py - ay,
    bax = bx - ax,
    bay = by - ay;
  const h = clamp((pax * bax + pay * bay) / (bax * bax + bay * bay), 0, 1);
  return Math.hypot(pax - bax * h, pay - bay * h) - halfWidth;
}

/** An arc with round caps from angle a0 to a1 (radians, increasing clockwise on screen). */
function sdArc(px, py, cx, cy, radius, a0, a1, halfWidth) {
  const dx = px - cx,
    dy = py - cy;
  let a = Math.atan2(dy, dx);
  const span = a1 - a0;
  let rel = (a - a0) % (2 * Math.PI);
  if (rel < 0) rel += 2 * Math.PI;
  if (rel <= span) return Math.abs(Math.hypot(dx, dy) - radius) - halfWidth;
  const e0 = Math.hypot(px - (cx + radius * Math.cos(a0)), py - (cy + radius * Math.sin(a0)));
  const e1 = Math.hypot(px - (cx + radius * Math.cos(a1)), py - (cy + radius * Math.sin(a1)));
  return Math.min(e0, e1) - halfWidth;
}

/** The arrowhead at the a1 end of an arc, pointing on along the arc. */
function arrowHead(cx, cy, radius, a1, length, halfBase) {
  const ex = cx + radius * Math.cos(a1),
    ey = cy + radius * Math.sin(a1);
  const tx = -Math.sin(a1),
    ty = Math.cos(a1); // tangent (direction of increasing angle)
  const nx = Math.cos(a1),
    ny = Math.sin(a1); // outward normal
  return [
    [ex + tx * length, ey + ty * length],
    [ex + nx * halfBase, ey + ny * halfBase],
    [ex - nx * halfBase, ey - ny * halfBase],
  ];
}

const hex = (h) => [parseInt(h.slice(1, 3), 16) / 255, parseInt(h.slice(3, 5), 16) / 255, parseInt(h.slice(5, 7), 16) / 255];
const mix = (a, b, t) => a.map((x, i) => x + (b[i] - x) * t);

/**
 * Renders layers into a size x size RGBA image. A layer is { sd(x, y), color(x, y) -> [r,g,b],
 * alpha? }; coverage comes from the signed distance with a one-pixel ramp.
 */
function render(size, layers) {
  const out = new Float64Array(size * size * 4); // premultiplied
  const px = 1 / size;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = (x + 0.5) * px,
        v = (y + 0.5) * px;
      const o = (y * size + x) * 4;
      for (const layer of layers) {
        const d = layer.sd(u, v);
        // soft layers (shadows) ramp over a wider band than one pixel
        const ramp = Math.max(px, layer.soft ?? 0);
        const cov = clamp(0.5 - d / ramp, 0, 1) * (layer.alpha ?? 1);
        if (cov <= 0) continue;
        const [r, g, b] = layer.color(u, v);
        out[o] = r * cov + out[o] * (1 - cov);
        out[o + 1] = g * cov + out[o + 1] * (1 - cov);
        out[o + 2] = b * cov + out[o + 2] * (1 - cov);
        out[o + 3] = cov + out[o + 3] * (1 - cov);
      }
    }
  }
  const rgba = new Uint8Array(size * size * 4);
  for (let i = 0; i < size * size; i++) {
    const a = out[i * 4 + 3];
    rgba[i * 4 + 3] = Math.round(a * 255);
    if (a > 0) for (let k = 0; k < 3; k++) rgba[i * 4 + k] = Math.round(clamp(out[i * 4 + k] / a, 0, 1) * 255);
  }
  return { size, rgba, png: encodePng(size, size, rgba) };
}

const solid = (c) => () => c;
const union =
  (...fns) =>
  (x, y) =>
    Math.min(...fns.map((f) => f(x, y)));

/** A sheet of paper with its top-right corner folded down: outline and the folded flap. */
function page({ left, top, right, bottom, fold, round }) {
  const r = round;
  const outline = [
    [left + r, top + r],
    [right - fold, top + r],
    [right - r, top + fold],
    [right - r, bottom - r],
    [left + r, bottom - r],
  ];
  const flap = [
    [right - fold + r * 0.6, top + r * 1.2],
    [right - fold + r * 0.6, top + fold - r * 0.6],
    [right - r * 1.2, top + fold - r * 0.6],
  ];
  return {
    sheet: (x, y) => sdPolygon(x, y, outline) - r,
    flap: (x, y) => sdPolygon(x, y, flap) - r * 0.6,
  };
}

/** Two arcs chasing each other: the sync mark. */
function syncArrows(cx, cy, radius, stroke, head) {
  const gap = 0.5; // radians left open before each arrowhead
  const arcs = [
    [Math.PI + gap * 0.5, 2 * Math.PI - gap],
    [gap * 0.5, Math.PI - gap],
  ];
  const parts = [];
  for (const [a0, a1] of arcs) {
    parts.push((x, y) => sdArc(x, y, cx, cy, radius, a0, a1, stroke / 2));
    const tri = arrowHead(cx, cy, radius, a1, head, head * 0.95);
    parts.push((x, y) => sdPolygon(x, y, tri) - stroke * 0.12);
  }
  return union(...parts);
}

// --- the app icon ------------------------------------------------------------------------------

const BLUE = hex('#2563eb');
const TEAL = hex('#0d9488');

function appIcon(size) {
  const gradient = (x, y) => mix(BLUE, TEAL, clamp((x + y - 0.12) / 1.76, 0, 1));
  const p = page({ left: 0.27, top: 0.19, right: 0.73, bottom: 0.81, fold: 0.15, round: 0.035 });
  return render(size, [
    // a soft shadow under the tile
    { sd: (x, y) => sdRoundRect(x, y, 0.5, 0.52, 0.425, 0.425, 0.2), color: solid([0, 0, 0]), alpha: 0.28, soft: 0.035 },
    { sd: (x, y) => sdRoundRect(x, y, 0.5, 0.5, 0.43, 0.43, 0.2), color: gradient },
    // the sheet, its shadow, and the fold
    { sd: (x, y) => p.sheet(x - 0.004, y - 0.014), color: solid([0, 0, 0]), alpha: 0.22, soft: 0.025 },
    { sd: p.sheet, color: solid([1, 1, 1]) },
    { sd: p.flap, color: solid(hex('#c7d7fe')) },
    { sd: syncArrows(0.5, 0.56, 0.12, 0.042, 0.062), color: gradient },
  ]);
}

// --- tray icons --------------------------------------------------------------------------------

export const TRAY_STATES = {
  idle: '#16a34a',
  syncing: '#2563eb',
  paused: '#6b7280',
  error: '#dc2626',
  conflicts: '#d97706',
};

function trayGlyph(state, size) {
  // strokes no thinner than ~1.3 px, or they blur away at 16 px
  const w = Math.max(0.09, 1.35 / size);
  const cx = 0.47,
    cy = 0.6;
  switch (state) {
    case 'idle': // a check mark
      return union(
        (x, y) => sdSegment(x, y, cx - 0.17, cy, cx - 0.05, cy + 0.12, w / 2),
        (x, y) => sdSegment(x, y, cx - 0.05, cy + 0.12, cx + 0.17, cy - 0.12, w / 2),
      );
    case 'syncing':
      return syncArrows(cx, cy, 0.165, w, 0.1);
    case 'paused': // two bars
      return union(
        (x, y) => sdRoundRect(x, y, cx - 0.085, cy, w / 2 + 0.005, 0.16, 0.02),
        (x, y) => sdRoundRect(x, y, cx + 0.085, cy, w / 2 + 0.005, 0.16, 0.02),
      );
    case 'error': // an exclamation mark
      return union(
        (x, y) => sdSegment(x, y, cx, cy - 0.18, cx, cy + 0.04, w / 2 + 0.005),
        (x, y) => Math.hypot(x - cx, y - (cy + 0.16)) - (w / 2 + 0.012),
      );
    case 'conflicts': {
      // two arrows in opposite directions: two versions
      const head = 0.085;
      return union(
        (x, y) => sdSegment(x, y, cx - 0.17, cy - 0.085, cx + 0.08, cy - 0.085, w / 2),
        (x, y) =>
          sdPolygon(x, y, [
            [cx + 0.2, cy - 0.085],
            [cx + 0.2 - head * 1.1, cy - 0.085 - head],
            [cx + 0.2 - head * 1.1, cy - 0.085 + head],
          ]) - 0.005,
        (x, y) => sdSegment(x, y, cx + 0.17, cy + 0.1, cx - 0.08, cy + 0.1, w / 2),
        (x, y) =>
          sdPolygon(x, y, [
            [cx - 0.2, cy + 0.1],
            [cx - 0.2 + head * 1.1, cy + 0.1 + head],
            [cx - 0.2 + head * 1.1, cy + 0.1 - head],
          ]) - 0.005,
      );
    }
  }
  throw new Error(`unknown tray state ${state}`);
}

function trayIcon(state, size) {
  const color = hex(TRAY_STATES[state]);
  const p = page({ left: 0.12, top: 0.04, right: 0.88, bottom: 0.96, fold: 0.26, round: Math.max(0.05, 1 / size) });
  return render(size, [
    { sd: p.sheet, color: solid(color) },
    { sd: p.flap, color: solid(mix(color, [1, 1, 1], 0.55)) },
    { sd: trayGlyph(state, size), color: solid([1, 1, 1]) },
  ]);
}

// --- output ----------------------------------------------------------------------------------

/** Every file this script writes, relative to the assets folder. */
export function makeIcons() {
  const files = new Map();
  const app = new Map();
  for (const size of [16, 24, 32, 48, 64, 128, 256, 512, 1024]) app.set(size, appIcon(size));
  // the Linux icon set (electron-builder reads NxN.png from a folder without converting)
  for (const size of [16, 24, 32, 48, 64, 128, 256, 512]) files.set(`icons/${size}x${size}.png`, app.get(size).png);
  files.set('icon.ico', encodeIco([16, 24, 32, 48, 64, 128, 256].map((size) => app.get(size))));
  files.set(
    'icon.icns',
    encodeIcns(
      [
        ['icp4', 16],
        ['icp5', 32],
        ['ic07', 128],
        ['ic08', 256],
        ['ic09', 512],
        ['ic10', 1024],
        ['ic11', 32],
        ['ic12', 64],
        ['ic13', 256],
        ['ic14', 512],
      ].map(([type, size]) => ({ type, png: app.get(size).png })),
    ),
  );
  for (const state of Object.keys(TRAY_STATES)) {
    const s16 = trayIcon(state, 16).png,
      s32 = trayIcon(state, 32).png;
    files.set(`tray/tray-${state}.png`, s16);
    files.set(`tray/tray-${state}@2x.png`, s32);
    // Linux: tray hosts scale the image themselves; give them the larger one
    files.set(`tray/tray-${state}-32.png`, s32);
  }
  return files;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--out');
  const outDir = i > 0 ? process.argv[i + 1] : new URL('../assets', import.meta.url).pathname;
  for (const [name, data] of makeIcons()) {
    const file = join(outDir, name);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, data);
  }
  console.log(`wrote icons to ${outDir}`);
}
