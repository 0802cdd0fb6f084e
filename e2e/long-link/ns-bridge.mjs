// Runs inside a network namespace (`ip netns exec NS node ns-bridge.mjs SOCKET`) and lets the
// caller, outside it, reach that namespace's loopback: each connection to the Unix socket SOCKET
// (a path: those cross namespaces) starts with one line "PORT\n", and the rest of it is piped to
// 127.0.0.1:PORT inside the namespace. Exits when its stdin closes (the caller is gone).
import { createConnection, createServer } from 'node:net';
import { rmSync } from 'node:fs';

const path = process.argv[2];
if (!path) {
  console.error('usage: ns-bridge.mjs SOCKET');
  process.exit(2);
}
rmSync(path, { force: true });
const server = createServer((client) => {
  let head = Buffer.alloc(0);
  const onData = (chunk) => {
    head = Buffer.concat([head, chunk]);
    const nl = head.indexOf(10);
    if (nl < 0) {
      if (head.length > 16) client.destroy();
      return;
    }
    client.off('data', onData);
    client.pause();
    const port = Number(head.subarray(0, nl).toString());
    const rest = head.subarray(nl + 1);
    if (!Number.isInteger(port) || port < 1 || port > 65535) return client.destroy();
    const target = createConnection(port, '127.0.0.1', () => {
      if (rest.length) target.write(rest);
      client.pipe(target);
      target.pipe(client);
      client.resume();
    });
    target.on('error', () => client.destroy());
    client.on('error', () => target.destroy());
    target.on('close', () => client.destroy());
    client.on('close', () => target.destroy());
  };
  client.on('data', onData);
  client.on('error', () => {});
});
server.listen(path, () => process.stdout.write('ready\n'));
process.stdin.resume();
process.stdin.on('end', () => {
  rmSync(path, { force: true });
  process.exit(0);
});
