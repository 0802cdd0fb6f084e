// The few parts of bittorrent-tracker's server (a devDependency: tests run it, users self-host it)
// that Peerfold's tests use. The package ships no types.
declare module 'bittorrent-tracker/server' {
  import type { EventEmitter } from 'node:events';
  import type { Server as HttpServer } from 'node:http';

  interface ServerOptions {
    http?: boolean;
    udp?: boolean;
    ws?: boolean;
    stats?: boolean;
    /** announce interval told to clients (ms); WebSocket clients get a fifth of it */
    interval?: number;
  }

  export default class Server extends EventEmitter {
    constructor(opts?: ServerOptions);
    http: HttpServer | null;
    torrents: Record<string, { peers: { keys: string[] } } | undefined>;
    listen(port: number, hostname: string, onListening?: () => void): void;
    close(cb?: (err?: Error | null) => void): void;
  }
}
