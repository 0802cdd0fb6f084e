// Bare node-datachannel across the emulated long link (no Peerfold): one reliable ordered channel,
// the sender in namespace b, the receiver in namespace a, the same flow-control marks as PeerLink.
// Prints, per second, what the application received and what the link carried in the data
// direction (more on the link than for the application = retransmissions), and the data
// channel's send and receive buffers.
//
//   node --import tsx bench/wan-datachannel.ts [--rtt 100] [--rate 200] [--loss 0] [--seconds 40]
//        [--sctp-buffer BYTES]        setSctpSettings({ sendBufferSize, recvBufferSize }) in both
//        [--max-message-size BYTES]   RtcConfig.maxMessageSize of both PeerConnections (usrsctp's
//                                     socket buffers of that association are raised to it)
//        [--receiver-sctp-buffer BYTES] [--sender-sctp-buffer BYTES]   the same, one end only
//        [--message BYTES]            message size (default 64 KiB)
//        [--cc N] [--sack-ms N]       congestionControlModule, delayedSackTime
//        [--nice]                     both ends at nice -15 (less CPU contention on a busy machine)
// Inside a namespace it runs one end: --end receiver|sender --peer HOST:PORT.
import nodeDataChannel from 'node-datachannel';
import type { DataChannel, PeerConnection, SctpSettings } from 'node-datachannel';
import { createConnection, createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
const MESSAGE = Number(arg('--message') ?? 64 * 1024);

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const num = (name: string, dflt: number) => Number(arg(name) ?? dflt);

type Signal = { description: { sdp: string; type: string } } | { candidate: { candidate: string; mid: string } };

/** JSON lines over a TCP socket. */
function lines(sock: Socket, onLine: (v: Signal) => void): (v: Signal) => void {
  let buf = '';
  sock.on('data', (d) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const l = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (l) onLine(JSON.parse(l) as Signal);
    }
  });
  return (v) => sock.write(`${JSON.stringify(v)}\n`);
}

const keep: unknown[] = [];

function sctpSettingsFromArgs(end: 'receiver' | 'sender'): SctpSettings | null {
  const s: SctpSettings = {};
  const buffer = arg(`--${end}-sctp-buffer`) ?? arg('--sctp-buffer');
  if (buffer) s.sendBufferSize = s.recvBufferSize = Number(buffer);
  if (arg('--cc')) s.congestionControlModule = num('--cc', 0);
  if (arg('--sack-ms')) s.delayedSackTime = num('--sack-ms', 20);
  return Object.keys(s).length ? s : null;
}

/** One end, inside a namespace: signaling over TCP across the link itself. */
async function runEnd(end: 'receiver' | 'sender', peer: string, bind: string): Promise<void> {
  const settings = sctpSettingsFromArgs(end);
  if (settings) nodeDataChannel.setSctpSettings(settings);
  const [host, port] = peer.split(':');
  const sock: Socket = await new Promise((resolve) => {
    if (end === 'receiver') {
      const server = createServer((s) => {
        server.close();
        resolve(s);
      });
      server.listen(Number(port), host, () => process.stdout.write('{"listening":true}\n'));
    } else {
      const s = createConnection(Number(port), host, () => resolve(s));
    }
  });
  const maxMessageSize = arg('--max-message-size') ? num('--max-message-size', 0) : 262144;
  const pc: PeerConnection = new nodeDataChannel.PeerConnection(end, { iceServers: [], bindAddress: bind, maxMessageSize });
  keep.push(pc);
  let haveRemote = false;
  const held: Signal[] = [];
  const send = lines(sock, (v) => {
    try {
      if ('description' in v) {
        pc.setRemoteDescription(v.description.sdp, v.description.type as 'offer' | 'answer');
        haveRemote = true;
        if (end === 'receiver') makeChannel();
        for (const h of held.splice(0)) send(h);
      } else pc.addRemoteCandidate(v.candidate.candidate, v.candidate.mid);
    } catch (e) {
      console.error(e);
    }
  });
  pc.onLocalDescription((sdp, type) => send({ description: { sdp, type } }));
  pc.onLocalCandidate((candidate, mid) => {
    const s = { candidate: { candidate, mid } };
    if (end === 'sender' && !haveRemote) held.push(s);
    else send(s);
  });
  const makeChannel = () => {
    const dc: DataChannel = pc.createDataChannel('data', { negotiated: true, id: 1 });
    keep.push(dc);
    if (end === 'sender') dc.onOpen(() => blast(dc));
    else count(dc);
  };
  if (end === 'sender') makeChannel();
}

function blast(dc: DataChannel): void {
  const msg = new Uint8Array(MESSAGE);
  const pump = () => {
    try {
      while (dc.bufferedAmount() < HIGH_WATER) dc.sendMessageBinary(msg);
    } catch {
      process.exit(0); // closed: the run is over
    }
  };
  dc.setBufferedAmountLowThreshold(LOW_WATER);
  dc.onBufferedAmountLow(pump);
  pump();
}

function count(dc: DataChannel): void {
  let got = 0;
  dc.onMessage((m) => {
    got += typeof m === 'string' ? Buffer.byteLength(m) : (m as ArrayBuffer).byteLength;
  });
  dc.onOpen(() => {
    const t0 = performance.now();
    setInterval(() => process.stdout.write(`${JSON.stringify({ atMs: performance.now() - t0, appBytes: got })}\n`), 1000);
  });
}

export interface DatachannelRun {
  /** Mbit/s per second: what the receiving application got, what the link carried that way */
  app: number[];
  link: number[];
  /** bytes on the link in the data direction / bytes the application received */
  linkPerAppByte: number;
  /** the delay line's queue drops and random losses in the data direction during the run */
  queueDrops: number;
  lost: number;
  /** UDP counters of /proc/net/snmp in each namespace at the end (drops the line cannot see) */
  udp: { receiver: Record<string, number>; sender: Record<string, number> };
}

function udpCounters(snmp: string): Record<string, number> {
  const lines = snmp.split('\n').filter((l) => l.startsWith('Udp:'));
  const [names, values] = [lines[0].split(/\s+/).slice(1), lines[1].split(/\s+/).slice(1).map(Number)];
  const pick = ['InDatagrams', 'OutDatagrams', 'RcvbufErrors', 'SndbufErrors', 'InErrors'];
  return Object.fromEntries(names.map((n, i) => [n, values[i]]).filter(([n]) => pick.includes(n as string)));
}

/** Both ends across a fresh link, for `seconds` after the channel opened. */
export async function runAcross(
  shape: import('../e2e/long-link/long-link.ts').LinkShape,
  seconds: number,
  extra: string[],
): Promise<DatachannelRun> {
  const { openLongLink } = await import('../e2e/long-link/long-link.ts');
  const link = await openLongLink(shape);
  const self = fileURLToPath(import.meta.url);
  try {
    // --nice: both ends at nice -15, to see what CPU contention on a busy machine does
    const exe = extra.includes('--nice') ? 'nice' : process.execPath;
    const pre = extra.includes('--nice') ? ['-n', '-15', process.execPath] : [];
    const receiver = link.net.spawn(link.a.ns, exe, [
      ...pre,
      '--import',
      'tsx',
      self,
      ...['--end', 'receiver', '--peer', `${link.a.address}:7000`, '--bind', link.a.address, ...extra],
    ]);
    let err = '';
    receiver.stderr!.on('data', (d) => (err += d));
    const samples: { atMs: number; appBytes: number }[] = [];
    const linkSamples: { atMs: number; bytes: number; queueDrops: number; lost: number }[] = [];
    let started!: () => void;
    const listening = new Promise<void>((r) => (started = r));
    let buf = '';
    receiver.stdout!.on('data', (d) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const v = JSON.parse(buf.slice(0, nl)) as { listening?: true; atMs: number; appBytes: number };
        buf = buf.slice(nl + 1);
        if (v.listening) started();
        else {
          samples.push(v);
          void link
            .counters()
            .then((c) => linkSamples.push({ atMs: c.atMs, bytes: c.bToA.outBytes, queueDrops: c.bToA.queueDrops, lost: c.bToA.lost }));
        }
      }
    });
    await listening;
    const sender = link.net.spawn(link.b.ns, exe, [
      ...pre,
      '--import',
      'tsx',
      self,
      ...['--end', 'sender', '--peer', `${link.a.address}:7000`, '--bind', link.b.address, ...extra],
    ]);
    sender.stderr!.on('data', (d) => (err += d));
    const deadline = Date.now() + (seconds + 30) * 1000;
    while (samples.length < seconds + 1) {
      if (Date.now() > deadline) throw new Error(`the data channel did not run: ${err}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const rate = (xs: number[], ts: number[]) => xs.slice(1).map((x, i) => ((x - xs[i]) * 8) / (ts[i + 1] - ts[i]) / 1e3);
    const app = rate(
      samples.map((s) => s.appBytes),
      samples.map((s) => s.atMs),
    );
    const linkRate = rate(
      linkSamples.map((s) => s.bytes),
      linkSamples.map((s) => s.atMs),
    );
    const appTotal = samples[samples.length - 1].appBytes - samples[0].appBytes;
    const linkTotal = linkSamples[linkSamples.length - 1].bytes - linkSamples[0].bytes;
    const [first, last] = [linkSamples[0], linkSamples[linkSamples.length - 1]];
    return {
      app,
      link: linkRate,
      linkPerAppByte: linkTotal / appTotal,
      queueDrops: last.queueDrops - first.queueDrops,
      lost: last.lost - first.lost,
      udp: {
        receiver: udpCounters(link.net.run(link.a.ns, 'cat', ['/proc/net/snmp'])),
        sender: udpCounters(link.net.run(link.b.ns, 'cat', ['/proc/net/snmp'])),
      },
    };
  } finally {
    await link.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const end = arg('--end');
  if (end === 'receiver' || end === 'sender') await runEnd(end, arg('--peer')!, arg('--bind')!);
  else {
    const flags = ['--nice'].filter((f) => process.argv.includes(f));
    const passOn = [
      ...flags,
      '--sctp-buffer',
      '--receiver-sctp-buffer',
      '--sender-sctp-buffer',
      '--message',
      '--max-message-size',
      '--cc',
      '--sack-ms',
    ].flatMap((k) => (k.startsWith('--nice') ? [k] : arg(k) ? [k, arg(k)!] : []));
    const shape = { rttMs: num('--rtt', 100), rateMbit: num('--rate', 200), loss: num('--loss', 0) };
    const r = await runAcross(shape, num('--seconds', 40), passOn);
    const f = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
    console.log(`RTT ${shape.rttMs} ms, ${shape.rateMbit} Mbit/s, loss ${shape.loss} ${passOn.join(' ')}`);
    console.log(`  app  Mbit/s per second: ${f(r.app)}`);
    console.log(`  link Mbit/s per second: ${f(r.link)}`);
    console.log(`  UDP receiver ${JSON.stringify(r.udp.receiver)} sender ${JSON.stringify(r.udp.sender)}`);
    console.log(`  link bytes per application byte: ${r.linkPerAppByte.toFixed(3)}; queue drops ${r.queueDrops}, random losses ${r.lost}`);
    process.exit(0);
  }
}
