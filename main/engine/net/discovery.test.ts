import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { encodeAnnouncement } from './discovery-packet.ts';
import { LOOPBACK_BROADCAST, bindPlan, startLanDiscovery, targetsFromEnv, type Discovered, type LanDiscovery } from './discovery.ts';
import { shutdownNet } from './transport.ts';
import { captureLog, waitFor } from './test-support.ts';

// Network rule: nothing leaves the machine. Only the loopback broadcast address, even if some
// code path fell back to the environment.
process.env.PEERFOLD_LAN_TARGETS = LOOPBACK_BROADCAST;

const X = 'aa'.repeat(32);
const Y = 'bb'.repeat(32);
const Z = 'cc'.repeat(32);

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

after(() => shutdownNet());

test('the env override parses and refuses non-addresses', () => {
  assert.deepEqual(targetsFromEnv(' 127.255.255.255 ,127.0.0.1'), ['127.255.255.255', '127.0.0.1']);
  assert.equal(targetsFromEnv(''), null);
  assert.throws(() => targetsFromEnv('example.com'), /not an IPv4 address/);
});

test('two instances on one machine hear each other via 127.255.255.255, not themselves', async () => {
  const port = await freeUdpPort();
  const heardByA: Discovered[] = [];
  const heardByB: Discovered[] = [];
  const base = { port, targets: [LOOPBACK_BROADCAST], log: captureLog().log };
  let a: LanDiscovery | null = null;
  let b: LanDiscovery | null = null;
  try {
    a = await startLanDiscovery({
      ...base,
      deviceId: 'DEVICE-A',
      signalingPort: 5001,
      discoveryIds: [X, Y],
      onDiscovered: (d) => heardByA.push(d),
    });
    assert.deepEqual(a.targets(), [LOOPBACK_BROADCAST]);
    b = await startLanDiscovery({
      ...base,
      deviceId: 'DEVICE-B',
      signalingPort: 5002,
      discoveryIds: [X],
      onDiscovered: (d) => heardByB.push(d),
    });
    // B announced on start and A heard it; A's next announcement is triggered by a change
    await waitFor(() => heardByA.length > 0, 'A hearing B');
    assert.deepEqual(heardByA[0], { deviceId: 'DEVICE-B', address: '127.0.0.1', port: 5002, discoveryIds: [X] });
    a.setDiscoveryIds([Y, X]); // same set: no announcement needed
    a.setDiscoveryIds([X, Y, Z]);
    await waitFor(() => heardByB.some((d) => d.discoveryIds.includes(Z)), "B hearing A's new share");
    const last = heardByB[heardByB.length - 1];
    assert.equal(last.deviceId, 'DEVICE-A');
    assert.equal(last.port, 5001);
    assert.deepEqual([...last.discoveryIds].sort(), [X, Y, Z]);
    assert.ok(
      heardByA.every((d) => d.deviceId !== 'DEVICE-A'),
      'A ignores its own announcements',
    );
    assert.ok(
      heardByB.every((d) => d.deviceId !== 'DEVICE-B'),
      'B ignores its own announcements',
    );
  } finally {
    await a?.close();
    await b?.close();
  }
});

test('garbage datagrams are ignored; the next valid one is heard', async () => {
  const port = await freeUdpPort();
  const heard: Discovered[] = [];
  const d = await startLanDiscovery({
    port,
    targets: [LOOPBACK_BROADCAST],
    deviceId: 'DEVICE-A',
    signalingPort: 5001,
    onDiscovered: (x) => heard.push(x),
    log: captureLog().log,
  });
  const sender = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  try {
    await new Promise<void>((r) => sender.bind(0, '127.0.0.1', () => r()));
    sender.setBroadcast(true);
    const send = (b: Uint8Array) => new Promise<void>((r, j) => sender.send(b, port, LOOPBACK_BROADCAST, (e) => (e ? j(e) : r())));
    const valid = encodeAnnouncement({ deviceId: 'DEVICE-C', port: 7000, discoveryIds: [Z] })[0];
    const garbage = [
      Buffer.from('hello'),
      Buffer.alloc(60_000, 0x41),
      Buffer.concat([valid, Buffer.of(1)]),
      valid.subarray(0, 20),
      Buffer.from(JSON.stringify({ deviceId: 'EVIL', port: 1, discoveryIds: [X] })),
    ];
    for (const g of garbage) await send(g);
    await send(valid);
    await waitFor(() => heard.length === 1, 'the valid announcement');
    assert.deepEqual(heard[0], { deviceId: 'DEVICE-C', address: '127.0.0.1', port: 7000, discoveryIds: [Z] });
    assert.equal(d.ignoredPackets, garbage.length);
  } finally {
    sender.close();
    await d.close();
  }
});

test("a bind address is honoured: heard on its interface's broadcast address, sent from it, announced there only", async () => {
  const ifaces = {
    lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }],
    eth0: [
      {
        address: '192.168.7.20',
        netmask: '255.255.255.0',
        family: 'IPv4',
        mac: '02:00:00:00:00:01',
        internal: false,
        cidr: '192.168.7.20/24',
      },
    ],
  } as unknown as ReturnType<typeof import('node:os').networkInterfaces>;
  assert.deepEqual(bindPlan(undefined, ifaces), { listen: '0.0.0.0', send: null, broadcast: null });
  assert.deepEqual(bindPlan('0.0.0.0', ifaces), { listen: '0.0.0.0', send: null, broadcast: null });
  assert.deepEqual(bindPlan('127.0.0.1', ifaces), { listen: '127.255.255.255', send: '127.0.0.1', broadcast: '127.255.255.255' });
  assert.deepEqual(bindPlan('192.168.7.20', ifaces), { listen: '192.168.7.255', send: '192.168.7.20', broadcast: '192.168.7.255' });
  assert.throws(() => bindPlan('10.9.9.9', ifaces), /not an IPv4 address of this machine/);

  // for real, on loopback: two devices bound to 127.0.0.1 hear each other, and no socket is on 0.0.0.0
  const port = await freeUdpPort();
  const heard: Discovered[] = [];
  const base = { port, bindAddress: '127.0.0.1', log: captureLog().log };
  const a = await startLanDiscovery({
    ...base,
    deviceId: 'DEVICE-A',
    signalingPort: 5001,
    discoveryIds: [X],
    onDiscovered: (d) => heard.push(d),
  });
  const b = await startLanDiscovery({ ...base, deviceId: 'DEVICE-B', signalingPort: 5002, discoveryIds: [X] });
  try {
    await waitFor(() => heard.length > 0, 'A hearing B');
    assert.deepEqual(heard[0], { deviceId: 'DEVICE-B', address: '127.0.0.1', port: 5002, discoveryIds: [X] });
    const sockets = [a, b].flatMap((d) => [
      (d as unknown as { socket: dgram.Socket }).socket,
      (d as unknown as { sender: dgram.Socket }).sender,
    ]);
    assert.ok(
      sockets.every((sk) => sk.address().address !== '0.0.0.0'),
      sockets.map((sk) => sk.address().address).join(', '),
    );
  } finally {
    await a.close();
    await b.close();
  }
});
