// A real WebTorrent tracker (bittorrent-tracker's server, what users self-host) on 127.0.0.1 for
// tests: unit tests of the tracker client and the e2e tests. Not used by the engine.
import type { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import Server from 'bittorrent-tracker/server';

export interface TestTracker {
  url: string;
  port: number;
  server: Server;
  /** what the tracker complained of (a client's bad frame, say) */
  warnings: string[];
  close(): Promise<void>;
}

export async function startTestTracker(port = 0): Promise<TestTracker> {
  const server = new Server({ http: false, udp: false, ws: true, stats: false });
  const warnings: string[] = [];
  server.on('warning', (err: Error) => warnings.push(err.message));
  server.on('error', (err: Error) => warnings.push(`error: ${err.message}`));
  const sockets = new Set<Socket>();
  server.http!.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  const actual = (server.http!.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${actual}`,
    port: actual,
    server,
    warnings,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
