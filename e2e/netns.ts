// A small internet of Linux network namespaces for end-to-end tests and benchmarks: namespaces,
// veth pairs, bridges, addresses, routes, NAT routers, and processes (Peerfold daemons, a tracker,
// coturn) running inside them. Every packet stays inside the namespaces this file makes; none of
// them is linked to the host's own network.
//
// Everything made here is torn down by close(), and also when the process exits, fails or is
// interrupted (exit, SIGINT, SIGTERM handlers), and namespaces left behind by a run that was killed
// with -9 are removed by the next run (their names carry the pid of the run that made them).
// Names are unique per run, so test files running in parallel never collide.
//
// Needs root, iproute2 and iptables; netnsUnavailable() says why a machine cannot, so tests skip
// with a reason instead of failing.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const NAME_PREFIX = 'pfns-';

// ---- can this machine do it? ------------------------------------------------------------------

let unavailable: string | null | undefined;

/** Why network namespaces cannot be used here (tests skip with this), or null when they can. */
export function netnsUnavailable(): string | null {
  if (unavailable !== undefined) return unavailable;
  unavailable = probe();
  return unavailable;
}

function probe(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root (run the tests as root, as CI does)';
  for (const [cmd, pkg] of [
    ['ip', 'iproute2'],
    ['iptables', 'iptables'],
  ]) {
    if (!commandExists(cmd)) return `\`${cmd}\` is not installed (apt-get install ${pkg})`;
  }
  const name = `${NAME_PREFIX}${process.pid}-probe`;
  try {
    execFileSync('ip', ['netns', 'add', name], { stdio: 'pipe' });
    execFileSync('ip', ['netns', 'exec', name, 'iptables', '-t', 'nat', '-L'], { stdio: 'pipe' });
  } catch (err) {
    return `cannot make a network namespace with NAT here: ${stderrOf(err)}`;
  } finally {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'pipe' });
    } catch {
      // it was never made
    }
  }
  return null;
}

/** Why coturn cannot be run here, or null. */
export function coturnUnavailable(): string | null {
  return commandExists('turnserver') ? null : 'coturn is not installed (apt-get install coturn)';
}

export function commandExists(cmd: string): boolean {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  return dirs.some((d) => d && existsSync(join(d, cmd)));
}

function stderrOf(err: unknown): string {
  const e = err as { stderr?: Buffer | string; message?: string };
  const s = e.stderr ? String(e.stderr).trim() : '';
  return s || e.message || String(err);
}

// ---- teardown of everything, whatever happens -------------------------------------------------

const liveInternets = new Set<Internet>();
let handlersInstalled = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const n of liveInternets) n.closeSync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const n of liveInternets) n.closeSync();
      // a caller with its own handler (the benchmarks clean up their data) decides when to exit
      if (process.listenerCount(sig) === 0) process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

/** Removes namespaces (and kills what runs in them) that an earlier run made and did not remove. */
function sweepLeftovers(): void {
  let list: string;
  try {
    list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    return;
  }
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0];
    const m = new RegExp(`^${NAME_PREFIX}(\\d+)-`).exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidAlive(pid)) continue;
    deleteNamespace(name);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kills every process inside a namespace, then deletes it (which removes its interfaces). */
function deleteNamespace(name: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    for (const p of pids.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        // gone already
      }
    }
  } catch {
    // no such namespace
  }
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'pipe' });
  } catch {
    // already gone
  }
}

// ---- the internet -----------------------------------------------------------------------------

/** One network namespace of an Internet. */
export interface Netns {
  /** the system-wide name (`ip netns exec NAME ...`) */
  readonly name: string;
  /** the short role it was made for, e.g. "routerA" */
  readonly role: string;
}

let runCounter = 0;

export class Internet {
  /** prefix of every namespace this internet makes: pfns-PID-N- */
  readonly prefix: string;
  /** a scratch folder for sockets and logs, removed by close() */
  readonly dir: string;
  private readonly made: Netns[] = [];
  private readonly procs = new Set<ChildProcess>();
  private readonly servers = new Set<Server>();
  private closed = false;

  constructor() {
    const reason = netnsUnavailable();
    if (reason) throw new Error(`cannot build namespaces: ${reason}`);
    installExitHandlers();
    sweepLeftovers();
    this.prefix = `${NAME_PREFIX}${process.pid}-${++runCounter}-`;
    this.dir = mkdtempSync(join(tmpdir(), 'peerfold-netns-'));
    liveInternets.add(this);
  }

  /** A new namespace with its loopback up. */
  namespace(role: string): Netns {
    if (!/^[A-Za-z0-9_]{1,24}$/.test(role)) throw new Error(`namespace role ${JSON.stringify(role)}: letters, digits and _ only`);
    const ns: Netns = { name: this.prefix + role, role };
    ip(['netns', 'add', ns.name]);
    this.made.push(ns);
    this.ip(ns, ['link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Runs `ip ARGS` inside a namespace. */
  ip(ns: Netns, args: string[]): string {
    return ip(['-n', ns.name, ...args]);
  }

  /** Runs a command inside a namespace and returns its output (throws with its stderr). */
  run(ns: Netns, cmd: string, args: string[]): string {
    return exec('ip', ['netns', 'exec', ns.name, cmd, ...args]);
  }

  /** Runs a command inside a namespace and returns its exit status (output ignored). */
  status(ns: Netns, cmd: string, args: string[]): number | null {
    return spawnSync('ip', ['netns', 'exec', ns.name, cmd, ...args], { stdio: 'ignore' }).status;
  }

  /** A bridge inside `ns` with an address (CIDR), up: a LAN segment others attach() to. */
  bridge(ns: Netns, ifName: string, cidr?: string): void {
    this.ip(ns, ['link', 'add', ifName, 'type', 'bridge']);
    if (cidr) this.ip(ns, ['addr', 'add', cidr, 'dev', ifName]);
    this.ip(ns, ['link', 'set', ifName, 'up']);
  }

  /** A veth pair from `a` to `b`, each end with its name and address (CIDR, or null for none). */
  link(a: Netns, aIf: string, aCidr: string | null, b: Netns, bIf: string, bCidr: string | null): void {
    ip(['link', 'add', aIf, 'netns', a.name, 'type', 'veth', 'peer', 'name', bIf, 'netns', b.name]);
    if (aCidr) this.ip(a, ['addr', 'add', aCidr, 'dev', aIf]);
    if (bCidr) this.ip(b, ['addr', 'add', bCidr, 'dev', bIf]);
    this.ip(a, ['link', 'set', aIf, 'up']);
    this.ip(b, ['link', 'set', bIf, 'up']);
  }

  /** Plugs `ns` into the bridge `bridgeIf` of `bridgeNs` through a veth pair; `ifName` inside `ns`. */
  attach(ns: Netns, ifName: string, cidr: string, bridgeNs: Netns, bridgeIf: string): void {
    const port = `${bridgeIf}p${this.portCount++}`;
    this.link(ns, ifName, cidr, bridgeNs, port, null);
    this.ip(bridgeNs, ['link', 'set', port, 'master', bridgeIf]);
  }
  private portCount = 0;

  /** A route: `dest` is a CIDR or 'default'. */
  route(ns: Netns, dest: string, via: string): void {
    this.ip(ns, ['route', 'add', dest, 'via', via]);
  }

  /** Address (without prefix length) of an interface of a namespace, the first IPv4 one. */
  addressOf(ns: Netns, ifName: string): string {
    const out = this.ip(ns, ['-4', '-o', 'addr', 'show', 'dev', ifName]);
    const m = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(out);
    if (!m) throw new Error(`${ns.role}/${ifName} has no IPv4 address`);
    return m[1];
  }

  /**
   * Makes `ns` a home NAT router: forwards, masquerades what leaves through `wanIf`, and drops
   * anything unsolicited that comes in there (a real home router does; without the drop, a hole
   * punch where one side's packet arrives first leaves a conntrack entry that makes the router
   * map the other side's reply to a different port, and the punch fails).
   */
  natRouter(ns: Netns, wanIf: string): void {
    this.run(ns, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    const ipt = (args: string[]) => this.run(ns, 'iptables', ['-w', ...args]);
    ipt(['-t', 'nat', '-A', 'POSTROUTING', '-o', wanIf, '-j', 'MASQUERADE']);
    for (const chain of ['INPUT', 'FORWARD']) {
      ipt(['-A', chain, '-i', wanIf, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT']);
      ipt(['-A', chain, '-i', wanIf, '-j', 'DROP']);
    }
  }

  /** Lets `ns` forward between its interfaces without NAT (a plain router). */
  forwarding(ns: Netns): void {
    this.run(ns, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
  }

  /** Drops UDP between `ns` and the address `peer` (both ways), as a firewall that blocks it would. */
  dropUdp(ns: Netns, peer: string): void {
    const ipt = (args: string[]) => this.run(ns, 'iptables', ['-w', ...args]);
    for (const chain of ['FORWARD', 'OUTPUT']) ipt(['-I', chain, '-p', 'udp', '-d', peer, '-j', 'DROP']);
    for (const chain of ['FORWARD', 'INPUT']) ipt(['-I', chain, '-p', 'udp', '-s', peer, '-j', 'DROP']);
  }

  /**
   * A firewall in front of `ns` that drops inbound TCP connection attempts (SYNs): to every port
   * but `except` (say a daemon's signaling port, by which its peers reach it), or only to `only`;
   * UDP passes.
   */
  dropInboundTcp(ns: Netns, ports: { except?: number; only?: number } = {}): void {
    const match =
      ports.except !== undefined ? ['!', '--dport', String(ports.except)] : ports.only !== undefined ? ['--dport', String(ports.only)] : [];
    this.run(ns, 'iptables', ['-w', '-I', 'INPUT', '-p', 'tcp', '--syn', ...match, '-j', 'DROP']);
  }

  /** Undoes dropUdp(). */
  allowUdp(ns: Netns, peer: string): void {
    const ipt = (args: string[]) => this.run(ns, 'iptables', ['-w', ...args]);
    for (const chain of ['FORWARD', 'OUTPUT']) ipt(['-D', chain, '-p', 'udp', '-d', peer, '-j', 'DROP']);
    for (const chain of ['FORWARD', 'INPUT']) ipt(['-D', chain, '-p', 'udp', '-s', peer, '-j', 'DROP']);
  }

  /**
   * Gives `ns` a default route into a namespace of its own that drops everything (it forwards
   * nothing and has no other route): software that insists on a default route (coturn does, to
   * relay) gets one, and nothing leaves the internet.
   */
  sink(ns: Netns, cidrPair = ['192.0.2.1/30', '192.0.2.2/30']): void {
    const sink = this.namespace(`${ns.role}_sink`.slice(0, 24));
    this.link(ns, 'tosink', cidrPair[0], sink, 'drop', cidrPair[1]);
    this.route(ns, 'default', cidrPair[1].split('/')[0]);
  }

  /**
   * Starts a process inside a namespace (`ip netns exec` execs it, so the child's pid is the
   * process's own). close() kills it if it is still running.
   */
  spawn(ns: Netns, cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns.name, cmd, ...args], {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.procs.add(child);
    child.once('exit', () => this.procs.delete(child));
    return child;
  }

  /**
   * A TCP port on 127.0.0.1 of this (the test's) namespace that reaches `host:port` inside `ns`.
   * A small relay process runs inside `ns` and listens on a Unix socket (the filesystem is shared
   * between namespaces, the network is not); this process forwards each connection to it. Used
   * for a daemon's control API, which listens on 127.0.0.1 of its own namespace.
   */
  async forward(ns: Netns, host: string, port: number | (() => number)): Promise<{ port: number; close: () => void }> {
    const sock = join(this.dir, `fwd-${ns.role}-${this.forwardCount++}.sock`);
    const relay = this.spawn(ns, process.execPath, ['-e', RELAY_SCRIPT, sock]);
    let relayLog = '';
    relay.stderr!.on('data', (d) => (relayLog += d));
    relay.stdout!.resume();
    await until(`the relay in ${ns.role} to listen`, () => {
      if (relay.exitCode !== null) throw new Error(`relay exited: ${relayLog}`);
      return existsSync(sock);
    });
    const sockets = new Set<Socket>();
    const server = createServer((client) => {
      const target = typeof port === 'function' ? port() : port;
      const upstream = connect(sock);
      sockets.add(client).add(upstream);
      upstream.write(`${host} ${target}\n`); // queued ahead of anything the client sends
      client.pipe(upstream).pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((res, rej) => server.once('error', rej).listen(0, '127.0.0.1', res));
    this.servers.add(server);
    const local = (server.address() as { port: number }).port;
    return {
      port: local,
      close: () => {
        for (const s of sockets) s.destroy();
        server.close();
        this.servers.delete(server);
        relay.kill('SIGKILL');
      },
    };
  }
  private forwardCount = 0;

  /** Kills every process started here, deletes every namespace, removes the scratch folder. */
  async close(): Promise<void> {
    const waits = [...this.procs].map(
      (p) => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(null) : p.once('exit', r))),
    );
    for (const p of this.procs) p.kill('SIGKILL');
    await Promise.race([Promise.all(waits), new Promise((r) => setTimeout(r, 5000))]);
    this.closeSync();
  }

  /** close() without waiting (exit handlers). */
  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    liveInternets.delete(this);
    for (const s of this.servers) s.close();
    for (const p of this.procs) {
      try {
        p.kill('SIGKILL');
      } catch {
        // gone
      }
    }
    for (const ns of this.made.reverse()) deleteNamespace(ns.name);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Namespaces this internet made that still exist (tests check teardown with it). */
  static existing(prefix: string): string[] {
    return readdirSync('/run/netns').filter((n) => n.startsWith(prefix));
  }
}

// Inside the namespace: one line "HOST PORT\n" names the target, then bytes flow both ways.
const RELAY_SCRIPT = `
const net = require('node:net');
const [sock] = process.argv.slice(1);
const server = net.createServer((c) => {
  let head = Buffer.alloc(0);
  const onData = (d) => {
    head = Buffer.concat([head, d]);
    const nl = head.indexOf(10);
    if (nl < 0) return;
    c.off('data', onData);
    const [host, port] = head.subarray(0, nl).toString().split(' ');
    const up = net.connect(Number(port), host);
    const rest = head.subarray(nl + 1);
    if (rest.length) up.write(rest);
    c.pipe(up).pipe(c);
    const end = () => { c.destroy(); up.destroy(); };
    c.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  };
  c.on('data', onData);
  c.on('error', () => c.destroy());
});
server.listen(sock);
process.on('SIGTERM', () => process.exit(0));
`;

function ip(args: string[]): string {
  return exec('ip', args);
}

function exec(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new Error(`${cmd} ${args.join(' ')}: ${stderrOf(err)}`, { cause: err });
  }
}

async function until(what: string, fn: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
