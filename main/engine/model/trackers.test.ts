// What the status of the trackers says about shares, against the real bittorrent-tracker server
// on 127.0.0.1: near midnight a share is announced under two tracker IDs (today's and tomorrow's,
// keys/tracker-id.ts), and the tracker sees both, but the user has one share there, not two.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSettings } from '../config/settings.ts';
import { createShareSecret, deriveShareKeys } from '../keys/secrets.ts';
import { TRACKER_PERIOD_MS } from '../keys/tracker-id.ts';
import { startTestTracker } from '../net/tracker-test-server.ts';
import { shutdownNet } from '../net/transport.ts';
import { makeCert, tempDir, waitFor } from '../net/test-support.ts';
import { Trackers } from './trackers.ts';

const tmp = tempDir();
after(async () => {
  await shutdownNet();
  tmp.remove();
});

async function announcedAt(nowMs: number): Promise<{ shares: number; swarms: number }> {
  const tracker = await startTestTracker();
  const cert = makeCert(tmp.dir, `t${nowMs}`);
  const keys = deriveShareKeys(createShareSecret());
  const trackers = new Trackers({
    settings: () => ({ ...defaultSettings(), trackers: [tracker.url] }),
    noPublic: true,
    activeShares: () => [keys],
    // linked already: findable only, no offers to wait for
    linkedDevices: () => 1,
    linkOptions: () => ({ certPemFile: cert.certPemFile, keyPemFile: cert.keyPemFile, bindAddress: '127.0.0.1' }),
    adopt: (link) => link.close('not in this test'),
    statusChanged: () => {},
    log: () => {},
    now: () => nowMs,
  });
  try {
    await waitFor(
      () => Object.keys(tracker.server.torrents).length > 0 && trackers.status()[0]?.announced > 0,
      'the share to be announced',
    );
    // give a second info hash, if any, the time to reach the tracker too
    await new Promise((r) => setTimeout(r, 300));
    return { shares: trackers.status()[0].announced, swarms: Object.keys(tracker.server.torrents).length };
  } finally {
    trackers.close();
    await tracker.close();
  }
}

test('at noon one share is one tracker ID, and the status counts one share', { timeout: 30_000 }, async () => {
  const noon = 20_000 * TRACKER_PERIOD_MS + TRACKER_PERIOD_MS / 2;
  assert.deepEqual(await announcedAt(noon), { shares: 1, swarms: 1 });
});

test(
  'ten minutes before midnight the tracker sees two IDs of the one share, and the status still counts one share',
  { timeout: 30_000 },
  async () => {
    const late = 20_001 * TRACKER_PERIOD_MS - 10 * 60_000;
    assert.deepEqual(await announcedAt(late), { shares: 1, swarms: 2 });
  },
);
