// An iperf-like sender and receiver for measuring the emulated long link alone (bench/long-link.ts
// runs one inside each network namespace). Prints one JSON line.
//   node blast.mjs tcp-server HOST PORT            receives one connection, prints what arrived
//   node blast.mjs tcp-client HOST PORT MIB        sends MIB MiB as fast as TCP takes them
//   node blast.mjs udp-server HOST PORT SECONDS    counts datagrams for SECONDS after the first
//   node blast.mjs udp-client HOST PORT MBIT SECONDS   sends 1200-byte datagrams at up to MBIT Mbit/s
import { createSocket } from 'node:dgram';
import { createConnection, createServer } from 'node:net';

const [mode, host, portArg, a, b] = process.argv.slice(2);
const port = Number(portArg);
const out = (o) => console.log(JSON.stringify(o));

if (mode === 'tcp-server') {
  const server = createServer((s) => {
    let bytes = 0;
    let t0 = 0;
    s.on('data', (d) => {
      if (!t0) t0 = performance.now();
      bytes += d.length;
    });
    s.on('end', () => {
      const seconds = (performance.now() - t0) / 1000;
      out({ bytes, seconds, mbit: (bytes * 8) / seconds / 1e6 });
      s.end();
      server.close();
    });
  });
  server.listen(port, host, () => console.error('listening'));
} else if (mode === 'tcp-client') {
  let left = Number(a);
  const block = Buffer.alloc(1 << 20, 0x5a);
  const s = createConnection(port, host, () => {
    const pump = () => {
      while (left > 0) {
        left--;
        if (!s.write(block)) return void s.once('drain', pump);
      }
      s.end();
    };
    pump();
  });
  s.on('close', () => process.exit(0));
} else if (mode === 'udp-server') {
  const sock = createSocket('udp4');
  let packets = 0;
  let bytes = 0;
  let t0 = 0;
  sock.on('message', (m) => {
    if (!t0) {
      t0 = performance.now();
      setTimeout(
        () => {
          const seconds = (performance.now() - t0) / 1000;
          out({ packets, bytes, seconds, mbit: (bytes * 8) / seconds / 1e6 });
          process.exit(0);
        },
        Number(a) * 1000 + 500,
      );
    }
    packets++;
    bytes += m.length + 28;
  });
  sock.bind(port, host, () => console.error('listening'));
} else if (mode === 'udp-client') {
  const sock = createSocket('udp4');
  const size = 1200;
  const perMs = (Number(a) * 1e6) / 8 / (size + 28) / 1000;
  const payload = Buffer.alloc(size, 0x5a);
  const t0 = performance.now();
  let sent = 0;
  let skipped = 0;
  const tick = () => {
    const elapsed = performance.now() - t0;
    if (elapsed > Number(b) * 1000) {
      out({ sentPackets: sent, skippedPackets: skipped });
      return sock.close();
    }
    // a stalled event loop does not catch up in one burst (the line would drop it): skip ahead
    const due = Math.floor(elapsed * perMs);
    const behind = due - sent - skipped;
    if (behind > perMs * 2) skipped += behind - Math.ceil(perMs * 2);
    while (sent + skipped < due) {
      sock.send(payload, port, host);
      sent++;
    }
    setImmediate(tick);
  };
  tick();
} else {
  console.error('usage: see the head of blast.mjs');
  process.exit(2);
}
