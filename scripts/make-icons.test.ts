import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { encodeIcns, encodeIco, encodePng, makeIcons } from './make-icons.mjs';

const assets = new URL('../assets/', import.meta.url).pathname;

/** Decodes the PNGs our encoder writes (8-bit RGBA, filter 0), checking every CRC on the way. */
function decodePng(buf: Buffer): { width: number; height: number; rgba: Buffer } {
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let o = 8;
  let width = 0,
    height = 0;
  const idat: Buffer[] = [];
  for (;;) {
    const len = buf.readUInt32BE(o);
    const type = buf.toString('ascii', o + 4, o + 8);
    const data = buf.subarray(o + 8, o + 8 + len);
    assert.equal(buf.readUInt32BE(o + 8 + len), crc32(buf.subarray(o + 4, o + 8 + len)), `CRC of ${type}`);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.deepEqual([...data.subarray(8)], [8, 6, 0, 0, 0]);
    }
    if (type === 'IDAT') idat.push(data);
    o += 12 + len;
    if (type === 'IEND') break;
  }
  const raw = inflateSync(Buffer.concat(idat));
  assert.equal(raw.length, height * (width * 4 + 1));
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * (width * 4 + 1)], 0);
    raw.copy(rgba, y * width * 4, y * (width * 4 + 1) + 1, (y + 1) * (width * 4 + 1));
  }
  return { width, height, rgba };
}

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

test('PNG encoder round-trips pixels', () => {
  const rgba = new Uint8Array([255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 0, 9, 8, 7, 6, 1, 2, 3, 4, 5, 6, 7, 8]);
  const png = decodePng(encodePng(3, 2, rgba));
  assert.deepEqual([png.width, png.height], [3, 2]);
  assert.deepEqual([...png.rgba], [...rgba]);
});

test('ICO: BMP below 256 px, PNG at 256 px, each indexed correctly', () => {
  const small = new Uint8Array(2 * 2 * 4).map((_, i) => i); // 2x2, rows: [0..7], [8..15]
  const big = encodePng(1, 1, new Uint8Array([1, 2, 3, 4]));
  const ico = encodeIco([
    { size: 2, rgba: small, png: Buffer.alloc(0) },
    { size: 256, rgba: new Uint8Array(0), png: big },
  ]);
  assert.deepEqual([ico.readUInt16LE(0), ico.readUInt16LE(2), ico.readUInt16LE(4)], [0, 1, 2]);
  assert.equal(ico[6], 2);
  assert.equal(ico[6 + 16], 0); // 256 is written as 0
  const off0 = ico.readUInt32LE(6 + 12),
    len0 = ico.readUInt32LE(6 + 8);
  const bmp = ico.subarray(off0, off0 + len0);
  assert.deepEqual([bmp.readUInt32LE(0), bmp.readInt32LE(4), bmp.readInt32LE(8), bmp.readUInt16LE(14)], [40, 2, 4, 32]);
  // bottom row first, BGRA: pixel (0,1) = rgba 8,9,10,11 -> 10,9,8,11
  assert.deepEqual([...bmp.subarray(40, 44)], [10, 9, 8, 11]);
  assert.equal(len0, 40 + 16 + 4 * 2); // header, pixels, a 4-byte mask row per pixel row
  const off1 = ico.readUInt32LE(6 + 16 + 12);
  assert.deepEqual(ico.subarray(off1, off1 + ico.readUInt32LE(6 + 16 + 8)), big);
  assert.equal(off1 + big.length, ico.length);
});

test('ICNS indexes its PNGs', () => {
  const a = encodePng(1, 1, new Uint8Array([1, 2, 3, 4]));
  const b = encodePng(2, 2, new Uint8Array(16));
  const icns = encodeIcns([
    { type: 'ic08', png: a },
    { type: 'ic09', png: b },
  ]);
  assert.equal(icns.toString('ascii', 0, 4), 'icns');
  assert.equal(icns.readUInt32BE(4), icns.length);
  assert.equal(icns.toString('ascii', 8, 12), 'ic08');
  assert.equal(icns.readUInt32BE(12), a.length + 8);
  assert.deepEqual(icns.subarray(16, 16 + a.length), a);
});

test('the committed assets are exactly what the script draws', () => {
  const files = makeIcons();
  assert.ok(files.size >= 20);
  for (const [name, data] of files) {
    assert.ok(readFileSync(assets + name).equals(data), `assets/${name} is stale: run node scripts/make-icons.mjs`);
  }
});

test('icons have their sizes, and the tray icons are not blank', () => {
  for (const size of [16, 32, 256, 512]) {
    const png = decodePng(readFileSync(`${assets}icons/${size}x${size}.png`));
    assert.deepEqual([png.width, png.height], [size, size]);
  }
  const seen = new Set<string>();
  for (const state of ['idle', 'syncing', 'paused', 'error', 'conflicts']) {
    for (const [suffix, size] of [
      ['', 16],
      ['@2x', 32],
      ['-32', 32],
    ] as const) {
      const png = decodePng(readFileSync(`${assets}tray/tray-${state}${suffix}.png`));
      assert.deepEqual([png.width, png.height], [size, size]);
      let opaque = 0;
      for (let i = 3; i < png.rgba.length; i += 4) if (png.rgba[i]! > 200) opaque++;
      assert.ok(opaque > size * size * 0.3, `tray-${state}${suffix} is mostly empty`);
    }
    // each state's color differs: compare the pixel at the middle of the left edge of the page
    const png = decodePng(readFileSync(`${assets}tray/tray-${state}@2x.png`));
    const i = (16 * 32 + 6) * 4;
    seen.add(png.rgba.subarray(i, i + 3).toString('hex'));
  }
  assert.equal(seen.size, 5);
});
