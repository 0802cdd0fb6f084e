// The tracker client against the real bittorrent-tracker server on 127.0.0.1: two clients that
// announce the same info hash get a WebRTC link through it (offer and answer relayed, no trickle),
// carrying bytes both ways; a tracker that goes away and comes back is reconnected to, and one
// that is not there at all is shown as waiting without stopping anything.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TrackerClient, type TrackerClientOptions, type TrackerClientStatus } from './tracker-client.ts';
import { startTestTracker, type TestTracker } from './tracker-test-server.ts';
import { shutdownNet, type PeerLink } from './transport.ts';
import { captureLog, makeCert, tempDir, waitFor, type TestCert } from './test-support.ts';

const HASH = 'ab'.repeat(20);
const OTHER = 'cd'.repeat(20);
const tmp = tempDir();
let certA: TestCert;
let certB: TestCert;
let tracker: TestTracker;
const clients: TrackerClient[] = [];

before(async () => {
  certA = makeCert(tmp.dir, 'a');
  certB = makeCert(tmp.dir, 'b');
  tracker = await startTestTracker();
});

after(async () => {
  for (const c of clients) c.close();
  await tracker.close();
  await shutdownNet();
  tmp.remove();
});

interface Side {
  client: TrackerClient;
  links: { link: PeerLink; infoHash: string }[];
  statuses: TrackerClientStatus[];
}

function side(cert: TestCert, url: string, over: Partial<TrackerClientOptions> & { hashes: string[]; offers: number }): Side {
  const links: Side['links'] = [];
  const statuses: TrackerClientStatus[] = [];
  const client = new TrackerClient({
    url,
    link: () => ({ certPemFile: cert.certPemFile, keyPemFile: cert.keyPemFile, bindAddress: '127.0.0.1' }),
    announcements: () => over.hashes.map((infoHash) => ({ infoHash, offers: over.offers })),
    wants: (h) => over.hashes.includes(h),
    onLink: (link, infoHash) => links.push({ link, infoHash }),
    onStatus: (s) => statuses.push(s),
    announceMs: 500,
    log: captureLog().log,
    ...over,
  });
  clients.push(client);
  return { client, links, statuses };
}

test('two clients announcing one info hash get a working link through the tracker, the offerer dialing', { timeout: 60_000 }, async () => {
  const a = side(certA, tracker.url, { hashes: [HASH], offers: 0 });
  await waitFor(() => a.client.status().state === 'connected' && a.client.status().announced.length === 1, 'a to announce');
  const b = side(certB, tracker.url, { hashes: [HASH], offers: 1 });
  await waitFor(() => a.links.length > 0 && b.links.length > 0, 'a link on both sides', 30_000);
  const [la, lb] = [a.links[0], b.links[0]];
  assert.equal(la.infoHash, HASH);
  assert.equal(lb.infoHash, HASH);
  assert.equal(lb.link.role, 'offerer');
  assert.equal(la.link.role, 'answerer');
  assert.equal(la.link.id, lb.link.id, 'both ends know the same connection id (the offer id)');
  assert.equal(la.link.via, 'internet', 'found through a tracker');
  assert.equal(la.link.remoteFingerprint, certB.fingerprint, "DTLS saw b's certificate");
  assert.equal(lb.link.remoteFingerprint, certA.fingerprint);
  const got: string[] = [];
  la.link.onMessage('index', (m) => got.push(Buffer.from(m).toString()));
  lb.link.onMessage('data', (m) => got.push(Buffer.from(m).toString()));
  await lb.link.send('index', Buffer.from('hello from b'));
  await la.link.send('data', Buffer.from('hello from a'));
  await waitFor(() => got.length === 2, 'both messages');
  assert.deepEqual(got.sort(), ['hello from a', 'hello from b']);
  a.client.close();
  b.client.close();
  la.link.close('done');
  lb.link.close('done');
});

test('an offer for an info hash the client does not hold is not answered', { timeout: 60_000 }, async () => {
  const a = side(certA, tracker.url, { hashes: [OTHER], offers: 0, wants: () => false });
  await waitFor(() => a.client.status().announced.length === 1, 'a to announce');
  const b = side(certB, tracker.url, { hashes: [OTHER], offers: 1 });
  // b keeps offering (every 0.5 s); a refuses each: give it a few rounds
  await waitFor(() => b.statuses.some((s) => s.state === 'connected'), 'b connected');
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(a.links.length, 0);
  assert.equal(b.links.length, 0);
  a.client.close();
  b.client.close();
});

test(
  'a tracker that is not there is shown as waiting and retried; once it is up the client announces there',
  { timeout: 60_000 },
  async () => {
    // a port with nothing on it: take one from a tracker and close it
    const gone = await startTestTracker();
    const port = gone.port;
    await gone.close();
    const a = side(certA, `ws://127.0.0.1:${port}`, { hashes: [HASH], offers: 0 });
    await waitFor(() => a.client.status().state === 'waiting', 'a to wait');
    assert.match(a.client.status().error ?? '', /ECONNREFUSED|closed|connect/);
    const back = await startTestTracker(port);
    try {
      await waitFor(
        () => a.client.status().state === 'connected' && a.client.status().announced.length === 1,
        'a to connect once the tracker is up',
        45_000,
      );
      assert.equal(a.client.status().error, null);
    } finally {
      a.client.close();
      await back.close();
    }
  },
);

test('after a network change the client connects again at once, as a new peer, and is reachable there', { timeout: 60_000 }, async () => {
  const a = side(certA, tracker.url, { hashes: [OTHER], offers: 0 });
  await waitFor(() => a.client.status().state === 'connected' && a.client.status().announced.length === 1, 'a to announce');
  const before = a.client.peerId;
  a.client.networkChanged();
  // a tracker keeps the connection it first saw a peer ID on: the same ID would leave answers there
  assert.notEqual(a.client.peerId, before);
  await waitFor(() => a.client.status().state === 'connected' && a.client.status().announced.length === 1, 'a to announce again');
  const b = side(certB, tracker.url, { hashes: [OTHER], offers: 1 });
  await waitFor(() => a.links.length > 0 && b.links.length > 0, 'a link on both sides', 30_000);
  await a.links[0].link.whenOpen();
  a.client.close();
  b.client.close();
  for (const l of [...a.links, ...b.links]) l.link.close('done');
});
