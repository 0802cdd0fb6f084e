// Sync across an emulated long link (e2e/long-link): two real daemons in two network namespaces,
// RTT 100 ms, 200 Mbit/s, 1 % random loss each way. A correctness test over a bad link: every byte
// must arrive, in both directions; nothing here is timed (the ceilings are generous). Skipped, with
// the reason, where network namespaces cannot be made (not root, no /dev/net/tun).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Cluster, converged, sha, treeOf } from './harness.ts';
import { longLinkUnavailable, openLongLink, type LongLink } from './long-link/long-link.ts';
import { pairAcross } from './long-link/ns-device.ts';

const unavailable = longLinkUnavailable();
const clusters: Cluster[] = [];
const links: LongLink[] = [];
after(async () => {
  for (const c of clusters) await c.close();
  for (const l of links) await l.close();
});

/** Writes `files` into `dir` and returns path -> "f:<sha256>" as treeOf() reports it. */
function writeAll(dir: string, files: Map<string, Buffer>): Map<string, string> {
  const expected = new Map<string, string>();
  for (const [rel, data] of files) {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      mkdirSync(join(dir, ...parts.slice(0, i)), { recursive: true });
      expected.set(parts.slice(0, i).join('/'), 'd');
    }
    writeFileSync(join(dir, rel), data);
    expected.set(rel, `f:${sha(data)}`);
  }
  return expected;
}

test(
  'a few MiB and a few hundred files cross a 100 ms link with 1 % loss, every byte intact, both ways',
  { skip: unavailable ?? false, timeout: 400_000 },
  async () => {
    const link = await openLongLink({ rttMs: 100, rateMbit: 200, loss: 0.01, seed: 13 });
    links.push(link);
    const c = new Cluster('peerfold-e2e-long-link-');
    clusters.push(c);
    const { a, b, shareId } = await pairAcross(c, link, ['home', 'office']);

    const fromA = new Map<string, Buffer>();
    for (let i = 0; i < 3; i++) fromA.set(`big/part-${i}.bin`, randomBytes(1024 * 1024));
    for (let i = 0; i < 300; i++) fromA.set(`small/d${i % 10}/note-${i}.txt`, randomBytes(100 + ((i * 7919) % 4000)));
    const fromB = new Map<string, Buffer>();
    fromB.set('office/report.bin', randomBytes(512 * 1024));
    for (let i = 0; i < 30; i++) fromB.set(`office/memo-${i}.txt`, randomBytes(50 + i * 31));

    const expected = new Map([...writeAll(a.dir, fromA), ...writeAll(b.dir, fromB)]);
    const tree = await converged([a, b], shareId, 300_000);
    for (const [path, fp] of expected) assert.equal(tree.get(path), fp, `${path} arrived intact`);
    assert.deepEqual(treeOf(a.dir), treeOf(b.dir));
    const counters = await link.counters();
    assert.ok(counters.aToB.lost + counters.bToA.lost > 0, 'the link did lose packets');
  },
);
